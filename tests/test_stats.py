"""Student-t intervals over units, changes within units, paired differences: coverage and edge cases."""
import numpy as np
import pandas as pd
import pytest

from hetnoise import stats


def test_t_interval_covers_the_mean_about_95_percent_of_the_time_even_with_three_units():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        est, lo, hi = stats.t_interval(rng.normal(1.0, 2.0, 3))
        assert lo <= est <= hi
        hits += lo <= 1.0 <= hi
    assert 0.91 <= hits / 400 <= 0.99  # a percentile bootstrap of 3 values covers about 75 %


def test_t_interval_edge_cases():
    est, lo, hi = stats.t_interval([0.8])
    assert est == 0.8 and np.isnan(lo) and np.isnan(hi)
    assert np.isnan(stats.t_interval([])[0])
    assert stats.t_interval([1.0, np.nan, 3.0])[0] == 2.0  # missing values are not units
    assert stats.t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def frame(slopes, classes=3, noise=0.0, seed=0):
    """One row per seed × clean class × p; each seed's values fall along its own slope."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"seed": s, "clean_class": c, "p": p, "value": 1.0 + slope * p + rng.normal(0, noise)}
                         for s, slope in enumerate(slopes) for c in range(classes) for p in (0.0, 0.5, 1.0)])


def test_unit_change_is_one_slope_per_seed_times_the_range():
    changes = stats.unit_change(frame([-0.1, -0.2, 0.0]), "value", ("seed",))
    assert changes == pytest.approx([-0.1, -0.2, 0.0])
    half = frame([-0.1, -0.2, 0.0]).query("p <= 0.5")
    assert stats.unit_change(half, "value", ("seed",)) == pytest.approx([-0.05, -0.1, 0.0])  # over p 0 → 0.5


def test_unit_diff_pairs_within_a_seed_and_counts_seeds_not_rows():
    data = frame([0.0, 0.0, 0.0], classes=10).assign(value=lambda f: f.value + 0.01 * f.clean_class)
    a, b = data[data.p == 1.0].assign(value=lambda f: f.value - 0.05), data[data.p == 0.0]
    est, lo, hi, paired, units = stats.unit_diff(a, b, "value", ("seed",), ("clean_class",))
    assert paired and units == 3 and est == pytest.approx(-0.05) and lo == pytest.approx(hi)
    est_u, _, _, paired_u, units_u = stats.unit_diff(a.iloc[1:], b.iloc[2:], "value", ("seed",), ("clean_class",))
    assert not paired_u and units_u == 3 and est_u != pytest.approx(-0.05)


def test_unit_diff_of_multi_task_pairs():
    offsets = {0: 0.0, 1: 0.08, 2: -0.08}  # a class split's difficulty moves both sides
    rng = np.random.default_rng(0)
    stl = pd.DataFrame([{"split_seed": s, "seed": k, "acc": 0.8 + offsets[s] + rng.normal(0, 0.002)}
                        for s in offsets for k in (0, 1)])
    mtl = stl.assign(acc=stl.acc + 0.02 + rng.normal(0, 0.002, len(stl)))
    est, lo, hi, paired, units = stats.unit_diff(mtl, stl, "acc", ("split_seed", "seed"))
    assert paired and units == 6 and 0.015 < lo < est < hi < 0.025
    _, _, _, partial, units_p = stats.unit_diff(mtl, stl.iloc[1:], "acc", ("split_seed", "seed"))
    assert not partial and units_p == 5  # a pair without its partner is left out
