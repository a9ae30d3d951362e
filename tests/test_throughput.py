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

from hetnoise import data, models, settings, train

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "train_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_benchmark_prints_ratios_and_writes_only_to_out(tmp_path):
    out, committed = tmp_path / "tt.json", ROOT / "benchmarks" / "results" / "train_throughput.json"
    before = committed.stat().st_mtime_ns if committed.exists() else None
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--threads", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert re.fullmatch(r"ratio: \d+\.\d+", lines[-1])
    assert sum(bool(re.fullmatch(r"ratio: \d+\.\d+", line)) for line in lines) == 2
    doc = json.loads(out.read_text())["cpu"]
    assert set(doc["models"]) == {"lenet5", "resnet18"} and doc["threads"] == 2 and doc["smoke"]
    for f in doc["models"].values():
        assert f["ratio"] == pytest.approx(f["hetnoise_images_per_s"] / f["reference_images_per_s"])
        assert f["flops_per_image"]["train"] > f["flops_per_image"]["forward"] > 0
    assert doc["k_at_once"]["k"] == 2 and doc["k_at_once"]["batched_s"] > 0
    assert doc["provenance"]["git_revision"] and doc["torch"] == torch.__version__
    assert list(tmp_path.iterdir()) == [out]
    assert (committed.stat().st_mtime_ns if committed.exists() else None) == before


def test_fast_and_plain_paths_reach_the_same_accuracy(bench):
    ds = data.load("digits")
    tr, va = data.stratified_split(ds.y_train.numpy(), 0.1, 0)
    r = replace(settings.PROFILES["multiclass"]["smoke"].recipes["lenet5"], epochs=5)
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
