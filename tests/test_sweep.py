"""Sweeps on a real Dask cluster with the real notebook: resumable, failures isolated, clear errors."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, ROOT
from hetnoise import cli, grids, records, settings, studies, sweep


def hetnoise(*args, timeout=600, env=None):
    return subprocess.run([str(BIN / "hetnoise"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_grids_expand_and_override():
    cells = grids.cells("multiclass", "smoke")
    assert len(cells) == 1 + 3 * 2 * 2 and all(c["dataset"] == "digits" and c["profile"] == "smoke" for c in cells)
    assert len(grids.cells("multiclass", "paper")) == 2 * 3 * (1 + 7 * 10 * 2)  # data sets × seeds × (p = 0, the rest)
    small = sweep.plan("multiclass", "smoke", "/r", {"p": [0.5], "seed": [0, 1], "epochs": [1]})
    assert len(small) == 2 * 2 * 2 and {c.params["p"] for c in small} == {0.5}
    assert {c.params["seed"] for c in small} == {0, 1}
    with pytest.raises(ValueError, match="unknown"):
        grids.cells("multiclass", "huge")
    with pytest.raises(ValueError, match="unknown"):
        grids.cells("nope", "smoke")


def test_cli_rejects_bad_input_clearly(tmp_path, capsys):
    assert cli.main(["sweep", "multiclass", "--p", "1.5", "--results", str(tmp_path)]) == 2
    assert "p=1.5 is not allowed; it must be a number in [0, 1]" in capsys.readouterr().err
    assert cli.main(["sweep", "imagenet", "--results", str(tmp_path)]) == 2
    assert "unknown" in capsys.readouterr().err
    assert cli.main(["sweep", "multiclass", "--set", "epochs", "--results", str(tmp_path)]) == 2
    assert cli.main(["data", "mini-coco", "--coco-root", str(tmp_path / "missing")]) == 2
    assert "hetnoise:" in capsys.readouterr().err


def test_packs_hold_only_cells_one_execution_can_train():
    cells = sweep.plan("multiclass", "smoke", "/r", {"seed": [0, 1]})
    groups = sweep.packs(cells, 3)
    assert sorted(c.run_id for g in groups for c in g) == sorted(c.run_id for c in cells)
    assert max(map(len, groups)) == 3 and len(groups) == 1 + 3 * 3  # p = 0: one pack of 2 seeds; per other p: 3, 3, 2
    for g in groups:
        shared = [{k: v for k, v in c.params.items() if k not in studies.get("multiclass").packable} for c in g]
        assert all(s == shared[0] for s in shared)
    assert all(len(g) == 1 for g in sweep.packs(cells, 1))
    mtl = sweep.plan("mtl", "smoke", "/r")
    assert all(len(g) == 1 for g in sweep.packs(mtl, 8))  # not packable: one execution per cell


def test_each_sweep_kernel_talks_over_unix_sockets_of_its_own(tmp_path):
    """TCP ports picked by kernels started at once can collide (a kernel whose heartbeat lost the race left
    papermill waiting after its last cell); Unix sockets under a folder of each task's own cannot."""
    manager = sweep._logged_kernel_manager()
    managers = [manager(config=sweep._kernel_config(tmp_path / f"{i}.log", tmp_path / f"{i}" / "ipc"),
                        kernel_name="python3") for i in (0, 1)]
    assert [m.transport for m in managers] == ["ipc", "ipc"]
    assert [m.ip for m in managers] == [str(tmp_path / "0" / "ipc"), str(tmp_path / "1" / "ipc")]
    assert managers[0].stderr_path == str(tmp_path / "0.log")


@pytest.mark.slow
def test_two_worker_sweep_with_a_failing_cell(tmp_path):
    """Eight cells in packs of two on a LocalCluster of two workers; the MNIST cells fail at run time on a
    corrupt data file: each failed pack is run again cell by cell, the good cells finish, the bad ones are
    named (and why each pack failed), `hetnoise status` reports them, and a rerun redoes only them."""
    data = tmp_path / "data" / "mnist"
    data.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (data / name).write_bytes(b"not an IDX file")
    results = tmp_path / "results"
    args = ("sweep", "multiclass", "--profile", "smoke", "--results", str(results), "--workers", "2", "--p", "0", "1",
            "--seeds", "0", "1", "--set", 'dataset=["digits", "mnist"]', "--set", "epochs=1", "--set", "clean_class=0",
            "--set", "strategy=exclude", "--retries", "0", "--no-progress")
    (tmp_path / "tmp").mkdir()
    env = {"HETNOISE_DATA": str(tmp_path / "data"), "TMPDIR": str(tmp_path / "tmp")}
    proc = hetnoise(*args, "--pack", "2", env=env)
    assert not list((tmp_path / "tmp").glob("hetnoise-kernel-*"))  # each kernel's socket folder is removed
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "4 done, 0 skipped, 4 failed" in proc.stdout
    why = [line for line in proc.stdout.splitlines() if "run one at a time: 2 of the pack" in line]
    assert len(why) == 2 and all("is corrupt" in line for line in why), proc.stdout  # each failed pack says why
    errors = sorted((results / "multiclass" / "smoke").glob("*.error.json"))
    assert len(errors) == 4 and all(str(e) in proc.stdout for e in errors)
    err = json.loads(errors[0].read_text())
    assert err["params"]["dataset"] == "mnist" and "is corrupt" in err["traceback"]
    assert (results / "multiclass" / "smoke" / f"{err['run_id']}.error.ipynb").is_file()
    recs, problems = records.load_records(results)
    assert len(recs) == 4 and not problems and {r["params"]["dataset"] for r in recs} == {"digits"}
    for r in recs:
        assert (results / "multiclass" / "smoke" / f"{r['run_id']}.ipynb").is_file()
    status = hetnoise("status", str(results))
    assert status.returncode == 1 and status.stdout.count("failed: ") == 4 and "is corrupt" in status.stdout
    proc = hetnoise(*args, env=env)  # re-running redoes only the failed cells
    assert "0 done, 4 skipped, 4 failed" in proc.stdout


@pytest.mark.slow
def test_killed_sweep_resumes_with_only_the_missing_cells(tmp_path):
    args = [str(BIN / "hetnoise"), "sweep", "multiclass", "--profile", "smoke", "--results", str(tmp_path),
            "--workers", "1", "--p", "0", "0.5", "1", "--set", "clean_class=0", "--set", "strategy=exclude",
            "--set", "epochs=1", "--no-progress"]
    folder = tmp_path / "multiclass" / "smoke"
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not list(folder.glob("*.json")) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    finished = len(records.load_records(tmp_path)[0])
    assert 1 <= finished < 3
    assert not [p for p in folder.glob("*.json") if not p.name.endswith(".error.json")
                and records.validate(json.loads(p.read_text()))]  # nothing half-written looks complete
    dry = subprocess.run(args + ["--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert dry.stdout.count("done  ") == finished and dry.stdout.count("todo  ") == 3 - finished
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{3 - finished} done, {finished} skipped, 0 failed" in again.stdout
    assert len(records.load_records(tmp_path)[0]) == 3


def test_status_reports_a_truncated_record(tmp_path):
    good = records.save_run(tmp_path, "multiclass", settings.resolve("multiclass", {"profile": "smoke", "p": 0.3}),
                            {"clean_acc": 1.0, "corrupted_acc": 0.5, "test_acc": 0.6, "per_class_acc": [],
                             "best_epoch": 1, "wall_time_s": 1.0})
    bad = good.with_name("ffffffffffffffff.json")
    bad.write_text(good.read_text()[:40])
    proc = hetnoise("status", str(tmp_path))
    assert proc.returncode == 1 and str(bad) in proc.stdout and "unreadable" in proc.stdout
    assert "1 complete records" in proc.stdout


def test_plan_marks_only_valid_records_done(tmp_path):
    cells = sweep.plan("multiclass", "smoke", tmp_path, {"p": [0.5]})
    cells[0].record.parent.mkdir(parents=True)
    cells[0].record.write_text("{")
    assert not cells[0].done()


@pytest.mark.slow
def test_sweep_kernels_get_their_share_of_threads_and_the_default_allocator(smoke_results):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ (torch's CPU training then runs ~3× slower) and one thread
    per worker; the notebooks' kernels get neither: the records' provenance shows what they ran with."""
    recs, _ = records.load_records(smoke_results)
    threads = max(1, (os.cpu_count() or 1) // 2)  # the fixture's sweep has two workers
    assert recs and all("MALLOC_TRIM_THRESHOLD_" not in r["provenance"]["environment"] for r in recs)
    assert {r["provenance"]["environment"]["OMP_NUM_THREADS"] for r in recs} == {str(threads)}
    assert {r["provenance"]["torch_threads"] for r in recs} == {threads}
