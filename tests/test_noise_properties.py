"""Property-based tests of hetnoise.noise (hypothesis): invariants that hold for every setting."""
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetnoise import noise

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
rates = st.floats(0, 1, allow_nan=False)


@st.composite
def class_setting(draw):
    """Random labels, clean set, strategy and p (scalar or vector) that corrupt_classes accepts."""
    k = draw(st.integers(2, 12))
    strategy = draw(st.sampled_from(noise.STRATEGIES))
    max_clean = k - 2 if strategy == "exclude" else k - 1  # keep at least one alternative target
    clean = sorted(draw(st.sets(st.integers(0, k - 1), max_size=max_clean)))
    if draw(st.booleans()):
        p = draw(rates)
    else:
        p = [0.0 if c in clean else draw(rates) for c in range(k)]
    n = draw(st.integers(0, 300))
    labels = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, k, n)
    return labels, p, clean, k, strategy, draw(st.integers(0, 2**16))


def run(labels, p, clean, k, strategy, seed):
    """corrupt_classes with warnings silenced (tiny samples can trip the departure check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return noise.corrupt_classes(labels, p, clean=clean, num_classes=k, strategy=strategy, seed=seed)


@SETTINGS
@given(class_setting())
def test_class_invariants(setting):
    labels, p, clean, k, strategy, seed = setting
    before = labels.copy()
    noisy, rep = run(*setting)
    np.testing.assert_array_equal(labels, before)  # input untouched
    assert noisy.dtype == np.int64 and noisy.shape == labels.shape
    assert ((noisy >= 0) & (noisy < k)).all()
    assert (noisy[np.isin(labels, clean)] == labels[np.isin(labels, clean)]).all()  # clean never change
    if strategy == "exclude" and clean:
        assert not np.isin(noisy[rep.changed], clean).any()  # clean classes are not targets
    np.testing.assert_array_equal(noisy, run(*setting)[0])  # determinism
    rate = np.broadcast_to(np.asarray(p, dtype=float), (k,)).copy()
    rate[clean] = 0
    np.testing.assert_array_equal(rep.intended_rate, rate)
    assert not rep.changed[rate[labels] == 0].any()
    assert rep.changed[rate[labels] == 1].all()  # p = 1: every corruptible label changes, never to itself


@SETTINGS
@given(class_setting())
def test_transition_matrix_is_row_stochastic_and_consistent(setting):
    labels, p, clean, k, strategy, seed = setting
    T = noise.transition_matrix(k, p, clean=clean, strategy=strategy)
    np.testing.assert_allclose(T.sum(1), 1)
    assert (T >= 0).all()
    np.testing.assert_array_equal(T[clean], np.eye(k)[clean])
    noisy, rep = run(*setting)
    assert (T[labels, noisy] > 0).all()  # every realised transition is possible under T


@SETTINGS
@given(class_setting(), rates, rates)
def test_nested_in_p(setting, p1, p2):
    labels, _, clean, k, strategy, seed = setting
    lo, hi = sorted((p1, p2))
    a, _ = run(labels, lo, clean, k, strategy, seed)
    b, _ = run(labels, hi, clean, k, strategy, seed)
    changed = a != labels
    assert (b[changed] == a[changed]).all()  # same samples, same replacements, plus some more


@SETTINGS
@given(class_setting())
def test_p_zero_is_identity(setting):
    labels, _, clean, k, strategy, seed = setting
    noisy, rep = run(labels, 0.0, clean, k, strategy, seed)
    np.testing.assert_array_equal(noisy, labels)
    assert rep.warnings == [] and not rep.changed.any()


@st.composite
def multilabel_setting(draw):
    """A random 0/1 matrix of some dtype, a group, p, mode and seed."""
    n, m = draw(st.integers(0, 60)), draw(st.integers(1, 12))
    density = draw(st.floats(0, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    Y = (rng.random((n, m)) < density).astype(draw(st.sampled_from([np.uint8, bool, np.int32, np.float64])))
    group = draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True))
    return Y, draw(rates), group, draw(st.sampled_from(noise.MODES)), draw(st.integers(0, 2**16))


def run_ml(Y, p, group, mode, seed):
    """corrupt_multilabel with warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return noise.corrupt_multilabel(Y, p, group, mode=mode, seed=seed)


@SETTINGS
@given(multilabel_setting())
def test_multilabel_invariants(setting):
    Y, p, group, mode, seed = setting
    before = Y.copy()
    noisy, rep = run_ml(*setting)
    np.testing.assert_array_equal(Y, before)
    assert noisy.dtype == Y.dtype and noisy.shape == Y.shape
    assert np.isin(noisy, [0, 1]).all()
    outside = np.setdiff1d(np.arange(Y.shape[1]), group)
    np.testing.assert_array_equal(noisy[:, outside], Y[:, outside])
    np.testing.assert_array_equal(noisy, run_ml(*setting)[0])
    np.testing.assert_array_equal(rep.changed, noisy != Y)
    if mode == "swap":
        np.testing.assert_array_equal(noisy.sum(1), Y.sum(1))  # rows keep their number of positives
        went = (Y == 1) & (noisy == 0)
        came = (Y == 0) & (noisy == 1)
        np.testing.assert_array_equal(went.sum(1), came.sum(1))
        assert rep.n_selected - rep.n_no_free_label == int(went.sum())
        if p == 1:  # every positive moves unless the row's free group labels run out
            sub = Y[:, group].astype(bool)
            full = np.minimum(sub.sum(1), (~sub).sum(1))
            np.testing.assert_array_equal(went.sum(1), full)
    if p == 0:
        np.testing.assert_array_equal(noisy, Y)
    if mode == "flip" and p == 1:
        np.testing.assert_array_equal(noisy[:, group], 1 - Y[:, group].astype(int))


def run_reg(y, low, high, sigma, seed, scipy_free):
    """corrupt_regression with warnings silenced, through scipy or the rejection sampler."""
    with warnings.catch_warnings(), mock.patch.object(noise, "_scipy_stats",
                                                      None if scipy_free else noise._scipy_stats):
        warnings.simplefilter("ignore")
        return noise.corrupt_regression(y, low, high, sigma, seed=seed)


@SETTINGS
@given(st.lists(st.floats(-50, 50, allow_nan=False), max_size=100),
       st.floats(-20, 20), st.floats(1e-3, 30), st.floats(0, 10), st.integers(0, 2**16), st.booleans())
def test_regression_invariants(values, low, width, sigma, seed, scipy_free):
    y = np.array(values)
    before = y.copy()
    high = low + width
    noisy, rep = run_reg(y, low, high, sigma, seed, scipy_free)
    np.testing.assert_array_equal(y, before)
    inside = (y >= low) & (y <= high)
    np.testing.assert_array_equal(noisy[~inside], y[~inside])
    assert ((noisy[inside] >= low) & (noisy[inside] <= high)).all()
    assert rep.n_in_range == int(inside.sum())
    np.testing.assert_array_equal(noisy, run_reg(y, low, high, sigma, seed, scipy_free)[0])


def test_unmemorised_accuracy_is_the_best_a_class_wise_predictor_reaches_on_noisy_labels():
    # exclude, p = 1: a corrupted image's label is one of the 8 other corrupted classes, uniformly
    assert noise.unmemorised_accuracy(10, 1.0, [0], "exclude") == pytest.approx((1 + 9 / 8) / 10)
    assert noise.unmemorised_accuracy(10, 0.5, [0], "include") == pytest.approx((1 + 9 * 0.5) / 10)
    assert noise.unmemorised_accuracy(10, 0.0, [3], "include") == 1.0
    labels = np.repeat(np.arange(10), 2000)
    noisy, _ = noise.corrupt_classes(labels, 0.9, clean=[2], num_classes=10, strategy="include", seed=1)
    T = noise.transition_matrix(10, 0.9, [2], "include")
    best = T.argmax(1)[labels]  # the class-wise predictor, measured on drawn labels
    assert (best == noisy).mean() == pytest.approx(noise.unmemorised_accuracy(10, 0.9, [2], "include"), abs=0.01)
