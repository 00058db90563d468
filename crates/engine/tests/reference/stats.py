"""Records scipy's numbers for crates/engine/tests/stats.rs: paired t-tests, their confidence
intervals, and binomial standard errors, on fixed inputs (accuracies over seeds).

Run with any Python that has scipy:  python3 crates/engine/tests/reference/stats.py
It rewrites stats.json beside it.
"""

import json
import math
import pathlib

import numpy as np
from scipy import stats

PAIRS = [
    # Three seeds: RAdam vs AdamW, overlapping.
    ([0.312, 0.305, 0.327], [0.318, 0.301, 0.322]),
    # Three seeds: a clear winner.
    ([0.354, 0.361, 0.349], [0.286, 0.291, 0.279]),
    # Five seeds, mixed.
    ([0.5012, 0.4875, 0.5123, 0.4950, 0.5066], [0.4990, 0.4921, 0.5010, 0.5001, 0.4982]),
    # Ten seeds.
    (
        [0.91, 0.92, 0.905, 0.915, 0.93, 0.912, 0.908, 0.921, 0.917, 0.909],
        [0.905, 0.918, 0.906, 0.91, 0.925, 0.915, 0.9, 0.919, 0.911, 0.907],
    ),
    # Two seeds.
    ([0.2, 0.25], [0.1, 0.3]),
]

ACCURACIES = [(0.344, 1000), (0.5, 10000), (0.1, 100), (0.9123, 10000)]


def record(a, b):
    a, b = np.array(a), np.array(b)
    d = a - b
    n = len(d)
    result = stats.ttest_rel(a, b)
    sd = float(np.std(d, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    return {
        "a": a.tolist(),
        "b": b.tolist(),
        "mean": float(np.mean(d)),
        "sd": sd,
        "t": float(result.statistic),
        "p_value": float(result.pvalue),
        "interval": [float(np.mean(d)) - half, float(np.mean(d)) + half],
    }


out = {
    "pairs": [record(a, b) for a, b in PAIRS],
    "standard_errors": [
        {"accuracy": p, "images": n, "se": float(stats.binom.std(n, p) / n)} for p, n in ACCURACIES
    ],
    "normal_975": float(stats.norm.ppf(0.975)),
}
path = pathlib.Path(__file__).with_name("stats.json")
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
