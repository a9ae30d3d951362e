"""Run records: identity, provenance, atomic writes, validation on read."""
import json
import os

import numpy as np
import pytest

from hetnoise import records


def test_run_id_is_stable_and_ignores_where_a_run_executes():
    a = records.run_id("multiclass", {"p": 0.5, "seed": 0, "profile": "smoke"}, notebook="x")
    assert a == records.run_id("multiclass", {"seed": 0, "p": 0.50, "profile": "smoke", "device": "cuda:1",
                                              "results_dir": "/elsewhere", "run_id": ""}, notebook="x")
    assert records.run_id("multiclass", {"p": 1, "profile": "s"}, "x") == records.run_id("multiclass", {"p": 1.0, "profile": "s"}, "x")
    assert a != records.run_id("multiclass", {"p": 0.6, "seed": 0, "profile": "smoke"}, notebook="x")
    assert a != records.run_id("multiclass", {"p": 0.5, "seed": 0, "profile": "smoke"}, notebook="y")
    assert a != records.run_id("mtl", {"p": 0.5, "seed": 0, "profile": "smoke"}, notebook="x")
    assert len(a) == 16 and int(a, 16) >= 0
    # pinned: the same parameters give the same identity on any machine and Python
    assert records.run_id("multiclass", {"p": 0.5, "profile": "smoke"}, notebook="") == \
        records.run_id("multiclass", {"profile": "smoke", "p": 0.5}, notebook="")


def test_save_run_round_trip_with_numpy_and_nan(tmp_path):
    params = {"p": np.float64(0.5), "seed": np.int64(3), "profile": "smoke"}
    path = records.save_run(tmp_path, "multiclass", params, {"acc": np.array([0.5, np.nan]), "n": np.int32(4)})
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
        records.save_run(tmp_path, "multiclass", {"profile": "smoke"}, {"acc": 1.0})
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_invalid_records_are_rejected_on_write_and_reported_on_read(tmp_path):
    with pytest.raises(ValueError, match="profile"):
        records.save_run(tmp_path, "multiclass", {"p": 0.5}, {})
    with pytest.raises(TypeError, match="cannot store"):
        records.save_run(tmp_path, "multiclass", {"profile": "smoke"}, {"x": object()})
    good = records.save_run(tmp_path, "multiclass", {"profile": "smoke", "p": 0.1}, {"acc": 0.9})
    truncated = good.with_name("0000000000000000.json")
    truncated.write_text(good.read_text()[:50])
    edited = good.with_name("1111111111111111.json")
    rec = json.loads(good.read_text())
    del rec["result"]
    edited.write_text(json.dumps(rec))
    recs, problems = records.load_records(tmp_path)
    assert [r["run_id"] for r in recs] == [json.loads(good.read_text())["run_id"]]
    assert len(problems) == 2
    assert any(str(truncated) in p and "unreadable" in p for p in problems)
    assert any(str(edited) in p and "missing key 'result'" in p for p in problems)


def test_records_frame_flattens_params_and_scalar_results(tmp_path):
    records.save_run(tmp_path, "multiclass", {"profile": "smoke", "p": 0.1}, {"acc": 0.9, "curve": [1, 2]})
    frame = records.records_frame(records.load_records(tmp_path)[0])
    assert frame.loc[0, "p"] == 0.1 and frame.loc[0, "acc"] == 0.9 and "curve" not in frame
