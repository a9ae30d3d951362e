"""Tests of hetnoise.noise: statistics against the analytic matrix and cleanlab, reports, validation."""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hetnoise import noise

ROOT = Path(__file__).resolve().parents[1]
MNIST_TRAIN = 54_000  # the 9:1 split of MNIST's 60 000 training images (paper §4.1)


def balanced_labels(n: int, k: int, seed: int = 0) -> np.ndarray:
    """n labels spread evenly over k classes, shuffled."""
    return np.random.default_rng(seed).permutation(np.arange(n) % k)


def assert_within_binomial(emp: np.ndarray, T: np.ndarray, counts: np.ndarray, alpha: float = 1e-6):
    """Each realised transition count is plausible under Binomial(n_i, T[i, j]): exact two-sided p-value
    above alpha (1e-6, about 5 sigma; exact tails matter for cells with small expected counts)."""
    k = np.rint(emp * counts[:, None])
    n = np.broadcast_to(counts[:, None], T.shape)
    pval = np.minimum(1, 2 * np.minimum(stats.binom.cdf(k, n, T), stats.binom.sf(k - 1, n, T)))
    assert (pval > alpha).all(), np.argwhere(pval <= alpha)


# ------------------------------------------------------------------------------ statistics: multi-class
@pytest.mark.parametrize("strategy", ["exclude", "include"])
@pytest.mark.parametrize("p", [0.5, 0.8, 1.0])
def test_realised_matrix_matches_analytic_mnist_setting(strategy, p):
    y = balanced_labels(MNIST_TRAIN, 10)
    noisy, rep = noise.corrupt_classes(y, p, clean=[3], strategy=strategy, seed=11)
    T = noise.transition_matrix(10, p, clean=[3], strategy=strategy)
    assert_within_binomial(rep.empirical_matrix, T, rep.counts)
    assert rep.warnings == [] and (noisy[y == 3] == 3).all()
    # where the clean class may appear as a noisy label is what separates the strategies
    assert ((noisy == 3) & (y != 3)).any() == (strategy == "include")


@pytest.mark.parametrize("strategy", ["exclude", "include"])
def test_heterogeneous_rate_vector(strategy):
    rates = np.array([0, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.9, 0.95, 1.0])
    y = balanced_labels(60_000, 10, seed=2)
    noisy, rep = noise.corrupt_classes(y, rates, clean=[0], strategy=strategy, seed=5)
    T = noise.transition_matrix(10, rates, clean=[0], strategy=strategy)
    assert_within_binomial(rep.empirical_matrix, T, rep.counts)
    np.testing.assert_allclose(np.diag(T), 1 - rates)
    np.testing.assert_array_equal(rep.intended_rate, rates)
    assert np.all(np.abs(rep.realised_rate - rates) <= 5 * np.sqrt(rates * (1 - rates) / rep.counts) + 1e-12)


def test_vector_without_clean_classes_and_zero_rate_class_still_a_target():
    """A class with rate 0 that is not clean stays in the target list (it receives labels)."""
    T = noise.transition_matrix(4, [0.0, 0.6, 0.6, 0.6])
    np.testing.assert_allclose(T[1], [0.2, 0.4, 0.2, 0.2])
    np.testing.assert_allclose(T[0], [1, 0, 0, 0])


def test_multitask_task2_all_fifty_classes_corrupted():
    y = balanced_labels(22_500, 50)  # Task2: 50 CIFAR-100 classes, 450 training images each
    noisy, rep = noise.corrupt_classes(y, 0.5, clean=[], seed=0)
    T = noise.transition_matrix(50, 0.5, clean=[])
    np.testing.assert_allclose(T[0, 1:], 0.5 / 49)
    assert_within_binomial(rep.empirical_matrix, T, rep.counts)
    assert abs(rep.to_dict()["overall_rate"] - 0.5) < 5 * np.sqrt(0.25 / y.size)


def test_replacements_uniform_over_target_list():
    """Chi-square: corrupted labels of one class spread evenly over the other targets."""
    y = np.full(40_000, 4)
    for strategy, expected in (("exclude", [1, 2, 3, 5]), ("include", [0, 1, 2, 3, 5])):
        noisy, _ = noise.corrupt_classes(y, 1.0, clean=[0], num_classes=6, strategy=strategy, seed=9)
        counts = np.bincount(noisy, minlength=6)
        assert np.flatnonzero(counts).tolist() == expected
        assert stats.chisquare(counts[expected]).pvalue > 1e-4


def test_matches_cleanlab_generator():
    """Same T through cleanlab's generate_noisy_labels and ours: the realised matrices agree.

    cleanlab takes noise_matrix[noisy, true] (columns are true labels, each summing to 1), so it gets
    T.T. It flips a fixed number of samples per (true, noisy) pair, floor(T[i, j] * n_i), drawn with
    the global numpy RNG; ours draws each sample independently, so our counts vary binomially around
    the same values. A chi-square test of homogeneity per true class compares the two count rows.
    """
    from cleanlab.benchmarking.noise_generation import generate_noisy_labels

    y = balanced_labels(30_000, 10, seed=4)
    rates = np.array([0, 0.3, 0.5, 0.6, 0.8, 0.8, 0.9, 0.95, 0.98, 1.0])
    for strategy in ("exclude", "include"):
        T = noise.transition_matrix(10, rates, clean=[0], strategy=strategy)
        np.random.seed(0)
        theirs = generate_noisy_labels(y, T.T)
        ours, _ = noise.corrupt_classes(y, rates, clean=[0], strategy=strategy, seed=0)
        cm_theirs = np.bincount(y * 10 + theirs, minlength=100).reshape(10, 10)
        cm_ours = np.bincount(y * 10 + ours, minlength=100).reshape(10, 10)
        n = np.bincount(y)
        assert np.abs(cm_theirs / n[:, None] - T).max() <= 10 / n.min()  # cleanlab is near-exact
        for i in range(1, 10):
            table = np.stack([cm_ours[i], cm_theirs[i]])
            table = table[:, table.sum(0) > 0]
            if table.shape[1] > 1:
                assert stats.chi2_contingency(table).pvalue > 1e-4, (strategy, i, table)
        assert (cm_ours[0, 1:] == 0).all() and (cm_theirs[0, 1:] == 0).all()


# ---------------------------------------------------------------------------- exact properties, class
def test_nested_corruption_in_p():
    y = balanced_labels(5_000, 10)
    out = {p: noise.corrupt_classes(y, p, clean=[0], seed=7)[0] for p in (0.2, 0.5, 0.9, 1.0)}
    for lo, hi in ((0.2, 0.5), (0.5, 0.9), (0.9, 1.0)):
        changed_lo = out[lo] != y
        assert ((out[hi] != y) | ~changed_lo).all()  # corrupted at lo => corrupted at hi
        np.testing.assert_array_equal(out[hi][changed_lo], out[lo][changed_lo])  # same replacement


def test_seed_generator_and_determinism_and_no_mutation():
    y = balanced_labels(1_000, 5)
    y_copy = y.copy()
    a, _ = noise.corrupt_classes(y, 0.5, seed=3)
    b, _ = noise.corrupt_classes(y, 0.5, seed=3)
    c, _ = noise.corrupt_classes(y, 0.5, seed=np.random.default_rng(3))
    d, _ = noise.corrupt_classes(y, 0.5, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert (a != d).any() and a is not y and a.dtype == np.int64
    np.testing.assert_array_equal(y, y_copy)


def test_accepts_whole_floats_lists_and_torch():
    import torch

    y = [0, 1, 2, 2, 1]
    ref, _ = noise.corrupt_classes(y, 0.5, seed=1)
    np.testing.assert_array_equal(noise.corrupt_classes(np.array(y, float), 0.5, seed=1)[0], ref)
    np.testing.assert_array_equal(noise.corrupt_classes(torch.tensor(y), 0.5, seed=1)[0], ref)
    np.testing.assert_array_equal(noise.corrupt_classes(np.array(y, np.uint8), 0.5, seed=1)[0], ref)


def test_report_contents_and_json():
    y = np.array([0] * 10 + [1] * 10 + [3] * 10)  # class 2 absent
    noisy, rep = noise.corrupt_classes(y, 1.0, clean=[0], num_classes=5, seed=0)
    assert rep.counts.tolist() == [10, 10, 0, 10, 0]
    np.testing.assert_array_equal(rep.changed, noisy != y)
    assert np.isnan(rep.realised_rate[2]) and np.isnan(rep.empirical_matrix[2]).all()
    np.testing.assert_allclose(np.nansum(rep.empirical_matrix, 1)[[0, 1, 3]], 1)
    d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert d["realised_rate"] == [0.0, 1.0, None, 1.0, None] and d["intended_rate"] == [0, 1, 1, 1, 1]
    assert d["n"] == 30 and d["n_changed"] == 20 and d["overall_rate"] == pytest.approx(2 / 3)
    assert d["clean"] == [0] and d["strategy"] == "exclude" and d["warnings"] == []
    assert set(d) >= {"counts", "num_classes"} and "changed" not in d


def test_empty_labels_with_num_classes():
    noisy, rep = noise.corrupt_classes(np.array([], dtype=int), 0.5, num_classes=3)
    assert noisy.size == 0 and rep.to_dict()["overall_rate"] is None


def test_report_warns_when_realised_departs_from_intended():
    y = balanced_labels(2_000, 4)
    noisy, _ = noise.corrupt_classes(y, 0.5, seed=0)
    with pytest.warns(UserWarning, match="class 1: realised change rate"):
        rep = noise._class_report(y, noisy, np.array([0.5, 0.1, 0.5, 0.5]), 4, "exclude", np.array([]))
    assert len(rep.warnings) == 1 and rep.to_dict()["warnings"] == rep.warnings


def test_binomial_pvalues_with_and_without_scipy(monkeypatch):
    k, n, p = np.array([0, 30, 50, 62, 5]), np.array([0, 100, 100, 100, 5]), np.array([0.3, 0.3, 0.5, 0.5, 1.0])
    exact = noise._binom_pvalues(k, n, p)
    assert exact[0] == 1 and exact[4] == 1
    assert exact[2] == pytest.approx(stats.binomtest(50, 100, 0.5).pvalue)
    assert exact[3] == pytest.approx(stats.binomtest(62, 100, 0.5).pvalue)
    monkeypatch.setattr(noise, "_scipy_stats", None)
    approx = noise._binom_pvalues(k, n, p)
    np.testing.assert_allclose(approx[[2, 3]], exact[[2, 3]], rtol=0.2)
    assert noise._binom_pvalues(3, 10, 0.0)[0] == 0.0


# -------------------------------------------------------------------------------------- multi-label
def coco_like(n: int = 20_000, m: int = 80, seed: int = 0) -> np.ndarray:
    """A multi-hot matrix with skewed label frequencies (a few common labels, many rare ones)."""
    freq = 0.4 / np.arange(1, m + 1) ** 0.8
    return (np.random.default_rng(seed).random((n, m)) < freq).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, bool, np.int64, np.float32])
def test_swap_keeps_row_counts_and_other_columns(dtype):
    Y = coco_like().astype(dtype)
    Y0 = Y.copy()
    noisy, rep = noise.corrupt_multilabel(Y, 0.6, group=range(50), seed=1)
    assert noisy.dtype == Y.dtype and noisy is not Y
    np.testing.assert_array_equal(Y, Y0)
    np.testing.assert_array_equal(noisy.sum(1), Y.sum(1))
    np.testing.assert_array_equal(noisy[:, 50:], Y[:, 50:])
    np.testing.assert_array_equal(rep.changed, noisy != Y)
    assert rep.n_no_free_label == 0 and rep.warnings == []
    np.testing.assert_array_equal(rep.intended_rate, np.r_[np.full(50, 0.6), np.zeros(30)])
    moved = rep.moved_out_rate[:50]
    se = np.sqrt(0.6 * 0.4 / rep.positives_before[:50])
    assert (np.abs(moved - 0.6) <= 5 * se).all()
    assert rep.rows_affected == int((noisy != Y).any(1).sum())
    assert np.isnan(rep.moved_out_rate[50:]).sum() == (rep.positives_before[50:] == 0).sum()


def test_swap_destination_uniform_over_free_labels():
    Y = np.zeros((30_000, 6), np.uint8)
    Y[:, 0] = 1
    Y[:, 5] = 1  # outside the group
    noisy, rep = noise.corrupt_multilabel(Y, 1.0, group=[0, 1, 2, 3], seed=2)
    assert (noisy[:, 0] == 0).all() and (noisy[:, 5] == 1).all() and (noisy[:, 4] == 0).all()
    dest = noisy[:, 1:4].sum(0)
    assert dest.sum() == 30_000 and stats.chisquare(dest).pvalue > 1e-4


def test_swap_with_no_free_label_stays_and_is_counted():
    Y = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]], np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        noisy, rep = noise.corrupt_multilabel(Y, 1.0, group=[0, 1, 2], seed=0)
    assert [str(w.message) for w in caught] == rep.warnings and caught[0].filename == __file__
    assert "found no free label" in rep.warnings[-1] and "label 1: 0 of 2 positives moved" in rep.warnings[1]
    np.testing.assert_array_equal(noisy[0], Y[0])  # group full: all three chosen, none can move
    assert noisy[1].tolist() in ([1, 0, 1, 0], [0, 1, 1, 0])  # two chosen, one free slot
    assert rep.n_selected == 5 and rep.n_no_free_label == 4 and rep.rows_affected == 1
    assert json.loads(json.dumps(rep.to_dict(), allow_nan=False))["n_no_free_label"] == 4


def test_flip_rate_and_p_zero_identity():
    Y = coco_like(10_000, 20)
    noisy, rep = noise.corrupt_multilabel(Y, 0.3, group=range(10, 20), mode="flip", seed=3)
    np.testing.assert_array_equal(noisy[:, :10], Y[:, :10])
    assert (np.abs(rep.realised_rate[10:] - 0.3) <= 5 * np.sqrt(0.21 / 10_000)).all()
    assert rep.n_no_free_label == 0 and rep.warnings == []
    for mode in ("swap", "flip"):
        same, rep0 = noise.corrupt_multilabel(Y, 0.0, group=range(20), mode=mode, seed=3)
        np.testing.assert_array_equal(same, Y)
        assert rep0.rows_affected == 0
    flipped, _ = noise.corrupt_multilabel(Y, 1.0, group=[2, 5], mode="flip")
    np.testing.assert_array_equal(flipped[:, [2, 5]], 1 - Y[:, [2, 5]])


@pytest.mark.parametrize("mode", ["swap", "flip"])
@pytest.mark.parametrize("p", [0.3, 0.9, 1.0])
def test_expected_change_rate_matches_simulation(mode, p):
    rng = np.random.default_rng(6)
    Y = (rng.random((20_000, 12)) < np.linspace(0.05, 0.8, 12)).astype(np.uint8)  # dense: swaps get stuck
    group = [0, 3, 5, 6, 9, 11]
    expected = noise.expected_change_rate(Y, p, group, mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, rep = noise.corrupt_multilabel(Y, p, group, mode=mode, seed=1)
    assert (expected[np.setdiff1d(np.arange(12), group)] == 0).all()
    assert np.abs(rep.realised_rate - expected).max() <= 5 * np.sqrt(0.25 / 20_000)


def test_expected_change_rate_exact_small_case():
    Y = np.array([[1, 1, 1, 0, 1], [0, 0, 0, 0, 1]], np.uint8)
    # row 0, p = 1: three chosen, one free slot, so each positive leaves w.p. 1/3 and the free label fills
    np.testing.assert_allclose(noise.expected_change_rate(Y[:1], 1.0, [0, 1, 2, 3]), [1 / 3, 1 / 3, 1 / 3, 1, 0])
    np.testing.assert_allclose(noise.expected_change_rate(Y[1:], 0.7, [0, 1, 2, 3]), 0)  # nothing to move
    np.testing.assert_allclose(noise.expected_change_rate(Y, 0.7, [1, 4], mode="flip"), [0, 0.7, 0, 0, 0.7])
    with pytest.raises(ValueError, match=r"mode='x'"):
        noise.expected_change_rate(Y, 0.5, [0], mode="x")


def test_multilabel_determinism():
    Y = coco_like(2_000, 30)
    a, _ = noise.corrupt_multilabel(Y, 0.5, group=range(15), seed=8)
    b, _ = noise.corrupt_multilabel(Y, 0.5, group=range(15), seed=np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------- regression
def test_regression_range_and_distribution():
    y = np.concatenate([np.linspace(0, 100, 1_001), np.full(20_000, 25.0)])
    noisy, rep = noise.corrupt_regression(y, 20, 40, 5.0, seed=0)
    inside = (y >= 20) & (y <= 40)
    np.testing.assert_array_equal(noisy[~inside], y[~inside])
    assert (noisy[inside] >= 20).all() and (noisy[inside] <= 40).all() and (noisy[inside] != y[inside]).all()
    np.testing.assert_array_equal(rep.changed, inside)
    sample = noisy[1_001:]  # 20 000 draws around 25: compare with the truncated normal itself
    ref = stats.truncnorm((20 - 25) / 5, (40 - 25) / 5, loc=25, scale=5)
    assert stats.kstest(sample, ref.cdf).pvalue > 1e-4
    d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert d["n_in_range"] == int(inside.sum()) and 0 < d["rms_shift"] <= 5.0


def test_regression_rejection_fallback_matches_truncnorm(monkeypatch):
    monkeypatch.setattr(noise, "_scipy_stats", None)
    for mu, low, high, sigma in ((25.0, 20, 40, 5.0), (20.0, 20, 21, 3.0), (0.5, 0, 1, 0.05)):
        noisy, _ = noise.corrupt_regression(np.full(20_000, mu), low, high, sigma, seed=1)
        ref = stats.truncnorm((low - mu) / sigma, (high - mu) / sigma, loc=mu, scale=sigma)
        assert (noisy >= low).all() and (noisy <= high).all()
        assert stats.kstest(noisy, ref.cdf).pvalue > 1e-4, (mu, low, high, sigma)


def test_regression_edge_cases():
    y = np.array([1.0, 2.0, 5.0, 3.0])
    same, rep = noise.corrupt_regression(y, 1, 3, 0.0)
    np.testing.assert_array_equal(same, y)
    assert rep.n_in_range == 3 and not rep.changed.any()
    with pytest.warns(UserWarning, match="no target lies"):
        _, rep = noise.corrupt_regression(y, 10, 20, 1.0)
    assert rep.to_dict()["mean_shift"] is None
    ints, _ = noise.corrupt_regression(np.arange(10), 2, 5, 1.0, seed=2)
    assert ints.dtype == np.float64 and ((ints[2:6] >= 2) & (ints[2:6] <= 5)).all()


# --------------------------------------------------------------------------------------- validation
Y2 = np.array([[1, 0, 1], [0, 1, 0]], np.uint8)


@pytest.mark.parametrize("call, match", [
    (lambda: noise.corrupt_classes([0, 1, 2], 1.5), r"p=1\.5 must lie in \[0, 1\]"),
    (lambda: noise.corrupt_classes([0, 1, 2], -0.1), r"p=-0\.1"),
    (lambda: noise.corrupt_classes([0, 1, 2], float("nan")), r"p=nan"),
    (lambda: noise.corrupt_classes([0, 1, 2], "high"), r"p='high'"),
    (lambda: noise.corrupt_classes([0, 1, 2], True), r"p=True must be a number in \[0, 1\], not a bool"),
    (lambda: noise.corrupt_classes([0, 1, 2], "0.5"), r"p='0\.5' must be a number in \[0, 1\], not a str"),
    (lambda: noise.corrupt_classes([0, 1, 2], [0.1, 0.2]), r"length num_classes=3"),
    (lambda: noise.corrupt_classes([0, 1, 2], [[0.1, 0.2, 0.3]]), r"length num_classes=3"),
    (lambda: noise.corrupt_classes([0, 1, 2], [0.1, 2.0, 0.3]), r"p\[1\]=2\.0"),
    (lambda: noise.corrupt_classes([0, 1, 2], np.array([0.1, np.nan, 0.3])), r"p\[1\]=nan"),
    (lambda: noise.corrupt_classes([0, 1, 2], ["a", "b", "c"]), r"p\[0\]='a'"),
    (lambda: noise.corrupt_classes([0, 1, 2], [0.1, 0.2, 0.3], clean=[0]), r"clean classes \[0\]"),
    (lambda: noise.corrupt_classes([0, 1, 5], 0.5, num_classes=3), r"labels must lie in 0\.\.2; found 5"),
    (lambda: noise.corrupt_classes([0, -1, 2], 0.5), r"labels must be non-negative; found -1"),
    (lambda: noise.corrupt_classes([0, 1.5, 2], 0.5), r"labels must hold whole numbers; found 1\.5"),
    (lambda: noise.corrupt_classes(["a", "b"], 0.5), r"labels must hold integers"),
    (lambda: noise.corrupt_classes([[0, 1]], 0.5), r"labels must be 1-dimensional"),
    (lambda: noise.corrupt_classes([], 0.5), r"num_classes=None needs at least one label"),
    (lambda: noise.corrupt_classes([0, 1], 0.5, num_classes=0), r"num_classes=0"),
    (lambda: noise.corrupt_classes([0, 1], 0.5, num_classes=2.5), r"num_classes=2\.5"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, clean=[3]), r"clean entries must lie in 0\.\.2; found 3"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, clean=[-1]), r"clean entries .* found -1"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, clean=[1, 1]), r"clean has duplicate entries: \[1\]"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, strategy="both"), r"strategy='both' is unknown"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, clean=[0, 1]), r"strategy='exclude' leaves 1 class"),
    (lambda: noise.corrupt_classes([0, 0], 0.5, strategy="include"), r"strategy='include' leaves 1 class"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, seed=-1), r"seed=-1"),
    (lambda: noise.corrupt_classes([0, 1, 2], 0.5, seed=1.5), r"seed=1\.5"),
    (lambda: noise.transition_matrix(0, 0.5), r"num_classes=0"),
    (lambda: noise.transition_matrix(3, 1.2), r"p=1\.2"),
    (lambda: noise.transition_matrix(3, 0.5, clean=[0, 1]), r"no replacement"),
    (lambda: noise.transition_matrix(3, 0.5, strategy="x"), r"strategy='x'"),
    (lambda: noise.corrupt_multilabel(Y2, 1.1, [0]), r"p=1\.1"),
    (lambda: noise.corrupt_multilabel(Y2, 0.5, []), r"group=\[\] must not be empty"),
    (lambda: noise.corrupt_multilabel(Y2, 0.5, [0, 3]), r"group entries must lie in 0\.\.2; found 3"),
    (lambda: noise.corrupt_multilabel(Y2, 0.5, [0, 0]), r"group has duplicate entries: \[0\]"),
    (lambda: noise.corrupt_multilabel(Y2, 0.5, [0.5]), r"group must hold whole numbers; found 0\.5"),
    (lambda: noise.corrupt_multilabel(Y2, 0.5, [0], mode="shuffle"), r"mode='shuffle' is unknown"),
    (lambda: noise.corrupt_multilabel(Y2 * 2, 0.5, [0]), r"Y must hold only 0 and 1; found 2"),
    (lambda: noise.corrupt_multilabel(Y2 - 0.5, 0.5, [0]), r"Y must hold only 0 and 1; found -?0\.5"),
    (lambda: noise.corrupt_multilabel(Y2[0], 0.5, [0]), r"Y must be a 2-D multi-hot matrix"),
    (lambda: noise.corrupt_multilabel(Y2.astype(str), 0.5, [0]), r"Y must hold 0/1 values"),
    (lambda: noise.corrupt_regression([1.0], 3, 2, 1.0), r"low=3\.0 must be < high=2\.0"),
    (lambda: noise.corrupt_regression([1.0], 2, 2, 1.0), r"low=2\.0 must be < high=2\.0"),
    (lambda: noise.corrupt_regression([1.0, np.nan], 0, 2, 1.0), r"y must hold finite numbers; found nan"),
    (lambda: noise.corrupt_regression([1.0], -np.inf, 2, 1.0), r"low=-inf must be a finite number"),
    (lambda: noise.corrupt_regression([1.0], float("nan"), 2, 1.0), r"low=nan"),
    (lambda: noise.corrupt_regression([1.0], 0, 2, -1.0), r"sigma=-1\.0 must be finite and >= 0"),
    (lambda: noise.corrupt_regression([1.0], 0, 2, float("inf")), r"sigma=inf"),
    (lambda: noise.corrupt_regression([1.0], 0, "b", 1.0), r"high='b' must be a number"),
    (lambda: noise.corrupt_regression(["a"], 0, 2, 1.0), r"y must hold numbers"),
])
def test_value_errors_name_argument_and_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_exclude_with_one_corrupted_class_is_fine_at_p_zero():
    noisy, rep = noise.corrupt_classes([0, 1, 2], 0.0, clean=[0, 1])
    assert noisy.tolist() == [0, 1, 2] and rep.warnings == []


# --------------------------------------------------------------------------------------- benchmark
@pytest.mark.slow
def test_benchmark_smoke_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_noise.py"), "--smoke"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "corrupt_classes" in proc.stdout and "corrupt_multilabel" in proc.stdout


def test_no_warnings_on_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise.corrupt_classes(balanced_labels(10_000, 10), 0.9, clean=[0], seed=1)
        noise.corrupt_multilabel(coco_like(5_000), 0.9, group=range(50), seed=1)
        noise.corrupt_regression(np.linspace(0, 1, 1_000), 0.2, 0.4, 0.1, seed=1)
