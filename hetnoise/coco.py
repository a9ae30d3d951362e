"""Mini MS-COCO: drawn from the user's COCO 2017 (instances JSON + JPEGs, read with pycocotools) keeping the
category and object-size proportions, cached at size×size under the data root, and read back from that cache
as the `mini-coco` data set of `hetnoise.data`."""
from __future__ import annotations

import contextlib
import io
import json
import numbers
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from hetnoise import data

SMALL, LARGE = 32 ** 2, 96 ** 2  # COCO's object-area thresholds
EXPECTED = ("annotations/instances_train2017.json", "annotations/instances_val2017.json", "train2017/",
            "val2017/")


def default_cache_dir(root: str | os.PathLike | None = None) -> Path:
    """Where mini-coco is cached unless told otherwise: `mini-coco` under the data root (`root`, else
    $HETNOISE_DATA, else ~/.cache/hetnoise), never inside the user's COCO folder."""
    return data.data_root(root) / "mini-coco"


def load_mini_coco(root: str | os.PathLike | None = None, size: int = 128,
                   coco_root: str | os.PathLike | None = None) -> data.Dataset:
    """The `mini-coco` data set at size×size from its cache under the data root `root`; built first (or reused
    when fresh) from the COCO folder `coco_root` or $HETNOISE_COCO when one is given."""
    import torch

    env_root = os.environ.get("HETNOISE_COCO")
    if coco_root or env_root:
        try:
            train_cache = build_mini_coco(coco_root or env_root, out_dir=default_cache_dir(root), size=size)
        except FileNotFoundError as e:
            if coco_root:
                raise
            raise FileNotFoundError(f"{e} (that folder comes from HETNOISE_COCO)") from None
    else:
        train_cache = default_cache_dir(root) / f"minitrain-{size}.npz"
    test_cache = train_cache.with_name(f"val2017-{size}.npz")
    build = ("run `hetnoise data mini-coco --coco-root /path/to/coco` to build it (or set "
             f"HETNOISE_COCO=/path/to/coco), where /path/to/coco holds {', '.join(EXPECTED)} (from "
             "cocodataset.org: train2017.zip, val2017.zip, annotations_trainval2017.zip)")
    for cache in (train_cache, test_cache):
        if not cache.is_file():
            raise FileNotFoundError(f"no mini-coco cache at {cache}: {build}")
        if _cached_meta(cache) is None:
            raise ValueError(f"{cache} is not a readable mini-coco cache (truncated or corrupt): delete it and {build}")
    tr, te = np.load(train_cache), np.load(test_cache)
    return data.Dataset("mini-coco", data.MULTILABEL, torch.from_numpy(tr["images"]), torch.from_numpy(tr["labels"]),
                        torch.from_numpy(te["images"]), torch.from_numpy(te["labels"]),
                        [str(n) for n in tr["category_names"]], source=f"{train_cache} + {test_cache}")


def _check_layout(coco_root: Path) -> None:
    """FileNotFoundError listing what is missing unless `coco_root` holds the COCO 2017 files and folders."""
    missing = [e for e in EXPECTED if not (coco_root / e).exists()]
    if missing:
        raise FileNotFoundError(
            f"{coco_root} is not an MS-COCO 2017 folder: missing {', '.join(str(coco_root / m) for m in missing)}. "
            f"Expected {', '.join(EXPECTED)} under it — unzip train2017.zip, val2017.zip and "
            "annotations_trainval2017.zip from cocodataset.org there.")
    for e in EXPECTED:
        if (coco_root / e).is_dir() != e.endswith("/"):
            kind = "folder" if e.endswith("/") else "file"
            raise ValueError(f"{coco_root / e} is not a {kind}; unzip the COCO 2017 archives from cocodataset.org "
                             f"into {coco_root} again")


def _file_stamp(path: Path) -> dict:
    """Path, size and modification time of a source file: a cache is rebuilt when they change."""
    st = path.stat()
    return {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _redownload(coco_root: Path) -> str:
    """The remedy for a bad annotation file, for the one-line errors."""
    return f"re-download annotations_trainval2017.zip from cocodataset.org and unzip it into {coco_root}"


_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}
# per COCO key: (field, accepted types, required) for each entry
_FIELDS = {"images": (("id", int, True), ("file_name", str, True)),
           "annotations": (("image_id", int, True), ("category_id", int, True), ("area", (int, float), False)),
           "categories": (("id", int, True), ("name", str, True))}


def _load_annotations(path: Path, fix: str, fields: dict = _FIELDS) -> dict:
    """Parse a COCO annotation file and check the `fields` of each entry the builder reads; otherwise one line
    naming the file, the fault and `fix` (ValueError, or FileNotFoundError when it is missing)."""
    keys = tuple(fields)

    def bad(what: str) -> ValueError:
        return ValueError(f"{path} {what}; {fix}")

    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; {fix}") from None
    except IsADirectoryError:
        raise bad("is a folder, not a JSON file") from None
    except OSError as e:
        raise bad(f"cannot be read ({e.strerror or e})") from None
    except json.JSONDecodeError as e:
        raise bad(f"is not valid JSON, perhaps truncated ({e.msg} at line {e.lineno} column {e.colno})") from None
    except (UnicodeDecodeError, RecursionError):
        raise bad("is not valid JSON (not UTF-8 text, or nested too deeply)") from None
    if not isinstance(data, dict):
        raise bad(f"holds a JSON {_JSON_TYPES.get(type(data), 'value')}, not an object with {', '.join(keys)}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise bad(f"lacks {', '.join(repr(k) for k in missing)}, so it is not a COCO instances file")
    for key in keys:
        entries = data[key]
        if not isinstance(entries, list):
            raise bad(f"has {key!r} as a JSON {_JSON_TYPES.get(type(entries), 'value')}, not an array")
        if not entries and key != "annotations":
            raise bad(f"holds no {key}")
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise bad(f"has {key}[{k}] = {str(entry)[:40]!r}, not an object")
            for name, types, required in fields[key]:
                v = entry.get(name)
                if (v is None and required) or (v is not None and (isinstance(v, bool) or not isinstance(v, types))):
                    raise bad(f"has {key}[{k}] with {name}={v!r:.40} ({'missing or ' if required else ''}not a "
                              f"{'string' if types is str else 'number'})")
        if key in ("images", "categories"):
            ids = [e["id"] for e in entries]
            if len(set(ids)) < len(ids):
                dup = next(i for i, n in Counter(ids).items() if n > 1)
                raise bad(f"lists {key} id {dup} more than once")
    return data


def _coco_index(data: dict):
    """A pycocotools COCO object over already parsed and checked annotations."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = data
        coco.createIndex()
    return coco


def _read_coco(path: Path):
    """The COCO object of one annotation file under COCO_ROOT/annotations/, checked first."""
    path = Path(path)
    return _coco_index(_load_annotations(path, _redownload(path.parent.parent)))


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
    """Multi-hot rows (uint8) of the categories present in each image, in `cat_ids` order."""
    col = {c: j for j, c in enumerate(cat_ids)}
    y = np.zeros((len(img_ids), len(cat_ids)), np.uint8)
    for k, i in enumerate(img_ids):
        for a in coco.imgToAnns.get(i, []):
            if a["category_id"] in col:
                y[k, col[a["category_id"]]] = 1
    return y


def _cached_meta(path: Path) -> dict | None:
    """The build parameters stored in a cache, or None when the file is missing or unreadable."""
    try:
        with np.load(path) as z:
            return json.loads(str(z["meta"]))
    except Exception:
        return None


def _write_cache(path: Path, meta: dict, report: dict, **arrays) -> None:
    """Write the cache and its report atomically, creating their folder; ValueError on a failed write."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    report_path = path.with_name(path.name + ".report.json")
    tmp_report = report_path.with_name(f".{report_path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
        os.replace(tmp, path)
        tmp_report.write_text(json.dumps(report, indent=1))
        os.replace(tmp_report, report_path)
    except OSError as e:
        raise ValueError(f"cannot write {path} ({e.strerror or e}); free some space, or pass another out_dir "
                         "(--out) or set HETNOISE_DATA to a writable folder") from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp_report.unlink(missing_ok=True)


def _is_fresh(out: Path, meta: dict) -> bool:
    """Whether the cache on disk was built from exactly `meta`."""
    return out.is_file() and _cached_meta(out) == json.loads(json.dumps(meta, sort_keys=True))


def _build_split(data: dict, ann: Path, img_dir: Path, out: Path, meta: dict, select) -> Path:
    """Select, decode and cache one split from its checked annotations; ValueError if no image can be read."""
    coco = _coco_index(data)
    img_ids, cats, sizes, cat_ids = image_statistics(coco)
    chosen, extra = select(img_ids, cats, sizes)
    chosen_ids = [img_ids[k] for k in chosen]
    x, kept, skipped = _load_images(img_dir, coco, chosen_ids, meta["size"])
    if chosen_ids and not kept:
        raise ValueError(f"none of the {len(chosen_ids)} images of {ann} selected could be read from {img_dir} "
                         f"(first: {skipped[0]}); unzip {img_dir.name}.zip from cocodataset.org into "
                         f"{img_dir.parent} again")
    y = _labels(coco, kept, cat_ids)
    names = [coco.cats[c]["name"] for c in cat_ids]
    report = {"annotations": str(ann), "images_in_source": len(img_ids), "selected": len(chosen_ids),
              "cached": len(kept), "skipped": len(skipped), "skipped_files": skipped,
              "without_labels": int((y.sum(1) == 0).sum()), "size": meta["size"], **extra}
    _write_cache(out, meta, report, images=x, labels=y, image_ids=np.array(kept, np.int64),
                 file_names=np.array([coco.imgs[i]["file_name"] for i in kept]), category_names=np.array(names))
    return out


def _check_build_args(fraction, draws, seed, size) -> None:
    """ValueError naming the first argument of build_mini_coco that is out of range or of the wrong type."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be a number in (0, 1]")
    for name, value, least in (("draws", draws, 1), ("seed", seed, 0), ("size", size, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"{name}={value!r} must be an int >= {least}")


def _check_out_dir(out: Path) -> None:
    """ValueError unless `out` is, or could be created as, a writable folder; creates nothing."""
    hint = "pass another out_dir (--out) or set HETNOISE_DATA to a writable folder"
    p = out.absolute()
    try:
        while not p.exists() and p != p.parent:
            p = p.parent
        is_dir = p.is_dir()
    except OSError as e:
        raise ValueError(f"cannot use the cache folder {out} ({e.strerror or e}); {hint}") from None
    if not is_dir:
        raise ValueError(f"cannot use the cache folder {out}: {p} is a file, not a folder; {hint}")
    if not os.access(p, os.W_OK | os.X_OK):
        raise ValueError(f"cannot use the cache folder {out}: {p} is not writable; {hint}")


def _category_names(data: dict | None, cache: Path) -> list[str]:
    """Category names in COCO order, from parsed annotations or else from the fresh cache built from them."""
    if data is not None:
        return [c["name"] for c in sorted(data["categories"], key=lambda c: c["id"])]
    with np.load(cache) as z:
        return [str(n) for n in z["category_names"]]


def build_mini_coco(coco_root, out_dir=None, fraction: float = 0.2, draws: int = 10, seed: int = 0,
                    minitrain_json=None, size: int = 128) -> Path:
    """Draw mini MS-COCO (≈`fraction` of train2017 keeping the category and object-size proportions, best
    of `draws` seeded draws, or the images of `minitrain_json`) and cache it with val2017 at size×size in
    `out_dir` (default `default_cache_dir()`; the COCO folder is only read).

    Every input is checked before anything is written: a bad one raises ValueError (FileNotFoundError when
    missing) in one line naming the file. Returns the train cache; a JSON report lies beside each cache
    (`describe_build` summarises it)."""
    coco_root = Path(coco_root).expanduser()
    _check_build_args(fraction, draws, seed, size)
    fraction, draws, seed, size = float(fraction), int(draws), int(seed), int(size)
    _check_layout(coco_root)
    mini = Path(minitrain_json).expanduser() if minitrain_json else None
    if mini is not None and not mini.is_file():
        raise FileNotFoundError(f"minitrain_json={mini} does not exist")
    out = Path(out_dir).expanduser() if out_dir else default_cache_dir()
    _check_out_dir(out)
    fix = _redownload(coco_root)
    train_ann = coco_root / "annotations" / "instances_train2017.json"
    val_ann = coco_root / "annotations" / "instances_val2017.json"
    train_out, val_out = out / f"minitrain-{size}.npz", out / f"val2017-{size}.npz"
    train_meta = {"source": _file_stamp(train_ann), "fraction": fraction, "draws": draws, "seed": seed,
                  "size": size, "minitrain_json": _file_stamp(mini) if mini else None}
    val_meta = {"source": _file_stamp(val_ann), "size": size}
    train = None if _is_fresh(train_out, train_meta) else _load_annotations(train_ann, fix)
    val = None if _is_fresh(val_out, val_meta) else _load_annotations(val_ann, fix)
    if _category_names(val, val_out) != _category_names(train, train_out):
        raise ValueError(f"{val_ann} lists other categories than {train_ann}; {fix}")
    wanted = None
    if mini is not None and train is not None:
        mini_fix = "pass a COCO-format minitrain annotation file drawn from train2017 (instances_minitrain2017.json)"
        wanted = {im["id"] for im in _load_annotations(mini, mini_fix, {"images": _FIELDS["images"][:1]})["images"]}
        if not wanted & {im["id"] for im in train["images"]}:
            raise ValueError(f"{mini} shares no image id with {train_ann}; {mini_fix}")

    def select(img_ids, cats, sizes):
        if wanted is not None:
            chosen = np.array([k for k, i in enumerate(img_ids) if i in wanted], dtype=np.int64)
            return chosen, {"method": f"image ids of {mini}", "distance": statistics_distance(cats, sizes, chosen)}
        chosen, distances = draw_subset(cats, sizes, fraction, draws, seed)
        return chosen, {"method": f"best of {draws} seeded draws of {fraction:.0%}", "distance": min(distances),
                        "draw_distances": distances}

    if train is not None:
        _build_split(train, train_ann, coco_root / "train2017", train_out, train_meta, select)
        train = None  # free the train annotations before val is decoded
    if val is not None:
        _build_split(val, val_ann, coco_root / "val2017", val_out, val_meta,
                     lambda ids, cats, sizes: (np.arange(len(ids)), {"method": "all of val2017 (the test set)"}))
    return train_out


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
