#!/usr/bin/env python3
"""river's drift detectors on the generated streams, for comparison with
modelwatch's alerts:

    python3 benches/river_delays.py [--streams DIR] [--out FILE]

Runs `drift.ADWIN()` and `drift.PageHinkley()` (defaults) on each stream's
confidence sequence, one update per prediction, as ../shared/data's river.json
was made, and writes each detector's detections, first-detection delay (first
detection at or after the onset, minus the onset) and false alarms (detections
before the onset; all of them on a no-drift stream) to
benches/results/river_delays.json. Streams come from DIR (default
target/drift-streams; generated with drift_streams.py's defaults when absent).

river runs in a venv of its own, target/bench-venv, made here with the pinned
version the reference answers used: nothing else needs it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import drift_scoring

RIVER_PIN = "river==0.26.1"
VENV = drift_scoring.drift_streams.repo_root() / "target" / "bench-venv"


def venv_python():
    return VENV / "bin" / "python"


def ensure_venv():
    """(Re)makes the venv when it lacks the pinned river."""
    stamp = VENV / "pinned.txt"
    if stamp.exists() and stamp.read_text().strip() == RIVER_PIN:
        return
    print(f"making {VENV} with {RIVER_PIN}", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(venv_python()), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", RIVER_PIN], check=True)
    stamp.write_text(RIVER_PIN + "\n")


def confidences(path):
    """The confidence of every prediction event, in stream order."""
    values = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if '"type":"feedback"' not in line:
                values.append(float(json.loads(line)["confidence"]))
    return values


def detections(detector, values):
    """Indices where the detector flags a change (river resets itself then)."""
    found = []
    for i, x in enumerate(values):
        detector.update(x)
        if detector.drift_detected:
            found.append(i)
    return found


def run(args):
    import river
    from river import drift

    manifest = drift_scoring.streams_manifest(args.streams)
    detectors = {"adwin": drift.ADWIN, "page_hinkley": drift.PageHinkley}
    rows = []
    for stream in manifest["streams"]:
        values = confidences(Path(args.streams) / stream["file"])
        row = {key: stream[key] for key in ("name", "kind", "variant", "sha256", "onset", "midpoint")}
        for key, make in detectors.items():
            found = detections(make(), values)
            row[key] = {"indices": found, **drift_scoring.score(found, stream)}
        rows.append(row)
        print(f"{stream['name']:22} onset={stream['onset']} "
              f"ADWIN {row['adwin']['indices'][:4]} PageHinkley {row['page_hinkley']['indices'][:4]}",
              flush=True)
    by_kind = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        mine = [r for r in rows if r["kind"] == kind]
        streams = [s for s in manifest["streams"] if s["kind"] == kind]
        by_kind[kind] = {key: drift_scoring.summary([r[key] for r in mine], streams) for key in detectors}
    drift_scoring.write_json(args.out, {
        "river_version": river.__version__,
        "procedure": "det.update(confidence) for every prediction in stream order; "
                     "if det.drift_detected: record the index (never reset by hand)",
        "params": {key: make()._get_params() for key, make in detectors.items()},
        "streams_generated_with": manifest["arguments"],
        "by_kind": by_kind,
        "streams": rows,
    })
    print(f"wrote {args.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--streams", type=Path, default=drift_scoring.DEFAULT_STREAMS)
    p.add_argument("--out", type=Path, default=drift_scoring.RESULTS / "river_delays.json")
    args = p.parse_args()
    if Path(sys.prefix).resolve() != VENV.resolve():
        ensure_venv()
        script = Path(__file__).resolve()
        os.execv(str(venv_python()), [str(venv_python()), str(script)] + sys.argv[1:])
    run(args)


if __name__ == "__main__":
    main()
