"""Every data set of the project, one registry and one dataset type.

`REGISTRY` names each data set with its kind ("classification": int64 class indices; "multi-label": uint8 multi-hot
rows), its number of classes (labels), its default network and its loader; `load(name)` returns a `Dataset` of
N×C×H×W uint8 images and targets for the data set's own train and test sets. The classification files are read
here in their standard on-disk formats (IDX `.gz` for the MNIST family, python pickles for CIFAR; downloads go
through torchvision); the mosaics are composed in `hetnoise.mosaics`, mini-COCO is read from the cache
`hetnoise.coco` builds. Loaders are named as "module:function" and torch is imported inside them, so that the
settings can read the registry without importing torch, and mosaics and coco can build on this module.
"""
from __future__ import annotations

import gzip
import importlib
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

CLASSIFICATION, MULTILABEL = "classification", "multi-label"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class Spec:
    """What is known of a data set before loading it: its kind, class (label) count, default network, loader."""
    name: str
    kind: str
    num_classes: int
    loader: str  # "module:function"; the function takes root / download when it reads files
    model: str | None = None  # the default network of a classification set


REGISTRY = {spec.name: spec for spec in (
    Spec("digits", CLASSIFICATION, 10, "hetnoise.data:load_digits", "lenet5"),
    Spec("mnist", CLASSIFICATION, 10, "hetnoise.data:load_mnist", "lenet5"),
    Spec("fashion-mnist", CLASSIFICATION, 10, "hetnoise.data:load_fashion_mnist", "lenet5"),
    Spec("cifar10", CLASSIFICATION, 10, "hetnoise.data:load_cifar10", "resnet18"),
    Spec("cifar100", CLASSIFICATION, 100, "hetnoise.data:load_cifar100", "resnet18"),
    Spec("digit-mosaics", MULTILABEL, 10, "hetnoise.mosaics:digit_mosaics"),
    Spec("mnist-fashion-mosaics", MULTILABEL, 20, "hetnoise.mosaics:mnist_fashion_mosaics"),
    Spec("mini-coco", MULTILABEL, 80, "hetnoise.coco:load_mini_coco"),
)}


@dataclass
class Dataset:
    """Train and test images (uint8 N×C×H×W) with their targets: int64 class indices (classification) or uint8
    N×L multi-hot rows (multilabel); `classes` names the classes or labels, `mean`/`std` are per channel."""
    name: str
    kind: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    source: str
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def num_classes(self) -> int:
        """The number of classes, or of labels of a multi-label set."""
        return len(self.classes)

    def __post_init__(self):
        """Per-channel mean and std of the training images in [0, 1], for the networks' input normalisation."""
        if not self.mean:
            x = self.x_train.float() / 255
            self.mean = tuple(x.mean(dim=(0, 2, 3)).tolist())
            self.std = tuple(x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())


def spec(name: str) -> Spec:
    """The registry entry of `name`; ValueError naming every data set when it is unknown."""
    if name not in REGISTRY:
        raise ValueError(f"dataset={name!r} is unknown; choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def names(kind: str | None = None) -> tuple[str, ...]:
    """The names of all data sets, or of those of one kind ("classification" or "multi-label")."""
    if kind not in (None, CLASSIFICATION, MULTILABEL):
        raise ValueError(f"kind={kind!r} is unknown; choose {CLASSIFICATION!r} or {MULTILABEL!r}")
    return tuple(name for name, s in REGISTRY.items() if kind in (None, s.kind))


def num_classes(name: str) -> int:
    """The number of classes (labels) of a data set, known without loading it."""
    return spec(name).num_classes


def default_model(name: str) -> str | None:
    """The network a classification set is trained with unless told otherwise (None for multi-label sets)."""
    return spec(name).model


def load(name: str, root: str | os.PathLike | None = None, download: bool = True, **options) -> Dataset:
    """Load a data set by name: `root` is the data folder (default `data_root()`), `download` lets torchvision
    fetch missing MNIST-family or CIFAR files, `options` go to the loader (size=, seed= of the mosaics, coco_root=
    of mini-coco, ...). ValueError for an unknown name or option, or files that hold another class count."""
    entry = spec(name)
    module, function = entry.loader.split(":")
    loader = getattr(importlib.import_module(module), function)
    params = inspect.signature(loader).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        accepted = [p for p in params if p not in ("root", "download")]
        raise ValueError(f"dataset={name!r} takes no option {', '.join(unknown)}; its options: "
                         f"{', '.join(accepted) or 'none'}")
    given = {k: v for k, v in (("root", root), ("download", download)) if k in params}
    ds = loader(**given, **options)
    if ds.num_classes != entry.num_classes:
        raise ValueError(f"{ds.source} holds {ds.num_classes} classes, but {name} has {entry.num_classes}: these are "
                         f"not {name}'s files; delete them and download or build {name} again")
    return ds


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder data sets are read from and downloaded to: `root`, else $HETNOISE_DATA, else ~/.cache/hetnoise."""
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("HETNOISE_DATA") or Path.home() / ".cache" / "hetnoise").expanduser()


def stratified_split(labels, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of indices into (train, validation): the paper's 9:1 split."""
    from sklearn.model_selection import train_test_split

    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction} must lie strictly between 0 and 1")
    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    tr, va = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=labels)
    return np.sort(tr), np.sort(va)


def random_split(n: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of n rows into sorted (train, validation) indices; for multi-hot rows, which carry
    several labels and so cannot be stratified."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction} must lie strictly between 0 and 1")
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(n * val_fraction)))
    return np.sort(perm[k:]), np.sort(perm[:k])


def train_val_split(ds: Dataset, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 9:1 split of a data set's training part: stratified by class, or random for a multi-label set."""
    if ds.kind == MULTILABEL:
        return random_split(len(ds.y_train), val_fraction, seed)
    return stratified_split(ds.y_train.numpy(), val_fraction, seed)


def load_digits(size: int = 28, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's bundled 8×8 digits, upsampled to `size`×`size`: the offline default.

    The set has no test split of its own, so a fixed stratified fifth (seed 0, independent of any
    run's seed) serves as the test set.
    """
    import torch
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    y = torch.tensor(bunch.target, dtype=torch.int64)
    train_idx, test_idx = stratified_split(y.numpy(), test_fraction, seed=0)
    return Dataset("digits", CLASSIFICATION, x[train_idx], y[train_idx], x[test_idx], y[test_idx],
                   [str(d) for d in range(10)], source="sklearn.datasets.load_digits")


def load_mnist(root=None, download=True) -> Dataset:
    """MNIST from IDX files under `root` (flat, or torchvision's `MNIST/raw`)."""
    return _load_idx("mnist", "MNIST", [str(d) for d in range(10)], root, download)


def load_fashion_mnist(root=None, download=True) -> Dataset:
    """Fashion-MNIST from IDX files; also found where Debian's `dataset-fashion-mnist` puts them."""
    return _load_idx("fashion-mnist", "FashionMNIST", FASHION_CLASSES, root, download,
                     extra_dirs=[DEBIAN_FASHION_MNIST])


def _load_idx(name, tv_name, classes, root, download, extra_dirs=()) -> Dataset:
    """An MNIST-family set from the first folder holding its four IDX files, downloading them when allowed."""
    import torch

    base = data_root(root)
    dirs = [base, base / name, base / tv_name / "raw", *extra_dirs]
    found = _find_idx_dir(dirs)
    if found is None and download:
        import torchvision

        _download(name, lambda: getattr(torchvision.datasets, tv_name)(str(base), train=True, download=True),
                  base / tv_name / "raw")
        found = _find_idx_dir(dirs)
    if found is None:
        hint = "install the Debian package dataset-fashion-mnist, or " if name == "fashion-mnist" else ""
        raise FileNotFoundError(
            f"{name}: no IDX files (train-images-idx3-ubyte[.gz] …) in any of "
            f"{', '.join(str(d) for d in dirs)}. To get them, {hint}run with download=True on a machine "
            f"with internet, or copy the four files into {base / tv_name / 'raw'} (or set HETNOISE_DATA).")
    part = {s: (read_idx(_idx_file(found, f"{s}-images-idx3-ubyte")),
                read_idx(_idx_file(found, f"{s}-labels-idx1-ubyte"))) for s in ("train", "t10k")}
    (xtr, ytr), (xte, yte) = part["train"], part["t10k"]
    return Dataset(name, CLASSIFICATION, torch.from_numpy(xtr)[:, None], torch.from_numpy(ytr).long(),
                   torch.from_numpy(xte)[:, None], torch.from_numpy(yte).long(), classes, source=str(found))


def _find_idx_dir(dirs) -> Path | None:
    """The first of `dirs` that holds all four IDX files, gzipped or not."""
    for d in dirs:
        if all(_idx_file(d, f) is not None for f in
               ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte")):
            return d
    return None


def _idx_file(d: Path, stem: str) -> Path | None:
    """`d/stem.gz` or `d/stem`, whichever exists."""
    for candidate in (d / f"{stem}.gz", d / stem):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped), checking its header against its size."""
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path} is not a readable IDX file ({e}); delete it and download it again") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} does not start with an unsigned-byte IDX header; the file is corrupt")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4).astype(int)
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {tuple(dims)} but the file holds {len(raw) - offset} bytes; "
                         "the file is truncated or corrupt, delete it and download it again")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy()


def load_cifar10(root=None, download=True) -> Dataset:
    """CIFAR-10 from its python pickles (`cifar-10-batches-py`); downloaded by torchvision when missing."""
    return _load_cifar("cifar10", "CIFAR10", "cifar-10-batches-py", root, download,
                       [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "batches.meta",
                       "labels", "label_names")


def load_cifar100(root=None, download=True) -> Dataset:
    """CIFAR-100 with its 100 fine labels, from its python pickles (`cifar-100-python`)."""
    return _load_cifar("cifar100", "CIFAR100", "cifar-100-python", root, download,
                       ["train"], ["test"], "meta", "fine_labels", "fine_label_names")


def _load_cifar(name, tv_name, folder, root, download, train_files, test_files, meta_file, label_key,
                names_key) -> Dataset:
    """A CIFAR set from its python pickles under the data root, downloading them when allowed."""
    base = data_root(root)
    if not (base / folder).is_dir():
        if not download:
            raise FileNotFoundError(
                f"{name}: {base / folder} does not exist. Run with download=True on a machine with internet, "
                f"or extract the python version of {name} ({folder}) into {base} (or set HETNOISE_DATA).")
        import torchvision

        _download(name, lambda: getattr(torchvision.datasets, tv_name)(str(base), train=True, download=True),
                  base / folder)
    xtr, ytr = _read_cifar_batches(base / folder, train_files, label_key)
    xte, yte = _read_cifar_batches(base / folder, test_files, label_key)
    classes = _unpickle(base / folder / meta_file)[names_key]
    return Dataset(name, CLASSIFICATION, xtr, ytr, xte, yte, [str(c) for c in classes], source=str(base / folder))


def _unpickle(path: Path) -> dict:
    """One CIFAR pickle; FileNotFoundError or ValueError saying to download again when missing or corrupt."""
    import pickle

    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; delete {path.parent} and download the data set again")
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except Exception as e:
        raise ValueError(f"{path} is corrupt ({type(e).__name__}: {e}); delete {path.parent} and download "
                         "the data set again") from e


def _read_cifar_batches(folder: Path, files, label_key) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N×3×32×32 uint8) and labels of CIFAR batch files, each checked for shape."""
    import torch

    xs, ys = [], []
    for f in files:
        batch = _unpickle(folder / f)
        x, y = np.asarray(batch.get("data")), np.asarray(batch.get(label_key))
        if x.ndim != 2 or x.shape[1] != 3072 or len(y) != len(x):
            raise ValueError(f"{folder / f} does not hold N×3072 images with N labels; the file is corrupt")
        xs.append(x.reshape(-1, 3, 32, 32).astype(np.uint8))
        ys.append(y.astype(np.int64))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


def _download(name, fetch, where: Path):
    """Run a torchvision download; its failure becomes one FileNotFoundError saying where to put the files."""
    try:
        fetch()
    except Exception as e:
        raise FileNotFoundError(
            f"{name}: not found locally and the download failed ({type(e).__name__}: {e}). Put the data set "
            f"in {where} (the layout torchvision's download creates), or run once on a machine with internet; "
            "set HETNOISE_DATA or data_root to use another folder.") from e
