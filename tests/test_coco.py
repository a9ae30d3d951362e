"""Mini MS-COCO built from a COCO-format fixture, its cache, and `data.load("mini-coco")` reading it."""
import contextlib
import json
import os
import shutil
import warnings

import numpy as np
import pytest

from cocofixture import IDS, make_coco_fixture, tree
from hetnoise import cli, coco, data


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
        data.load("mini-coco")
    with _quiet():
        ds = data.load("mini-coco", coco_root=coco_root, size=16)
    assert ds.x_train.shape[1:] == (3, 16, 16) and ds.y_train.shape[1] == 80 and len(ds.x_test) == 20
    assert ds.kind == data.MULTILABEL and ds.num_classes == data.num_classes("mini-coco") == 80 and len(ds.mean) == 3
    assert tree(coco_root) == before and (data_root / "mini-coco" / "minitrain-16.npz").is_file()
    cached = data.load("mini-coco", size=16)  # no COCO folder needed once the cache exists
    assert cached.source == ds.source and cached.x_train.equal(ds.x_train)
    monkeypatch.setenv("HETNOISE_COCO", str(coco_root))
    assert data.load("mini-coco", size=16).source == ds.source
    monkeypatch.setenv("HETNOISE_COCO", str(coco_root.parent / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="annotations.*HETNOISE_COCO"):
        data.load("mini-coco", size=16)
    monkeypatch.delenv("HETNOISE_COCO")
    shutil.rmtree(coco_root / "val2017")
    with pytest.raises(FileNotFoundError, match="val2017/.*unzip"):
        coco.build_mini_coco(coco_root)


def test_mini_coco_cache_follows_the_data_root(coco_root, tmp_path):
    """An explicit data root holds the cache, as $HETNOISE_DATA does by default."""
    with _quiet():
        ds = data.load("mini-coco", tmp_path / "elsewhere", coco_root=coco_root, size=16)
    assert (tmp_path / "elsewhere" / "mini-coco" / "minitrain-16.npz").is_file()
    assert data.load("mini-coco", tmp_path / "elsewhere", size=16).x_test.equal(ds.x_test)
    with pytest.raises(FileNotFoundError, match="no mini-coco cache"):
        data.load("mini-coco", tmp_path / "nowhere", size=16)


def test_cli_builds_mini_coco(coco_root, tmp_path, capsys):
    with _quiet():
        assert cli.main(["data", "mini-coco", "--coco-root", str(coco_root), "--out", str(tmp_path / "c"),
                         "--fraction", "0.5", "--draws", "3"]) == 0
    out = capsys.readouterr().out
    assert "minitrain-128.npz" in out and "best of 3 seeded draws" in out and "val2017-128.npz" in out
