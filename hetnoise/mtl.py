"""The multi-task study (paper §3.2, §4.2, §5.2): a data set's classes split into two tasks, one shared
backbone with a head per task, and a training step that takes one batch of each task; only Task2's labels
are corrupted, and Task1's accuracy is set against a single-task baseline. This module holds what is the
study's own: tasks, model, training step, the protocol rules of a run and the result it records,
parameters, profiles and grids, what the paper reports, the claims checked on the records and the blocks
of its book page."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from hetnoise import claims, data, metrics, models, noise, plots, stats, tables, train
from hetnoise.claims import (FAILS, HOLDS, MARGIN, MIN_RUNS, NOT_APPLICABLE, TOO_FEW, UNDECIDED, Verdict, at_least,
                             equivalence)
from hetnoise.models import LeNet5Features, MultiHead, ResNet18Features
from hetnoise.spec import (DATA_PARAMS, RECIPE_PARAMS, RESNET_PAPER, RUN_PARAMS, TWELVE_P, Grid, P, Param, Profile,
                           Recipe, Study)

TRUNKS = ("resnet18", "lenet5")


@dataclass
class Task:
    """One task: its original class ids and its images, with labels renumbered 0..K-1."""
    classes: list[int]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def split_tasks(num_classes: int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of the classes into two halves: (Task1 classes, Task2 classes)."""
    if num_classes < 4:
        raise ValueError(f"num_classes={num_classes}: need at least 4 classes to make two tasks")
    perm = np.random.default_rng(seed).permutation(num_classes)
    half = num_classes // 2
    return sorted(perm[:half].tolist()), sorted(perm[half:].tolist())


def task_data(ds: data.Dataset, classes: list[int], split_seed: int, val_fraction: float = 0.1) -> Task:
    """A task's images with labels renumbered 0..K-1, its stratified 9:1 train/val split and its test part."""
    lut = torch.full((ds.num_classes,), -1, dtype=torch.int64)
    lut[torch.tensor(classes)] = torch.arange(len(classes))
    train_mask, test_mask = lut[ds.y_train] >= 0, lut[ds.y_test] >= 0
    x, y = ds.x_train[train_mask], lut[ds.y_train[train_mask]]
    tr, va = data.stratified_split(y.numpy(), val_fraction, split_seed)
    return Task(list(classes), x[tr], y[tr], x[va], y[va], ds.x_test[test_mask], lut[ds.y_test[test_mask]])


# The value of task1_per_class and task2_per_class that keeps every training image of a class. It is 0, not
# None, in parameters and records: None is every parameter's "the profile's value" (smoke and paper: ALL; real:
# 5 and 1,000), and the records and run ids of the smoke and paper profiles hold 0, so they stay valid.
ALL = 0


def subsample(task: Task, per_class: int | None, seed: int) -> Task:
    """The task with at most `per_class` training images of each class (a seeded draw; ALL (0) or None keeps
    all), so that one task can be small and gain from the other; validation and test parts stay whole."""
    if per_class is None or per_class == ALL:
        return task
    if per_class < 0:
        raise ValueError(f"per_class={per_class}: give a number of training images per class, or {ALL} for all")
    y = task.y_train.numpy()
    fewest = int(np.bincount(y, minlength=task.num_classes).min())
    if per_class > fewest:
        raise ValueError(f"per_class={per_class}: a class of the task has only {fewest} training images; "
                         f"choose at most {fewest}, or {ALL} for all")
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class]
                                   for c in range(task.num_classes)]))
    idx = torch.from_numpy(keep)
    return Task(task.classes, task.x_train[idx], task.y_train[idx], task.x_val, task.y_val, task.x_test, task.y_test)


# What Task2 is. "other-classes": the other half of the classes, in the same domain (the paper's design, where
# Task2's images help Task1 whatever their labels); "same-classes": Task1's classes on other images, so what
# Task2's labels teach is what Task1 needs; "same-classes-rotated": those images turned by 90°, another domain.
TASK2 = ("other-classes", "same-classes", "same-classes-rotated")


def halves(task: Task, seed: int) -> tuple[Task, Task]:
    """The task's training images cut at random into two disjoint halves (a seeded draw); validation and
    test parts stay whole in both."""
    perm = np.random.default_rng([seed, 2]).permutation(len(task.x_train))
    parts = [torch.from_numpy(np.sort(part)) for part in (perm[:len(perm) // 2], perm[len(perm) // 2:])]
    return tuple(replace(task, x_train=task.x_train[idx], y_train=task.y_train[idx]) for idx in parts)


def rotated(task: Task) -> Task:
    """The task with every image turned by 90° (training, validation and test): the same classes in
    another domain."""
    def turn(x: torch.Tensor) -> torch.Tensor:
        return torch.rot90(x, 1, dims=(-2, -1)).contiguous()

    return replace(task, x_train=turn(task.x_train), x_val=turn(task.x_val), x_test=turn(task.x_test))


def make_tasks(ds: data.Dataset, split_seed: int, task1_per_class: int | None, task2_per_class: int | None,
               design: str = "other-classes") -> tuple[Task, Task]:
    """Task1 and Task2 of a seeded split, each cut to its training images per class (ALL (0) or None: all),
    so that a small Task1 can gain from a large Task2. `design` (one of TASK2) says whether Task2 holds the
    other half of the classes or Task1's classes on the other half of the training images (turned by 90°
    for "same-classes-rotated")."""
    if design not in TASK2:
        raise ValueError(f"task2_design={design!r} is unknown; choose one of {list(TASK2)}")
    if design == "other-classes":
        task1_classes, task2_classes = split_tasks(ds.num_classes, split_seed)
        first, second = task_data(ds, task1_classes, split_seed), task_data(ds, task2_classes, split_seed)
    else:
        first, second = halves(task_data(ds, list(range(ds.num_classes)), split_seed), split_seed)
        second = rotated(second) if design == "same-classes-rotated" else second
    return subsample(first, task1_per_class, split_seed), subsample(second, task2_per_class, split_seed)


def corrupt_task2(task: Task, p: float, seed: int) -> tuple[Task, noise.ClassNoiseReport]:
    """The task with each training label replaced, with probability p, by another class of the same task
    (the paper corrupts Task2 within Task2), and the report of what changed."""
    noisy, report = noise.corrupt_classes(task.y_train.numpy(), p, clean=[], num_classes=task.num_classes,
                                          strategy="exclude", seed=seed)
    return replace(task, y_train=torch.from_numpy(noisy)), report


def trained_tasks(mode: str, task1: Task, task2: Task) -> list[Task]:
    """The tasks a run trains on: both for multi-task learning, Task1 alone for the single-task baseline."""
    return [task1, task2] if mode == "mtl" else [task1]


def steps_per_epoch(task1: Task, task2: Task, batch_size: int) -> int:
    """Steps in an epoch: one pass over the larger task in both modes, so that the single-task baseline
    gives Task1 as many updates as multi-task learning does."""
    return max(1, max(len(task1.x_train), len(task2.x_train)) // batch_size)


def labels_digest(labels: torch.Tensor) -> str:
    """sha256 of a label vector, so a record shows which labels a task was trained on."""
    import hashlib

    return hashlib.sha256(labels.to(torch.int64).numpy().tobytes()).hexdigest()


def build_model(head_sizes: list[int], width: float, activation: str, in_channels: int,
                seed: int | None = None, trunk: str = "resnet18") -> MultiHead:
    """The shared backbone (ResNet18 or LeNet-5, width × the standard channels) with one linear head per
    task; with `seed`, initial weights that depend on the seed alone."""
    if trunk not in TRUNKS:
        raise ValueError(f"model={trunk!r} is unknown for the multi-task study; choose one of {list(TRUNKS)}")
    make = ResNet18Features if trunk == "resnet18" else LeNet5Features
    with models.seeded(seed):
        return MultiHead(make(width, activation, in_channels), head_sizes)


def fit_mtl(model: MultiHead, tasks: list[Task], r: Recipe, *, mean, std, device="", seed: int = 0,
            steps_per_epoch: int | None = None, log=print, on_step=None, label: str = "") -> train.History:
    """Train on every task at once: each step takes one batch of each task in turn (a smaller task is
    cycled), sums the heads' cross-entropies and back-propagates once; an epoch is `steps_per_epoch` steps
    (default: one pass over the largest task). Keeps the epoch with the lowest Task1 validation loss. With
    a single task this is the single-task (STL) baseline."""
    dev = train.pick_device(device)
    torch.manual_seed(seed)
    train.prepare(model, dev, seed)
    xs = [t.x_train.to(dev) for t in tasks]
    ys = [t.y_train.to(dev) for t in tasks]
    mean_t, std_t = train.channel_stats(mean, std, dev)
    steps = steps_per_epoch or max(1, max(len(x) for x in xs) // r.batch_size)
    opt, sched = train.make_optimizer(model, r, r.epochs * steps)
    gen = torch.Generator(device=dev).manual_seed(seed)

    def train_epoch():
        model.train()
        need = steps * r.batch_size  # a task smaller than that is passed over again, in a new order each time
        orders = [torch.cat([torch.randperm(len(x), device=dev, generator=gen) for _ in range(-(-need // len(x)))])
                  for x in xs]
        totals = torch.zeros(2, len(tasks), device=dev)
        for step in range(steps):
            losses, accs = [], []
            for t, (x, y, order) in enumerate(zip(xs, ys, orders)):
                idx = order[step * r.batch_size:(step + 1) * r.batch_size]
                if on_step is not None:
                    on_step(t, idx)
                with train.autocast(dev):
                    logits = model(train.batch(x[idx], r.augment, gen, mean_t, std_t, dev), t)
                losses.append(F.cross_entropy(logits.float(), y[idx]))
                accs.append(train.batch_accuracy(logits.detach().float(), y[idx]))
            loss = torch.stack(losses).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            totals += torch.stack([torch.stack(losses).detach(), torch.stack(accs)])
        means = (totals / steps).tolist()
        return [{**{f"task{t + 1}_train_loss": v for t, v in enumerate(means[0])},
                 **{f"task{t + 1}_train_acc": v for t, v in enumerate(means[1])}}]

    def validate():
        row = {}
        for t, task in enumerate(tasks):
            logits = train.predict(model, task.x_val, mean, std, task=t)
            row[f"task{t + 1}_val_loss"] = F.cross_entropy(logits, task.y_val).item()
            row[f"task{t + 1}_val_acc"] = (logits.argmax(1) == task.y_val).float().mean().item()
        return [row]

    keep, restore, _ = train.best_weights(model)
    (hist,) = train.fit_epochs(r.epochs, train_epoch, validate, keep, select="task1_val_loss", log=log, label=label)
    restore()
    return hist


def evaluate_tasks(model: MultiHead, tasks: list[Task], mean, std) -> tuple[list[float], list[np.ndarray]]:
    """Test accuracy of each task, overall and per class, from the task's own head on its true labels."""
    accuracy, per_class = [], []
    for t, task in enumerate(tasks):
        pred = train.predict(model, task.x_test, mean, std, task=t).argmax(1).numpy()
        per_class.append(metrics.per_class_accuracy(task.y_test.numpy(), pred, task.num_classes))
        accuracy.append(float((pred == task.y_test.numpy()).mean()))
    return accuracy, per_class


def result(mode: str, task1: Task, task2: Task, task2_noise: noise.ClassNoiseReport, history: train.History,
           scores: tuple[list[float], list[np.ndarray]], *, steps_per_epoch: int, n_params: int,
           seconds_per_step: float, device: str, data_source: str, wall_time_s: float) -> dict:
    """The result a run records: test accuracies (Task2's only when trained), the class split, Task2's noise
    and digests of the labels trained on, so that a record says which data a run saw."""
    accuracy, per_class = scores
    trained_task2 = len(accuracy) > 1
    return dict(task1_acc=accuracy[0], task2_acc=accuracy[1] if trained_task2 else None,
                task1_per_class_acc=per_class[0].tolist(),
                task2_per_class_acc=per_class[1].tolist() if trained_task2 else None,
                task1_classes=task1.classes, task2_classes=task2.classes,
                task2_noise=task2_noise.to_dict() if mode == "mtl" else None,
                task1_labels_sha256=labels_digest(task1.y_train), task2_labels_sha256=labels_digest(task2.y_train),
                task1_train_size=len(task1.x_train), task2_train_size=len(task2.x_train),
                steps_per_epoch=steps_per_epoch, history=history.to_dict(), best_epoch=history.best_epoch,
                n_params=n_params, seconds_per_step=seconds_per_step, device=device, data_source=data_source,
                wall_time_s=wall_time_s)


def task_colour(t: int) -> str:
    """Task1 in the clean colour, Task2 (the noisy one) in the corrupted colour."""
    return plots.CLEAN if t == 0 else plots.CORRUPT


def curves_figure(history: train.History, n_tasks: int):
    """A run's loss (training and validation) and validation accuracy per epoch for each task, the kept
    epoch marked; with its alt text."""
    curves = pd.DataFrame(history.epochs)
    fig, axes = plt.subplots(1, 2, figsize=(5.8, 3))
    for t in range(n_tasks):
        axes[0].plot(curves.epoch, curves[f"task{t + 1}_train_loss"], color=task_colour(t), ls="--", marker="o",
                     ms=3, label=f"Task{t + 1} train")
        axes[0].plot(curves.epoch, curves[f"task{t + 1}_val_loss"], color=task_colour(t), marker="o", ms=3,
                     label=f"Task{t + 1} validation")
        axes[1].plot(curves.epoch, curves[f"task{t + 1}_val_acc"], color=task_colour(t), marker="o", ms=3,
                     label=f"Task{t + 1}")
    axes[0].set(xlabel="epoch", ylabel="cross-entropy")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy")
    for ax in axes:
        ax.axvline(history.best_epoch, color="grey", ls=":")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=n_tasks * 2, frameon=False)
    alt = (f"Training and validation loss and validation accuracy (true labels) of "
           f"{' and '.join(f'Task{t + 1}' for t in range(n_tasks))} per epoch; "
           f"lowest Task1 validation loss at epoch {history.best_epoch}.")
    return fig, alt


def per_class_figure(scores: tuple[list[float], list[np.ndarray]], mode: str, p: float):
    """Each task's test accuracy per class, sorted, with the overall accuracy in the legend; with its alt text."""
    accuracy, per_class = scores
    fig, ax = plt.subplots(figsize=(5.8, 3))
    for t, task_accuracy in enumerate(per_class):
        ax.plot(np.sort(task_accuracy), marker="o", ms=3, color=task_colour(t), label=f"Task{t + 1}: {accuracy[t]:.3f}")
    ax.set(xlabel="class (sorted by accuracy)", ylabel="test accuracy", ylim=(0, 1.02),
           title=f"{mode.upper()}, p = {p}")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(loc="lower right")
    alt = (f"Test accuracy of each class, sorted, {mode.upper()} at p = {p}: "
           + ", ".join(f"Task{t + 1} {value:.3f} overall" for t, value in enumerate(accuracy)) + ".")
    return fig, alt


def seconds_per_step(model: MultiHead, tasks: list[Task], r: Recipe, *, mean, std, device="",
                     steps: int = 3) -> float:
    """Measured time of one training step (forward and backward on a batch of each task) on a copy of
    the model, so a notebook can say how long a run will take before it starts."""
    dev = train.pick_device(device)
    probe = copy.deepcopy(model).to(dev).train()
    mean_t, std_t = train.channel_stats(mean, std, dev)
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        total = 0
        for k, task in enumerate(tasks):
            idx = torch.arange(min(r.batch_size, len(task.x_train)))
            with train.autocast(dev):
                out = probe(train.normalise(task.x_train[idx].to(dev), mean_t, std_t), k)
            total = total + F.cross_entropy(out.float(), task.y_train[idx].to(dev))
        total.backward()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return float(np.median(times[1:]))


# §5.2: percent test accuracy on Task1 / Task2 of CIFAR-100.
PAPER = {"stl_task1": 75.63, "mtl_task1_p0": 79.50, "benefit_p0": 3.87, "task2_p0": 80.9, "benefit_p1": 0.0}
PAPER_SETUP = {
    "data": "CIFAR-100 split at random into two 50-class tasks (500 training, 100 test images per class); 9:1 "
            "train/validation split",
    "network": "ResNet18 of twice the standard width, Mish activations, a shared trunk and one linear head per task",
    "training": "a batch of each task in turn, the two cross-entropies summed; checkpoint of the lowest Task1 "
                "validation loss; optimiser, schedule, epochs and weight decay not stated (§6: a small regularisation "
                "penalty lets the shared model overfit the noisy task)",
    "grid": "12 values of p in [0, 1] on Task2's labels (within Task2); single-task baseline on Task1",
    "runs": "3 per p (three class splits)",
}

# The LeNet-5 recipe of the MNIST profiles (ours, not the paper's: chosen by the `real` profile's pilot).
LENET_MNIST = Recipe(epochs=8, batch_size=64, optimizer="sgd", lr=0.02, weight_decay=5e-4, schedule="cosine")
LABEL_TRANSFER = {"width": 1.0, "task1_per_class": 5, "task2_per_class": 500, "task2_design": "same-classes"}
# The paper gives the network (2×-wide ResNet18 with Mish, two heads) but no optimiser, schedule or epochs:
# ours are the multi-class ResNet18 recipe with 100 epochs.
PROFILES = {
    "paper": Profile("cifar100", {"resnet18": replace(RESNET_PAPER, epochs=100)},
                     {"width": 2.0, "task1_per_class": ALL, "task2_per_class": ALL,
                      "task2_design": "other-classes"}),
    "smoke": Profile("digits", {"resnet18": Recipe(epochs=4, batch_size=64, optimizer="adam", lr=2e-3,
                                                   weight_decay=5e-4)},
                     {"width": 0.25, "task1_per_class": ALL, "task2_per_class": ALL,
                      "task2_design": "other-classes"}),
    # Real images on a CPU (not in the paper): MNIST's digits split 5/5, a LeNet-5 trunk with Mish, Task1 with 5
    # training images per class and Task2 with 1,000, so that Task2 has something to give (chosen by a pilot).
    "real": Profile("mnist", {"lenet5": LENET_MNIST},
                    {"width": 1.0, "task1_per_class": 5, "task2_per_class": 1000,
                     "task2_design": "other-classes"}),
    # Transfer through Task2's labels (not in the paper): both tasks are MNIST's ten digits on disjoint images,
    # Task1 with 5 per class, Task2 with 500, upright (the pilot's choice: turned by 90° they gave Task1 nothing).
    "label-transfer": Profile("mnist", {"lenet5": LENET_MNIST}, LABEL_TRANSFER),
    "label-transfer-pilot": Profile("mnist", {"lenet5": LENET_MNIST}, LABEL_TRANSFER),
}
PILOTS = ("label-transfer-pilot",)  # profiles whose runs chose a design: shown as pilots, never checked as claims

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=data.names("classification")),
    "mode": Param(str, "mtl", choices=("mtl", "stl")),
    "model": Param(str, None, choices=TRUNKS),
    "p": P,
    "width": Param(float, None, low=1e-3),
    # Training images kept per class of each task: ALL (0) keeps every one; None takes the profile's value.
    "task1_per_class": Param(int, None, low=ALL),
    "task2_per_class": Param(int, None, low=ALL),
    # What Task2 is (TASK2); runs made before this parameter existed had the other half of the classes.
    "task2_design": Param(str, None, choices=TASK2, unnamed=("other-classes",)),
    **RUN_PARAMS, **RECIPE_PARAMS, **DATA_PARAMS,
}

# One run per split and p, as in §4.2; STL baseline per split; both weight decays (§6).
GRIDS = {
    "smoke": [{"mode": ["mtl"], "p": [0.0, 0.5, 1.0], "split_seed": [0], "seed": [0, 1]},
              {"mode": ["stl"], "p": [0.0], "split_seed": [0], "seed": [0, 1]}],
    "paper": [{"mode": ["mtl"], "p": TWELVE_P, "split_seed": [0, 1, 2], "seed": [0], "weight_decay": [5e-4, 5e-5]},
              {"mode": ["stl"], "p": [0.0], "split_seed": [0, 1, 2], "seed": [0], "weight_decay": [5e-4, 5e-5]}],
    # Real images on a CPU: three class splits × two seeds per p at the main weight decay, one seed per split for
    # the §6 ablation; the STL baseline with both seeds at both weight decays.
    "real": [{"mode": ["mtl"], "p": TWELVE_P, "split_seed": [0, 1, 2], "seed": [0, 1], "weight_decay": [5e-4]},
             {"mode": ["mtl"], "p": TWELVE_P, "split_seed": [0, 1, 2], "seed": [0], "weight_decay": [5e-5]},
             {"mode": ["stl"], "p": [0.0], "split_seed": [0, 1, 2], "seed": [0, 1], "weight_decay": [5e-4, 5e-5]}],
    # Transfer through Task2's labels: five (split, seed) pairs, the paper's 12 p and (K − 1)/K = 0.9 where ten-class
    # labels say nothing of the image, both weight decays (§6), each pair's STL baseline.
    "label-transfer": [block for i in range(5) for block in (
        {"mode": ["mtl"], "p": sorted(TWELVE_P + [0.9]), "split_seed": [i], "seed": [i], "weight_decay": [5e-4, 5e-5]},
        {"mode": ["stl"], "p": [0.0], "split_seed": [i], "seed": [i], "weight_decay": [5e-4, 5e-5]})],
    # The pilot that chose Task2's design: clean and uninformative Task2 labels, three pairs, each design.
    "label-transfer-pilot": [block for i in range(3) for block in (
        {"mode": ["mtl"], "p": [0.0, 0.9], "split_seed": [i], "seed": [i], "task2_design": list(TASK2[1:])},
        {"mode": ["stl"], "p": [0.0], "split_seed": [i], "seed": [i], "task2_design": list(TASK2[1:])})],
}

PUBLISHED = (Grid("real", "MNIST in two 5-class tasks, the paper's multi-task protocol on real images (CPU)"),
             Grid("label-transfer", "MNIST, Task2 on Task1's own digits: transfer through Task2's labels (CPU)"),
             Grid("label-transfer-pilot", "MNIST, the pilot that chose the label-transfer design (not evidence)"))

RESULT_FIELDS = {"task1_acc": (float, 0, 1), "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}

PAIR_KEYS = ("split_seed", "seed")  # an MTL run and the STL run of the same class split and seed share Task1's data


def transfer_benefit(frame):
    """MTL − STL Task1 accuracy at each p, with its 95 % t interval over class split × seed pairs (fractions):
    one row per p of the multi-task runs of `frame` against its single-task runs, paired by split and seed."""
    stl = frame[frame["mode"] == "stl"]
    rows = []
    for p, g in frame[frame["mode"] == "mtl"].groupby("p"):
        est, lo, hi, paired, _ = stats.unit_diff(g, stl, "task1_acc", PAIR_KEYS)
        rows.append({"p": p, "benefit": est, "low": lo, "high": hi, "mtl runs": len(g), "stl runs": len(stl),
                     "paired": paired})
    return pd.DataFrame(rows, columns=["p", "benefit", "low", "high", "mtl runs", "stl runs", "paired"])


WHY_FEW = f"needs {MIN_RUNS} runs per cell"
NO_PREMISE = "no transfer benefit at p = 0 shown, so there is none to shrink"


@dataclass
class Slice:
    """One slice of the records the claims are checked on (a profile, data set and weight decay): its
    multi-task runs by p and its single-task runs, Task1 accuracy in points."""
    profile: str
    scope: str
    multi: pd.DataFrame
    single: pd.DataFrame

    def at(self, p: float) -> pd.DataFrame:
        """The multi-task runs at p (none when p is not in the grid)."""
        return self.multi[self.multi.p == p]

    def too_few(self) -> bool:
        """Whether p = 0, p = 1 or the baseline has fewer than MIN_RUNS runs."""
        return min(len(self.at(0.0)), len(self.at(1.0)), len(self.single)) < MIN_RUNS

    def verdict(self, claim: str, paper_text: str, ours: str, verdict: str, why: str, test: str,
                runs: int) -> Verdict:
        """A verdict on this slice."""
        return Verdict("multi-task", claim, self.scope, self.profile, paper_text, ours, verdict, why, test, runs)


def task1_difference(runs: pd.DataFrame, baseline: pd.DataFrame) -> tuple[float, float, float, bool]:
    """Task1 accuracy of `runs` minus `baseline` with its 95 % t interval over class split × seed pairs (the
    difference within each pair when every run has a partner, else of each pair's means)."""
    return stats.unit_diff(runs, baseline, "task1_acc", PAIR_KEYS)[:4]


def pairing(paired: bool) -> str:
    """How a difference was taken, for the text of a test."""
    return " (paired by class split and seed)" if paired else ""


def gated(verdict: str, too_few: bool, premise: str) -> str:
    """A claim about the benefit: too few runs, not applicable without a benefit at p = 0, else its verdict."""
    return TOO_FEW if too_few else NOT_APPLICABLE if premise != HOLDS else verdict


def premise_claim(cells: Slice) -> tuple[Verdict, str]:
    """Multi-task learning helps Task1 at p = 0, the premise of the other claims: its verdict, and the test's
    outcome whatever the number of runs (the claims about the benefit are gated on it)."""
    est, lo, hi, paired = task1_difference(cells.at(0.0), cells.single)
    premise = at_least(lo, hi, 0.0)
    why = {HOLDS: "", FAILS: "MTL is below STL at p = 0", UNDECIDED: "the interval includes 0"}
    return cells.verdict("multi-task learning helps Task1 at p = 0 (the premise)",
                         f"+{PAPER['benefit_p0']} points (§5.2)",
                         claims.interval(est, lo, hi), TOO_FEW if cells.too_few() else premise,
                         WHY_FEW if cells.too_few() else why[premise],
                         f"MTL − STL on Task1 at p = 0{pairing(paired)}, 95 % t interval over pairs, above 0",
                         len(cells.at(0.0)) + len(cells.single)), premise


def shrinks_claim(cells: Slice, premise: str) -> Verdict:
    """The benefit falls as Task2 gets noisier: Task1 accuracy at p = 0 above that at p = 1."""
    est, lo, hi, paired = task1_difference(cells.at(0.0), cells.at(1.0))
    verdict = gated(at_least(lo, hi, 0.0), cells.too_few(), premise)
    why = {TOO_FEW: WHY_FEW, NOT_APPLICABLE: NO_PREMISE, HOLDS: "",
           FAILS: "Task1 accuracy is higher at p = 1 than at p = 0", UNDECIDED: "the interval includes 0"}
    return cells.verdict("the transfer benefit shrinks as Task2 gets noisier",
                         f"+{PAPER['benefit_p0']} points at p = 0 → {PAPER['benefit_p1']:g} at p = 1 (§5.2)",
                         f"benefit at p = 0 minus at p = 1: {claims.interval(est, lo, hi)}", verdict, why[verdict],
                         f"Task1 accuracy of MTL at p = 0 minus at p = 1{pairing(paired)}, 95 % t interval over "
                         "pairs, above 0",
                         len(cells.at(0.0)) + len(cells.at(1.0)))


def gone_claim(cells: Slice, premise: str) -> Verdict:
    """At p = 1 the benefit is gone: MTL − STL inside ±MARGIN."""
    est, lo, hi, paired = task1_difference(cells.at(1.0), cells.single)
    verdict = gated(equivalence(lo, hi, MARGIN), cells.too_few(), premise)
    why = {TOO_FEW: WHY_FEW, NOT_APPLICABLE: NO_PREMISE, HOLDS: "",
           FAILS: f"MTL − STL at p = 1 lies beyond ±{MARGIN:g} points",
           UNDECIDED: f"the interval straddles ±{MARGIN:g} points"}
    return cells.verdict("at p = 1 the transfer benefit is gone (≈ 0)", f"{PAPER['benefit_p1']:g} points (§5.2)",
                         claims.interval(est, lo, hi), verdict, why[verdict],
                         f"MTL − STL on Task1 at p = 1{pairing(paired)}, 95 % t interval over pairs, inside "
                         f"±{MARGIN:g} points",
                         len(cells.at(1.0)) + len(cells.single))


def blind_p(dataset: str, task2: str = "other-classes") -> tuple[int, float]:
    """Task2's number of classes K and the p at which its labels say nothing of the image, (K − 1)/K: each
    of its K classes is then equally likely whatever the image."""
    classes = data.num_classes(dataset)
    task2_classes = len(split_tasks(classes, 0)[1]) if task2 == "other-classes" else classes
    return task2_classes, (task2_classes - 1) / task2_classes


def nearest_p(grid: list[float], target: float) -> float:
    """The value of the grid closest to `target` (the first of two as close)."""
    return grid[int(np.argmin([abs(value - target) for value in grid]))]


def lowest(benefit: pd.DataFrame):
    """The row of the smallest benefit (the first of equals), None without rows."""
    worst = None
    for row in benefit.itertuples():
        if worst is None or row.benefit < worst.benefit:
            worst = row
    return worst


def blind_cell(cells: Slice, dataset: str, task2: str) -> tuple[int, float | None]:
    """Task2's K and the p of the grid nearest (K − 1)/K, where its labels say nothing of the image; None
    when that is 0 or 1 (no such cell apart from the ends)."""
    task2_classes, blind = blind_p(dataset, task2)
    grid = sorted(cells.multi.p.unique())
    chosen = nearest_p(grid, blind) if grid else 1.0
    return task2_classes, None if chosen in (0.0, 1.0) else chosen


def blind_claim(cells: Slice, premise: str, dataset: str, task2: str) -> Verdict | None:
    """The benefit is gone where Task2's labels carry no information (p nearest (K − 1)/K in the grid); None
    when that nearest p is 1, already checked."""
    task2_classes, chosen = blind_cell(cells, dataset, task2)
    if chosen is None:
        return None
    runs = cells.at(chosen)
    est, lo, hi, paired = task1_difference(runs, cells.single)
    verdict = gated(equivalence(lo, hi, MARGIN), min(len(runs), len(cells.single)) < MIN_RUNS, premise)
    why = {TOO_FEW: WHY_FEW, NOT_APPLICABLE: NO_PREMISE, HOLDS: "",
           FAILS: f"MTL − STL at p = {chosen:g} lies beyond ±{MARGIN:g} points",
           UNDECIDED: f"the interval straddles ±{MARGIN:g} points"}
    return cells.verdict(f"the transfer benefit is gone where Task2's labels say nothing of the image "
                         f"(p = {task2_classes - 1}/{task2_classes}; p = {chosen:g} in the grid)",
                         "gone at full corruption, where its 50-class labels carry almost none (§5.2)",
                         claims.interval(est, lo, hi), verdict, why[verdict],
                         f"MTL − STL on Task1 at p = {chosen:g}{pairing(paired)}, 95 % t interval over pairs, inside "
                         f"±{MARGIN:g} points", len(runs) + len(cells.single))


SHARE = 2 * MARGIN  # the label-driven share a design must show before its grid tests the hypothesis


def label_share(cells: Slice, dataset: str, task2: str) -> tuple[float, float, float, bool, float | None]:
    """The label-driven share of the benefit: Task1 accuracy of MTL with clean Task2 labels minus with labels
    that say nothing of the image (the STL baseline cancels), paired by split and seed; with that p."""
    _, chosen = blind_cell(cells, dataset, task2)
    if chosen is None:
        return np.nan, np.nan, np.nan, False, None
    return (*task1_difference(cells.at(0.0), cells.at(chosen)), chosen)


def share_claim(cells: Slice, dataset: str, task2: str) -> Verdict | None:
    """Task2's labels carry the benefit: the label-driven share lies above twice the margin (the premise of
    a test of the hypothesis); None when the grid has no uninformative p."""
    est, lo, hi, paired, chosen = label_share(cells, dataset, task2)
    if chosen is None:
        return None
    runs = pd.concat([cells.at(0.0), cells.at(chosen)])
    few = min(len(cells.at(0.0)), len(cells.at(chosen))) < MIN_RUNS
    verdict = TOO_FEW if few else at_least(lo, hi, SHARE)
    why = {TOO_FEW: WHY_FEW, HOLDS: "", FAILS: "the benefit does not come from Task2's labels",
           UNDECIDED: f"the interval straddles {SHARE:g} points"}
    return cells.verdict(f"Task2's labels carry the transfer (the benefit at p = 0 minus at p = {chosen:g}, the "
                         "label-driven share; the premise of this design)",
                         "assumed: noise in Task2's labels can only erode a benefit they bring (§3.2)",
                         claims.interval(est, lo, hi), verdict, why[verdict],
                         f"MTL Task1 at p = 0 minus at p = {chosen:g}{pairing(paired)}, 95 % t interval over pairs, "
                         f"above {SHARE:g} points (twice the margin)", len(runs))


def never_below_claim(cells: Slice, part: pd.DataFrame) -> Verdict:
    """MTL Task1 is nowhere more than MARGIN below STL: every p's benefit interval above −MARGIN."""
    benefit = transfer_benefit(part)
    per_p = [at_least(row.low, row.high, -MARGIN) for row in benefit.itertuples()]
    worst = lowest(benefit)
    too_few = benefit.empty or claims.few(cells.multi, PAIR_KEYS) or len(cells.single) < MIN_RUNS
    verdict = (TOO_FEW if too_few else FAILS if FAILS in per_p
               else HOLDS if all(each == HOLDS for each in per_p) else UNDECIDED)
    why = {TOO_FEW: WHY_FEW, HOLDS: "", FAILS: f"at some p MTL is more than {MARGIN:g} points below STL",
           UNDECIDED: f"at some p the interval straddles −{MARGIN:g} points"}
    ours = (f"lowest at p = {worst.p:g}: {claims.interval(worst.benefit, worst.low, worst.high)}"
            if worst is not None else "–")
    return cells.verdict("MTL Task1 does not fall far below single-task learning at any p",
                         f"STL {PAPER['stl_task1']} %; MTL not far below it (Fig. 5, §5.2)", ours, verdict,
                         why[verdict],
                         f"MTL − STL on Task1 at every p{pairing(benefit.paired.all() if len(benefit) else False)}, "
                         f"95 % t interval over pairs, above −{MARGIN:g} points", len(cells.multi) + len(cells.single))


def slice_claims(part: pd.DataFrame, profile: str, scope: str, dataset: str, task2: str) -> list[Verdict]:
    """The claims on one slice of the records, in the order the page lists them."""
    cells = Slice(profile, scope, part[part["mode"] == "mtl"], part[part["mode"] == "stl"])
    first, premise = premise_claim(cells)
    found = [first, share_claim(cells, dataset, task2), shrinks_claim(cells, premise), gone_claim(cells, premise),
             blind_claim(cells, premise, dataset, task2), never_below_claim(cells, part)]
    return [verdict for verdict in found if verdict is not None]


def weight_decay_claim(part: pd.DataFrame, profile: str, scope: str) -> Verdict | None:
    """§6: with the smaller regularisation penalty the noisy task drags Task1 below its single-task line at
    full corruption (MTL − STL at p = 1 below 0 at the smallest weight decay); None with one weight decay."""
    decays = sorted(part.weight_decay.unique())
    if len(decays) < 2:
        return None
    at = {wd: part[part.weight_decay == wd] for wd in decays}
    cells = {wd: Slice(profile, scope, g[g["mode"] == "mtl"], g[g["mode"] == "stl"]) for wd, g in at.items()}
    small, large = cells[decays[0]], cells[decays[-1]]
    est, lo, hi, paired = task1_difference(small.at(1.0), small.single)
    other = task1_difference(large.at(1.0), large.single)
    verdict = TOO_FEW if small.too_few() else at_least(-hi, -lo, 0.0)
    why = {TOO_FEW: WHY_FEW, HOLDS: "", FAILS: f"at weight decay {decays[0]:g} MTL stays above STL at p = 1",
           UNDECIDED: "the interval includes 0"}
    return small.verdict(f"§6: with the smaller weight decay ({decays[0]:g}) MTL Task1 falls below STL at p = 1",
                         "a small regularisation penalty let the noisy task drag the clean task below its single-task "
                         "baseline; a larger one did not (§6, values not given)",
                         f"{claims.interval(est, lo, hi)} at {decays[0]:g}; {claims.interval(*other[:3])} at "
                         f"{decays[-1]:g}", verdict, why[verdict],
                         f"MTL − STL on Task1 at p = 1 and weight decay {decays[0]:g}{pairing(paired)}, 95 % t "
                         "interval over pairs, below 0", len(small.at(1.0)) + len(small.single))


DESIGN_WORDS = {"other-classes": "", "same-classes": "Task2: the same digits on other images",
                "same-classes-rotated": "Task2: the same digits on other images, turned by 90°"}


def with_design(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its `task2_design` column ("other-classes" for runs made before that parameter existed) and
    Task1 accuracy in points."""
    design = frame["task2_design"] if "task2_design" in frame else pd.Series(None, index=frame.index, dtype=object)
    return frame.assign(task2_design=design.fillna("other-classes"), task1_acc=100 * frame.task1_acc.astype(float))


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """Transfer benefit (MTL − STL on Task1) at p = 0, the share of it Task2's labels carry, its fall with
    Task2 noise, ≈ 0 at p = 1 and where the labels say nothing, MTL never far below STL, per profile, data
    set, Task2 design and weight decay; then §6's weight-decay contrast. The claims about the benefit need
    a benefit at p = 0 to be applicable; pilot profiles are not checked."""
    if frame.empty or "mode" not in frame:
        return []
    frame = with_design(frame[~frame.profile.isin(PILOTS)])
    out = []
    for (profile, dataset, task2), design in frame.groupby(["profile", "dataset", "task2_design"], dropna=False):
        words = [w for w in [DESIGN_WORDS.get(task2, task2)] if w]
        for wd, part in design.groupby("weight_decay"):
            out += slice_claims(part, profile, claims.scope(dataset, *words, f"weight decay {wd:g}"), dataset, task2)
        contrast = weight_decay_claim(design, profile, claims.scope(dataset, *words))
        out += [contrast] if contrast is not None else []
    return out


# The colours of the paper's Fig. 5: single-task green, Task1 in the multi-task network red, Task2 blue.
FIG5 = {"stl": plots.CLEAN, "task1": "#c0392b", "task2": "#2c7bb6"}


def figure(part: pd.DataFrame, benefit: pd.DataFrame, title: str, paper_benefit: tuple[float, float]):
    """Fig. 5 redrawn for the page width: top, Task1 and Task2 accuracy (%) of the multi-task network against p
    beside the single-task baseline (mean ± 1 std; the baseline dashed and drawn beneath, so an equal MTL line
    stays visible); bottom, the transfer benefit with its 95 % interval and the paper's."""
    mtl_runs = part[part["mode"] == "mtl"]
    mtl_runs = mtl_runs.assign(task1_acc=100 * mtl_runs.task1_acc, task2_acc=100 * mtl_runs.task2_acc)
    summary = plots.summarise(mtl_runs, ["p"], ["task1_acc", "task2_acc"]).sort_values("p")
    stl = 100 * part[part["mode"] == "stl"].task1_acc
    fig, axes = plt.subplots(2, 1, figsize=(6.0, 5.6), sharex=True)
    ax = axes[0]
    plots.band(ax, summary.p, summary.task1_acc_mean, summary.task1_acc_std, FIG5["task1"], "Task1 (MTL)")
    plots.band(ax, summary.p, summary.task2_acc_mean, summary.task2_acc_std, FIG5["task2"], "Task2 (MTL, noisy)",
               marker="s")
    if len(stl):
        ax.axhline(stl.mean(), color=FIG5["stl"], ls="--", lw=1.2, zorder=1.5, label=f"Task1 (STL), n={len(stl)}")
        ax.axhspan(stl.mean() - np.nan_to_num(stl.std()), stl.mean() + np.nan_to_num(stl.std()),
                   color=FIG5["stl"], alpha=0.12, lw=0, zorder=0.5)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 102), title=title)
    ax.legend(loc="lower left")
    ax = axes[1]
    if not benefit.empty:
        below, above = (benefit.benefit - benefit.low).fillna(0), (benefit.high - benefit.benefit).fillna(0)
        ax.errorbar(benefit.p, 100 * benefit.benefit, yerr=[100 * below, 100 * above], marker="o", ms=4,
                    color=FIG5["task1"], capsize=3, label="ours (95 % t interval over pairs)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.plot([0, 1], list(paper_benefit), "s", color=plots.PAPER, label="paper (p = 0 and p = 1)")
    ax.set(xlabel="Task2 corruption probability p", ylabel="MTL − STL, Task1 (points)", title="transfer benefit")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


NO_RECORDS = ("No multi-task records yet. Produce them with `hetnoise sweep mtl --profile smoke` (minutes on a CPU), "
              "`--profile real` (MNIST, about an hour on two cores) or `--profile paper` (GPU), then rebuild the book.")


def accuracy_caption(part: pd.DataFrame, benefit: pd.DataFrame, weight_decay: float) -> str:
    """The line above a table of accuracies: what its numbers are, how the benefit is paired and the
    single-task baseline's Task1 accuracy."""
    single = part[part["mode"] == "stl"].task1_acc
    pairs = ("each MTL run minus the STL run of its class split and seed, then averaged" if benefit.paired.all()
             else "mean MTL minus mean STL")
    return (f"**Test accuracy (%) per p, weight decay {weight_decay:g}**: mean and 95 % t interval over runs; "
            f"benefit: {pairs}. Single-task Task1 (STL): **{tables.mean_interval(single)}** ({len(single)} runs).")


def benefit_text(row) -> str:
    """"+3.5 [+1.6, +5.3]": a benefit in points with its interval when there is one."""
    ci = f" [{100 * row.low:+.1f}, {100 * row.high:+.1f}]" if pd.notna(row.low) else ""
    return f"{100 * row.benefit:+.1f}{ci}"


def accuracy_table(part: pd.DataFrame, benefit: pd.DataFrame) -> pd.DataFrame:
    """Per p: Task1 and Task2 accuracy of the multi-task runs (mean and interval, %), the transfer benefit
    and the number of runs."""
    rows = []
    for (p, runs), row in zip(part[part["mode"] == "mtl"].groupby("p"), benefit.itertuples()):
        rows.append({"p": p, "Task1, MTL": tables.mean_interval(runs.task1_acc),
                     "Task2, MTL (noisy)": tables.mean_interval(runs.task2_acc),
                     "benefit, MTL − STL (points)": benefit_text(row), "runs": len(runs)})
    return pd.DataFrame(rows)


def run_facts(recs: list[dict]) -> dict[str, str]:
    """The rows of the "What was run" box that are the study's own: the two tasks and the shared trunk."""
    res, params = recs[0]["result"], recs[0]["params"]
    facts = {}
    design = params.get("task2_design", "other-classes")
    if "task1_train_size" in res and design != "other-classes":
        facts["data"] = (f"{params['dataset']}: both tasks on all {len(res['task1_classes'])} classes, on disjoint "
                         f"halves of the training images{', Task2 turned by 90°' if 'rotated' in design else ''}; "
                         f"Task1 {params['task1_per_class']} training images per class ({res['task1_train_size']:,}), "
                         f"Task2 {params['task2_per_class']} ({res['task2_train_size']:,}); validation 1/10 of the "
                         "images, test: the test images (Task2's turned likewise)")
    elif "task1_train_size" in res:
        facts["data"] = (f"{params['dataset']}: classes split at random into two tasks of {len(res['task1_classes'])}; "
                         f"Task1 {params['task1_per_class'] or 'all'} training images per class "
                         f"({res['task1_train_size']:,}), Task2 {params['task2_per_class'] or 'all'} "
                         f"({res['task2_train_size']:,}); validation 1/10 of each task's images, test: the test "
                         "images of each task's classes")
    facts["network"] = (f"{params.get('model', 'resnet18')} trunk × {params['width']:g} width, Mish, two heads; "
                        f"{res.get('n_params', 0):,} parameters")
    return facts


def figure_numbers(part: pd.DataFrame, benefit: pd.DataFrame) -> pd.DataFrame:
    """The numbers Fig. 5 is drawn from, per p (%): Task1 and Task2 of the multi-task runs (mean, std), the
    single-task baseline and the benefit with its interval (points)."""
    runs = part[part["mode"] == "mtl"]
    summary = plots.summarise(runs.assign(task1_acc=100 * runs.task1_acc, task2_acc=100 * runs.task2_acc), ["p"],
                              ["task1_acc", "task2_acc"]).sort_values("p")
    stl = 100 * part[part["mode"] == "stl"].task1_acc
    scaled = benefit.assign(**{c: 100 * benefit[c] for c in ("benefit", "low", "high")})
    return summary.merge(scaled[["p", "benefit", "low", "high"]], on="p", how="left").assign(
        stl_task1_mean=stl.mean(), stl_task1_std=stl.std()).round(3)


def figure_alt(numbers: pd.DataFrame, profile: str, weight_decay: float) -> str:
    """Fig. 5's alt text: what it plots and its end points, for a reader who cannot see it."""
    first, last = numbers.iloc[0], numbers.iloc[-1]
    return (f"Profile {profile}, weight decay {weight_decay:g}. Top: multi-task Task1 test accuracy from "
            f"{first.task1_acc_mean:.1f} % at p = {first.p:g} to {last.task1_acc_mean:.1f} % at p = {last.p:g}, "
            f"noisy Task2 from {first.task2_acc_mean:.1f} % to {last.task2_acc_mean:.1f} %, single-task Task1 "
            f"{first.stl_task1_mean:.1f} % (dashed). Bottom: the transfer benefit, {first.benefit:+.1f} points at "
            f"p = {first.p:g} and {last.benefit:+.1f} at p = {last.p:g}, with 95 % t intervals.")


def show_weight_decay(part: pd.DataFrame, profile: str, weight_decay: float) -> None:
    """Fig. 5 of one profile at one weight decay, and its table of accuracies and benefits."""
    data_sets = ", ".join(sorted(part.dataset.unique()))
    benefit = transfer_benefit(part)
    fig = figure(part, benefit, f"{data_sets}, weight decay {weight_decay:g}",
                 (PAPER["benefit_p0"], PAPER["benefit_p1"]))
    fig.suptitle(f"profile '{profile}' · {data_sets} · {len(part)} runs over {part.split_seed.nunique()} split(s) on "
                 f"{', '.join(sorted(part.device.unique()))} · mean ± 1 std", fontsize=9, color="#555")
    numbers = figure_numbers(part, benefit)
    plots.show(fig, figure_alt(numbers, profile, weight_decay),
               f"Fig. 5 redrawn, weight decay {weight_decay:g}: Task1 and the noisy Task2 against Task2's corruption "
               "probability, the single-task baseline dashed, and the transfer benefit with its 95 % t interval",
               runs=part, numbers=numbers)
    display(Markdown(accuracy_caption(part, benefit, weight_decay)))
    display(accuracy_table(part, benefit).style.hide(axis="index").format({"p": "{:g}"}))


def show_profile(loaded: tables.Loaded, profile: str) -> None:
    """Fig. 5 and its table for each weight decay of a profile (the larger first), then its "What was run"
    box; a line saying so when the profile has no records."""
    chosen = loaded.of(profile=profile)
    if chosen.frame.empty:
        display(Markdown(f"No records of profile `{profile}` here yet."))
        return
    for weight_decay in sorted(chosen.frame.weight_decay.unique(), reverse=True):
        show_weight_decay(chosen.frame[chosen.frame.weight_decay == weight_decay], profile, weight_decay)
    display(Markdown("**What was run**"))
    display(tables.box(chosen.records, PAPER_SETUP, profile, tables.grid_size(GRIDS, profile),
                       paper_label="paper (§4.2)", **run_facts(chosen.records)))


def pilot_table(frame: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Per Task2 design of a pilot: Task1 accuracy alone and beside Task2 with clean and with uninformative
    labels, both benefits, the label-driven share and whether it meets the rule fixed before the runs."""
    rows = []
    for (dataset, design), part in with_design(frame).groupby(["dataset", "task2_design"]):
        cells = Slice(profile, dataset, part[part["mode"] == "mtl"], part[part["mode"] == "stl"])
        est, lo, hi, _, blind = label_share(cells, dataset, design)
        if blind is None:
            continue
        benefit = {p: task1_difference(cells.at(p), cells.single)[:3] for p in (0.0, blind)}
        few = min(len(cells.at(0.0)), len(cells.at(blind)), len(cells.single)) < MIN_RUNS
        rows.append({"Task2": DESIGN_WORDS.get(design) or "the other classes", "STL Task1 (%)":
                     tables.mean_interval(cells.single.task1_acc, scale=1),
                     "MTL Task1, p = 0": tables.mean_interval(cells.at(0.0).task1_acc, scale=1),
                     f"MTL Task1, p = {blind:g}": tables.mean_interval(cells.at(blind).task1_acc, scale=1),
                     "benefit at p = 0": claims.interval(*benefit[0.0]),
                     f"benefit at p = {blind:g}": claims.interval(*benefit[blind]),
                     "label-driven share": claims.interval(est, lo, hi),
                     f"share above {SHARE:g}": TOO_FEW if few else at_least(lo, hi, SHARE),
                     "pairs": int(cells.single.drop_duplicates(list(PAIR_KEYS)).shape[0])})
    return pd.DataFrame(rows)


def pilot_section(loaded: tables.Loaded) -> None:
    """The pilot that chose the label-transfer design: its table (not evidence for the claims)."""
    chosen = loaded.of(profile=PILOTS[0])
    if chosen.frame.empty:
        display(Markdown(f"No records of the pilot (profile `{PILOTS[0]}`) here yet."))
        return
    display(Markdown(f"**Pilot, {len(chosen.records)} runs** ({', '.join(sorted(chosen.frame.device.unique()))}): "
                     "Task1 test accuracy in %, mean and 95 % t interval over (split, seed) pairs; benefits and share "
                     "in points, paired."))
    display(pilot_table(chosen.frame, PILOTS[0]).style.hide(axis="index"))


def findings(loaded: tables.Loaded, profile: str) -> None:
    """"What the runs show" for a profile, in words, with its numbers read from the records."""
    chosen = loaded.of(profile=profile)
    if chosen.frame.empty:
        return
    frame, lines = with_design(chosen.frame), []
    groups = frame.groupby(["dataset", "task2_design", "weight_decay"])
    for (dataset, design, wd), part in sorted(groups, key=lambda group: -group[0][2]):  # the larger decay first
        cells = Slice(profile, dataset, part[part["mode"] == "mtl"], part[part["mode"] == "stl"])
        if cells.at(0.0).empty or cells.single.empty:
            continue
        _, blind = blind_cell(cells, dataset, design)
        benefit = transfer_benefit(part.assign(task1_acc=part.task1_acc / 100)).set_index("p")
        text = (f"At weight decay {wd:g}, Task1 alone reaches {tables.mean_interval(cells.single.task1_acc, 1)} %; "
                f"beside Task2 with clean labels {tables.mean_interval(cells.at(0.0).task1_acc, 1)} %, a benefit of "
                f"{benefit_text(benefit.loc[0.0])} points.")
        if blind is not None:
            share = label_share(cells, dataset, design)
            text += (f" Where Task2's labels say nothing of the image (p = {blind:g}) the benefit is "
                     f"{benefit_text(benefit.loc[blind])}: Task2's labels carry {claims.interval(*share[:3])} of it.")
        if 1.0 in benefit.index:
            text += f" At p = 1 it is {benefit_text(benefit.loc[1.0])}."
        worst = lowest(benefit.reset_index())
        text += f" Its lowest value is {benefit_text(worst)} at p = {worst.p:g}."
        lines.append(text)
    display(Markdown("\n\n".join(lines)))


def label_transfer_section(loaded: tables.Loaded) -> None:
    """The page's lead: transfer through Task2's labels (profile `label-transfer`), with its findings."""
    show_profile(loaded, "label-transfer")
    findings(loaded, "label-transfer")


def real_section(loaded: tables.Loaded) -> None:
    """The image-driven control: MNIST digits in two class halves on a CPU (profile `real`)."""
    show_profile(loaded, "real")
    findings(loaded, "real")


def paper_section(loaded: tables.Loaded) -> None:
    """CIFAR-100 at the paper's scale (profile `paper`), when its records are present."""
    show_profile(loaded, "paper")


def smoke_section(loaded: tables.Loaded) -> None:
    """The pipeline check (profile `smoke`), and how to produce records when there are none at all."""
    show_profile(loaded, "smoke")
    if loaded.frame.empty:
        display(Markdown(NO_RECORDS))


SECTIONS = {"label-transfer": label_transfer_section, "pilot": pilot_section, "real": real_section,
            "paper": paper_section, "smoke": smoke_section}


STUDY = Study(name="mtl", title="Multi-task", version=2, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims,
              key_params=("dataset", "p", "mode", "weight_decay", "split_seed", "seed", "epochs"), published=PUBLISHED,
              sections=SECTIONS)
