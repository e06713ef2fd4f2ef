#!/usr/bin/env python3
"""Deterministic synthetic prediction streams for judging drift alerts.

    python3 benches/drift_streams.py [--out DIR] [--count N] [--per-kind M]
        [--predictions N] [--baselines 2000,5000,...] [--seed S]
        [--kinds nodrift,ramp] [--select NAME,...]

Writes NAME.jsonl (modelwatch's event format: 100,000 predictions by default,
and a feedback line with the true label 1-3,000 predictions after each) and
manifest.json into DIR (default target/drift-streams). The model is calibrated
(right as often as it is confident), so a fall in confidence is a fall in
accuracy. Standard library only, so any python3 runs it; the same arguments
give byte-identical files.

Kinds (onset = 0-based index among predictions where the change starts):
  nodrift           one distribution throughout (--count streams, default 30)
  shift_confidence  the confidence distribution jumps at the onset (normed
                    Wasserstein 0.6 "large" down or up, 0.2 "small" down)
  shift_label_mix   one class takes over part of the mix at the onset (JS of the
                    mix 0.12 or 0.2), confidence unchanged
  noise_burst       20,000 predictions of noise (uniform confidence, random
                    class), then back to normal
  ramp              confidence falls by one baseline standard deviation,
                    linearly over 20,000 predictions
Each stream varies the class count (2, 3, 10), the confidence shape (skewed high
or near uniform), its decimals (2, with many ties; 6; or full precision) and the
baseline (2,000-50,000, window = baseline/10). The manifest records every
setting and the effect measured on the written values: normed Wasserstein of
confidence and Jensen-Shannon distance (base 2) of the mix, baseline against the
changed span.
"""
import argparse
import bisect
import hashlib
import itertools
import json
import math
import random
import sys
import time
from pathlib import Path

KINDS = ("nodrift", "shift_confidence", "shift_label_mix", "noise_burst", "ramp")
CLASS_COUNTS = (2, 3, 10)
# Latent confidence u in [0, 1] ~ Beta(a, b); confidence = 1/K + (1 - 1/K) * u,
# so it is always a possible arg-max probability.
SHAPES = {"skewed_high": (5.0, 1.6), "near_uniform": (1.15, 1.15)}
DECIMALS = (2, 6, None)  # None: full float precision
DEFAULT_BASELINES = (2000, 5000, 10000, 20000, 50000)
# Each kind's variants, cycled over its streams: (name, target effect, direction).
VARIANTS = {
    "nodrift": [("none", None, None)],
    "shift_confidence": [("large_down", 0.6, -1), ("small_down", 0.2, -1), ("large_up", 0.6, 1)],
    "shift_label_mix": [("js_0.12", 0.12, None), ("js_0.20", 0.2, None)],
    "noise_burst": [("uniform_20000", None, None)],
    "ramp": [("down_1sd_20000", 1.0, -1)],
}
DISTURBANCE = 20000  # length of a noise burst and of a ramp, in predictions
MIX_EXPONENT = 0.8  # base mix: class k has weight (k + 1) ** -0.8
START_EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def repo_root():
    return Path(__file__).resolve().parent.parent


def arg_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=repo_root() / "target" / "drift-streams")
    p.add_argument("--count", type=int, default=30, help="nodrift streams (default 30)")
    p.add_argument("--per-kind", type=int, default=6, help="streams of each other kind (default 6)")
    p.add_argument("--predictions", type=int, default=100_000, help="predictions per stream")
    p.add_argument("--baselines", default=",".join(map(str, DEFAULT_BASELINES)),
                   help="baseline sizes, cycled over each kind's streams")
    p.add_argument("--seed", type=int, default=20260101, help="first stream's seed")
    p.add_argument("--kinds", default=",".join(KINDS), help="kinds to write")
    p.add_argument("--select", default="", help="write only these streams (names)")
    return p


class Stream:
    """One stream's settings, fixed before any of it is drawn."""

    def __init__(self, kind, index, seed, classes, shape, decimals, baseline, predictions):
        self.kind, self.index, self.seed = kind, index, seed
        self.name = f"{kind}_{index:02d}"
        self.variant, self.target, self.direction = VARIANTS[kind][index % len(VARIANTS[kind])]
        if self.variant == "large_up":
            # A skewed-high shape has no room above it to rise by 0.6 std.
            shape = "near_uniform"
        elif kind == "ramp":
            # A near-uniform shape has no room below it to fall by a whole std.
            shape = "skewed_high"
        self.classes, self.shape, self.decimals = classes, shape, decimals
        self.baseline, self.window, self.predictions = baseline, max(baseline // 10, 1), predictions
        self.onset = self.end = self.midpoint = None
        if kind != "nodrift":
            room = DISTURBANCE if kind in ("noise_burst", "ramp") else 0
            free = predictions - baseline - room
            if free < 4 * self.window:
                raise SystemExit(f"{self.name}: {predictions} predictions leave no room after a "
                                 f"baseline of {baseline} (use --predictions or --baselines)")
            onset_rng = random.Random(f"onset:{seed}")
            self.onset = baseline + int(free * onset_rng.uniform(0.3, 0.5))
            self.end = self.onset + room if room else predictions
            if kind == "ramp":
                self.midpoint = self.onset + DISTURBANCE // 2
        elif baseline >= predictions:
            raise SystemExit(f"{self.name}: baseline {baseline} is not below {predictions} predictions")
        self.mix = base_mix(classes)
        self.shift = 0.0  # latent confidence shift (shift_confidence, ramp)
        self.shifted_mix = self.mix

    def calibrate(self):
        """Sizes the change to the variant's target effect (done only for the
        streams written: it takes a moment)."""
        if self.kind == "shift_confidence":
            self.shift = calibrated_shift(self, self.target)
        elif self.kind == "ramp":
            self.shift = self.target * latent_std(self)
        elif self.kind == "shift_label_mix":
            self.shifted_mix = calibrated_mix(self.mix, self.target)

    def changed_span(self):
        """The predictions compared with the baseline for the measured effect."""
        if self.kind == "nodrift":
            return self.baseline, self.predictions
        if self.kind == "ramp":
            return self.end, self.predictions
        return self.onset, self.end


def catalogue(args):
    """Every stream the arguments name, in a fixed order."""
    baselines = [int(b) for b in args.baselines.split(",") if b]
    if not baselines or min(baselines) < 10:
        raise SystemExit("--baselines: give sizes of at least 10, comma-separated")
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"--kinds: unknown kind {k!r} (known: {', '.join(KINDS)})")
    streams = []
    for kind_no, kind in enumerate(KINDS):
        if kind not in kinds:
            continue
        for i in range(args.count if kind == "nodrift" else args.per_kind):
            # Neighbouring streams differ in class count and shape; any 18 in a
            # row hold every class/shape/decimals combination.
            classes = CLASS_COUNTS[i % 3]
            shape = list(SHAPES)[i % 2]
            decimals = DECIMALS[(i + i // 3) % 3]
            streams.append(Stream(kind, i, args.seed + 1000 * kind_no + i, classes, shape,
                                  decimals, baselines[i % len(baselines)], args.predictions))
    selected = {s for s in args.select.split(",") if s}
    unknown = selected - {s.name for s in streams}
    if unknown:
        raise SystemExit(f"--select: no stream named {', '.join(sorted(unknown))}")
    return [s for s in streams if not selected or s.name in selected]


def base_mix(classes):
    w = [(k + 1) ** -MIX_EXPONENT for k in range(classes)]
    total = sum(w)
    return [x / total for x in w]


def js_distance(p, q):
    """Jensen-Shannon distance, base 2, as scipy.spatial.distance.jensenshannon."""
    sp, sq = sum(p), sum(q)
    p, q = [x / sp for x in p], [x / sq for x in q]
    div = 0.0
    for a, b in zip(p, q):
        m = (a + b) / 2
        if a > 0:
            div += a * math.log2(a / m) / 2
        if b > 0:
            div += b * math.log2(b / m) / 2
    return math.sqrt(max(div, 0.0))


def calibrated_mix(mix, target):
    """The base mix with a share lam moved onto the rarest class, lam chosen so
    that the mixes are `target` apart (Jensen-Shannon distance)."""
    rare = [0.0] * len(mix)
    rare[-1] = 1.0

    def moved(lam):
        return [(1 - lam) * a + lam * b for a, b in zip(mix, rare)]

    return moved(bisect_for(lambda lam: js_distance(mix, moved(lam)), target))


def bisect_for(f, target, lo=0.0, hi=1.0):
    """x in [lo, hi] with f(x) = target, f increasing; fails loudly if out of reach."""
    if f(hi) < target:
        raise SystemExit(f"effect {target} out of reach (at most {f(hi):.3f})")
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return (lo + hi) / 2


def reflect(u):
    """Folds a shifted latent value back into [0, 1]."""
    if u < 0:
        return -u
    if u > 1:
        return 2 - u
    return u


def latent_sample(stream, n=20000):
    a, b = SHAPES[stream.shape]
    rng = random.Random(f"calibrate:{stream.seed}")
    return [rng.betavariate(a, b) for _ in range(n)]


def latent_std(stream):
    return population_std(latent_sample(stream))


def calibrated_shift(stream, target):
    """Latent shift (folded at the ends) that moves confidence by `target`
    baseline standard deviations of normed Wasserstein distance."""
    base = latent_sample(stream)
    std = population_std(base)
    d = stream.direction

    def effect(shift):
        return wasserstein1(base, [reflect(u + d * shift) for u in base]) / std

    # Up to 0.4 the effect grows with the shift for every shape used here;
    # further, folding at the ends starts to undo it.
    return bisect_for(effect, target, hi=0.4)


def population_std(xs):
    mean = math.fsum(xs) / len(xs)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / len(xs))


def wasserstein1(a, b):
    """Exact Wasserstein-1 distance between two samples (scipy's definition)."""
    a, b = sorted(a), sorted(b)
    na, nb = len(a), len(b)
    i = j = 0
    total, prev = 0.0, min(a[0], b[0])
    while i < na or j < nb:
        x = a[i] if j >= nb or (i < na and a[i] <= b[j]) else b[j]
        total += abs(i / na - j / nb) * (x - prev)
        prev = x
        while i < na and a[i] == x:
            i += 1
        while j < nb and b[j] == x:
            j += 1
    return total


def mix_counts(preds, classes):
    counts = [0] * classes
    for k in preds:
        counts[k] += 1
    return counts


def draw(cumulative, rng):
    return min(bisect.bisect_right(cumulative, rng.random()), len(cumulative) - 1)


def cumulative(mix):
    return list(itertools.accumulate(mix))


class Clock:
    """Event times: gaps of 0, 1 or 2 s (p = .1, .6, .3), formatted once a second."""

    def __init__(self, rng):
        self.rng, self.t, self.text = rng, START_EPOCH, None

    def tick(self):
        r = self.rng.random()
        step = 0 if r < 0.1 else 1 if r < 0.7 else 2
        if step or self.text is None:
            self.t += step
            self.text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.t))
        return self.text


def feedback_lag(rng):
    """80%: 1-300 predictions later, 20%: 301-3,000 (as the reference streams)."""
    return rng.randint(1, 300) if rng.random() < 0.8 else rng.randint(301, 3000)


def confidence_text(c, decimals):
    return repr(round(c, decimals) if decimals is not None else c)


def write_stream(stream, out_dir):
    """Writes NAME.jsonl; returns (confidences as written, predicted classes, sha256)."""
    rng = random.Random(stream.seed)
    clock = Clock(random.Random(f"clock:{stream.seed}"))
    a, b = SHAPES[stream.shape]
    k = stream.classes
    floor = 1.0 / k
    base_cum, shifted_cum = cumulative(stream.mix), cumulative(stream.shifted_mix)
    labels = [str(c) for c in range(k)]
    n = stream.predictions
    pending = [[] for _ in range(n)]  # feedback lines written after prediction j
    confs, preds = [0.0] * n, [0] * n
    digest = hashlib.sha256()
    path = out_dir / f"{stream.name}.jsonl"
    lines = []
    with open(path, "w", encoding="ascii", newline="\n") as out:
        for i in range(n):
            ts = clock.tick()
            changed = stream.onset is not None and stream.onset <= i < stream.end
            noise = changed and stream.kind == "noise_burst"
            if noise:
                u = rng.random()
                pred = rng.randrange(k)
            else:
                u = rng.betavariate(a, b)
                shift = stream.shift
                if stream.kind == "ramp":
                    shift *= min(max((i - stream.onset) / DISTURBANCE, 0.0), 1.0)
                elif not changed:
                    shift = 0.0
                u = reflect(u + (stream.direction or -1) * shift)
                pred = draw(shifted_cum if changed else base_cum, rng)
            text = confidence_text(floor + (1 - floor) * u, stream.decimals)
            conf = float(text)
            confs[i], preds[i] = conf, pred
            if noise:
                # The world has not changed; the model's answers have.
                truth = draw(base_cum, rng)
            elif rng.random() < conf:
                truth = pred  # calibrated: right as often as it is confident
            else:
                truth = (pred + 1 + rng.randrange(k - 1)) % k
            lines.append('{"ts":"%s","id":"%s-%06d","model":"%s","prediction":"%s","confidence":%s}\n'
                         % (ts, stream.name, i, stream.name, labels[pred], text))
            pending[min(i + feedback_lag(rng), n - 1)].append(
                '{"type":"feedback","id":"%s-%06d","label":"%s","ts":"%%s"}\n'
                % (stream.name, i, labels[truth]))
            for fb in pending[i]:
                lines.append(fb % ts)
            pending[i] = None
            if len(lines) >= 8192:
                flush(lines, out, digest)
        flush(lines, out, digest)
    return confs, preds, digest.hexdigest()


def flush(lines, out, digest):
    chunk = "".join(lines)
    out.write(chunk)
    digest.update(chunk.encode("ascii"))
    lines.clear()


def measured_effect(stream, confs, preds):
    base_c, base_p = confs[: stream.baseline], preds[: stream.baseline]
    start, end = stream.changed_span()
    std = population_std(base_c)
    wn = wasserstein1(base_c, confs[start:end]) / std if std > 0 else 0.0
    js = js_distance(mix_counts(base_p, stream.classes), mix_counts(preds[start:end], stream.classes))
    return {"span": [start, end], "wasserstein_norm": round(wn, 6), "js": round(js, 6),
            "confidence_mean_baseline": round(math.fsum(base_c) / len(base_c), 6),
            "confidence_mean_changed": round(math.fsum(confs[start:end]) / (end - start), 6)}


def manifest_entry(stream, sha, effect):
    return {
        "name": stream.name, "file": f"{stream.name}.jsonl", "sha256": sha,
        "kind": stream.kind, "variant": stream.variant, "seed": stream.seed,
        "classes": stream.classes, "shape": stream.shape, "decimals": stream.decimals,
        "predictions": stream.predictions, "baseline": stream.baseline, "window": stream.window,
        "onset": stream.onset, "midpoint": stream.midpoint,
        "disturbance_end": stream.end if stream.kind in ("noise_burst", "ramp") else None,
        "target_effect": stream.target, "effect": effect,
    }


def main(argv=None):
    args = arg_parser().parse_args(argv)
    streams = catalogue(args)
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    for stream in streams:
        stream.calibrate()
        confs, preds, sha = write_stream(stream, args.out)
        effect = measured_effect(stream, confs, preds)
        entries.append(manifest_entry(stream, sha, effect))
        print(f"{stream.name:22} {stream.variant:15} K={stream.classes:<2} B={stream.baseline:<6} "
              f"onset={stream.onset} normed_W={effect['wasserstein_norm']:.3f} JS={effect['js']:.3f}",
              file=sys.stderr)
    manifest = {
        "generator": "benches/drift_streams.py",
        "arguments": {"count": args.count, "per_kind": args.per_kind,
                      "predictions": args.predictions, "baselines": args.baselines,
                      "seed": args.seed, "kinds": args.kinds, "select": args.select},
        "index_convention": "0-based among prediction events (feedback lines not counted)",
        "feedback": "one per prediction, after the prediction 1-300 (80%) or 301-3000 (20%) later",
        "streams": entries,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
