"""The multi-task study: task split, alternating batches, the real notebook in both modes."""
import json
import pickle
import time

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from conftest import ROOT, papermill
from hetnoise import data, mtl, noise, records, settings, tables, train


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_missing_cifar100_stops_within_seconds_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("HETNOISE_DATA", str(tmp_path / "empty"))
    t = time.perf_counter()
    proc = papermill("mtl.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, p=0.9)
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


def test_per_class_all_is_zero_or_none_and_negative_is_rejected():
    task = mtl.task_data(data.load("digits"), [0, 3, 5, 7, 9], 0)
    assert mtl.ALL == 0
    assert mtl.subsample(task, None, seed=1) is task and mtl.subsample(task, mtl.ALL, seed=1) is task
    with pytest.raises(ValueError, match="or 0 for all"):
        mtl.subsample(task, -1, seed=1)
    with pytest.raises(ValueError, match="task1_per_class=-1"):
        settings.resolve("mtl", {"profile": "real", "task1_per_class": -1})


def test_per_class_values_keep_the_run_ids_of_every_profile():
    """None takes the profile's value; smoke and paper keep every image, recorded as 0 (ALL), so the run ids
    of their existing records stay as they were (pinned here at protocol 2); real keeps 5 and 1,000."""
    pinned = {"smoke": ({"mode": "mtl", "p": 0.0, "split_seed": 0, "seed": 0}, "155fe60d28388aed"),
              "paper": ({"mode": "mtl", "p": 0.0, "split_seed": 0, "seed": 0, "weight_decay": 5e-4},
                        "5ae136fd90380570")}
    for profile, (cell, rid) in pinned.items():
        for given in ({}, {"task1_per_class": None, "task2_per_class": None}, {"task1_per_class": 0}):
            run = settings.resolve("mtl", {**cell, **given, "profile": profile})
            assert (run["task1_per_class"], run["task2_per_class"]) == (mtl.ALL, mtl.ALL)
            assert settings.run_id("mtl", run, protocol=2) == rid
    real = settings.resolve("mtl", {"profile": "real", "task1_per_class": None})
    assert (real["task1_per_class"], real["task2_per_class"]) == (5, 1000)
    assert settings.resolve("mtl", {"profile": "real", "task1_per_class": 0})["task1_per_class"] == mtl.ALL


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


def test_make_tasks_splits_the_classes_and_cuts_each_task_to_its_size():
    ds = data.load("digits")
    task1, task2 = mtl.make_tasks(ds, 1, 4, 0)
    classes1, classes2 = mtl.split_tasks(10, 1)
    assert (task1.classes, task2.classes) == (classes1, classes2)
    assert np.bincount(task1.y_train.numpy(), minlength=5).tolist() == [4] * 5
    whole = mtl.task_data(ds, classes2, 1)
    assert torch.equal(task2.x_train, whole.x_train) and torch.equal(task2.y_train, whole.y_train)


@pytest.mark.parametrize("design", ["same-classes", "same-classes-rotated"])
def test_same_class_designs_share_the_classes_on_disjoint_images(design):
    ds = data.load("digits")
    task1, task2 = mtl.make_tasks(ds, 2, 3, 20, design)
    assert task1.classes == task2.classes == list(range(10))
    assert np.bincount(task1.y_train.numpy()).tolist() == [3] * 10
    assert np.bincount(task2.y_train.numpy()).tolist() == [20] * 10
    whole = mtl.task_data(ds, list(range(10)), 2)
    first, second = mtl.halves(whole, 2)
    assert len(first.x_train) + len(second.x_train) == len(whole.x_train)
    rows = {bytes(x.numpy()) for x in first.x_train}
    assert not rows & {bytes(x.numpy()) for x in second.x_train}  # no image in both halves (digits has no duplicates)
    turn = design == "same-classes-rotated"
    assert torch.equal(task2.x_test, torch.rot90(whole.x_test, 1, dims=(-2, -1)) if turn else whole.x_test)
    assert torch.equal(task1.x_test, whole.x_test) and torch.equal(task2.y_test, whole.y_test)
    with pytest.raises(ValueError, match="task2_design='shuffled' is unknown"):
        mtl.make_tasks(ds, 0, 3, 20, "shuffled")


def test_task2_design_of_the_paper_leaves_run_ids_as_they_were():
    run = settings.resolve("mtl", {"profile": "real", "p": 0.5})
    assert run["task2_design"] == "other-classes" and "task2_design" not in settings.identity("mtl", run)
    rotated = settings.resolve("mtl", {"profile": "label-transfer", "p": 0.5})
    assert settings.identity("mtl", rotated)["task2_design"] == "same-classes"
    assert run["run_id"] == "f825e997251f8a25"  # the id this cell had before task2_design existed


def test_corrupt_task2_changes_training_labels_only_within_the_task():
    ds = data.load("digits")
    _, task2 = mtl.make_tasks(ds, 0, 0, 0)
    clean = task2.y_train.clone()
    noisy, report = mtl.corrupt_task2(task2, 1.0, seed=0)
    assert torch.equal(task2.y_train, clean)  # the task given is left as it was
    assert bool((noisy.y_train != clean).all()) and set(noisy.y_train.tolist()) <= set(range(5))
    assert report.changed.all() and len(report.changed) == len(clean)
    assert noisy.x_train is task2.x_train and noisy.y_val is task2.y_val and noisy.y_test is task2.y_test
    assert torch.equal(mtl.corrupt_task2(task2, 0.0, seed=0)[0].y_train, clean)


def fake_task(n_train: int, classes=(0, 1, 2, 3, 4)) -> mtl.Task:
    """A task of blank 8×8 images, labels cycling through its classes."""
    def part(n):
        return torch.zeros(n, 1, 8, 8, dtype=torch.uint8), torch.arange(n) % len(classes)
    return mtl.Task(list(classes), *part(n_train), *part(10), *part(20))


def test_an_epoch_is_one_pass_over_the_larger_task_in_both_modes():
    small, large = fake_task(25), fake_task(5000)
    assert mtl.steps_per_epoch(small, large, 64) == 5000 // 64 == mtl.steps_per_epoch(large, small, 64)
    assert mtl.steps_per_epoch(fake_task(10), fake_task(20), 64) == 1
    assert mtl.trained_tasks("mtl", small, large) == [small, large]
    assert mtl.trained_tasks("stl", small, large) == [small]


RESULT_KEYS = ["task1_acc", "task2_acc", "task1_per_class_acc", "task2_per_class_acc", "task1_classes", "task2_classes",
               "task2_noise", "task1_labels_sha256", "task2_labels_sha256", "task1_train_size", "task2_train_size",
               "steps_per_epoch", "history", "best_epoch", "n_params", "seconds_per_step", "device", "data_source",
               "wall_time_s"]


@pytest.mark.parametrize("mode", ["mtl", "stl"])
def test_result_records_both_tasks_and_task2_only_when_trained(mode):
    ds = data.load("digits")
    task1, task2 = mtl.make_tasks(ds, 0, 3, 0)
    task2, report = mtl.corrupt_task2(task2, 0.5, seed=0)
    tasks = mtl.trained_tasks(mode, task1, task2)
    net = mtl.build_model([t.num_classes for t in tasks], 0.125, "mish", 1, seed=0)
    scores = mtl.evaluate_tasks(net, tasks, ds.mean, ds.std)
    assert len(scores[0]) == len(scores[1]) == len(tasks)
    assert all(0 <= a <= 1 for a in scores[0]) and len(scores[1][0]) == 5
    history = train.History(epochs=[{"epoch": 1}], best_epoch=1)
    res = mtl.result(mode, task1, task2, report, history, scores, steps_per_epoch=7, n_params=100,
                     seconds_per_step=0.1, device="cpu", data_source="bundled", wall_time_s=2.0)
    assert list(res) == RESULT_KEYS
    assert res["task1_acc"] == scores[0][0] and res["task1_classes"] == task1.classes
    assert res["task1_train_size"] == 15 and res["steps_per_epoch"] == 7 and res["best_epoch"] == 1
    assert res["task2_labels_sha256"] == mtl.labels_digest(task2.y_train)
    if mode == "mtl":
        assert res["task2_acc"] == scores[0][1]
        assert res["task2_noise"]["overall_rate"] == report.to_dict()["overall_rate"]
    else:
        assert res["task2_acc"] is None and res["task2_per_class_acc"] is None and res["task2_noise"] is None
    json.dumps(res)


def test_run_figures_draw_each_task_and_say_so_in_their_alt_text():
    epochs = [{"epoch": e, **{f"task{t}_{k}": 1.0 / e for t in (1, 2) for k in ("train_loss", "val_loss", "val_acc")}}
              for e in (1, 2, 3)]
    fig, alt = mtl.curves_figure(train.History(epochs=epochs, best_epoch=2), 2)
    assert len(fig.axes[0].lines) == 5 and "Task1 and Task2" in alt and "epoch 2" in alt
    fig, alt = mtl.per_class_figure(([0.9], [np.array([1.0, 0.8, 0.9])]), "stl", 0.5)
    assert len(fig.axes[0].lines) == 1 and fig.axes[0].get_title() == "STL, p = 0.5"
    assert alt == "Test accuracy of each class, sorted, STL at p = 0.5: Task1 0.900 overall."


def fake_record(profile: str, mode: str, p: float, split_seed: int, seed: int, weight_decay: float,
                task1_acc: float, task2_acc: float | None, design: str | None = None) -> dict:
    """A record with the fields the page reads (no task2_design: as made before that parameter existed)."""
    params = {**({"task2_design": design} if design else {}),
              "dataset": "mnist", "mode": mode, "model": "lenet5", "p": p, "width": 1.0, "task1_per_class": 5,
              "task2_per_class": 1000, "seed": seed, "split_seed": split_seed, "epochs": 8, "batch_size": 64,
              "optimizer": "sgd", "lr": 0.02, "weight_decay": weight_decay, "schedule": "cosine", "augment": False}
    result = {"task1_acc": task1_acc, "task2_acc": task2_acc, "task1_classes": [0, 2, 4, 6, 8],
              "task1_train_size": 25, "task2_train_size": 5000, "n_params": 61706, "device": "cpu",
              "wall_time_s": 20.0, "best_epoch": 8}
    return {"study": "mtl", "run_id": f"{profile}-{mode}-{p}-{split_seed}-{seed}-{weight_decay}", "profile": profile,
            "params": params, "result": result, "provenance": {"git_revision": "abc", "device_name": "cpu"}}


def fake_loaded(profile: str = "real", weight_decays=(5e-4,), benefit_at_1: float = 0.0, benefit_at_0: float = 0.05,
                design: str | None = None):
    """Three splits, one seed: STL Task1 80 %, MTL 80 % + benefit_at_0 at p = 0 falling linearly to 80 % +
    benefit_at_1 at p = 1 (Task2's design `design` when given)."""
    recs = []
    grid = (0.0, 0.5, 0.818, 1.0) if design is None else (0.0, 0.5, 0.9, 1.0)
    for weight_decay in weight_decays:
        for split in range(3):
            wobble = 0.01 * split
            recs.append(fake_record(profile, "stl", 0.0, split, 0, weight_decay, 0.80 + wobble, None, design))
            for p in grid:
                acc = 0.80 + benefit_at_0 - (benefit_at_0 - benefit_at_1) * p + wobble + 0.001 * split * p
                recs.append(fake_record(profile, "mtl", p, split, 0, weight_decay, acc, 0.98 - 0.9 * p, design))
    return tables.Loaded(recs, tables.frame(recs), [])


@pytest.fixture
def shown(monkeypatch):
    """What a section displays, in order: Markdown text, tables (as DataFrames) and figures."""
    out = []

    def display(obj, **kw):
        out.append(getattr(obj, "data", obj))

    def show():
        out.extend(mtl.plt.figure(n) for n in mtl.plt.get_fignums())
        mtl.plt.close("all")

    def show_figure(fig, alt, what, runs, numbers, note=""):
        out.extend([fig, {"alt": alt, "what": what, "runs": len(runs), "numbers": numbers}])
        return len(out)

    mtl.plt.close("all")
    monkeypatch.setattr(mtl, "display", display)
    monkeypatch.setattr(mtl.plt, "show", show)
    monkeypatch.setattr(mtl.plots, "show", show_figure)
    return out


def test_real_section_draws_a_figure_and_table_per_weight_decay_then_the_box(shown):
    mtl.real_section(fake_loaded(weight_decays=(5e-5, 5e-4)))
    figures = [item for item in shown if isinstance(item, Figure)]
    assert [f.axes[0].get_title() for f in figures] == ["mnist, weight decay 0.0005", "mnist, weight decay 5e-05"]
    assert "profile 'real' · mnist · 15 runs over 3 split(s) on cpu" in figures[0]._suptitle.get_text()
    shows = [item for item in shown if isinstance(item, dict)]
    assert shows[0]["runs"] == 15 and shows[0]["alt"] != shows[1]["alt"]
    assert shows[0]["alt"].startswith("Profile real, weight decay 0.0005. Top: multi-task Task1 test accuracy from "
                                      "86.0 % at p = 0 to 81.1 % at p = 1")
    numbers = shows[0]["numbers"]
    assert list(numbers.p) == [0.0, 0.5, 0.818, 1.0] and numbers.benefit.iloc[0] == pytest.approx(5.0)
    assert numbers.stl_task1_mean.iloc[0] == pytest.approx(81.0)
    assert numbers.task2_acc_mean.iloc[0] == pytest.approx(98.0)
    captions = [item for item in shown if isinstance(item, str) and item.startswith("**Test accuracy")]
    assert len(captions) == 2 and "weight decay 0.0005" in captions[0]
    assert "each MTL run minus the STL run of its class split and seed" in captions[0]
    assert "Single-task Task1 (STL): **81.0 [78.5, 83.5]** (3 runs)" in captions[0]
    table = shown[shown.index(captions[0]) + 1]
    assert list(table.p) == [0.0, 0.5, 0.818, 1.0] and list(table.runs) == [3] * 4
    assert table["benefit, MTL − STL (points)"].iloc[0] == "+5.0 [+5.0, +5.0]"
    assert table["Task1, MTL"].iloc[0] == "86.0 [83.5, 88.5]"
    at = next(k for k, item in enumerate(shown) if isinstance(item, str) and item == "**What was run**")
    box = shown[at + 1].set_index("")
    assert shown[at + 2].startswith("At weight decay 0.0005, Task1 alone reaches 81.0 [")
    assert box.loc["runs", "these runs"] == "30 of the grid's 120"
    assert "Task1 5 training images per class (25), Task2 1000 (5,000)" in box.loc["data", "these runs"]
    assert box.loc["network", "these runs"] == "lenet5 trunk × 1 width, Mish, two heads; 61,706 parameters"
    assert box.loc["network", "paper (§4.2)"] == mtl.PAPER_SETUP["network"]


def test_sections_without_records_say_so(shown):
    mtl.paper_section(fake_loaded("real"))
    assert shown == ["No records of profile `paper` here yet."]
    shown.clear()
    empty = fake_loaded()
    mtl.smoke_section(type(empty)([], empty.frame.iloc[:0], []))
    assert shown == ["No records of profile `smoke` here yet.", mtl.NO_RECORDS]


def test_smoke_box_has_no_paper_column(shown):
    mtl.smoke_section(fake_loaded("smoke"))
    assert list(shown[-1].columns) == ["", "these runs"]
    assert not any(isinstance(item, str) and item == mtl.NO_RECORDS for item in shown)


def test_every_section_is_registered():
    assert mtl.STUDY.sections == {"label-transfer": mtl.label_transfer_section, "pilot": mtl.pilot_section,
                                  "real": mtl.real_section, "paper": mtl.paper_section, "smoke": mtl.smoke_section}


def verdicts_of(loaded) -> dict[str, tuple[str, str]]:
    """Each claim's verdict and reason on a set of records."""
    return {v.claim.split(" (")[0]: (v.verdict, v.why) for v in mtl.check_claims(loaded.frame)}


def test_claims_hold_when_the_benefit_falls_to_zero():
    found = verdicts_of(fake_loaded(benefit_at_1=0.0))
    share = found.pop("Task2's labels carry the transfer")
    assert len(found) == 5 and {v for v, _ in found.values()} == {"holds"}
    assert share[0] == "inconclusive"  # 4.1 points at p = 0.818, 0.2 apart between splits: straddles 3.88


def test_the_label_driven_share_must_exceed_twice_the_margin():
    big = verdicts_of(fake_loaded(benefit_at_0=0.15, design="same-classes-rotated"))
    assert big["Task2's labels carry the transfer"] == ("holds", "")
    none = verdicts_of(fake_loaded(benefit_at_0=0.05, benefit_at_1=0.05, design="same-classes-rotated"))
    assert none["Task2's labels carry the transfer"] == ("does not hold",
                                                         "the benefit does not come from Task2's labels")
    claim = next(v for v in mtl.check_claims(fake_loaded(benefit_at_0=0.15, design="same-classes").frame)
                 if v.claim.startswith("Task2's labels"))
    assert "p = 0.9" in claim.claim
    assert claim.scope == "mnist, Task2: the same digits on other images, weight decay 0.0005"


def test_weight_decay_contrast_of_section_6():
    def loaded(benefit_small):
        small = fake_loaded(weight_decays=(5e-5,), benefit_at_1=benefit_small, design="same-classes-rotated")
        large = fake_loaded(weight_decays=(5e-4,), benefit_at_1=0.02, design="same-classes-rotated")
        return tables.Loaded(small.records + large.records, tables.frame(small.records + large.records), [])

    found = verdicts_of(loaded(-0.05))
    assert found["§6: with the smaller weight decay"] == ("holds", "")
    assert found["§6: with the smaller weight decay"] and "at 0.0005" in next(
        v.ours for v in mtl.check_claims(loaded(-0.05).frame) if v.claim.startswith("§6"))
    assert verdicts_of(loaded(0.05))["§6: with the smaller weight decay"][0] == "does not hold"
    assert "§6: with the smaller weight decay" not in verdicts_of(fake_loaded(design="same-classes-rotated"))


def test_pilot_runs_are_never_checked_as_claims_and_show_their_table(shown):
    pilot = fake_loaded(profile="label-transfer-pilot", benefit_at_0=0.15, design="same-classes-rotated")
    assert mtl.check_claims(pilot.frame) == []
    mtl.pilot_section(pilot)
    table = shown[-1]
    row = table.iloc[0]
    assert row["Task2"] == "Task2: the same digits on other images, turned by 90°" and row["pairs"] == 3
    assert row["share above 3.88"] == "holds" and row["STL Task1 (%)"].startswith("81.0 [")
    shown.clear()
    mtl.label_transfer_section(fake_loaded(profile="label-transfer", benefit_at_0=0.15, design="same-classes"))
    text = [item for item in shown if isinstance(item, str)][-1]
    assert text.startswith("At weight decay 0.0005, Task1 alone reaches 81.0 [") and "p = 0.9" in text


def test_claims_fail_when_the_benefit_stays_and_need_the_premise():
    found = verdicts_of(fake_loaded(benefit_at_1=0.08))
    assert found["at p = 1 the transfer benefit is gone"] == (
        "does not hold", "MTL − STL at p = 1 lies beyond ±1.94 points")
    assert found["the transfer benefit shrinks as Task2 gets noisier"] == (
        "does not hold", "Task1 accuracy is higher at p = 1 than at p = 0")
    loaded = fake_loaded()
    frame = loaded.frame
    frame.loc[(frame["mode"] == "mtl") & (frame.p == 0.0), "task1_acc"] -= 0.10
    found = verdicts_of(loaded)
    assert found["multi-task learning helps Task1 at p = 0"] == ("does not hold", "MTL is below STL at p = 0")
    assert found["at p = 1 the transfer benefit is gone"][0] == "not applicable"


def test_claims_need_three_runs_per_cell():
    loaded = fake_loaded()
    found = verdicts_of(type(loaded)([], loaded.frame[loaded.frame.split_seed < 2], []))
    assert {v for v, _ in found.values()} == {"too few runs"}


def test_blind_p_and_nearest_grid_value():
    assert mtl.blind_p("digits") == (5, 0.8) and mtl.blind_p("cifar100") == (50, 0.98)
    assert mtl.blind_p("mnist", "same-classes-rotated") == (10, 0.9)
    assert mtl.nearest_p(mtl.TWELVE_P, 0.8) == 0.818 and mtl.nearest_p([0.0, 0.5, 1.0], 0.25) == 0.0
