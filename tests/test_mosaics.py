"""The mosaic data sets. `mnist-fashion-mosaics`, the real-image multi-label set of the `real` profile: built here
from small fake MNIST and Fashion-MNIST IDX files in their on-disk format, each mosaic traced back to the tiles it
holds, and a toy-size run of the `real` profile through papermill on those files. `digit-mosaics`, the offline set
of the smoke profile. Both pinned, since published records and golden runs depend on their exact draws."""
import hashlib
import json

import numpy as np
import pytest

from conftest import papermill
from test_data import make_mnist

from hetnoise import data, mosaics, multilabel

# sha256 prefixes of the data sets built below, as the code that made the published records built them
PINNED_MNIST_FASHION = "29e53c436a523228"
PINNED_DIGIT_LABELS, PINNED_DIGIT_IMAGES = "6daef6459e41a318", "adfc9bc2c1746815"


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    """A data root with fake MNIST (under mnist/) and fake Fashion-MNIST (under fashion-mnist/)."""
    root = tmp_path_factory.mktemp("data")
    arrays = {"mnist": make_mnist(root / "mnist", n_train=60, n_test=30, seed=1),
              "fashion-mnist": make_mnist(root / "fashion-mnist", n_train=50, n_test=40, seed=2)}
    return root, arrays


def tile_index(arrays):
    """Every fake tile's bytes → (source offset, split, class): the tiles are random, so unique."""
    index = {}
    for offset, name in ((0, "mnist"), (10, "fashion-mnist")):
        for split, stem in (("train", "train"), ("test", "t10k")):
            images, labels = arrays[name][f"{stem}-images-idx3-ubyte"], arrays[name][f"{stem}-labels-idx1-ubyte"]
            for im, lab in zip(np.asarray(images, np.uint8), labels):
                index[im.tobytes()] = (offset, split, offset + int(lab))
    return index


def test_labels_are_the_classes_of_the_tiles_placed(fake_root):
    root, arrays = fake_root
    ds = data.load("mnist-fashion-mosaics", root, download=False, size=56)
    assert ds.x_train.shape == (mosaics.N_TRAIN, 1, 56, 56) and ds.x_test.shape == (mosaics.N_TEST, 1, 56, 56)
    assert ds.y_train.shape == (mosaics.N_TRAIN, 20)
    assert ds.num_classes == data.num_classes("mnist-fashion-mosaics") == 20
    assert ds.classes[:10] == [str(d) for d in range(10)] and ds.classes[10] == "T-shirt/top"
    assert ds.kind == data.MULTILABEL
    assert "MNIST" in ds.source and "Fashion-MNIST" in ds.source and len(ds.mean) == len(ds.std) == 1
    index = tile_index(arrays)
    sources = set()
    for split, x, y in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        x, y = x[:, 0].numpy(), y.numpy()
        for k in range(0, len(x), 7):  # every 7th mosaic, traced back tile by tile
            labels, placed = set(), 0
            for q in range(4):
                r, c = divmod(q, 2)
                tile = x[k, 28 * r:28 * (r + 1), 28 * c:28 * (c + 1)]
                if not tile.any():
                    continue
                offset, tile_split, cls = index[tile.tobytes()]
                assert tile_split == split, f"a {split} mosaic holds a {tile_split} tile"
                labels.add(cls)
                sources.add(offset)
                placed += 1
            assert placed >= 1
            assert set(np.flatnonzero(y[k])) == labels
    assert sources == {0, 10}
    fill = (ds.y_train.sum(1) > 0).float().mean()
    assert fill == 1 and 2.5 < float(ds.y_train.sum(1).float().mean()) < 3.2  # ≈ 4 × 0.75 tiles, few repeats


def test_same_seed_same_set_and_resize(fake_root):
    root, _ = fake_root
    a = mosaics.mnist_fashion_mosaics(root, False, n_train=200, n_test=50)
    b = mosaics.mnist_fashion_mosaics(root, False, n_train=200, n_test=50)
    c = mosaics.mnist_fashion_mosaics(root, False, n_train=200, n_test=50, seed=1)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, name).numpy(), getattr(b, name).numpy()), name
    assert not np.array_equal(a.x_train.numpy(), c.x_train.numpy())
    small = mosaics.mnist_fashion_mosaics(root, False, size=16, n_train=200, n_test=50)
    assert small.x_train.shape == (200, 1, 16, 16) and np.array_equal(small.y_train.numpy(), a.y_train.numpy())


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist: no IDX files.*HETNOISE_DATA"):
        data.load("mnist-fashion-mosaics", tmp_path, download=False)
    with pytest.raises(ValueError, match="mnist-fashion-mosaics"):
        data.load("mosaics")


def digest(*arrays) -> str:
    """sha256 of the arrays' bytes, to pin a data set."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.asarray(a).tobytes())
    return h.hexdigest()[:16]


def test_mnist_fashion_mosaics_are_pinned(fake_root):
    """Composition only (no resize at 56), so numpy's generator alone fixes these bytes on every machine."""
    root, _ = fake_root
    ds = mosaics.mnist_fashion_mosaics(root, False, n_train=300, n_test=100)
    assert digest(ds.x_train, ds.y_train, ds.x_test, ds.y_test) == PINNED_MNIST_FASHION



def test_digit_mosaics_are_deterministic_and_labelled_by_the_digits_present():
    a, b = data.load("digit-mosaics", size=32, seed=0), data.load("digit-mosaics", size=32, seed=0)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.x_train.shape == (2000, 3, 32, 32) and a.y_train.shape == (2000, 10) and a.kind == data.MULTILABEL
    assert (a.y_train.sum(1) >= 1).all() and (a.y_train.sum(1) <= 4).all()
    assert not np.array_equal(data.load("digit-mosaics", size=32, seed=1).y_train, a.y_train)
    # a quadrant is blank exactly when it holds no digit, and a label is on when some quadrant shows it
    quads = a.x_train[:, 0].reshape(2000, 2, 16, 2, 16).permute(0, 1, 3, 2, 4).reshape(2000, 4, -1)
    filled = (quads.sum(-1) > 0).sum(1)
    assert (filled >= a.y_train.sum(1)).all()


def test_digit_mosaics_of_the_smoke_profile_are_pinned():
    """The labels depend on numpy's generator only; the images also on torch's bilinear resize of the digits, so a
    torch upgrade may move PINNED_DIGIT_IMAGES (re-pin it when the golden runs are re-pinned)."""
    ds = data.load("digit-mosaics", size=64)
    assert digest(ds.y_train, ds.y_test) == PINNED_DIGIT_LABELS
    assert digest(ds.x_train, ds.x_test) == PINNED_DIGIT_IMAGES
    odd = data.load("digit-mosaics", size=33)
    assert not odd.x_train[:, :, 32].any() and not odd.x_train[:, :, :, 32].any()
    assert np.array_equal(odd.y_train, ds.y_train)



def test_one_pool_draws_like_a_choice_from_it():
    """A single pool draws no pool index, so digit-mosaics keep the draws of `rng.choice(pool)` they were made with."""
    tiles, labels = np.arange(7 * 4, dtype=np.uint8).reshape(7, 2, 2), np.arange(7) % 3
    x, y = mosaics.compose([(tiles, labels)], 50, np.random.default_rng(4), 0.5)
    rng = np.random.default_rng(4)
    idx = rng.choice(np.arange(7), (50, 4))
    present = rng.random((50, 4)) < 0.5
    assert x.shape == (50, 4, 4) and y.shape == (50, 10)
    quads = x.reshape(50, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4).reshape(50, 4, 4)
    assert (quads[present] == tiles[idx][present].reshape(-1, 4)).all()


def test_label_groups_cut_twelve_eight():
    corrupted, clean = multilabel.label_groups(20, 1)
    assert corrupted == list(range(12)) and clean == list(range(12, 20))
    corrupted, clean = multilabel.label_groups(20, 2)
    assert corrupted == list(range(12, 20)) and clean == list(range(12))


@pytest.mark.slow
def test_real_profile_toy_run_through_papermill(fake_root, tmp_path, monkeypatch):
    root, _ = fake_root
    monkeypatch.setenv("HETNOISE_DATA", str(root))
    proc = papermill("multilabel.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, profile="real", p=0.9, case=2,
                     epochs=1, image_size=16, width=0.0625, batch_size=512, download=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = (tmp_path / "results" / "multilabel" / "real").glob("*.json")
    rec = json.loads(path.read_text())
    params, res = rec["params"], rec["result"]
    assert params["dataset"] == "mnist-fashion-mosaics" and params["profile"] == "real" and params["case"] == 2
    assert res["corrupted_labels"] == list(range(12, 20)) and res["clean_labels"] == list(range(12))
    assert len(res["per_label_ap"]) == 20 and res["n_test"] == mosaics.N_TEST and res["image_size"] == 16
    assert "Fashion-MNIST" in res["data_source"] and str(root) in res["data_source"]
    for key in ("map_clean", "map_corrupted", "map_overall"):
        assert 0 <= res[key] <= 1, key
    arrays = np.load(path.with_suffix(".npz"))
    assert (arrays["y_train_noisy"][:, :12] == arrays["y_train_true"][:, :12]).all()
    assert (arrays["y_train_noisy"][:, 12:] != arrays["y_train_true"][:, 12:]).any()
