"""Multi-label image data: mini MS-COCO, drawn from the user's COCO 2017 with pycocotools and cached
at 128×128, and the offline digit-mosaic set used by the smoke profile."""
from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

SMALL, LARGE = 32 ** 2, 96 ** 2  # COCO's object-area thresholds
EXPECTED = ("annotations/instances_train2017.json", "annotations/instances_val2017.json", "train2017/",
            "val2017/")
NAMES = ("digit-mosaics", "mini-coco")


@dataclass
class MultiLabelData:
    x_train: torch.Tensor  # uint8 N×C×H×W
    y_train: torch.Tensor  # uint8 N×L multi-hot
    x_test: torch.Tensor
    y_test: torch.Tensor
    label_names: list[str]
    source: str
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())

    def __post_init__(self):
        if not self.mean:
            x = self.x_train.float() / 255
            self.mean = tuple(x.mean(dim=(0, 2, 3)).tolist())
            self.std = tuple(x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())


def split_train_val(n: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random 9:1 split of n rows into sorted (train, validation) indices; not stratified,
    since a row carries several labels."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction} must lie strictly between 0 and 1")
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(n * val_fraction)))
    return np.sort(perm[k:]), np.sort(perm[:k])


def load_multilabel(name: str, root: str | os.PathLike | None = None, size: int = 128, seed: int = 0) -> MultiLabelData:
    """A multi-label data set by name: `digit-mosaics` (offline) or `mini-coco` (from `root` or $HETNOISE_COCO)."""
    if name == "digit-mosaics":
        return digit_mosaics(size=size, seed=seed)
    if name != "mini-coco":
        raise ValueError(f"dataset={name!r} is unknown; choose one of {', '.join(NAMES)}")
    root = root or os.environ.get("HETNOISE_COCO")
    if not root:
        raise FileNotFoundError("mini-coco needs the MS-COCO 2017 folder: pass coco_root or set HETNOISE_COCO to a "
                                f"folder holding {', '.join(EXPECTED)} (from cocodataset.org: train2017.zip, "
                                "val2017.zip, annotations_trainval2017.zip)")
    train_cache = build_mini_coco(root, size=size)
    test_cache = train_cache.with_name(f"val2017-{size}.npz")
    tr, te = np.load(train_cache), np.load(test_cache)
    names = [str(n) for n in tr["category_names"]]
    return MultiLabelData(torch.from_numpy(tr["images"]), torch.from_numpy(tr["labels"]),
                          torch.from_numpy(te["images"]), torch.from_numpy(te["labels"]), names,
                          source=f"{train_cache} + {test_cache}")


def digit_mosaics(size: int = 32, n_train: int = 2000, n_test: int = 500, seed: int = 0,
                  fill: float = 0.6) -> MultiLabelData:
    """2×2 mosaics of scikit-learn's bundled digits, each quadrant a digit with probability `fill`, the
    set of digits present as 10 labels. Test mosaics use a disjoint, stratified 30 % of the digits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    pool_train, pool_test = train_test_split(np.arange(len(bunch.target)), test_size=0.3, random_state=0,
                                             stratify=bunch.target)
    rng = np.random.default_rng(seed)
    digits = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    cell = size // 2
    tiles = torch.nn.functional.interpolate(digits, size=(cell, cell), mode="bilinear", align_corners=False)
    tiles = (tiles.clamp(0, 1) * 255).round().to(torch.uint8)[:, 0]

    def make(pool, n):
        idx = rng.choice(pool, (n, 4))
        present = rng.random((n, 4)) < fill
        empty = ~present.any(1)
        present[np.flatnonzero(empty), rng.integers(0, 4, empty.sum())] = True
        quads = tiles[torch.from_numpy(idx)] * torch.from_numpy(present)[:, :, None, None]
        x = torch.zeros(n, size, size, dtype=torch.uint8)
        for q in range(4):
            r, c = divmod(q, 2)
            x[:, r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = quads[:, q]
        y = np.zeros((n, 10), np.uint8)
        rows = np.repeat(np.arange(n), 4)[present.ravel()]
        y[rows, bunch.target[idx].ravel()[present.ravel()]] = 1
        return x[:, None].expand(n, 3, size, size).contiguous(), torch.from_numpy(y)

    (xtr, ytr), (xte, yte) = make(pool_train, n_train), make(pool_test, n_test)
    return MultiLabelData(xtr, ytr, xte, yte, [str(d) for d in range(10)],
                          source=f"digit mosaics from sklearn.datasets.load_digits (seed {seed})")


def _check_layout(coco_root: Path) -> None:
    missing = [e for e in EXPECTED if not (coco_root / e).exists()]
    if missing:
        raise FileNotFoundError(
            f"{coco_root} is not an MS-COCO 2017 folder: missing {', '.join(str(coco_root / m) for m in missing)}. "
            f"Expected {', '.join(EXPECTED)} under it — unzip train2017.zip, val2017.zip and "
            "annotations_trainval2017.zip from cocodataset.org there.")


def _file_stamp(path: Path) -> dict:
    st = path.stat()
    return {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_coco(path: Path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def image_statistics(coco) -> tuple[list[int], np.ndarray, np.ndarray, list[int]]:
    """Per image: instances per category (COCO order) and per size class (small, medium, large)."""
    cat_ids = sorted(coco.getCatIds())
    col = {c: j for j, c in enumerate(cat_ids)}
    img_ids = sorted(coco.getImgIds())
    row = {i: k for k, i in enumerate(img_ids)}
    cats = np.zeros((len(img_ids), len(cat_ids)), np.int64)
    sizes = np.zeros((len(img_ids), 3), np.int64)
    for a in coco.dataset.get("annotations", []):
        k = row.get(a["image_id"])
        if k is None or a["category_id"] not in col:
            continue
        cats[k, col[a["category_id"]]] += 1
        area = a.get("area", 0)
        sizes[k, 0 if area < SMALL else (1 if area < LARGE else 2)] += 1
    return img_ids, cats, sizes, cat_ids


def statistics_distance(cats, sizes, subset) -> float:
    """L1 distance between a subset's and the full set's category and object-size proportions."""
    def norm(v):
        return v / max(v.sum(), 1)
    return float(np.abs(norm(cats[subset].sum(0)) - norm(cats.sum(0))).sum()
                 + np.abs(norm(sizes[subset].sum(0)) - norm(sizes.sum(0))).sum())


def draw_subset(cats, sizes, fraction: float, draws: int, seed: int) -> tuple[np.ndarray, list[float]]:
    """`draws` seeded random subsets of `fraction` of the images; the one closest to the full statistics."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction} must lie in (0, 1]")
    if draws < 1:
        raise ValueError(f"draws={draws} must be at least 1")
    n = len(cats)
    k = max(1, int(round(fraction * n)))
    rng = np.random.default_rng(seed)
    subsets = [np.sort(rng.choice(n, k, replace=False)) for _ in range(draws)]
    distances = [statistics_distance(cats, sizes, s) for s in subsets]
    return subsets[int(np.argmin(distances))], distances


def _load_images(img_dir: Path, coco, img_ids, size: int):
    """Decode and resize the images; corrupt or unreadable files are warned about and skipped."""
    from PIL import Image

    images, kept, skipped = [], [], []
    for i in img_ids:
        name = coco.imgs[i]["file_name"]
        try:
            with Image.open(img_dir / name) as im:
                im = im.convert("RGB").resize((size, size), Image.BILINEAR)
                images.append(np.asarray(im, dtype=np.uint8).transpose(2, 0, 1))
            kept.append(i)
        except (OSError, SyntaxError, ValueError) as e:
            skipped.append(f"{name}: {type(e).__name__}: {e}")
            warnings.warn(f"skipping unreadable COCO image {img_dir / name} ({e})")
    x = np.stack(images) if images else np.zeros((0, 3, size, size), np.uint8)
    return x, kept, skipped


def _labels(coco, img_ids, cat_ids) -> np.ndarray:
    col = {c: j for j, c in enumerate(cat_ids)}
    y = np.zeros((len(img_ids), len(cat_ids)), np.uint8)
    for k, i in enumerate(img_ids):
        for a in coco.imgToAnns.get(i, []):
            if a["category_id"] in col:
                y[k, col[a["category_id"]]] = 1
    return y


def _cached_meta(path: Path) -> dict | None:
    try:
        with np.load(path) as z:
            return json.loads(str(z["meta"]))
    except Exception:
        return None


def _write_cache(path: Path, meta: dict, report: dict, **arrays) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    report_path = path.with_name(path.name + ".report.json")
    tmp_report = report_path.with_name(f".{report_path.name}.tmp")
    tmp_report.write_text(json.dumps(report, indent=1))
    os.replace(tmp_report, report_path)


def _build_split(ann: Path, img_dir: Path, out: Path, meta: dict, select) -> Path:
    """Build one cache unless the file on disk was built from exactly `meta`."""
    if out.is_file() and _cached_meta(out) == json.loads(json.dumps(meta, sort_keys=True)):
        return out
    coco = _read_coco(ann)
    img_ids, cats, sizes, cat_ids = image_statistics(coco)
    chosen, extra = select(img_ids, cats, sizes)
    chosen_ids = [img_ids[k] for k in chosen]
    x, kept, skipped = _load_images(img_dir, coco, chosen_ids, meta["size"])
    y = _labels(coco, kept, cat_ids)
    names = [coco.cats[c]["name"] for c in cat_ids]
    report = {"annotations": str(ann), "images_in_source": len(img_ids), "selected": len(chosen_ids),
              "cached": len(kept), "skipped": len(skipped), "skipped_files": skipped,
              "without_labels": int((y.sum(1) == 0).sum()), "size": meta["size"], **extra}
    _write_cache(out, meta, report, images=x, labels=y, image_ids=np.array(kept, np.int64),
                 file_names=np.array([coco.imgs[i]["file_name"] for i in kept]), category_names=np.array(names))
    return out


def build_mini_coco(coco_root, out_dir=None, fraction: float = 0.2, draws: int = 10, seed: int = 0,
                    minitrain_json=None, size: int = 128) -> Path:
    """Draw mini MS-COCO (≈`fraction` of train2017 keeping the category and object-size proportions, best
    of `draws` seeded draws, or the images of `minitrain_json`) and cache it with val2017 at size×size.

    Returns the train cache; a JSON report lies beside each cache (`describe_build` summarises it)."""
    coco_root = Path(coco_root).expanduser()
    _check_layout(coco_root)
    out = Path(out_dir).expanduser() if out_dir else coco_root / "hetnoise-cache"
    out.mkdir(parents=True, exist_ok=True)
    train_ann = coco_root / "annotations" / "instances_train2017.json"
    mini = Path(minitrain_json).expanduser() if minitrain_json else None
    if mini is not None and not mini.is_file():
        raise FileNotFoundError(f"minitrain_json={mini} does not exist")
    meta = {"source": _file_stamp(train_ann), "fraction": fraction, "draws": draws, "seed": seed, "size": size,
            "minitrain_json": _file_stamp(mini) if mini else None}

    def select(img_ids, cats, sizes):
        if mini is not None:
            wanted = {im["id"] for im in json.loads(mini.read_text())["images"]}
            chosen = np.array([k for k, i in enumerate(img_ids) if i in wanted], dtype=np.int64)
            return chosen, {"method": f"image ids of {mini}", "distance": statistics_distance(cats, sizes, chosen)}
        chosen, distances = draw_subset(cats, sizes, fraction, draws, seed)
        return chosen, {"method": f"best of {draws} seeded draws of {fraction:.0%}", "distance": min(distances),
                        "draw_distances": distances}

    train_cache = _build_split(train_ann, coco_root / "train2017", out / f"minitrain-{size}.npz", meta, select)
    val_ann = coco_root / "annotations" / "instances_val2017.json"
    _build_split(val_ann, coco_root / "val2017", out / f"val2017-{size}.npz",
                 {"source": _file_stamp(val_ann), "size": size},
                 lambda ids, cats, sizes: (np.arange(len(ids)), {"method": "all of val2017 (the test set)"}))
    return train_cache


def describe_build(path) -> str:
    """A few lines on what a cache holds and how it was drawn, from its report."""
    lines = []
    for p in (Path(path), Path(path).with_name(f"val2017-{_cached_meta(Path(path))['size']}.npz")):
        r = json.loads(p.with_name(p.name + ".report.json").read_text())
        lines.append(f"{p}: {r['cached']} images ({r['selected']} selected of {r['images_in_source']}; "
                     f"{r['skipped']} unreadable skipped, {r['without_labels']} without labels); {r['method']}"
                     + (f"; distance to full statistics {r['distance']:.4f}" if "distance" in r else ""))
        lines += [f"  skipped {s}" for s in r["skipped_files"]]
    return "\n".join(lines)
