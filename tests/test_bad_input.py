"""Every bad input of the sweep, the notebooks and the records is stopped before any work starts, with
one line that names it, and no record is ever lost or overwritten (the data builders' and the noise
API's bad inputs are in test_bad_input_data.py)."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, ROOT, papermill
from hetnoise import cli, records, settings

SWEEP = ["sweep", "multiclass", "--profile", "smoke"]
REFUSED = [  # command-line arguments, words the one-line message must hold
    (["--set", "p=1.5"], "p=1.5 is not allowed; it must be a number in [0, 1]"),
    (["--set", "clean_class=10"], "clean_class=10 is not a class of digits"),
    (["--set", "dataset=foo"], "dataset='foo' is not allowed"),
    (["--set", "strategy=foo"], "strategy='foo' is not allowed"),
    (["--seeds", "-1"], "seed=-1 is not allowed"),
    (["--set", "epochs=abc"], "epochs='abc' is not allowed; it must be an integer ≥ 1"),
    (["--set", "bogus=1"], "--set bogus=… is not a parameter a sweep can set"),
    (["--workers", "-1"], "--workers -1: must be an integer ≥ 1"),
    (["--workers", "0"], "--workers 0: must be an integer ≥ 1"),
    (["--pack", "0"], "--pack 0: must be an integer ≥ 1"),
]


@pytest.mark.parametrize("extra, message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_bad_sweep_arguments_stop_before_anything_starts(extra, message, tmp_path, capsys):
    t = time.perf_counter()
    assert cli.main(SWEEP + ["--results", str(tmp_path / "r")] + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists() and time.perf_counter() - t < 10


def test_unknown_profile_of_all_studies_is_an_error(tmp_path, capsys):
    assert cli.main(["sweep", "all", "--profile", "smok", "--results", str(tmp_path / "r")]) == 2
    assert ("--profile 'smok' is unknown; choose one of ['fashion', 'label-transfer', 'label-transfer-pilot', "
            "'mnist-rotation', 'paper', 'real', 'real-pilot', 'smoke']") in capsys.readouterr().err


@pytest.mark.slow
def test_papermill_with_a_bad_value_names_it(tmp_path):
    proc = papermill("multiclass.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, p="abc", profile="smoke")
    assert proc.returncode != 0 and "p='abc' is not allowed; it must be a number in [0, 1]" in proc.stderr
    proc = papermill("multiclass.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, bogus=1, profile="smoke")
    assert proc.returncode != 0 and "unknown parameter 'bogus'" in proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_multilabel_notebook_without_coco_says_how_to_build_it(tmp_path):
    env = {**os.environ, "HETNOISE_DATA": str(tmp_path / "data")}
    env.pop("HETNOISE_COCO", None)
    args = [str(BIN / "papermill"), str(ROOT / "notebooks" / "multilabel.ipynb"), str(tmp_path / "o.ipynb"),
            "--no-progress-bar"]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode != 0 and "hetnoise data mini-coco --coco-root" in proc.stderr


def good_record(results):
    run = settings.resolve("multiclass", {"profile": "smoke", "p": 0.0, "clean_class": 0, "strategy": "exclude",
                                          "epochs": 1})
    return records.save_run(results, "multiclass", run, {"clean_acc": 1.0, "corrupted_acc": 0.5, "test_acc": 0.6,
                                                         "per_class_acc": [], "best_epoch": 1, "wall_time_s": 1.0})


def test_a_record_of_a_future_schema_is_never_overwritten(tmp_path, capsys):
    path = good_record(tmp_path)
    text = json.dumps({**json.loads(path.read_text()), "schema": 4})
    path.write_text(text)
    args = SWEEP + ["--results", str(tmp_path), "--p", "0", "--set", "clean_class=0", "--set", "strategy=exclude",
                    "--set", "epochs=1"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "schema 4 is not 3" in err and "move it out" in err
    assert path.read_text() == text


@pytest.mark.parametrize("result, problem", [({}, "result.clean_acc = None"),
                                             ({"clean_acc": "high"}, "result.clean_acc = 'high'")])
def test_a_record_missing_what_the_book_reads_is_reported_not_used(tmp_path, result, problem):
    path = good_record(tmp_path)
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "result": {**(rec["result"] if result else {}), **result}}))
    recs, problems = records.load_records(tmp_path)
    assert not recs and len(problems) == 1 and problem in problems[0]


def sweep_command(results, *extra):
    return [str(BIN / "hetnoise"), *SWEEP, "--results", str(results), "--workers", "1", "--set", "clean_class=0",
            "--set", "strategy=exclude", "--set", "epochs=1", *extra]


def wait_for(predicate, seconds=300):
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(0.2)
    assert predicate(), "timed out"


def hidden(folder):
    return sorted(p.name for p in folder.glob(".*"))


@pytest.mark.slow
def test_interrupt_and_kill_lose_nothing_and_leave_nothing(tmp_path):
    """Ctrl-C: every record kept has its executed notebook and the terminal shows no kernel noise; kill -9
    mid-run: the next run removes the partial files and finishes the grid."""
    folder, args = tmp_path / "multiclass" / "smoke", sweep_command(tmp_path, "--p", "0", "0.5", "1")
    # Ctrl-C as at a terminal: a test suite run in the background (`… &` in a script) ignores SIGINT, and so
    # would the sweep it starts; the sweep gets the default disposition back.
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: len(list(folder.glob("*.json"))) >= 1)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err, out + err
    assert "KeyboardInterrupt caught in kernel" not in err + out and "Kernel is running over TCP" not in err + out
    kept = records.load_records(tmp_path)[0]
    assert kept and all(folder.joinpath(f"{r['run_id']}.ipynb").is_file() for r in kept)
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wait_for(lambda: any(n.endswith(".staging") for n in hidden(folder)))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert any(n.endswith(".staging") for n in hidden(folder))
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 failed" in again.stdout, again.stdout + again.stderr
    assert "Kernel is running over TCP" not in again.stdout + again.stderr
    recs, problems = records.load_records(tmp_path)
    assert len(recs) == 3 and not problems and hidden(folder) == []
    assert all(folder.joinpath(f"{r['run_id']}.ipynb").is_file() for r in recs)


@pytest.mark.slow
def test_two_identical_sweeps_into_one_folder_train_each_cell_once(tmp_path):
    args = sweep_command(tmp_path, "--p", "0", "1")
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    done = [int(o.split(" done,")[0].split()[-1]) for o in outs]
    assert sum(done) == 2, outs
    recs, _ = records.load_records(tmp_path)
    assert len(recs) == 2 and len({r["provenance"]["timestamp_utc"] + r["run_id"] for r in recs}) == 2
