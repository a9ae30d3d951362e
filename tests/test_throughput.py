"""The throughput benchmark at toy size, and that the fast path learns as well as the plain reference."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

from dataclasses import replace

import pytest
import torch

from hetnoise import data, models, studies, train

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "train_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_smoke_benchmark_prints_ratios_and_writes_nothing_without_save(tmp_path):
    committed = ROOT / "benchmarks" / "results" / "train_throughput.json"
    before = committed.stat().st_mtime_ns if committed.exists() else None
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--threads", "2"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert re.fullmatch(r"ratio: \d+\.\d+", lines[-1])
    assert sum(bool(re.fullmatch(r"ratio: \d+\.\d+", line)) for line in lines) == 2
    for path in ("torchvision_reference", "plain", "+uint8 batches", "hetnoise"):
        assert sum(line.strip().startswith(path + " ") for line in lines) == 2, path
    assert any(re.search(r"% of dense fp32", line) for line in lines)
    assert list(tmp_path.iterdir()) == []
    assert (committed.stat().st_mtime_ns if committed.exists() else None) == before


@pytest.mark.slow
def test_gpu_check_at_toy_size_saves_figures_and_grid_records(tmp_path):
    """The GPU check's whole path on this device: benchmark with --save, a packed sweep, the report."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path),
                           "--toy", "--workers", "1", "--pack", "2"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [s["exit"] for s in report["stages"]] == [0, 0], report["stages"]
    (grid,) = report["grids"]
    assert grid["runs_after"] - grid["runs_before"] == 2 and grid["wall_s"] > 0
    assert report["provenance"]["git_revision"] and isinstance(report["batched"]["chosen"], bool)
    doc = json.loads((tmp_path / "train_throughput.json").read_text())["cpu"]
    f = doc["models"]["lenet5"]
    assert f["ratio"] == pytest.approx(f["images_per_s"]["hetnoise"] / f["images_per_s"]["plain"])
    assert 0 < f["fraction_of_dense"]["fp32"]["hetnoise"] < 1 and f["flops_per_image"]["train"] > 0
    assert f["git_revision"] and f["measured_at"] and f["device_type"] == "cpu" and f["smoke"]
    assert doc["k_at_once"]["k"] == 2 and doc["dense_flops_per_s"]["fp32"] > 1e8
    rec = json.loads(next((tmp_path / "results" / "multiclass" / "smoke").glob("*.json")).read_text())
    assert rec["params"]["epochs"] == 1 and rec["result"]["pack_size"] == 2


def test_git_revision_of_a_copied_checkout_comes_from_the_environment(tmp_path, monkeypatch):
    from hetnoise import records

    monkeypatch.setattr(records, "repo_root", lambda: tmp_path)
    monkeypatch.delenv("HETNOISE_GIT_REVISION", raising=False)
    assert records.git_revision() == "unknown"
    monkeypatch.setenv("HETNOISE_GIT_REVISION", "abc123")
    assert records.git_revision() == "abc123"
    monkeypatch.setattr(records, "repo_root", lambda: ROOT)  # inside a repository the copy's own word wins
    assert records.git_revision() == "abc123"


@pytest.mark.slow
def test_fast_and_plain_paths_reach_the_same_accuracy(bench):
    ds = data.load("digits")
    tr, va = data.stratified_split(ds.y_train.numpy(), 0.1, 0)
    r = replace(studies.get("multiclass").profiles["smoke"].recipes["lenet5"], epochs=5)
    torch.manual_seed(0)
    fast, plain = models.LeNet5(10, 1), models.LeNet5(10, 1)
    train.fit(fast, ds.x_train[tr], ds.y_train[tr], ds.x_train[va], ds.y_train[va], r, mean=ds.mean, std=ds.std,
              seed=0, log=lambda _: None)
    bench.reference_fit(plain, ds.x_train[tr], ds.y_train[tr], r, mean=ds.mean, std=ds.std, seed=0)
    acc = [(train.predict(m, ds.x_test, ds.mean, ds.std).argmax(1) == ds.y_test).float().mean().item()
           for m in (fast, plain)]
    # 360 test images: the binomial standard error of a difference near 90 % is about 0.022.
    assert min(acc) > 0.85 and abs(acc[0] - acc[1]) < 0.07, acc


def test_reference_loader_serves_normalised_tensors_like_torchvision(bench):
    x = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    xb, yb = next(iter(bench.reference_loader(x, torch.arange(8), 8, (0.5,), (0.25,), augment=False)))
    assert xb.dtype == torch.float32 and xb.shape == (8, 1, 28, 28) and yb.dtype == torch.int64
    order = yb.tolist()
    torch.testing.assert_close(xb, train.normalise(x[order], *train.channel_stats((0.5,), (0.25,), "cpu")))


def test_peak_lookup_and_merged_results(bench, tmp_path):
    assert bench.peak_tflops("NVIDIA H100 80GB HBM3") == 989
    assert bench.peak_tflops("NVIDIA H100 PCIe") == 756
    assert bench.peak_tflops("Some Unknown GPU") is None
    out = tmp_path / "r.json"
    bench.save(out, "cpu", {"models": {"lenet5": {"ratio": 2.0}}, "threads": 2})
    bench.save(out, "cpu", {"models": {"resnet18": {"ratio": 1.0}}, "threads": 2})
    bench.save(out, "cuda", {"models": {"lenet5": {"ratio": 9.0}}})
    doc = json.loads(out.read_text())
    assert set(doc["cpu"]["models"]) == {"lenet5", "resnet18"} and doc["cuda"]["models"]["lenet5"]["ratio"] == 9.0


@pytest.mark.slow
def test_lenet_profile_ranks_operators_by_their_own_time(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "profile_lenet.py"), "--steps", "2", "--top", "5"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert "ms per step" in lines[0] and len(lines) == 6
    shares = [float(re.search(r"([\d.]+) %", line).group(1)) for line in lines[1:]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 100.5
    assert list(tmp_path.iterdir()) == []


def test_device_comparison_reads_the_saved_cpu_copy_once_its_records_left_published(monkeypatch):
    sys.path.insert(0, str(ROOT))
    from benchmarks import pages
    run = {"p": 0.5, "clean_class": 1, "strategy": "exclude"}
    gpu = {"runs": [{"run_id": "a", **run, "clean_acc": 0.98, "corrupted_acc": 0.90}]}
    copy = {"runs": [{"run_id": "a", **run, "clean_acc": 0.99, "corrupted_acc": 0.93}]}
    monkeypatch.setattr(pages, "saved", {"gpu_mnist_grid.json": gpu, "cpu_mnist_grid.json": copy}.get)
    monkeypatch.setattr(pages, "cpu_records", lambda profile, dataset: [])  # the records of another protocol only
    shown = []
    monkeypatch.setattr(pages, "display", shown.append)
    pages.devices_compared()
    assert "1 runs on both devices" in shown[0].data and "3.0 points" in shown[0].data
    assert shown[1].data.iloc[0][["corrupted, CPU", "corrupted, GPU"]].tolist() == pytest.approx([93.0, 90.0])


def test_whole_grid_rows_say_how_much_of_a_cpu_grid_is_there(monkeypatch):
    sys.path.insert(0, str(ROOT))
    from benchmarks import pages
    version = studies.get("multiclass").version
    record = {"protocol": version, "result": {"wall_time_s": 100.0, "pack_size": 4},
              "provenance": {"device_name": "Some CPU", "torch_threads": 1, "cpu_count": 2}}
    monkeypatch.setattr(pages, "saved", lambda name: {})
    monkeypatch.setattr(pages, "cpu_records", lambda profile, dataset: [record] * 3 if dataset == "mnist" else [])
    shown = []
    monkeypatch.setattr(pages, "display", shown.append)
    pages.whole_grids()
    row = shown[0].data.iloc[0]
    assert row["runs"] == "3 of the grid's 423" and row["device"] == "Some CPU" and row["per run"] == "100 s (median)"
