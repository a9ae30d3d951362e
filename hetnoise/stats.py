"""Small, seeded statistics for the book: bootstrap intervals over runs."""
from __future__ import annotations

import numpy as np


def bootstrap_diff(a, b, n: int = 4000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mean(a) − mean(b) with a percentile bootstrap interval, resampling the runs of each side.

    Returns (estimate, low, high); the interval is NaN when either side has fewer than two runs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    est = float(a.mean() - b.mean()) if len(a) and len(b) else float("nan")
    if len(a) < 2 or len(b) < 2:
        return est, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    diffs = (rng.choice(a, (n, len(a))).mean(1) - rng.choice(b, (n, len(b))).mean(1))
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return est, float(lo), float(hi)
