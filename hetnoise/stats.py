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


def bootstrap_mean(a, n: int = 4000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mean(a) with a percentile bootstrap interval over runs; NaN interval under two runs."""
    a = np.asarray(a, dtype=float)
    est = float(a.mean()) if len(a) else float("nan")
    if len(a) < 2:
        return est, float("nan"), float("nan")
    means = np.random.default_rng(seed).choice(a, (n, len(a))).mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return est, float(lo), float(hi)


def bootstrap_slope(x, y, n: int = 4000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Least-squares slope of y on x with a percentile bootstrap interval, resampling runs (x, y pairs).

    Resamples whose x values are all equal have no slope and are drawn again; NaN interval under 3 runs."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length ({len(x)} vs {len(y)})")
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan")
    est = float(np.polyfit(x, y, 1)[0])
    if len(x) < 3:
        return est, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), (2 * n, len(x)))
    xs, ys = x[idx], y[idx]
    keep = np.ptp(xs, axis=1) > 0
    xs, ys = xs[keep][:n], ys[keep][:n]
    xc = xs - xs.mean(1, keepdims=True)
    slopes = (xc * (ys - ys.mean(1, keepdims=True))).sum(1) / (xc ** 2).sum(1)
    lo, hi = np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2])
    return est, float(lo), float(hi)


def matched_diff(a, b, value: str, keys: tuple[str, ...]) -> tuple[float, float, float, bool]:
    """mean(a[value]) − mean(b[value]) with a 95 % bootstrap interval: over the differences of matched runs
    (same `keys`) when every run of `a` has one partner in `b`, which removes what the runs of a pair share
    (for example a class split's difficulty); otherwise over the runs of each side. Returns
    (estimate, low, high, paired)."""
    if all(k in a and k in b for k in keys) and len(a) and not b.duplicated(list(keys)).any():
        both = a.merge(b, on=list(keys), suffixes=("_a", "_b"))
        if len(both) == len(a):
            d = both[f"{value}_a"].to_numpy(float) - both[f"{value}_b"].to_numpy(float)
            return (*bootstrap_mean(d), True)
    return (*bootstrap_diff(a[value].to_numpy(float), b[value].to_numpy(float)), False)
