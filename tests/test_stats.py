import numpy as np

from hetnoise import stats


def test_bootstrap_diff_covers_the_truth_and_is_seeded():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.02, 30), rng.normal(0.75, 0.02, 30)
    est, lo, hi = stats.bootstrap_diff(a, b)
    assert lo < 0.05 < hi and lo < est < hi and hi - lo < 0.03
    assert stats.bootstrap_diff(a, b) == (est, lo, hi)


def test_bootstrap_diff_needs_two_runs_per_side():
    est, lo, hi = stats.bootstrap_diff([0.8], [0.7, 0.72])
    assert abs(est - 0.09) < 1e-9 and np.isnan(lo) and np.isnan(hi)


def test_bootstrap_slope_coverage_on_synthetic_data():
    """The 95 % interval covers the true slope in roughly 95 % of independent data sets."""
    rng = np.random.default_rng(0)
    x = np.repeat([0.0, 0.25, 0.5, 0.75, 1.0], 4)
    hits = 0
    for _ in range(200):
        y = 3.0 - 2.0 * x + rng.normal(0, 1.0, len(x))
        est, lo, hi = stats.bootstrap_slope(x, y, n=1000, seed=int(rng.integers(1 << 30)))
        assert lo <= est <= hi
        hits += lo <= -2.0 <= hi
    assert 0.85 <= hits / 200 <= 0.99


def test_bootstrap_slope_edge_cases():
    est, lo, hi = stats.bootstrap_slope([0, 1], [1.0, 3.0])
    assert abs(est - 2.0) < 1e-12 and np.isnan(lo) and np.isnan(hi)
    assert all(np.isnan(v) for v in stats.bootstrap_slope([0.5, 0.5, 0.5], [1, 2, 3]))
    assert stats.bootstrap_slope([0, 0.5, 1, 1], [1, 2, 3, 3]) == stats.bootstrap_slope([0, 0.5, 1, 1], [1, 2, 3, 3])
    try:
        stats.bootstrap_slope([0, 1], [1])
    except ValueError as e:
        assert "differ in length" in str(e)
    else:
        raise AssertionError("no error for mismatched lengths")


def test_bootstrap_mean_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    hits = 0
    for i in range(200):
        est, lo, hi = stats.bootstrap_mean(rng.normal(5.0, 1.0, 30), n=1000, seed=i)
        hits += lo <= 5.0 <= hi
    assert 0.88 <= hits / 200 <= 0.99
    assert stats.bootstrap_mean([1.0, 3.0]) == stats.bootstrap_mean([1.0, 3.0])
    est, lo, hi = stats.bootstrap_mean([0.7])
    assert est == 0.7 and np.isnan(lo) and np.isnan(hi)


def test_matched_diff_pairs_runs_of_the_same_split_and_seed():
    """Splits far apart in difficulty: paired by split the +2-point effect is sure, unpaired it is lost."""
    import pandas as pd

    offsets = {0: 0.0, 1: 0.08, 2: -0.08}
    rng = np.random.default_rng(0)
    stl = pd.DataFrame([{"split_seed": s, "seed": k, "acc": 0.8 + offsets[s] + rng.normal(0, 0.002)}
                        for s in offsets for k in (0, 1)])
    mtl = stl.assign(acc=stl.acc + 0.02 + rng.normal(0, 0.002, len(stl)))
    est, lo, hi, paired = stats.matched_diff(mtl, stl, "acc", ("split_seed", "seed"))
    assert paired and 0.015 < lo < est < hi < 0.025
    est_u, lo_u, hi_u, paired_u = stats.matched_diff(mtl.drop(columns="seed"), stl.drop(columns="seed"), "acc",
                                                     ("split_seed", "seed"))
    assert not paired_u and lo_u < 0 < hi_u and abs(est_u - est) < 1e-12
    # a run without its partner: unpaired
    _, _, _, partial = stats.matched_diff(mtl, stl.iloc[1:], "acc", ("split_seed", "seed"))
    assert not partial
