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
2. the ingest rate (lines a second while the file is being read, from
   the status lines) of following ten copies of that stream one after the
   other (the ids made unique: 20,000,000 lines): without a state directory
   (no report windows are kept then), with the report windows kept but no
   checkpoint (`--report`), and with a checkpoint every 5 s (`--state-dir`,
   which keeps the report windows too); best of 3 each.

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


def copies(path, k):
    """K copies of the stream, one after the other, each with its own ids."""
    out = path.with_name(f"{path.stem}_x{k}.jsonl")
    if out.exists() and out.stat().st_size > 0:
        return out
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as dst:
        for c in range(k):
            tag = b'"id":"c%d-' % c
            with open(path, "rb") as src:
                for block in iter(lambda: src.read(1 << 24), b""):
                    # Blocks end anywhere: finish the last line first.
                    block += src.readline()
                    dst.write(block.replace(b'"id":"', tag))
    tmp.rename(out)
    return out


def count_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def follow(bin_, path, total, work, extra):
    """Runs watch --no-tui on PATH from its start until every line is in;
    returns (its status lines, the process)."""
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
        status = [json.loads(l) for l in out.read().splitlines() if l.startswith('{"type":"status"')]
        if status and status[-1]["lines"] >= total:
            return status, proc
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
    _, proc = follow(bin_, path, total, work, ["--state-dir", str(state), *extra])
    stop(proc)
    size, copy_ms, write_ms = last_saved(work)
    # A restart reads it back (and says how long that took).
    _, proc = follow(bin_, path, total, work, ["--state-dir", str(state), *extra])
    err = stop(proc)
    read = re.search(r"read in ([\d.]+) s", err)
    print(f"{label}: checkpoint {size / 1e6:.1f} MB; copy {copy_ms:.0f} ms (engine thread), "
          f"hash+encode+write {write_ms:.0f} ms (writer thread); read back in "
          f"{float(read.group(1)) * 1e3:.0f} ms" if read else f"{label}: no resume? {err}")


def rate(bin_, path, total, work, extra):
    """Lines a second while reading: from the first status line to the last
    one before every line was in (each says how many lines and when)."""
    best = 0
    for k in range(3):
        state = work / f"rate-state-{k}"
        args = [a.replace("STATE", str(state)) for a in extra]
        status, proc = follow(bin_, path, total, work, args)
        stop(proc)
        reading = [s for s in status if s["lines"] < total]
        first, last = reading[0], reading[-1]
        secs = (iso_ms(last["ts"]) - iso_ms(first["ts"])) / 1e3
        best = max(best, (last["lines"] - first["lines"]) / secs)
    return best


def iso_ms(ts):
    """Epoch ms of an RFC 3339 UTC time as the status lines write it."""
    from datetime import datetime
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1e3


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
        many = copies(path, 10)
        lines = 10 * total
        plain = rate(bin_, many, lines, tmp, [])
        windows = rate(bin_, many, lines, tmp, ["--report", str(tmp / "report.json")])
        every5 = rate(bin_, many, lines, tmp, ["--state-dir", "STATE", "--checkpoint-every", "5"])
        print(f"ingest of {lines:,} lines: {plain:,.0f} lines/s; with the report windows "
              f"{windows:,.0f} ({(windows / plain - 1) * 100:+.1f}%); with them and a checkpoint "
              f"every 5 s {every5:,.0f} ({(every5 / windows - 1) * 100:+.1f}% more)")


if __name__ == "__main__":
    main()
