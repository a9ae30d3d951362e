"""The multi-task study (paper §3.2, §4.2): a data set's classes split into two tasks, one shared
backbone with a head per task, and a training step that takes one batch of each task."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hetnoise import data, models, train
from hetnoise.models import LeNet5Features, MultiHead, ResNet18Features

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


def subsample(task: Task, per_class: int, seed: int) -> Task:
    """The task with at most `per_class` training images of each class (a seeded draw; 0 keeps all), so
    that one task can be small and gain from the other; validation and test parts stay whole."""
    if per_class <= 0:
        return task
    y = task.y_train.numpy()
    fewest = int(np.bincount(y, minlength=task.num_classes).min())
    if per_class > fewest:
        raise ValueError(f"per_class={per_class}: a class of the task has only {fewest} training images; "
                         f"choose at most {fewest}, or 0 for all")
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class]
                                   for c in range(task.num_classes)]))
    idx = torch.from_numpy(keep)
    return Task(task.classes, task.x_train[idx], task.y_train[idx], task.x_val, task.y_val, task.x_test, task.y_test)


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


def fit_mtl(model: MultiHead, tasks: list[Task], r: train.Recipe, *, mean, std, device="", seed: int = 0,
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

    keep, restore = train.best_weights(model)
    (hist,) = train.fit_epochs(r.epochs, train_epoch, validate, keep, select="task1_val_loss", log=log, label=label)
    restore()
    return hist


def seconds_per_step(model: MultiHead, tasks: list[Task], r: train.Recipe, *, mean, std, device="",
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
