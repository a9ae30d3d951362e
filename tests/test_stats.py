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
