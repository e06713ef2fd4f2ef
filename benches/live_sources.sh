#!/usr/bin/env bash
# Throughput of the live sources through `watch --no-tui`, and memory under
# a flood:
#   1. from a local `demo --serve --rate 0` (as fast as possible) over a websocket;
#   2. from a file being appended to by `demo --write --rate 0`;
#   3. peak RSS while a flood of 1,000,000 events (plus their feedback) is followed;
#   4. a Python `websockets` model server (tests/ws_model_server.py) offering
#      rising rates, SECONDS each: lines dropped and peak RSS per rate, the
#      first rate that drops being where drops begin; then, flooded at that
#      rate, the kill switch tripped from the CLI 50 times (p50/p99), and
#      once more without a flood for comparison.
#
#   benches/live_sources.sh [SECONDS]     (default 10 per measurement)
#
# Part 4 runs the test venv's python (MW_TEST_PYTHON, or target/test-venv
# as .ci/run makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
cargo build --release --quiet
bin=$PWD/target/release/modelwatch
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export MODELWATCH_LOG_FILE=$work/modelwatch.log

summary() { # rate and counters from the summary line of a --no-tui run
  python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "summary":
        s = o["sources"][0]
        up = max(o["uptime_s"], 1)
        print("{:,} predictions, {:,} lines in {} s: {:,.0f} lines/s; dropped {:,}, behind {:,} bytes".format(
            o["predictions"], o["lines"], o["uptime_s"], o["lines"] / up, s["dropped"], s["behind_bytes"]))
PY
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" demo --serve "127.0.0.1:$port" --rate 0 2>/dev/null &
server=$!
sleep 0.5
timeout "$secs" "$bin" watch --no-tui --status-every 3600 "ws://127.0.0.1:$port/" > "$work/ws.jsonl" || true
kill $server
echo "websocket (demo --serve --rate 0): $(summary "$work/ws.jsonl")"

: > "$work/flood.jsonl"
( timeout "$secs" "$bin" watch --no-tui --status-every 3600 "$work/flood.jsonl" > "$work/file.jsonl" || true ) &
watcher=$!
sleep 0.3
timeout "$((secs - 1))" "$bin" demo --write "$work/flood.jsonl" --rate 0 || true
wait $watcher
echo "file being appended (demo --write --rate 0): $(summary "$work/file.jsonl")"

: > "$work/million.jsonl"
"$bin" watch --no-tui --status-every 3600 "$work/million.jsonl" > "$work/million.out" &
watcher=$!
sleep 0.3
"$bin" demo --write "$work/million.jsonl" --rate 0 --limit 1000000
sleep 3
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$watcher/status")
kill -TERM $watcher
wait $watcher || true
echo "flood of 1,000,000 predictions: $(summary "$work/million.out"); peak RSS $((peak_kb / 1024)) MB"

py=${MW_TEST_PYTHON:-$PWD/target/test-venv/bin/python}
if ! "$py" -c 'import websockets' 2>/dev/null; then
  echo "websocket load: no python with websockets at $py (run .ci/run once, or set MW_TEST_PYTHON)" >&2
  exit 2
fi

ws_serve() { # RATE LINES: starts the model server, sets $server and $port
  coproc SERVER { exec "$py" tests/ws_model_server.py --rate "$1" --lines "$2" \
    --pool 100000 --lines-per-message 500 --linger 600; }
  server=$SERVER_PID
  read -r _ port <&"${SERVER[0]}"
}

ws_done() { # FILE LINES: whether the last status accounts for every line
  python3 - "$1" "$2" <<'PY'
import json, sys
last = None
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "status":
        last = o
s = last and last["sources"][0]
sys.exit(0 if s and s["lines"] == int(sys.argv[2]) and last["lines"] + s["dropped"] == s["lines"] else 1)
PY
}

echo "load average before the websocket sweep: $(cut -d' ' -f1-3 /proc/loadavg)"
onset=""
for rate in 250000 500000 750000 1000000 1250000 1500000 2000000 3000000; do
  lines=$((rate * secs))
  ws_serve "$rate" "$lines"
  out=$work/ws-$rate.jsonl
  "$bin" watch --no-tui --status-every 1 "ws://127.0.0.1:$port/" > "$out" &
  watcher=$!
  read -r sent <&"${SERVER[0]}"
  for _ in $(seq 300); do ws_done "$out" "$lines" && break; sleep 0.1; done
  peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$watcher/status")
  kill -TERM $watcher; wait $watcher || true
  kill $server 2>/dev/null || true; wait $server 2>/dev/null || true
  dropped=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["sources"][0]["dropped"])' "$out")
  echo "websocket at $rate lines/s offered (server $sent): dropped $dropped, peak RSS $((peak_kb / 1024)) MB"
  if [ "$dropped" != 0 ]; then onset=$rate; break; fi
done
echo "websocket drops begin at: ${onset:-none up to 3,000,000} lines/s offered"

trips() { # N: times N CLI trips, prints p50/p99/max
  python3 - "$bin" "$work" "$1" <<'PY'
import os, subprocess, sys, time
binary, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(work, "no-config"))
took = []
for i in range(n):
    start = time.perf_counter()
    subprocess.run([binary, "trip", "--model", "fraud-v3", "--reason", "bench",
                    "--kill-file", os.path.join(work, "fraud.killed"),
                    "--audit-log", os.path.join(work, "audit.jsonl")],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    took.append(time.perf_counter() - start)
took.sort()
pick = lambda p: took[min(len(took) - 1, round((len(took) - 1) * p))] * 1e3
print(f"n={n} p50={pick(0.5):.1f} ms p99={pick(0.99):.1f} ms max={took[-1] * 1e3:.1f} ms")
PY
}

flood=${onset:-3000000}
ws_serve "$flood" $((flood * 120))
"$bin" watch --no-tui --status-every 3600 "ws://127.0.0.1:$port/" > /dev/null &
watcher=$!
sleep 2
echo "kill switch trip from the CLI while a websocket floods at $flood lines/s: $(trips 50)"
kill -TERM $watcher; wait $watcher || true
kill $server 2>/dev/null || true; wait $server 2>/dev/null || true
echo "kill switch trip from the CLI, idle: $(trips 50)"
