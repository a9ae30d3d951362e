"""`mnist-fashion-mosaics`: a real-image multi-label set small enough for a CPU. Each image is a 2×2 mosaic of
28×28 tiles, each quadrant holding (with probability `fill`, at least one per image) a real MNIST digit or a
real Fashion-MNIST garment, drawn with equal odds; the labels are the set of the 20 classes present (the 10
digits "0".."9", then the 10 Fashion-MNIST classes). Training mosaics are composed from the training images
only, test mosaics from the test (t10k) images only, with a fixed seed that belongs to the data set, so the set
is the same on every machine."""
from __future__ import annotations

import os

import numpy as np
import torch

NAME = "mnist-fashion-mosaics"
N_TRAIN, N_TEST, FILL, TILE = 8000, 2000, 0.75, 28


def label_names() -> list[str]:
    from hetnoise.data import FASHION_CLASSES

    return [str(d) for d in range(10)] + list(FASHION_CLASSES)


def compose(sources: list[tuple[np.ndarray, np.ndarray]], n: int, rng: np.random.Generator, fill: float = FILL):
    """`n` 2×2 mosaics from the (images N×28×28 uint8, labels N) pairs of `sources` (class offset 10 per source):
    (x n×56×56 uint8, y n×10·len(sources) multi-hot, placed n×4×3 int: source, index, present per quadrant)."""
    k = len(sources)
    src = rng.integers(0, k, (n, 4))
    idx = np.stack([rng.integers(0, len(images), (n, 4)) for images, _ in sources])  # k×n×4
    present = rng.random((n, 4)) < fill
    empty = np.flatnonzero(~present.any(1))
    present[empty, rng.integers(0, 4, len(empty))] = True
    which = np.take_along_axis(idx, src[None], 0)[0]  # n×4: the index into the chosen source
    tiles = np.zeros((n, 4, TILE, TILE), np.uint8)
    classes = np.zeros((n, 4), np.int64)
    for s, (images, labels) in enumerate(sources):
        m = (src == s) & present
        tiles[m] = images[which[m]]
        classes[m] = 10 * s + labels[which[m]].astype(np.int64)
    x = tiles.reshape(n, 2, 2, TILE, TILE).transpose(0, 1, 3, 2, 4).reshape(n, 2 * TILE, 2 * TILE)
    y = np.zeros((n, 10 * k), np.uint8)
    rows = np.repeat(np.arange(n), 4)[present.ravel()]
    y[rows, classes.ravel()[present.ravel()]] = 1
    return x, y, np.stack([src, which, present.astype(np.int64)], -1)


def mnist_fashion_mosaics(root: str | os.PathLike | None = None, download: bool = True, size: int = 56,
                          n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0, fill: float = FILL):
    """The data set as `coco.MultiLabelData` (1 channel, size×size; bilinear resize when size ≠ 56), from the
    MNIST and Fashion-MNIST IDX files `hetnoise.data.load` finds under `root` ($HETNOISE_DATA)."""
    from hetnoise import data
    from hetnoise.coco import MultiLabelData

    if not 0 < fill <= 1:
        raise ValueError(f"fill={fill} must lie in (0, 1]")
    mnist = data.load("mnist", root, download)
    fashion = data.load("fashion-mnist", root, download)
    rng = np.random.default_rng(seed)
    parts = []
    for split, n in (("train", n_train), ("test", n_test)):
        pools = [(getattr(d, f"x_{split}")[:, 0].numpy(), getattr(d, f"y_{split}").numpy()) for d in (mnist, fashion)]
        x, y, _ = compose(pools, n, rng, fill)
        x = torch.from_numpy(x)[:, None]
        if size != 2 * TILE:
            x = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True,
                                                align_corners=False).round().clamp(0, 255).to(torch.uint8)
        parts += [x, torch.from_numpy(y)]
    return MultiLabelData(*parts, label_names(),
                          source=f"MNIST {mnist.source} + Fashion-MNIST {fashion.source} "
                                 f"(2×2 mosaics, fill {fill:g}, seed {seed})")
