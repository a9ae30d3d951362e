"""Multi-label 2×2 mosaic data sets, composed by one function from pools of labelled tiles.

`digit-mosaics` (offline, the smoke profile): scikit-learn's bundled 8×8 digits, each quadrant a digit with
probability 0.6; test mosaics use a disjoint, stratified 30 % of the digits; 10 labels, 3 channels.

`mnist-fashion-mosaics` (the `real` profile): 28×28 tiles, each quadrant holding (with probability 0.75) a real
MNIST digit or a real Fashion-MNIST garment, drawn with equal odds; 20 labels (the 10 digits "0".."9", then the
10 Fashion-MNIST classes), 1 channel. Training mosaics are composed from the training images only, test mosaics
from the test (t10k) images only.

In both, at least one quadrant per mosaic is filled, the labels are the set of classes present, and the seed
belongs to the data set, so a set is the same on every machine.
"""
from __future__ import annotations

import os

import numpy as np

from hetnoise import data

N_TRAIN, N_TEST, FILL = 8000, 2000, 0.75  # mnist-fashion-mosaics


def compose(pools: list[tuple[np.ndarray, np.ndarray]], n: int, rng: np.random.Generator, fill: float,
            classes_per_pool: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """`n` 2×2 mosaics from pools of (tiles N×T×T uint8, labels N): per quadrant a pool drawn with equal odds, a
    tile of it, and whether the quadrant is filled (probability `fill`, at least one per mosaic); the labels of
    pool k are offset by k·`classes_per_pool`. Returns (x n×2T×2T uint8, y n×L uint8 multi-hot).

    The draws come in a fixed order (pools, then tiles pool by pool, then fill), and a single pool draws no pool
    at all, so that both data sets keep their published images."""
    k, tile = len(pools), pools[0][0].shape[-1]
    src = rng.integers(0, k, (n, 4))
    idx = np.stack([rng.integers(0, len(tiles), (n, 4)) for tiles, _ in pools])  # k×n×4
    present = rng.random((n, 4)) < fill
    empty = np.flatnonzero(~present.any(1))
    present[empty, rng.integers(0, 4, len(empty))] = True
    which = np.take_along_axis(idx, src[None], 0)[0]  # n×4: the index into the chosen pool
    quads = np.zeros((n, 4, tile, tile), np.uint8)
    classes = np.zeros((n, 4), np.int64)
    for s, (tiles, labels) in enumerate(pools):
        m = (src == s) & present
        quads[m] = tiles[which[m]]
        classes[m] = classes_per_pool * s + labels[which[m]].astype(np.int64)
    x = quads.reshape(n, 2, 2, tile, tile).transpose(0, 1, 3, 2, 4).reshape(n, 2 * tile, 2 * tile)
    y = np.zeros((n, classes_per_pool * k), np.uint8)
    rows = np.repeat(np.arange(n), 4)[present.ravel()]
    y[rows, classes.ravel()[present.ravel()]] = 1
    return x, y


def _check_fill(fill: float) -> None:
    """ValueError unless `fill` is a probability above zero."""
    if not 0 < fill <= 1:
        raise ValueError(f"fill={fill} must lie in (0, 1]")


def digit_mosaics(size: int = 32, seed: int = 0, n_train: int = 2000, n_test: int = 500,
                  fill: float = 0.6) -> data.Dataset:
    """`digit-mosaics` at size×size, 3 identical channels (an odd size leaves the last row and column blank)."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    _check_fill(fill)
    bunch = load_digits()
    pool_train, pool_test = train_test_split(np.arange(len(bunch.target)), test_size=0.3, random_state=0,
                                             stratify=bunch.target)
    rng = np.random.default_rng(seed)
    digits = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    cell = size // 2
    tiles = torch.nn.functional.interpolate(digits, size=(cell, cell), mode="bilinear", align_corners=False)
    tiles = (tiles.clamp(0, 1) * 255).round().to(torch.uint8)[:, 0].numpy()
    parts = []
    for pool, n in ((pool_train, n_train), (pool_test, n_test)):
        x, y = compose([(tiles[pool], bunch.target[pool])], n, rng, fill)
        x = np.pad(x, ((0, 0), (0, size - 2 * cell), (0, size - 2 * cell)))
        parts += [torch.from_numpy(x)[:, None].expand(n, 3, size, size).contiguous(), torch.from_numpy(y)]
    return data.Dataset("digit-mosaics", data.MULTILABEL, *parts, [str(d) for d in range(10)],
                        source=f"digit mosaics from sklearn.datasets.load_digits (seed {seed})")


def mnist_fashion_mosaics(root: str | os.PathLike | None = None, download: bool = True, size: int = 56,
                          seed: int = 0, n_train: int = N_TRAIN, n_test: int = N_TEST,
                          fill: float = FILL) -> data.Dataset:
    """`mnist-fashion-mosaics` at size×size (bilinear resize when size ≠ 56), from the MNIST and Fashion-MNIST
    IDX files `data.load` finds under `root` ($HETNOISE_DATA)."""
    import torch

    _check_fill(fill)
    mnist = data.load("mnist", root, download)
    fashion = data.load("fashion-mnist", root, download)
    rng = np.random.default_rng(seed)
    parts = []
    for split, n in (("train", n_train), ("test", n_test)):
        pools = [(getattr(d, f"x_{split}")[:, 0].numpy(), getattr(d, f"y_{split}").numpy()) for d in (mnist, fashion)]
        x, y = compose(pools, n, rng, fill)
        x = torch.from_numpy(x)[:, None]
        if size != x.shape[-1]:
            x = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True,
                                                align_corners=False).round().clamp(0, 255).to(torch.uint8)
        parts += [x, torch.from_numpy(y)]
    return data.Dataset("mnist-fashion-mosaics", data.MULTILABEL, *parts, mnist.classes + fashion.classes,
                        source=f"MNIST {mnist.source} + Fashion-MNIST {fashion.source} "
                               f"(2×2 mosaics, fill {fill:g}, seed {seed})")
