"""What river_delays.py and alert_delays.py share: the generated streams (made
with drift_streams.py's defaults when absent) and how a list of detection
indices is scored against a stream's onset."""
import json
import statistics
from pathlib import Path

import drift_streams

RESULTS = drift_streams.repo_root() / "benches" / "results"
DEFAULT_STREAMS = drift_streams.repo_root() / "target" / "drift-streams"


def streams_manifest(directory):
    """The manifest of the streams in `directory`, generating them first (with
    the generator's defaults) when there is none."""
    directory = Path(directory)
    path = directory / "manifest.json"
    if not path.exists():
        print(f"generating the streams into {directory}", flush=True)
        drift_streams.main(["--out", str(directory)])
    return json.loads(path.read_text())


def score(indices, stream):
    """Delay of the first detection at or after the onset, and the detections
    before it (false alarms; on a no-drift stream every detection is one)."""
    onset = stream["onset"]
    indices = sorted(indices)
    if onset is None:
        return {"detections": len(indices), "first": indices[0] if indices else None,
                "delay": None, "false_alarms": len(indices)}
    after = [i for i in indices if i >= onset]
    result = {"detections": len(indices), "first": after[0] if after else None,
              "delay": after[0] - onset if after else None,
              "false_alarms": len(indices) - len(after)}
    if stream["midpoint"] is not None:
        result["delay_from_midpoint"] = after[0] - stream["midpoint"] if after else None
    return result


def summary(scores, streams):
    """One kind's figures over its streams: how many were detected, the median
    and largest delay, and the false alarms."""
    delays = [s["delay"] for s in scores if s["delay"] is not None]
    shifted = any(st["onset"] is not None for st in streams)
    return {
        "streams": len(scores),
        "detected": len(delays) if shifted else None,
        "median_delay": statistics.median(delays) if delays else None,
        "max_delay": max(delays) if delays else None,
        "false_alarms": sum(s["false_alarms"] for s in scores),
        "streams_with_false_alarms": sum(1 for s in scores if s["false_alarms"]),
    }


def write_json(path, value):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1) + "\n")
