#!/usr/bin/env python3
"""How soon modelwatch's alerts follow a change, and how often they fire with
none, on the generated streams, beside river's ADWIN and Page-Hinkley:

    python3 benches/alert_delays.py [--streams DIR] [--binary PATH] [--out FILE]

Builds target/release/modelwatch (unless --binary is given), runs
`modelwatch replay --baseline B --window W` on every stream of DIR (default
target/drift-streams; generated with drift_streams.py's defaults when absent)
with the stream's own B and W, and prints one table: per stream, the delay of
the first alert at or after the onset and the alerts before it (false alarms;
on a no-drift stream every alert is one), then the same for river's detectors
from benches/results/river_delays.json (made by river_delays.py on the same
streams); per kind, the detected streams and median delay; and the false-alarm
rate over the no-drift streams. source* and malformed* alerts are left out (they
are about the input, not drift). The figures go to
benches/results/alert_delays.json.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import drift_scoring

ROOT = drift_scoring.drift_streams.repo_root()
DETECTORS = (("modelwatch", "modelwatch"), ("adwin", "ADWIN"), ("page_hinkley", "PageHinkley"))


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "modelwatch"


def drift_alerts(report):
    """Every alert of the report that is about drift, as (index, kind)."""
    alerts = list(report.get("alerts", []))
    for model in report.get("models", {}).values():
        alerts.extend(model.get("alerts", []))
    return sorted((a["index"], a["kind"]) for a in alerts
                  if not any(h in a["kind"] for h in ("source", "malformed")))


def isolated_env():
    """The environment without the user's modelwatch configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_") and k != "RUST_LOG"}
    env["XDG_CONFIG_HOME"] = "/nonexistent/modelwatch-bench"
    return env


def replay(binary, directory, stream):
    out = subprocess.run(
        [str(binary), "replay", "--baseline", str(stream["baseline"]),
         "--window", str(stream["window"]), str(Path(directory) / stream["file"])],
        capture_output=True, text=True, env=isolated_env())
    if out.returncode != 0:
        raise SystemExit(f"{stream['file']}: replay failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def river_rows(path, manifest):
    """river_delays.py's rows by stream name, refused when they were made from
    other streams than these."""
    if not Path(path).exists():
        raise SystemExit(f"{path}: missing; run benches/river_delays.py first")
    rows = {r["name"]: r for r in json.loads(Path(path).read_text())["streams"]}
    for stream in manifest["streams"]:
        row = rows.get(stream["name"])
        if row is None or row["sha256"] != stream["sha256"]:
            raise SystemExit(f"{path}: made from other streams than {stream['name']} here; "
                             "run benches/river_delays.py on these streams")
    return rows


def cell(score, shifted):
    if score["delay"] is not None:
        text = str(score["delay"])
    else:
        text = "missed" if shifted else "-"
    return f"{text}/{score['false_alarms']}"


def print_table(rows, by_kind, nodrift):
    print("delay = first detection at/after the onset minus the onset; FA = detections before it "
          "(every one on nodrift)")
    head = f"{'stream':22} {'variant':15} {'K':>2} {'B/W':>12} {'onset':>6} {'W_norm':>6} {'JS':>5}"
    print(f"{head}  {'modelwatch delay/FA':>20} {'first alert':18} {'ADWIN':>10} {'PageHinkley':>11}")
    for r in rows:
        s = r["stream"]
        b_w = f"{s['baseline']}/{s['window']}"
        effect = s["effect"]
        first = r["modelwatch"]["first_kind"] or ""
        shifted = s["onset"] is not None
        print(f"{s['name']:22} {s['variant']:15} {s['classes']:>2} {b_w:>12} {str(s['onset'] or '-'):>6} "
              f"{effect['wasserstein_norm']:>6.3f} {effect['js']:>5.3f}  {cell(r['modelwatch'], shifted):>20} "
              f"{first:18} {cell(r['adwin'], shifted):>10} {cell(r['page_hinkley'], shifted):>11}")
    print()
    print(f"{'kind':30}" + "".join(f"{label:>34}" for _, label in DETECTORS))
    print(f"{'':30}" + "".join(f"{'detected':>10} {'median/max delay':>17} {'FA':>5}" for _ in DETECTORS))
    for kind, figures in by_kind.items():
        line = f"{kind:18} {figures['modelwatch']['streams']:>3} streams"
        for key, _ in DETECTORS:
            f = figures[key]
            detected = "-" if f["detected"] is None else f"{f['detected']}/{f['streams']}"
            delays = "-" if f["median_delay"] is None else f"{f['median_delay']:g}/{f['max_delay']}"
            line += f"{detected:>10} {delays:>17} {f['false_alarms']:>5}"
        print(line)
    print()
    n = nodrift["streams"]
    for key, label in DETECTORS:
        f = nodrift[key]
        print(f"nodrift false alarms, {label:11}: {f['streams_with_false_alarms']}/{n} streams, "
              f"{f['false_alarms']} in {f['predictions_watched']:,} predictions watched "
              f"({f['per_million']:.1f} per million)")
    if nodrift["modelwatch_by_kind"]:
        print("nodrift false alarms by rule:", ", ".join(
            f"{k} {v}" for k, v in nodrift["modelwatch_by_kind"].items()))


def detector_version():
    """The commit measured, marked dirty when the code under it was changed."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock")
    return f"{head}-dirty" if head and changed else head or None


def shown(path):
    """A path as the results file shows it: from the checkout when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def measure(binary, directory, manifest, river):
    """One row per stream: modelwatch's alerts scored, beside river's."""
    rows = []
    for stream in manifest["streams"]:
        alerts = drift_alerts(replay(binary, directory, stream))
        mw = drift_scoring.score([i for i, _ in alerts], stream)
        after = [kind for i, kind in alerts if stream["onset"] is not None and i >= stream["onset"]]
        mw["first_kind"] = after[0] if after else None
        mw["alerts"] = [{"index": i, "kind": kind} for i, kind in alerts]
        row = {"stream": stream, "modelwatch": mw}
        for key in ("adwin", "page_hinkley"):
            row[key] = {k: v for k, v in river[stream["name"]][key].items() if k != "indices"}
        rows.append(row)
    return rows


def per_kind(rows):
    by_kind = {}
    for kind in dict.fromkeys(r["stream"]["kind"] for r in rows):
        mine = [r for r in rows if r["stream"]["kind"] == kind]
        by_kind[kind] = {key: drift_scoring.summary([r[key] for r in mine], [r["stream"] for r in mine])
                         for key, _ in DETECTORS}
    return by_kind


def nodrift_rates(rows, by_kind):
    """False alarms on the no-drift streams, per million predictions watched:
    modelwatch alerts only after its baseline, river watches from the first."""
    quiet = [r for r in rows if r["stream"]["kind"] == "nodrift"]
    rates = {"streams": len(quiet),
             "modelwatch_by_kind": dict(Counter(a["kind"] for r in quiet
                                                for a in r["modelwatch"]["alerts"]))}
    for key, _ in DETECTORS:
        f = dict(by_kind.get("nodrift", {}).get(key, {"false_alarms": 0, "streams_with_false_alarms": 0}))
        f["predictions_watched"] = sum(r["stream"]["predictions"]
                                       - (r["stream"]["baseline"] if key == "modelwatch" else 0)
                                       for r in quiet)
        f["per_million"] = f["false_alarms"] / f["predictions_watched"] * 1e6 if quiet else 0.0
        rates[key] = f
    return rates


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--streams", type=Path, default=drift_scoring.DEFAULT_STREAMS)
    p.add_argument("--binary", type=Path, help="modelwatch to measure (default: build target/release)")
    p.add_argument("--river", type=Path, default=drift_scoring.RESULTS / "river_delays.json")
    p.add_argument("--out", type=Path, default=drift_scoring.RESULTS / "alert_delays.json")
    args = p.parse_args()
    binary = args.binary or build()
    manifest = drift_scoring.streams_manifest(args.streams)
    rows = measure(binary, args.streams, manifest, river_rows(args.river, manifest))
    by_kind = per_kind(rows)
    nodrift = nodrift_rates(rows, by_kind)
    print_table(rows, by_kind, nodrift)
    for r in rows:
        r["stream"] = {k: r["stream"][k] for k in ("name", "kind", "variant", "classes", "baseline",
                                                   "window", "onset", "midpoint", "effect")}
    drift_scoring.write_json(args.out, {
        "measured": {"date": datetime.date.today().isoformat(),
                     "modelwatch": str(args.binary) if args.binary else detector_version(),
                     "river": shown(args.river)},
        "streams_generated_with": manifest["arguments"],
        "excluded_alert_kinds": "source*, malformed*",
        "nodrift": nodrift,
        "by_kind": by_kind,
        "streams": rows,
    })
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
