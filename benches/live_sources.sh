#!/usr/bin/env bash
# Throughput of the live sources through `watch --no-tui`, and memory under
# a flood:
#   1. from a local `demo --serve --rate 0` (as fast as possible) over a websocket;
#   2. from a file being appended to by `demo --write --rate 0`;
#   3. peak RSS while a flood of 1,000,000 events (plus their feedback) is followed.
#
#   benches/live_sources.sh [SECONDS]     (default 10 per measurement)
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
