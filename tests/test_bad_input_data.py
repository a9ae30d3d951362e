"""Bad inputs to the data-set loaders, the mini-COCO builder and the noise processes are refused before any work
starts, in one line that names the culprit and says what to do; the data rows also leave no file or folder behind
(COCO folder, data root)."""
import json
import os
import warnings
from unittest import mock

import numpy as np
import pytest

from cocofixture import make_coco_fixture, tree
from hetnoise import cli, coco, data, noise

TRAIN, VAL = "annotations/instances_train2017.json", "annotations/instances_val2017.json"
Y = np.array([[1, 0, 1], [0, 1, 0]], np.uint8)


def edit(rel, change):
    """A setup that rewrites the JSON file `rel` of the COCO folder as change(parsed content)."""
    def setup(root, tmp):
        path = root / rel
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
    return setup


def write(rel, data: bytes, base="root"):
    """A setup that writes raw bytes to `rel` under the COCO folder (base="root") or the test folder."""
    def setup(root, tmp):
        (root if base == "root" else tmp).joinpath(rel).write_bytes(data)
    return setup


def truncate(rel):
    """A setup that cuts the file `rel` of the COCO folder in half, as an interrupted download would."""
    def setup(root, tmp):
        path = root / rel
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return setup


def first_image(field, value):
    return edit(TRAIN, lambda d: {**d, "images": [{**d["images"][0], field: value}, *d["images"][1:]]})


def unreadable_images(root, tmp):
    for jpg in (root / "train2017").glob("*.jpg"):
        jpg.write_bytes(b"not a jpeg")


def minitrain(images):
    return lambda root, tmp: (tmp / "mini.json").write_text(json.dumps({"images": images}))


def load_with_env_coco(root):
    with mock.patch.dict(os.environ, HETNOISE_COCO=str(root)):
        data.load("mini-coco")


def nothing(root, tmp):
    pass


def truncated_cache(root, tmp):
    """A mini-coco train cache cut short in the data root, as an interrupted copy leaves it."""
    (tmp / "data" / "mini-coco").mkdir(parents=True)
    (tmp / "data" / "mini-coco" / "minitrain-128.npz").write_bytes(b"PK\x03\x04 cut")


def build(**kw):
    return lambda root, tmp: coco.build_mini_coco(root, **{k: tmp / v if k in ("out_dir", "minitrain_json") else v
                                                          for k, v in kw.items()})


DATA_ROWS = [  # id, setup(coco root, test folder), call(coco root, test folder), exception, message part
    ("truncated", truncate(TRAIN), build(), ValueError,
     "instances_train2017.json is not valid JSON, perhaps truncated"),
    ("empty-object", write(TRAIN, b"{}"), build(), ValueError,
     "instances_train2017.json lacks 'images', 'annotations', 'categories'"),
    ("array", write(TRAIN, b"[]"), build(), ValueError, "instances_train2017.json holds a JSON array"),
    ("not-utf8", write(TRAIN, b"\xff\xfe\x00garbage"), build(), ValueError,
     "instances_train2017.json is not valid JSON"),
    ("no-images", edit(TRAIN, lambda d: {**d, "images": []}), build(), ValueError,
     "instances_train2017.json holds no images"),
    ("images-not-list", edit(TRAIN, lambda d: {**d, "images": {}}), build(), ValueError,
     "has 'images' as a JSON object, not an array"),
    ("no-file-name", first_image("file_name", None), build(), ValueError,
     "images[0] with file_name=None (missing or not a string)"),
    ("string-category", edit(TRAIN, lambda d: {**d, "annotations": [{**d["annotations"][0], "category_id": "1"}]}),
     build(), ValueError, "annotations[0] with category_id='1'"),
    ("duplicate-id", first_image("id", 1001), build(), ValueError, "lists images id 1001 more than once"),
    ("val-truncated", truncate(VAL), build(), ValueError, "instances_val2017.json is not valid JSON"),
    ("val-categories", edit(VAL, lambda d: {**d, "categories": d["categories"][:5]}), build(), ValueError,
     "instances_val2017.json lists other categories"),
    ("train-json-missing", lambda root, tmp: (root / TRAIN).unlink(), build(), FileNotFoundError,
     "missing {root}/annotations/instances_train2017.json"),
    ("train-json-folder", lambda root, tmp: ((root / TRAIN).unlink(), (root / TRAIN).mkdir()), build(), ValueError,
     "instances_train2017.json is not a file"),
    ("coco-root-missing", nothing, lambda root, tmp: coco.build_mini_coco(tmp / "nope"), FileNotFoundError,
     "is not an MS-COCO 2017 folder"),
    ("all-images-unreadable", unreadable_images, build(), ValueError, "could be read from {root}/train2017"),
    ("minitrain-truncated", write("mini.json", b'{"images": [{"id": 1', base="tmp"), build(minitrain_json="mini.json"),
     ValueError, "mini.json is not valid JSON"),
    ("minitrain-foreign-ids", minitrain([{"id": 7}]), build(minitrain_json="mini.json"), ValueError,
     "mini.json shares no image id"),
    ("minitrain-missing", nothing, build(minitrain_json="mini.json"), FileNotFoundError, "minitrain_json="),
    ("fraction-zero", nothing, build(fraction=0), ValueError, "fraction=0 must be a number in (0, 1]"),
    ("fraction-bool", nothing, build(fraction=True), ValueError, "fraction=True"),
    ("draws-zero", nothing, build(draws=0), ValueError, "draws=0 must be an int >= 1"),
    ("size-string", nothing, build(size="128"), ValueError, "size='128' must be an int"),
    ("out-is-file", write("out", b"", base="tmp"), build(out_dir="out"), ValueError, "is a file, not a folder"),
    ("data-root-is-file", write("data", b"", base="tmp"), build(), ValueError,
     "set HETNOISE_DATA to a writable folder"),
    ("no-cache-no-root", nothing, lambda root, tmp: data.load("mini-coco"), FileNotFoundError,
     "run `hetnoise data mini-coco --coco-root /path/to/coco` to build it (or set HETNOISE_COCO"),
    ("env-root-missing", lambda root, tmp: (root / TRAIN).unlink(),
     lambda root, tmp: load_with_env_coco(root),
     FileNotFoundError, "(that folder comes from HETNOISE_COCO)"),
    ("coco-root-option-missing", nothing, lambda root, tmp: data.load("mini-coco", coco_root=tmp / "nope"),
     FileNotFoundError, "nope is not an MS-COCO 2017 folder"),
    ("corrupt-cache", truncated_cache, lambda root, tmp: data.load("mini-coco"), ValueError,
     "minitrain-128.npz is not a readable mini-coco cache (truncated or corrupt): delete it and run `hetnoise data"),
    ("unknown-dataset", nothing, lambda root, tmp: data.load("imagenet"), ValueError,
     "dataset='imagenet' is unknown; choose one of digits, mnist, fashion-mnist, cifar10, cifar100, digit-mosaics, "
     "mnist-fashion-mosaics, mini-coco"),
    ("unknown-option", nothing, lambda root, tmp: data.load("mini-coco", colour=True), ValueError,
     "dataset='mini-coco' takes no option colour; its options: size, coco_root"),
    ("mnist-missing", nothing, lambda root, tmp: data.load("mnist", download=False), FileNotFoundError,
     "mnist: no IDX files (train-images-idx3-ubyte[.gz] …) in any of {data}"),
    ("mosaics-without-mnist", nothing, lambda root, tmp: data.load("mnist-fashion-mosaics", download=False),
     FileNotFoundError, "copy the four files into {data}/MNIST/raw (or set HETNOISE_DATA)"),
    ("cifar-missing", nothing, lambda root, tmp: data.load("cifar100", download=False), FileNotFoundError,
     "cifar100: {data}/cifar-100-python does not exist. Run with download=True"),
    ("cifar-meta-missing", lambda root, tmp: (tmp / "data" / "cifar-100-python").mkdir(parents=True),
     lambda root, tmp: data.load("cifar100", download=False), FileNotFoundError,
     "cifar-100-python/train is missing; delete {data}/cifar-100-python and download the data set again"),
]


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A COCO fixture folder and a private data root (absent until something writes there)."""
    monkeypatch.setenv("HETNOISE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("HETNOISE_COCO", raising=False)
    make_coco_fixture(tmp_path / "coco", n_train=20, n_val=6)
    return tmp_path / "coco", tmp_path


@pytest.mark.parametrize("setup, call, exc, part", [pytest.param(*row[1:], id=row[0]) for row in DATA_ROWS])
def test_bad_data_input_is_refused_before_anything_is_written(folders, monkeypatch, setup, call, exc, part):
    """The exact exception type (no bare JSONDecodeError or KeyError), one line naming the file, and no new file
    or folder anywhere in the test folder, which holds both the COCO folder and the data root."""
    root, tmp = folders
    setup(root, tmp)
    before = tree(tmp)
    with warnings.catch_warnings(), pytest.raises(exc) as caught:
        warnings.simplefilter("ignore")
        call(root, tmp)
    message = str(caught.value)
    assert type(caught.value) is exc and "\n" not in message, message
    assert part.format(root=root, data=tmp / "data") in message, message
    assert tree(tmp) == before


def test_cli_reports_a_truncated_annotation_file_in_one_line(folders, capsys):
    """`hetnoise data mini-coco` exits with 2 and one line naming the file and the remedy, no traceback."""
    root, tmp = folders
    truncate(TRAIN)(root, tmp)
    before = tree(tmp)
    assert cli.main(["data", "mini-coco", "--coco-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(root / TRAIN) in err and "re-download" in err, err
    assert tree(tmp) == before


def test_read_only_coco_folder_is_only_read(folders):
    """The cache goes to the data root, so a read-only COCO folder builds fine and is left exactly as it was."""
    root, tmp = folders
    before = tree(root)
    modes = {p: p.stat().st_mode for p in [root, *root.rglob("*")] if p.is_dir()}
    try:
        for p in modes:
            p.chmod(0o555)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cache = coco.build_mini_coco(root, fraction=0.5, draws=1, size=8)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert tree(root) == before and cache.parent == tmp / "data" / "mini-coco" and cache.is_file()


NOISE_ROWS = [  # id, call, message part (every one a ValueError)
    ("p-true", lambda: noise.corrupt_classes([0, 1, 2], True), "p=True must be a number in [0, 1], not a bool"),
    ("p-false", lambda: noise.corrupt_classes([0, 1, 2], False), "p=False must be a number in [0, 1]"),
    ("p-numpy-bool", lambda: noise.corrupt_classes([0, 1, 2], np.bool_(True)),
     "must be a number in [0, 1], not a bool"),
    ("p-string", lambda: noise.corrupt_classes([0, 1, 2], "0.5"), "p='0.5' must be a number in [0, 1], not a str"),
    ("p-nan", lambda: noise.corrupt_classes([0, 1, 2], float("nan")), "p=nan must lie in [0, 1]"),
    ("p-vector-bool", lambda: noise.corrupt_classes([0, 1, 2], [0.1, True, 0.3]),
     "p[1]=True must be a number in [0, 1]"),
    ("p-vector-string", lambda: noise.corrupt_classes([0, 1, 2], ["0.1", "0.2", "0.3"]), "p[0]='0.1'"),
    ("p-bool-array", lambda: noise.corrupt_classes([0, 1, 2], np.array([True, False, True])), "p[0]=True"),
    ("matrix-p-true", lambda: noise.transition_matrix(3, True), "p=True must be a number in [0, 1]"),
    ("multilabel-p-true", lambda: noise.corrupt_multilabel(Y, True, [0]), "p=True must be a number in [0, 1]"),
    ("multilabel-p-string", lambda: noise.corrupt_multilabel(Y, "0.5", [0]), "p='0.5' must be a number in [0, 1]"),
    ("expected-p-nan", lambda: noise.expected_change_rate(Y, float("nan"), [0]), "p=nan must lie in [0, 1]"),
    ("expected-p-string", lambda: noise.expected_change_rate(Y, "1", [0]), "p='1' must be a number in [0, 1]"),
    ("low-equals-high", lambda: noise.corrupt_regression([1.0, 2.0], 2, 2, 1.0), "low=2.0 must be < high=2.0"),
    ("target-inf", lambda: noise.corrupt_regression([1.0, np.inf], 0, 2, 1.0), "y must hold finite numbers; found inf"),
    ("target-nan", lambda: noise.corrupt_regression([np.nan, 1.0], 0, 2, 1.0), "y must hold finite numbers; found nan"),
    ("low-nan", lambda: noise.corrupt_regression([1.0], float("nan"), 2, 1.0), "low=nan must be a finite number"),
    ("low-minus-inf", lambda: noise.corrupt_regression([1.0], -np.inf, 2, 1.0), "low=-inf must be a finite number"),
    ("high-inf", lambda: noise.corrupt_regression([1.0], 0, np.inf, 1.0), "high=inf must be a finite number"),
    ("sigma-nan", lambda: noise.corrupt_regression([1.0], 0, 2, float("nan")), "sigma=nan must be a finite number"),
    ("low-bool", lambda: noise.corrupt_regression([1.0], True, 2, 1.0), "low=True must be a number, not a bool"),
    ("high-string", lambda: noise.corrupt_regression([1.0], 0, "3", 1.0), "high='3' must be a number, not a str"),
]


@pytest.mark.parametrize("call, part", [pytest.param(*row[1:], id=row[0]) for row in NOISE_ROWS])
def test_bad_noise_input_is_refused_with_its_name_and_value(call, part):
    """Bools, strings, NaN and infinities are refused rather than read as numbers (True as p = 1)."""
    with pytest.raises(ValueError) as caught:
        call()
    assert part in str(caught.value), str(caught.value)


@pytest.mark.parametrize("p", [0, 1, 0.5, np.float32(0.25), np.float64(0.5), np.int64(1), np.array(0.5)],
                         ids=repr)
def test_real_rates_stay_accepted(p):
    """Python and numpy reals, ints 0 and 1 included, remain valid rates for every noise process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, rep = noise.corrupt_classes(np.arange(30) % 3, p, seed=1)
        noise.corrupt_multilabel(Y, p, [0, 1])
    assert rep.intended_rate.tolist() == [float(p)] * 3
