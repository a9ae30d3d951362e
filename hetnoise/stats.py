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


def transfer_benefit(frame):
    """MTL − STL Task1 accuracy at each p, with its bootstrap 95 % interval over runs (fractions): one row
    per p of the multi-task runs of `frame`, against all its single-task runs."""
    import pandas as pd

    stl = frame[frame["mode"] == "stl"].task1_acc.to_numpy(float)
    rows = []
    for p, g in frame[frame["mode"] == "mtl"].groupby("p"):
        est, lo, hi = bootstrap_diff(g.task1_acc.to_numpy(float), stl)
        rows.append({"p": p, "benefit": est, "low": lo, "high": hi, "mtl runs": len(g), "stl runs": len(stl)})
    return pd.DataFrame(rows, columns=["p", "benefit", "low", "high", "mtl runs", "stl runs"])
