"""The statistics of the claims and tables: Student-t intervals over independent units (seeds), changes
over p within each unit, and differences paired within units."""
from __future__ import annotations

import numpy as np


# Units: what repeats a cell independently. A seed draws the initial weights, the batch order, the dropout masks
# and the noise; the clean classes of one seed share them, so they are averaged within it, never counted apart.
MIN_UNITS = 3


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """mean with its Student-t interval over independent units; NaN interval under two units."""
    from scipy import stats as scipy_stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    est = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return est, float("nan"), float("nan")
    half = scipy_stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return est, float(est - half), float(est + half)


def per_unit(frame, value: str, units: tuple[str, ...]):
    """The mean of `value` in each unit (a pandas Series indexed by the unit keys)."""
    return frame.groupby(list(units))[value].mean()


def unit_change(frame, value: str, units: tuple[str, ...], x: str = "p") -> np.ndarray:
    """Per unit: the least-squares slope of `value` on `x` over all its rows, times the range of `x` the
    frame covers (the change from its lowest to its highest x); units whose x does not vary are left out."""
    span = float(np.ptp(frame[x].to_numpy(float))) if len(frame) else 0.0
    out = []
    for _, part in frame.groupby(list(units)):
        xs, ys = part[x].to_numpy(float), part[value].to_numpy(float)
        if np.ptp(xs) > 0:
            out.append(float(np.polyfit(xs, ys, 1)[0]) * span)
    return np.asarray(out)


def unit_diff(a, b, value: str, units: tuple[str, ...],
              pair: tuple[str, ...] = ()) -> tuple[float, float, float, bool, int]:
    """mean(a) − mean(b) of `value` with a t interval over units: each unit's difference is the mean over
    its rows matched by `pair` (within a unit, for example the same clean class) when every row of `a` has
    its partner in `b`, else the difference of the unit's two means. Units on one side only are left out.
    Returns (estimate, low, high, paired, units)."""
    keys = list(units) + [k for k in pair if k not in units]
    paired = bool(len(a)) and all(k in a and k in b for k in keys) and not b.duplicated(keys).any()
    if paired:
        both = a.merge(b, on=keys, suffixes=("_a", "_b"))
        paired = len(both) == len(a)
    if paired:
        both = both.assign(diff=both[f"{value}_a"] - both[f"{value}_b"])
        diffs = both.groupby(list(units))["diff"].mean()
    else:
        diffs = (per_unit(a, value, units) - per_unit(b, value, units)).dropna()
    return (*t_interval(diffs.to_numpy(float)), paired, int(len(diffs)))
