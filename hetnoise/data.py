"""Multi-class image data sets as uint8 tensors, ready to live on the training device.

Every loader returns a `Dataset` with N×C×H×W uint8 images and int64 labels for the data set's
own train and test sets. Files are read in their standard on-disk formats (IDX `.gz` for the
MNIST family, python pickles for CIFAR); downloads go through torchvision.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
NAMES = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")


@dataclass
class Dataset:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    source: str
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __post_init__(self):
        if not self.mean:
            x = self.x_train.float() / 255
            self.mean = tuple(x.mean(dim=(0, 2, 3)).tolist())
            self.std = tuple(x.std(dim=(0, 2, 3)).tolist())


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder data sets are read from and downloaded to: `root`, else $HETNOISE_DATA, else ~/.cache/hetnoise."""
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("HETNOISE_DATA") or Path.home() / ".cache" / "hetnoise").expanduser()


def load(name: str, root: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load a multi-class data set by name (see `NAMES`)."""
    loaders = {"digits": load_digits, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist,
               "cifar10": load_cifar10, "cifar100": load_cifar100}
    if name not in loaders:
        raise ValueError(f"dataset={name!r} is unknown; choose one of {', '.join(NAMES)}")
    if name == "digits":
        return load_digits()
    return loaders[name](root=root, download=download)


def load_digits(size: int = 28, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's bundled 8×8 digits, upsampled to `size`×`size`: the offline default.

    The set has no test split of its own, so a fixed stratified fifth (seed 0, independent of any
    run's seed) serves as the test set.
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    y = torch.tensor(bunch.target, dtype=torch.int64)
    train_idx, test_idx = stratified_split(y.numpy(), test_fraction, seed=0)
    return Dataset("digits", x[train_idx], y[train_idx], x[test_idx], y[test_idx],
                   [str(d) for d in range(10)], source="sklearn.datasets.load_digits")


def load_mnist(root=None, download=True) -> Dataset:
    """MNIST from IDX files under `root` (flat, or torchvision's `MNIST/raw`)."""
    return _load_idx("mnist", "MNIST", [str(d) for d in range(10)], root, download)


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load_fashion_mnist(root=None, download=True) -> Dataset:
    """Fashion-MNIST from IDX files; also found where Debian's `dataset-fashion-mnist` puts them."""
    return _load_idx("fashion-mnist", "FashionMNIST", FASHION_CLASSES, root, download,
                     extra_dirs=[DEBIAN_FASHION_MNIST])


def _load_idx(name, tv_name, classes, root, download, extra_dirs=()) -> Dataset:
    base = data_root(root)
    dirs = [base, base / name, base / tv_name / "raw", *extra_dirs]
    found = _find_idx_dir(dirs)
    if found is None and download:
        _download(name, lambda: getattr(__import__("torchvision.datasets").datasets, tv_name)(
            str(base), train=True, download=True), base / tv_name / "raw")
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
    return Dataset(name, torch.from_numpy(xtr)[:, None], torch.from_numpy(ytr).long(),
                   torch.from_numpy(xte)[:, None], torch.from_numpy(yte).long(), classes, source=str(found))


def _find_idx_dir(dirs) -> Path | None:
    for d in dirs:
        if all(_idx_file(d, f) is not None for f in
               ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte")):
            return d
    return None


def _idx_file(d: Path, stem: str) -> Path | None:
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
    return Dataset(name, xtr, ytr, xte, yte, [str(c) for c in classes], source=str(base / folder))


def _unpickle(path: Path) -> dict:
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
    try:
        fetch()
    except Exception as e:
        raise FileNotFoundError(
            f"{name}: not found locally and the download failed ({type(e).__name__}: {e}). Put the data set "
            f"in {where} (the layout torchvision's download creates), or run once on a machine with internet; "
            "set HETNOISE_DATA or data_root to use another folder.") from e


def stratified_split(labels, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of indices into (train, validation): the paper's 9:1 split."""
    from sklearn.model_selection import train_test_split

    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction} must lie strictly between 0 and 1")
    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    tr, va = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=labels)
    return np.sort(tr), np.sort(va)


_KIND = {"digits": ("classification", 10, "lenet5"), "mnist": ("classification", 10, "lenet5"),
         "fashion-mnist": ("classification", 10, "lenet5"), "cifar10": ("classification", 10, "resnet18"),
         "cifar100": ("classification", 100, "resnet18"), "digit-mosaics": ("multilabel", 10, "resnet18"),
         "mnist-fashion-mosaics": ("multilabel", 20, "resnet18"), "mini-coco": ("multilabel", 80, "resnet18")}


def names(kind: str | None = None) -> tuple[str, ...]:
    """Every data set's name, or those of one kind ("classification" or "multilabel")."""
    return tuple(n for n, (k, _, _) in _KIND.items() if kind in (None, k))


def num_classes(name: str) -> int:
    """Classes (or labels) of a data set, known before it is loaded."""
    return _KIND[name][1]


def default_model(name: str) -> str:
    """The network the paper trains on a data set of this shape."""
    return _KIND[name][2]
