"""The multi-task study: task split, alternating batches, the real notebook in both modes."""
import json
import os
import pickle
import time

import numpy as np
import pytest
import torch

from conftest import ROOT, papermill
from hetnoise import data, models, mtl, noise, records, train


def test_split_is_deterministic_disjoint_and_complete():
    a1, a2 = mtl.split_tasks(100, 0)
    assert (a1, a2) == mtl.split_tasks(100, 0) and len(a1) == len(a2) == 50
    assert not set(a1) & set(a2) and sorted(a1 + a2) == list(range(100))
    assert mtl.split_tasks(100, 1) != (a1, a2)
    with pytest.raises(ValueError, match="num_classes"):
        mtl.split_tasks(2, 0)


def test_paper_model_two_heads_of_50_over_a_wide_mish_backbone():
    net = mtl.build_model([50, 50], 2, "mish", 3)
    assert [h.out_features for h in net.heads] == [50, 50] and net.backbone.out_features == 1024
    assert any(isinstance(m, torch.nn.Mish) for m in net.modules())


def test_tasks_from_cifar100_pickles(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, n in (("train", 1000), ("test", 200)):
        pickle.dump({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                     "fine_labels": np.tile(np.arange(100), n // 100).tolist()}, open(folder / name, "wb"))
    pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)]}, open(folder / "meta", "wb"))
    ds = data.load("cifar100", root=tmp_path, download=False)
    t1, t2 = mtl.split_tasks(100, 0)
    task = mtl.task_data(ds, t1, split_seed=0)
    assert task.num_classes == 50 and len(task.x_train) + len(task.x_val) == 500 and len(task.x_test) == 100
    assert set(task.y_train.tolist()) | set(task.y_val.tolist()) == set(range(50))
    assert task.x_train.shape[1:] == (3, 32, 32)
    # renumbered labels point back at the task's own classes: label k is class t1[k]
    k = int(task.y_test[0])
    assert torch.equal(task.x_test[0], ds.x_test[ds.y_test == t1[k]][0])


def test_batches_alternate_between_tasks_and_task1_stays_clean(monkeypatch):
    """Each step takes a batch of Task1 then of Task2; the Task1 head is trained on the true labels of the
    rows drawn, the Task2 head on the noisy ones."""
    ds = data.load("digits")
    t1, t2 = (mtl.task_data(ds, c, 0) for c in mtl.split_tasks(10, 0))
    true1, true2 = t1.y_train.clone(), t2.y_train.clone()
    t2.y_train = torch.from_numpy(noise.corrupt_classes(true2.numpy(), 1.0, clean=[], num_classes=5, seed=0)[0])
    seen, targets, cross_entropy = [], [], mtl.F.cross_entropy

    def recording(logits, y, *a, **kw):
        if logits.requires_grad:
            targets.append(y.clone())
        return cross_entropy(logits, y, *a, **kw)

    monkeypatch.setattr(mtl.F, "cross_entropy", recording)
    r = train.Recipe(epochs=1, batch_size=128)
    net = mtl.build_model([5, 5], 0.125, "mish", 1)
    hist = mtl.fit_mtl(net, [t1, t2], r, mean=ds.mean, std=ds.std, log=lambda s: None,
                       on_step=lambda t, idx: seen.append((t, idx.clone())))
    steps = max(len(t1.x_train), len(t2.x_train)) // 128
    assert [t for t, _ in seen] == [0, 1] * steps and len(targets) == 2 * steps
    for (t, idx), y in zip(seen, targets):
        assert torch.equal(y, (true1 if t == 0 else t2.y_train)[idx])
        assert t == 0 or not torch.equal(y, true2[idx])  # p = 1: every Task2 label drawn is wrong
    assert {"task1_val_loss", "task2_val_loss", "task1_val_acc"} <= set(hist.epochs[0])


def test_notebook_both_modes_through_papermill(smoke_results):
    recs, problems = records.load_records(smoke_results, "mtl")
    assert not problems and {r["params"]["mode"] for r in recs} == {"mtl", "stl"}
    ds = data.load("digits")
    for r in recs:
        res, prm = r["result"], r["params"]
        c1, c2 = mtl.split_tasks(10, prm["split_seed"])
        assert res["task1_classes"] == c1 and res["task2_classes"] == c2
        assert res["task1_labels_sha256"] == mtl.labels_digest(mtl.task_data(ds, c1, prm["split_seed"]).y_train)
        clean2 = mtl.labels_digest(mtl.task_data(ds, c2, prm["split_seed"]).y_train)
        assert (res["task2_labels_sha256"] == clean2) == (prm["p"] == 0)
        if prm["mode"] == "stl":
            assert res["task2_acc"] is None and res["task2_noise"] is None
        else:
            assert 0 <= res["task2_acc"] <= 1 and abs(res["task2_noise"]["overall_rate"] - prm["p"]) < 0.1
        assert len(res["history"]["epochs"]) == prm["epochs"] and 1 <= res["best_epoch"] <= prm["epochs"]


def test_missing_cifar100_stops_within_seconds_with_instructions(tmp_path):
    os.environ["HETNOISE_DATA"] = str(tmp_path / "empty")
    try:
        t = time.perf_counter()
        proc = papermill("mtl.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, p=0.9)
    finally:
        del os.environ["HETNOISE_DATA"]
    assert proc.returncode != 0
    assert "cifar100" in proc.stderr and str(tmp_path / "empty" / "cifar-100-python") in proc.stderr
    assert time.perf_counter() - t < 60


def test_subsample_keeps_per_class_images_seeded_and_leaves_evaluation_whole():
    ds = data.load("digits")
    task = mtl.task_data(ds, [0, 3, 5, 7, 9], 0)
    small = mtl.subsample(task, 4, seed=1)
    assert np.bincount(small.y_train.numpy(), minlength=5).tolist() == [4] * 5
    assert torch.equal(small.x_train, mtl.subsample(task, 4, seed=1).x_train)
    assert not torch.equal(small.x_train, mtl.subsample(task, 4, seed=2).x_train)
    assert small.x_val is task.x_val and small.x_test is task.x_test
    rows = {bytes(x.numpy()) for x in task.x_train}
    assert all(bytes(x.numpy()) in rows for x in small.x_train)
    assert mtl.subsample(task, 0, seed=1) is task
    with pytest.raises(ValueError, match="choose at most"):
        mtl.subsample(task, 10_000, seed=1)


def test_a_small_task_is_cycled_in_a_new_order_each_pass():
    """With Task1 far smaller than Task2, an epoch is one pass over Task2 and every Task1 image is drawn
    equally often, in a fresh order each pass (not the same windows again)."""
    ds = data.load("digits")
    t1, t2 = (mtl.task_data(ds, c, 0) for c in mtl.split_tasks(10, 0))
    t1 = mtl.subsample(t1, 2, seed=0)  # 10 images
    seen = []
    net = mtl.build_model([5, 5], 1, "mish", 1, trunk="lenet5")
    mtl.fit_mtl(net, [t1, t2], train.Recipe(epochs=1, batch_size=5), mean=ds.mean, std=ds.std, log=lambda s: None,
                on_step=lambda t, idx: seen.append((t, idx.clone())))
    steps = len(t2.x_train) // 5
    drawn = [idx for t, idx in seen if t == 0]
    assert len(drawn) == steps and all(len(i) == 5 for i in drawn)
    counts = np.bincount(torch.cat(drawn).numpy(), minlength=10)
    assert counts.max() - counts.min() <= 1
    passes = [torch.cat(drawn[i:i + 2]).tolist() for i in range(0, 2 * 10, 2)]
    assert all(sorted(q) == list(range(10)) for q in passes) and len({tuple(q) for q in passes}) > 1


def test_lenet_trunk_scales_with_width_and_rejects_unknown_trunks():
    net = mtl.build_model([5, 5], 2, "mish", 1, trunk="lenet5", seed=0)
    assert net.backbone.out_features == 168 and net(torch.zeros(3, 1, 28, 28), 1).shape == (3, 5)
    assert any(isinstance(m, torch.nn.Mish) for m in net.modules())
    with pytest.raises(ValueError, match="choose one of"):
        mtl.build_model([5, 5], 1, "mish", 1, trunk="vgg")


@pytest.mark.slow
def test_real_profile_runs_at_toy_size_on_mnist(tmp_path):
    """The `real` profile (MNIST, LeNet-5 trunk, 5 vs 1,000 images per class), cut to one short epoch."""
    mnist = ROOT.parent / "shared" / "data"
    if not (mnist / "mnist").is_dir():
        pytest.skip(f"MNIST is not in {mnist}")
    proc = papermill("mtl.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, profile="real", p=0.5, epochs=1,
                     task2_per_class=40, data_root=str(mnist))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (rec,), problems = records.load_records(tmp_path / "results", "mtl")
    res = rec["result"]
    assert not problems and rec["params"]["model"] == "lenet5" and rec["params"]["task1_per_class"] == 5
    assert res["task1_train_size"] == 25 and res["task2_train_size"] == 200
    assert res["steps_per_epoch"] == 200 // rec["params"]["batch_size"]
    assert 0 <= res["task1_acc"] <= 1 and abs(res["task2_noise"]["overall_rate"] - 0.5) < 0.15
