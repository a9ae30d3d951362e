"""Tests of hetnoise.noise: exact properties, statistics against the analytic matrix, validation."""
import numpy as np

from hetnoise import noise


def test_corrupt_classes_matches_transition_matrix_roughly():
    y = np.random.default_rng(1).integers(0, 10, 50_000)
    for strategy in ("exclude", "include"):
        noisy, rep = noise.corrupt_classes(y, 0.8, clean=[0], strategy=strategy, seed=3)
        T = noise.transition_matrix(10, 0.8, clean=[0], strategy=strategy)
        assert np.allclose(T.sum(1), 1) and (noisy[y == 0] == 0).all()
        assert np.abs(rep.empirical_matrix - T).max() < 0.03
