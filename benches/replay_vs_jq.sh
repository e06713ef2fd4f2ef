#!/usr/bin/env bash
# Throughput and memory of `modelwatch replay` on the judged benchmark stream,
# against jq on the same file in the same run (the issue's bar: at least 5x).
#
#   benches/replay_vs_jq.sh [EVENTS] [features]   (default 1000000)
#
# `features`: the same stream with seven input features on every prediction
# (benches/gen_feature_events.py), watched and tested like confidence.
#
# Prints wall times (best of 3), events/s, the speed-up over jq, and peak RSS
# for one pass and for ten passes over the file (memory must stay flat).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
variant=${2:-}
work=${TMPDIR:-/tmp}/modelwatch-bench
mkdir -p "$work"
if [ "$variant" = features ]; then
  file=$work/feature_events_$n.jsonl
  [ -s "$file" ] || python3 benches/gen_feature_events.py "$n" "$file"
else
  file=$work/events_$n.jsonl
  [ -s "$file" ] || python3 ../shared/bench/gen_events.py "$n" binary "$file"
fi
cargo build --release --quiet
bin=target/release/modelwatch

best() { # best wall time of 3 runs of "$@"
  local best=999999
  for _ in 1 2 3; do
    local t
    t=$( { /usr/bin/time -f %e "$@" >/dev/null; } 2>&1 | tail -1 )
    best=$(python3 -c "print(min($best, $t))")
  done
  echo "$best"
}

jq_s=$(best sh -c "jq -c 'select(.confidence<0.5)' '$file' | wc -l")
mw_s=$(best "$bin" replay "$file")
python3 - "$n" "$jq_s" "$mw_s" <<'PY'
import sys
n, jq, mw = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"jq:         {jq:.2f} s  ({n/jq:,.0f} events/s)")
print(f"modelwatch: {mw:.2f} s  ({n/mw:,.0f} events/s)  {jq/mw:.1f}x jq")
PY
rss1=$( { /usr/bin/time -f %M "$bin" replay "$file" >/dev/null; } 2>&1 | tail -1 )
files=(); for _ in $(seq 10); do files+=("$file"); done
rss10=$( { /usr/bin/time -f %M "$bin" replay "${files[@]}" >/dev/null; } 2>&1 | tail -1 )
echo "peak RSS:   $((rss1 / 1024)) MB for $n events, $((rss10 / 1024)) MB for $((n * 10))"
