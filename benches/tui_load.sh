#!/usr/bin/env bash
# Measures the dashboard in a real terminal (tmux): CPU when idle
# (`demo --rate 1`, 10 s) and the frame rate held while ingesting
# `demo --rate 100000`. Run by hand after `cargo build --release`:
#   bash benches/tui_load.sh [extra modelwatch flags for the load run]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/modelwatch
dir=$(mktemp -d)
sock="mw-load-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # name seconds args...
  local name=$1 secs=$2; shift 2
  tmux -L "$sock" new-session -d -s "$name" -x 160 -y 48 \
    "MODELWATCH_LOG_FILE=$dir/$name.log exec $bin demo --seed 7 --audit-log $dir/$name.audit $*"
  sleep 3
  local pid
  pid=$(tmux -L "$sock" list-panes -t "$name" -F '#{pane_pid}')
  local t1 t2
  t1=$(cpu_ticks "$pid")
  sleep "$secs"
  t2=$(cpu_ticks "$pid")
  local status
  status=$(tmux -L "$sock" capture-pane -p -t "$name" | head -1)
  tmux -L "$sock" send-keys -t "$name" q
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "$name: CPU $(echo "scale=1; 100 * ($t2 - $t1) / $hz / $secs" | bc)% over ${secs} s"
  echo "  status bar: $status"
  echo "  $(grep -o 'dashboard closed.*' "$dir/$name.log" || echo 'no frame count logged')"
}

run idle 10 --rate 1
run load 15 --rate 100000 "$@"
