"""Mini MS-COCO built from a COCO-format fixture, its cache, and the offline digit mosaics."""
import contextlib
import json
import os
import shutil
import warnings

import numpy as np
import pytest

from cocofixture import IDS, make_coco_fixture, tree
from hetnoise import cli, coco


@pytest.fixture(autouse=True)
def data_root(tmp_path, monkeypatch):
    """A private data root, where the mini-coco cache goes by default, and no HETNOISE_COCO."""
    monkeypatch.setenv("HETNOISE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("HETNOISE_COCO", raising=False)
    return tmp_path / "data"


@pytest.fixture
def coco_root(tmp_path):
    make_coco_fixture(tmp_path / "coco")
    return tmp_path / "coco"


def test_mini_coco_subset_labels_and_corrupt_image(coco_root):
    with _quiet():
        cache = coco.build_mini_coco(coco_root, fraction=0.5, draws=5, seed=1, size=32)
    report = json.loads(cache.with_name(cache.name + ".report.json").read_text())
    assert report["selected"] == 30 and report["distance"] == min(report["draw_distances"])
    z = np.load(cache)
    assert z["images"].shape[1:] == (3, 32, 32) and z["labels"].shape[1] == 80
    assert report["cached"] == len(z["images"]) == report["selected"] - report["skipped"]
    train = json.loads((coco_root / "annotations" / "instances_train2017.json").read_text())
    last = train["images"][-1]["file_name"]
    if last in set(z["file_names"].tolist()) or report["skipped"]:
        assert any(last in s for s in report["skipped_files"]) and last not in set(z["file_names"].tolist())
    # labels: the categories of each image's annotations, in COCO's category order
    col = {c: j for j, c in enumerate(sorted(IDS))}
    for img_id, row in zip(z["image_ids"][:10], z["labels"][:10]):
        want = np.zeros(80, np.uint8)
        for a in train["annotations"]:
            if a["image_id"] == img_id:
                want[col[a["category_id"]]] = 1
        assert np.array_equal(row, want)
    assert list(z["category_names"][:3]) == ["person", "bicycle", "car"]


def test_corrupt_image_is_named_when_selected(coco_root):
    with pytest.warns(UserWarning, match="unreadable COCO image"):
        cache = coco.build_mini_coco(coco_root, fraction=1.0, draws=1, size=16)
    report = json.loads(cache.with_name(cache.name + ".report.json").read_text())
    assert report["selected"] == 60 and report["skipped"] == 1 and report["cached"] == 59
    assert "000000001059.jpg" in report["skipped_files"][0]
    assert "000000001059.jpg" in coco.describe_build(cache)


def test_kept_draw_is_the_closest_of_the_draws(coco_root):
    c = coco._read_coco(coco_root / "annotations" / "instances_train2017.json")
    _, cats, sizes, _ = coco.image_statistics(c)
    chosen, distances = coco.draw_subset(cats, sizes, 0.3, 8, seed=3)
    assert len(chosen) == 18 and coco.statistics_distance(cats, sizes, chosen) == min(distances)
    assert len(set(np.round(distances, 12))) > 1


def test_cache_is_reused_and_rebuilt_when_its_inputs_change(coco_root, monkeypatch):
    with _quiet():
        first = coco.build_mini_coco(coco_root, fraction=0.5, draws=2, size=16)
    stamp = first.stat().st_mtime_ns
    from PIL import Image

    def refuse(*a, **k):
        raise AssertionError("images decoded again although the cache is valid")

    with monkeypatch.context() as m:
        m.setattr(Image, "open", refuse)
        assert coco.build_mini_coco(coco_root, fraction=0.5, draws=2, size=16) == first
    assert first.stat().st_mtime_ns == stamp
    for change in ({"fraction": 0.4}, {"seed": 5}, {"size": 24}):
        args = {"fraction": 0.5, "draws": 2, "size": 16, **change}
        with _quiet():
            path = coco.build_mini_coco(coco_root, **args)
        assert coco._cached_meta(path)["size"] == args["size"]
        assert coco._cached_meta(path)["fraction"] == args["fraction"]
    ann = coco_root / "annotations" / "instances_train2017.json"
    os.utime(ann, ns=(stamp + 10**9, stamp + 10**9))
    with _quiet():
        coco.build_mini_coco(coco_root, fraction=0.5, draws=2, size=16)
    assert first.stat().st_mtime_ns != stamp


@contextlib.contextmanager
def _quiet():
    """Ignore the corrupt-image warning where a test is not about it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_minitrain_json_takes_its_image_ids(coco_root, tmp_path):
    train = json.loads((coco_root / "annotations" / "instances_train2017.json").read_text())
    mini = tmp_path / "instances_minitrain2017.json"
    mini.write_text(json.dumps({**train, "images": train["images"][:7]}))
    cache = coco.build_mini_coco(coco_root, out_dir=tmp_path / "cache", minitrain_json=mini, size=16)
    assert cache.parent == tmp_path / "cache"
    assert np.load(cache)["image_ids"].tolist() == [im["id"] for im in train["images"][:7]]
    with pytest.raises(FileNotFoundError, match="minitrain_json"):
        coco.build_mini_coco(coco_root, minitrain_json=tmp_path / "nope.json")


def test_load_mini_coco_and_missing_files(coco_root, data_root, monkeypatch):
    before = tree(coco_root)
    with pytest.raises(FileNotFoundError, match="hetnoise data mini-coco --coco-root /path/to/coco.*HETNOISE_COCO"):
        coco.load_multilabel("mini-coco")
    with _quiet():
        ds = coco.load_multilabel("mini-coco", coco_root, size=16)
    assert ds.x_train.shape[1:] == (3, 16, 16) and ds.y_train.shape[1] == 80 and len(ds.x_test) == 20
    assert len(ds.label_names) == 80 and len(ds.mean) == 3
    assert tree(coco_root) == before and (data_root / "mini-coco" / "minitrain-16.npz").is_file()
    cached = coco.load_multilabel("mini-coco", size=16)  # no COCO folder needed once the cache exists
    assert cached.source == ds.source and cached.x_train.equal(ds.x_train)
    monkeypatch.setenv("HETNOISE_COCO", str(coco_root))
    assert coco.load_multilabel("mini-coco", size=16).source == ds.source
    monkeypatch.setenv("HETNOISE_COCO", str(coco_root.parent / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="annotations.*HETNOISE_COCO"):
        coco.load_multilabel("mini-coco", size=16)
    monkeypatch.delenv("HETNOISE_COCO")
    shutil.rmtree(coco_root / "val2017")
    with pytest.raises(FileNotFoundError, match="val2017/.*unzip"):
        coco.build_mini_coco(coco_root)
    with pytest.raises(ValueError, match="unknown"):
        coco.load_multilabel("imagenet")


def test_cli_builds_mini_coco(coco_root, tmp_path, capsys):
    with _quiet():
        assert cli.main(["data", "mini-coco", "--coco-root", str(coco_root), "--out", str(tmp_path / "c"),
                         "--fraction", "0.5", "--draws", "3"]) == 0
    out = capsys.readouterr().out
    assert "minitrain-128.npz" in out and "best of 3 seeded draws" in out and "val2017-128.npz" in out


def test_digit_mosaics_are_deterministic_and_labelled_by_the_digits_present():
    a, b = coco.digit_mosaics(size=32, seed=0), coco.digit_mosaics(size=32, seed=0)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.x_train.shape == (2000, 3, 32, 32) and a.y_train.shape == (2000, 10)
    assert (a.y_train.sum(1) >= 1).all() and (a.y_train.sum(1) <= 4).all()
    assert not np.array_equal(coco.digit_mosaics(size=32, seed=1).y_train, a.y_train)
    # a quadrant is blank exactly when it holds no digit, and a label is on when some quadrant shows it
    quads = a.x_train[:, 0].reshape(2000, 2, 16, 2, 16).permute(0, 1, 3, 2, 4).reshape(2000, 4, -1)
    filled = (quads.sum(-1) > 0).sum(1)
    assert (filled >= a.y_train.sum(1)).all()


def test_split_train_val():
    tr, va = coco.split_train_val(100, 0.1, 0)
    assert len(va) == 10 and len(tr) == 90 and not set(tr) & set(va)
    assert np.array_equal(va, coco.split_train_val(100, 0.1, 0)[1])
