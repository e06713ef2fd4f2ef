#!/usr/bin/env python3
"""Checkpoints: their size and cost at 1,000,000 predictions, and what they
cost ingest.

    python3 benches/checkpoints.py [PREDICTIONS]     (default 1000000)

Builds the release binary and a stream of PREDICTIONS predictions of one
model (../shared/bench/gen_events.py, the judged benchmark stream) with the
ground truth of every prediction 1-3,000 predictions later (so the label
join, the baseline's calibration and the windows' accuracy are all full),
then, with `watch --no-tui --from-start --state-dir`:

1. follows the file to its end and stops (SIGTERM): the last checkpoint's
   size, the time to copy the engine's state (on the engine's thread: what
   ingest waits for) and to hash, encode, compress and write it (on the
   writer's thread), and the time a restart takes to read it back; the same
   with a baseline of a million predictions (the largest a baseline holds);
2. the ingest rate of following the same file without a state directory
   and with a checkpoint every 5 s (best of 3 each).

Standard library only. Prints one line per figure.
"""
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 900  # seconds any one run may take


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "modelwatch"


def stream(n, work):
    """gen_events.py's stream with each prediction's feedback 1-3,000 later."""
    path = work / f"checkpoint_events_{n}.jsonl"
    if path.exists() and path.stat().st_size > 0:
        return path
    plain = work / f"events_{n}.jsonl"
    if not (plain.exists() and plain.stat().st_size > 0):
        gen = ROOT.parent / "shared" / "bench" / "gen_events.py"
        subprocess.run([sys.executable, str(gen), str(n), "binary", str(plain)], check=True)
    rng = random.Random(7)
    due = {}  # prediction index -> feedback lines due then
    tmp = path.with_suffix(".tmp")
    with open(plain) as src, open(tmp, "w", buffering=1 << 20) as out:
        for i, line in enumerate(src):
            out.write(line)
            label = "fraud" if rng.random() < 0.15 else "legit"
            fid = json.loads(line)["id"]
            due.setdefault(i + rng.randint(1, 3000), []).append(
                '{"type":"feedback","id":"%s","label":"%s"}\n' % (fid, label))
            for fb in due.pop(i, []):
                out.write(fb)
        for i in sorted(due):
            out.writelines(due[i])
    tmp.rename(path)
    return path


def count_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def follow(bin_, path, total, work, extra):
    """Runs watch --no-tui on PATH from its start until every line is in;
    returns (seconds to take them all, the process, its output file)."""
    out = open(work / "out.jsonl", "w+")
    env = dict(os.environ, MODELWATCH_LOG=os.environ.get("MODELWATCH_LOG", "debug"),
               MODELWATCH_LOG_FILE=str(work / "modelwatch.log"))
    started = time.monotonic()
    proc = subprocess.Popen([str(bin_), "watch", "--no-tui", "--from-start", "--status-every", "1",
                             *extra, str(path)], stdout=out, stderr=subprocess.PIPE, env=env,
                            text=True)
    deadline = started + LIMIT
    while time.monotonic() < deadline:
        out.seek(0)
        last = [json.loads(l) for l in out.read().splitlines() if l.startswith('{"type":"status"')]
        if last and last[-1]["lines"] >= total:
            # The status line comes once a second: the time is the first
            # status line that has them all, less up to a second.
            return time.monotonic() - started, proc, out
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"timed out following {path}")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=LIMIT)
    return err


def last_saved(work):
    """The last 'checkpoint saved' line of the log: (bytes, copy ms, write ms)."""
    saved = None
    with open(work / "modelwatch.log") as log:
        for line in log:
            if "checkpoint saved" in line:
                m = dict(re.findall(r"(\w+)=([\d.]+)", line))
                saved = (int(m["bytes"]), float(m["copy_ms"]), float(m["write_ms"]))
    return saved


def checkpoint_figures(bin_, path, total, work, label, extra):
    state = work / f"state-{label}"
    _, proc, _ = follow(bin_, path, total, work, ["--state-dir", str(state), *extra])
    stop(proc)
    size, copy_ms, write_ms = last_saved(work)
    # A restart reads it back (and says how long that took).
    _, proc, _ = follow(bin_, path, total, work, ["--state-dir", str(state), *extra])
    err = stop(proc)
    read = re.search(r"read in ([\d.]+) s", err)
    print(f"{label}: checkpoint {size / 1e6:.1f} MB; copy {copy_ms:.0f} ms (engine thread), "
          f"hash+encode+write {write_ms:.0f} ms (writer thread); read back in "
          f"{float(read.group(1)) * 1e3:.0f} ms" if read else f"{label}: no resume? {err}")


def rate(bin_, path, total, work, extra):
    best = None
    for k in range(3):
        state = work / f"rate-state-{k}"
        args = [a.replace("STATE", str(state)) for a in extra]
        secs, proc, _ = follow(bin_, path, total, work, args)
        stop(proc)
        best = secs if best is None else min(best, secs)
    return best


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    bin_ = build()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "modelwatch-bench"
    work.mkdir(parents=True, exist_ok=True)
    path = stream(n, work)
    total = count_lines(path)
    print(f"stream: {n:,} predictions of one model, {total - n:,} feedback lines ({path.stat().st_size / 1e6:.0f} MB)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint_figures(bin_, path, total, tmp, "defaults (baseline 10,000, window 1,000)", [])
        checkpoint_figures(bin_, path, total, tmp, "baseline 1,000,000", ["--baseline", "1000000"])
        none = rate(bin_, path, total, tmp, [])
        every5 = rate(bin_, path, total, tmp, ["--state-dir", "STATE", "--checkpoint-every", "5"])
        print(f"ingest, no checkpoints:       {total / none:,.0f} lines/s ({none:.1f} s)")
        print(f"ingest, a checkpoint every 5 s: {total / every5:,.0f} lines/s ({every5:.1f} s)")


if __name__ == "__main__":
    main()
