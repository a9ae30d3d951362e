"""Run records: identity, provenance, atomic writes, validation on read."""
import hashlib
import json
import os

import numpy as np
import pytest

from hetnoise import records, settings, studies, sweep, tables

RESULT = {"clean_acc": 0.9, "corrupted_acc": 0.5, "test_acc": 0.6, "per_class_acc": [0.9] * 10, "best_epoch": 2,
          "wall_time_s": 1.5}


def smoke(**given):
    """A resolved multi-class smoke run."""
    return settings.resolve("multiclass", {"profile": "smoke", **given})


def test_save_run_keeps_identity_params_and_a_recomputable_id(tmp_path):
    run = smoke(p=0.5, device="cpu", results_dir="/elsewhere")
    path = records.save_run(tmp_path, "multiclass", run, RESULT)
    rec = records.read_record(path)
    assert "device" not in rec["params"] and "results_dir" not in rec["params"] and "pack" not in rec["params"]
    assert rec["run_id"] == run["run_id"] == path.stem == settings.run_id("multiclass", rec["params"], rec["protocol"])
    assert rec["protocol"] == studies.get("multiclass").version and rec["provenance"]["notebook_sha256"]
    with pytest.raises(ValueError, match="does not match"):
        records.save_run(tmp_path, "multiclass", {**run, "run_id": "0" * 16}, RESULT)


def test_records_are_readable_by_all(tmp_path):
    path = records.save_run(tmp_path, "multiclass", smoke(), RESULT)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    arrays = records.save_arrays(tmp_path / "a.npz", x=np.arange(3))
    assert arrays.stat().st_mode & 0o777 == 0o666 & ~umask and np.load(arrays)["x"].tolist() == [0, 1, 2]


def test_save_run_round_trip_with_numpy_and_nan(tmp_path):
    run = smoke(p=np.float64(0.5), seed=np.int64(3))
    path = records.save_run(tmp_path, "multiclass", run, {**RESULT, "acc": np.array([0.5, np.nan]), "n": np.int32(4)})
    assert path.parent == tmp_path / "multiclass" / "smoke"
    rec = records.read_record(path)
    assert rec["result"]["acc"] == [0.5, None] and rec["params"]["seed"] == 3 and rec["complete"]
    prov = rec["provenance"]
    for key in ("hostname", "python", "device_name", "git_revision", "timestamp_utc", "cuda_available"):
        assert prov[key] not in (None, "")
    assert prov["versions"]["torch"] and prov["versions"]["numpy"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        records.save_run(tmp_path, "multiclass", smoke(), RESULT)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_invalid_records_are_rejected_on_write_and_reported_on_read(tmp_path):
    with pytest.raises(ValueError, match="clean_acc"):
        records.save_run(tmp_path, "multiclass", smoke(), {})
    with pytest.raises(TypeError, match="cannot store"):
        records.save_run(tmp_path, "multiclass", smoke(), {**RESULT, "x": object()})
    good = records.save_run(tmp_path, "multiclass", smoke(p=0.1), RESULT)
    rec = json.loads(good.read_text())
    bad = {"unreadable": good.read_text()[:50],
           "missing key 'result'": {k: v for k, v in rec.items() if k != "result"},
           "schema 4 is not 3": {**rec, "schema": 4},
           "result.clean_acc = 'high'": {**rec, "result": {**RESULT, "clean_acc": "high"}},
           "result.corrupted_acc = 1.5": {**rec, "result": {**RESULT, "corrupted_acc": 1.5}},
           "result.clean_acc = None": {**rec, "result": {}},
           "is not the id of its params": {**rec, "params": {**rec["params"], "p": 0.2}},
           "file name": rec}
    for i, (message, content) in enumerate(bad.items()):
        path = good.with_name(f"{i:016x}.json")
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    elsewhere = tmp_path / "mtl" / "smoke" / good.name
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text(good.read_text())
    recs, problems = records.load_records(tmp_path)
    assert [r["run_id"] for r in recs] == [rec["run_id"]]
    assert len(problems) == len(bad) + 1
    for message in bad:
        assert any(message in p for p in problems), message
    assert any(str(elsewhere) in p and "lies in mtl/smoke, not in multiclass/smoke" in p for p in problems)


def test_records_frame_flattens_params_and_scalar_results(tmp_path):
    records.save_run(tmp_path, "multiclass", smoke(p=0.1), {**RESULT, "curve": [1, 2]})
    frame = tables.frame(records.load_records(tmp_path)[0])
    assert frame.loc[0, "p"] == 0.1 and frame.loc[0, "clean_acc"] == 0.9 and "curve" not in frame


def executed(alt: str) -> str:
    """An executed notebook's text with one printed line and one figure."""
    return json.dumps({"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "text": "epoch 1\n"},
        {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
         "metadata": {"image/png": {"alt": alt}}}]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_published_notebooks_keep_their_figures_once_per_profile(tmp_path):
    local, published = tmp_path / "results", tmp_path / "published"
    paths = [records.save_run(local, "multiclass", smoke(p=p), RESULT) for p in (0.5, 0.7)]
    for k, path in enumerate(paths):
        path.with_suffix(".ipynb").write_text(executed(f"figure {k}"))
    assert records.publish(local, "multiclass", "smoke", to=published) == 2
    copies = [json.loads((published / "multiclass" / "smoke" / p.with_suffix(".ipynb").name).read_text())
              for p in paths]
    assert sorted(records.has_figures(nb) for nb in copies) == [False, True]
    slim = next(nb for nb in copies if not records.has_figures(nb))
    outputs = slim["cells"][0]["outputs"]
    assert outputs[0]["text"] == "epoch 1\n"
    assert outputs[1]["data"]["text/plain"].startswith("[figure left out of the published copy: figure ")


def test_a_pack_member_without_pack_index_publishes_no_copy_of_the_first_runs_notebook(tmp_path):
    """Records that do not say their place in a pack: the executed notebook's injected run id tells the run
    that the execution was made for (the others hold a copy of it)."""
    local, published = tmp_path / "results", tmp_path / "published"
    paths = [records.save_run(local, "multiclass", smoke(p=0.5, clean_class=c), RESULT) for c in (0, 1)]
    injected = {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "outputs": [],
                "source": f'# Parameters\np = 0.5\nrun_id = "{paths[0].stem}"\n'}
    for path in paths:
        path.with_suffix(".ipynb").write_text(json.dumps({"cells": [injected], "metadata": {}}))
    assert records.executed_for(json.loads(paths[1].with_suffix(".ipynb").read_text())) == paths[0].stem
    assert records.executed_for({"cells": []}) is None
    assert records.publish(local, "multiclass", "smoke", to=published) == 2
    out = published / "multiclass" / "smoke"
    assert sorted(p.name for p in out.glob("*.ipynb")) == [paths[0].with_suffix(".ipynb").name]


def test_results_keep_seven_significant_digits_and_published_copies_are_rounded(tmp_path):
    """float32 figures carry about seven digits: records keep those, integers and None as they are; a
    record written with more digits is published rounded."""
    path = records.save_run(tmp_path / "results", "multiclass", smoke(p=0.5),
                            {**RESULT, "clean_acc": np.float32(0.7) * 1.0, "test_acc": 1 / 3, "best_epoch": 12,
                             "per_class_acc": [2 / 3, float("nan"), 0.0, 123456789.125] + [0.5] * 6})
    result = records.read_record(path)["result"]
    assert result["clean_acc"] == 0.7 and result["test_acc"] == 0.3333333 and result["best_epoch"] == 12
    assert result["per_class_acc"][:4] == [0.6666667, None, 0.0, 123456800.0]
    raw = json.loads(path.read_text())
    raw["result"]["test_acc"] = 1 / 3
    path.write_text(json.dumps(raw))
    assert records.publish(tmp_path / "results", "multiclass", "smoke", to=tmp_path / "published") == 1
    published = json.loads((tmp_path / "published" / "multiclass" / "smoke" / path.name).read_text())
    assert published["result"]["test_acc"] == 0.3333333 and published["params"] == raw["params"]


def test_publish_keeps_one_notebook_per_group_a_pack_could_share(tmp_path):
    """Executions of one p (other clean classes, strategies, seeds) differ only in numbers their records hold:
    one notebook each p, also across publish calls; another p gets its own."""
    local, published = tmp_path / "results", tmp_path / "published"
    first = records.save_run(local, "multiclass", smoke(p=0.5, clean_class=0), RESULT)
    second = records.save_run(local, "multiclass", smoke(p=0.5, clean_class=3, strategy="exclude"), RESULT)
    for path in (first, second):
        path.with_suffix(".ipynb").write_text("{}")
    assert records.notebook_group(records.read_record(first)) == records.notebook_group(records.read_record(second))
    assert records.publish(local, "multiclass", "smoke", to=published) == 2
    out = published / "multiclass" / "smoke"
    kept = [p.stem for p in out.glob("*.ipynb")]
    assert len(kept) == 1 and kept[0] in (first.stem, second.stem)
    other = records.save_run(local, "multiclass", smoke(p=0.7, clean_class=3), RESULT)
    again = records.save_run(local, "multiclass", smoke(p=0.5, clean_class=5), RESULT)
    for path in (other, again):
        path.with_suffix(".ipynb").write_text("{}")
    assert records.publish(local, "multiclass", "smoke", to=published) == 2
    assert sorted(p.stem for p in out.glob("*.ipynb")) == sorted([kept[0], other.stem])


def test_publish_and_load_all(tmp_path, monkeypatch):
    """Publishing copies valid records and the notebook of each execution's first run, first replicate;
    the book's reader takes published and local records, a run found in both once."""
    local, published = tmp_path / "results", tmp_path / "published"
    paths = [records.save_run(local, "multiclass", smoke(p=0.5, clean_class=c), {**RESULT, "pack_index": c})
             for c in (0, 1)]
    other_seed = records.save_run(local, "multiclass", smoke(p=0.5, seed=1), RESULT)
    for path in paths + [other_seed]:
        path.with_suffix(".ipynb").write_text("{}")
    assert records.publish(local, "multiclass", "smoke", to=published) == 3
    assert records.publish(local, "multiclass", "smoke", to=published) == 0
    out = published / "multiclass" / "smoke"
    assert sorted(p.name for p in out.glob("*.ipynb")) == [paths[0].with_suffix(".ipynb").name]
    monkeypatch.setattr(records, "published_dir", lambda: published)
    records.save_run(local, "multiclass", smoke(p=0.7), RESULT)
    recs, problems = records.load_all("multiclass", results=local)
    assert not problems and sorted(r["_source"] for r in recs) == ["local", "published", "published", "published"]
    paths[1].write_text("{")
    with pytest.raises(ValueError, match="cannot be published"):
        records.publish(local, "multiclass", "smoke", to=tmp_path / "other")


def test_a_schema_2_record_is_read_as_schema_3(tmp_path):
    """Records written before the study was called "study" stay valid without re-running."""
    old = sorted((records.published_dir() / "mtl" / "real").glob("*.json"))[0]
    raw = json.loads(old.read_text())
    assert raw["schema"] == 2 and "experiment" in raw
    target = tmp_path / "mtl" / "real" / old.name
    target.parent.mkdir(parents=True)
    target.write_text(old.read_text())
    rec = records.read_record(target)
    assert rec["schema"] == records.SCHEMA == 3 and rec["study"] == "mtl" and "experiment" not in rec
    raw["schema"] = 1
    target.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="schema 1 is not 3"):
        records.read_record(target)


def test_records_are_written_with_lists_on_one_line_and_read_back_equal(tmp_path):
    record = {"a": [1, 2.5, None], "b": {"c": [[0.1, 0.2], [0.3]], "d": "text [with] brackets"}, "e": []}
    text = records.dumps(record)
    assert json.loads(text) == record and '"a": [1, 2.5, null]' in text and "[0.1, 0.2]" in text


def test_a_renamed_profile_keeps_its_run_ids_and_its_earlier_records(tmp_path):
    """Regression's MNIST profile was called `paper`: the earlier name is still accepted, ids do not change,
    and runs written under it are read, resumed and published under the name now."""
    old = settings.resolve("regression", {"profile": "paper", "p": 0.5, "seed": 1})
    new = settings.resolve("regression", {"profile": "mnist-rotation", "p": 0.5, "seed": 1})
    assert old == new and new["profile"] == "mnist-rotation"
    earlier = dict(settings.identity("regression", new), profile="paper")
    blob = json.dumps({"study": "regression", "protocol": 1, "params": earlier}, sort_keys=True)
    assert new["run_id"] == hashlib.sha256(blob.encode()).hexdigest()[:16]  # the id it had under its first name
    local = tmp_path / "results"
    result = {"rmse_clean": 1.0, "rmse_corrupted": 2.0, "rmse_overall": 1.5, "mse_clean": 1.0, "mse_corrupted": 4.0,
              "mse_boundary": 1.0, "mse_overall": 2.25, "mae_clean": 1.0, "mae_corrupted": 2.0, "best_epoch": 1,
              "wall_time_s": 1.0}
    path = records.save_run(local, "regression", new, result)
    moved = local / "regression" / "paper" / path.name
    moved.parent.mkdir()
    text = path.read_text().replace('"profile": "mnist-rotation"', '"profile": "paper"')
    moved.write_text(text)
    path.unlink()
    path.parent.rmdir()
    recs, problems = records.load_records(local, "regression", "mnist-rotation")
    assert not problems and [r["profile"] for r in recs] == ["mnist-rotation"]
    cells = {c.run_id: c for c in sweep.plan("regression", "paper", local)}
    assert {c.profile for c in cells.values()} == {"mnist-rotation"} and cells[new["run_id"]].done()
    assert sum(c.done() for c in cells.values()) == 1  # the run made before the rename is not made again
    assert records.publish(local, "regression", "mnist-rotation", to=tmp_path / "published") == 1
    copy = json.loads((tmp_path / "published" / "regression" / "mnist-rotation" / path.name).read_text())
    assert copy["profile"] == copy["params"]["profile"] == "mnist-rotation" and copy["run_id"] == new["run_id"]
