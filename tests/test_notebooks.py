"""The notebooks: paired files in sync, and real papermill runs at toy scale whose outputs a reader can
use: every figure has alt text, nothing is written to stderr, no absolute path is printed."""
import json
import re
from pathlib import Path

import jupytext
import pytest

from conftest import ROOT, papermill

pytestmark = pytest.mark.slow  # every test here runs a notebook through papermill

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
ABSOLUTE_PATH = re.compile(r"(?<![\w.~$:/])/(?:[\w.-]+/)+[\w.-]+")


def assert_outputs_read_well(path: Path):
    """Every figure of an executed notebook has alt text; no warning or other stderr, no absolute path."""
    outputs = [o for c in json.loads(path.read_text())["cells"] for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure"
    for o in outputs:
        text = "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        assert o["output_type"] != "error" and o.get("name") != "stderr", text
        assert not ABSOLUTE_PATH.search(text), text
        if "image/png" in o.get("data", {}):
            assert o["metadata"].get("image/png", {}).get("alt"), f"a figure without alt text after {text!r}"


def cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync_and_runnable_without_kernel_flag(py):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `jupytext --to ipynb {py}`"
    a, b = jupytext.read(py), jupytext.read(ipynb)
    assert cells(a) == cells(b), f"{py.name} and {ipynb.name} differ: run `jupytext --sync {py}`"
    assert json.loads(ipynb.read_text())["metadata"]["kernelspec"]["name"] == "python3"
    params = [c for c in b.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for name in ("p", "seed", "profile", "results_dir", "device", "run_id"):
        assert f"\n{name} = " in "\n" + params[0].source, f"{py.name}: parameter {name} missing"


def test_multiclass_readme_command_writes_a_record(tmp_path):
    """`papermill notebooks/multiclass.ipynb out.ipynb -p p 0.9 -p profile smoke`, offline."""
    proc = papermill("multiclass.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, p=0.9, profile="smoke")
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = list((tmp_path / "results" / "multiclass" / "smoke").glob("*.json"))
    assert len(recs) == 1
    rec = json.loads(recs[0].read_text())
    res = rec["result"]
    assert rec["params"]["dataset"] == "digits" and rec["params"]["p"] == 0.9
    assert len(res["per_class_acc"]) == 10 and 0 <= res["clean_acc"] <= 1
    assert abs(res["noise"]["intended_rate"][0]) == 0 and res["noise"]["realised_rate"][0] == 0
    assert 0.8 < sum(res["noise"]["realised_rate"][1:]) / 9 < 1.0  # nine classes corrupted at p = 0.9
    assert len(res["history"]["epochs"]) == rec["params"]["epochs"] and res["wall_time_s"] > 0
    prov = rec["provenance"]
    assert prov["versions"]["torch"] and prov["python"] and prov["git_revision"] and prov["device_name"]
    assert res["clean_acc"] > res["corrupted_acc"]  # p = 0.9 on nine classes: the clean one stands out
    assert_outputs_read_well(tmp_path / "out.ipynb")


def test_multilabel_outputs_read_well_when_swap_finds_no_free_label(tmp_path):
    """At p = 1 swap leaves some positives in place for want of a free label: the notebook says so in words,
    with no warning on stderr."""
    proc = papermill("multilabel.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, profile="smoke", epochs=1, p=1.0, case=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_outputs_read_well(tmp_path / "out.ipynb")
    printed = "".join("".join(o.get("text", "")) for c in json.loads((tmp_path / "out.ipynb").read_text())["cells"]
                      for o in c.get("outputs", []))
    assert "The noise report notes" in printed and "no free label in its row stays" in printed


def test_multiclass_pack_gives_each_run_its_own_record_as_if_alone(tmp_path):
    """Three runs in one execution (`pack`): each record has the run identity and, on the CPU where runs
    are trained one at a time, exactly the numbers of the same run made alone."""
    from hetnoise import records

    pack = [{"clean_class": 7, "strategy": "include", "seed": 1}, {"clean_class": 3, "strategy": "exclude", "seed": 0}]
    (tmp_path / "packed").mkdir()
    proc = papermill("multiclass.ipynb", tmp_path / "packed.ipynb", cwd=tmp_path / "packed", p=0.6, profile="smoke",
                     epochs=1, pack=pack)
    assert proc.returncode == 0, proc.stderr[-3000:]
    packed = {r["run_id"]: r for r in records.load_records(tmp_path / "packed" / "results")[0]}
    assert len(packed) == 3 and {r["result"]["pack_size"] for r in packed.values()} == {3}
    (tmp_path / "alone").mkdir()
    proc = papermill("multiclass.ipynb", tmp_path / "alone.ipynb", cwd=tmp_path / "alone", p=0.6, profile="smoke",
                     epochs=1, clean_class=7, strategy="include", seed=1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (alone,) = records.load_records(tmp_path / "alone" / "results")[0]
    twin = packed[alone["run_id"]]
    assert twin["params"] == alone["params"]
    for key in ("per_class_acc", "clean_acc", "corrupted_acc", "best_epoch", "noise"):
        assert twin["result"][key] == alone["result"][key], key
    assert [e["val_loss"] for e in twin["result"]["history"]["epochs"]] == \
        [e["val_loss"] for e in alone["result"]["history"]["epochs"]]
    bad = papermill("multiclass.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, profile="smoke",
                    pack=[{"clean_class": 1, "lr": 0.1}])
    assert bad.returncode != 0 and "may only set clean_class, strategy, seed and run_id" in bad.stderr


def test_multiclass_rejects_bad_parameters_clearly(tmp_path):
    proc = papermill("multiclass.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, p=1.5, profile="smoke")
    assert proc.returncode != 0 and "p=1.5 is not allowed; it must be a number in [0, 1]" in proc.stderr
    proc = papermill("multiclass.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, clean_class=12, profile="smoke")
    assert proc.returncode != 0 and "clean_class=12" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_multiclass_missing_data_fails_fast(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("HETNOISE_DATA", str(tmp_path / "empty"))
    started = time.perf_counter()
    proc = papermill("multiclass.ipynb", tmp_path / "m.ipynb", cwd=tmp_path, p=0.5, download=False)
    assert proc.returncode != 0 and "mnist: no IDX files" in proc.stderr
    assert time.perf_counter() - started < 60
