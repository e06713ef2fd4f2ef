#!/usr/bin/env python3
"""The benchmark stream with input features: N binary predictions in the
shape of ../shared/bench/gen_events.py, each carrying seven features in
`input` as ../shared/data/f_nannyml_features does (four floats with 6
decimals, two strings, one boolean), shifted in the second half.

usage: gen_feature_events.py N OUT
"""
import random
import sys
from datetime import datetime, timedelta, timezone

n, out = int(sys.argv[1]), sys.argv[2]
random.seed(42)
t0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)
salaries = ["0 - 20K \\u20ac", "20K - 40K \\u20ac", "40K - 60K \\u20ac", "60K+ \\u20ac"]
days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
with open(out, "w", buffering=1 << 20) as f:
    w = f.write
    for i in range(n):
        ts = (t0 + timedelta(milliseconds=i * 7)).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % ((i * 7) % 1000)
        drift = i >= n // 2
        p = random.betavariate(5 if drift else 8, 2)
        pred = "fraud" if random.random() < (0.3 if drift else 0.1) else "legit"
        conf = round(p, 4)
        other = round(1 - conf, 4)
        probs = '{"fraud":%.4f,"legit":%.4f}' % ((conf, other) if pred == "fraud" else (other, conf))
        distance = random.expovariate(1 / (8.0 if drift else 4.0))
        w(
            '{"ts":"%s","id":"req-%06d","model":"fraud-v3","prediction":"%s","confidence":%.4f,"probs":%s,'
            '"input":{"distance_from_office":%.6f,"salary_range":"%s","gas_price_per_litre":%.6f,'
            '"public_transportation_cost":%.6f,"wfh_prev_workday":%s,"workday":"%s","tenure":%.6f}}\n'
            % (
                ts, i % 1000000, pred, conf, probs,
                distance,
                random.choice(salaries),
                random.uniform(1.4, 2.4),
                random.uniform(4.0, 9.0),
                "true" if random.random() < (0.8 if drift else 0.55) else "false",
                random.choice(days),
                random.uniform(0.0, 7.0),
            )
        )
