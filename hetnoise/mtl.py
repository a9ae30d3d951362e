"""The multi-task study (paper §3.2, §4.2, §5.2): a data set's classes split into two tasks, one shared
backbone with a head per task, and a training step that takes one batch of each task; only Task2's labels
are corrupted, and Task1's accuracy is set against a single-task baseline. This module holds what is the
study's own: tasks, model, training step, parameters, profiles and grids, what the paper reports, the
claims checked on the records and the figure of its page."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from hetnoise import claims, data, models, plots, stats, train
from hetnoise.claims import FAILS, HOLDS, MARGIN, MIN_RUNS, NOT_APPLICABLE, TOO_FEW, UNDECIDED, Verdict, at_least, equivalence
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

    keep, restore = train.best_weights(model)
    (hist,) = train.fit_epochs(r.epochs, train_epoch, validate, keep, select="task1_val_loss", log=log, label=label)
    restore()
    return hist


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
                "validation loss; optimiser, schedule and epochs not stated; weight decay 5e-4 and 5e-5 (§6)",
    "grid": "12 values of p in [0, 1] on Task2's labels (within Task2); single-task baseline on Task1",
    "runs": "3 per p (three class splits)",
}

# The paper gives the network (2×-wide ResNet18 with Mish, two heads) but no optimiser, schedule or epochs:
# ours are the multi-class ResNet18 recipe with 100 epochs.
PROFILES = {
    "paper": Profile("cifar100", {"resnet18": replace(RESNET_PAPER, epochs=100)},
                     {"width": 2.0, "task1_per_class": 0, "task2_per_class": 0}),
    "smoke": Profile("digits", {"resnet18": Recipe(epochs=4, batch_size=64, optimizer="adam", lr=2e-3,
                                                   weight_decay=5e-4)},
                     {"width": 0.25, "task1_per_class": 0, "task2_per_class": 0}),
    # Real images on a CPU (not in the paper): MNIST's digits split 5/5, a LeNet-5 trunk with Mish, Task1 with 5
    # training images per class and Task2 with 1,000, so that Task2 has something to give (chosen by a pilot).
    "real": Profile("mnist", {"lenet5": Recipe(epochs=8, batch_size=64, optimizer="sgd", lr=0.02,
                                               weight_decay=5e-4, schedule="cosine")},
                    {"width": 1.0, "task1_per_class": 5, "task2_per_class": 1000}),
}

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=data.names("classification")),
    "mode": Param(str, "mtl", choices=("mtl", "stl")),
    "model": Param(str, None, choices=TRUNKS),
    "p": P,
    "width": Param(float, None, low=1e-3),
    "task1_per_class": Param(int, None, low=0),
    "task2_per_class": Param(int, None, low=0),
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
}

PUBLISHED = (Grid("real", "MNIST in two 5-class tasks, the paper's multi-task protocol on real images (CPU)"),)

RESULT_FIELDS = {"task1_acc": (float, 0, 1), "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}

PAIR_KEYS = ("split_seed", "seed")  # an MTL run and the STL run of the same class split and seed share Task1's data


def transfer_benefit(frame):
    """MTL − STL Task1 accuracy at each p, with its bootstrap 95 % interval (fractions): one row per p of the
    multi-task runs of `frame` against its single-task runs, paired by class split and seed where possible."""
    stl = frame[frame["mode"] == "stl"]
    rows = []
    for p, g in frame[frame["mode"] == "mtl"].groupby("p"):
        est, lo, hi, paired = stats.matched_diff(g, stl, "task1_acc", PAIR_KEYS)
        rows.append({"p": p, "benefit": est, "low": lo, "high": hi, "mtl runs": len(g), "stl runs": len(stl),
                     "paired": paired})
    return pd.DataFrame(rows, columns=["p", "benefit", "low", "high", "mtl runs", "stl runs", "paired"])


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """Transfer benefit (MTL − STL on Task1) at p = 0, its fall with Task2 noise, ≈ 0 at p = 1, and MTL never
    far below STL; the two claims about the benefit need a benefit at p = 0 to be applicable."""
    out = []
    if frame.empty or "mode" not in frame:
        return out
    keys = ["profile", "dataset"] + (["weight_decay"] if "weight_decay" in frame else [])
    for key, part in frame.groupby(keys, dropna=False):
        profile, dataset = key[0], key[1]
        scope = claims.scope(dataset, *([f"weight decay {key[2]:g}"] if len(key) > 2 else []))
        part = part.assign(task1_acc=100 * part.task1_acc.astype(float))
        m, stl = part[part["mode"] == "mtl"], part[part["mode"] == "stl"]
        t1 = {q: g for q, g in m.groupby("p")}
        p0, p1 = t1.get(0.0, m.iloc[:0]), t1.get(1.0, m.iloc[:0])
        few = min(len(p0), len(p1), len(stl)) < MIN_RUNS
        diff = lambda a, b: stats.matched_diff(a, b, "task1_acc", PAIR_KEYS)
        pairing = lambda paired: " (paired by class split and seed)" if paired else ""
        row = lambda claim, paper_text, ours, verdict, why, test, n: Verdict(
            "multi-task", claim, scope, profile, paper_text, ours, verdict, why, test, n)
        est0, lo0, hi0, paired = diff(p0, stl)
        premise = at_least(lo0, hi0, 0.0)
        out.append(row("multi-task learning helps Task1 at p = 0 (the premise)", f"+{PAPER['benefit_p0']} points (§5.2)",
                       claims.interval(est0, lo0, hi0), TOO_FEW if few else premise,
                       f"needs {MIN_RUNS} runs per cell" if few else
                       {HOLDS: "", FAILS: "MTL is below STL at p = 0", UNDECIDED: "the interval includes 0"}[premise],
                       f"MTL − STL on Task1 at p = 0{pairing(paired)}, 95 % bootstrap CI, above 0",
                       len(p0) + len(stl)))
        not_applicable = "no transfer benefit at p = 0 shown, so there is none to shrink"
        est, lo, hi, paired = diff(p0, p1)
        verdict = TOO_FEW if few else NOT_APPLICABLE if premise != HOLDS else at_least(lo, hi, 0.0)
        out.append(row("the transfer benefit shrinks as Task2 gets noisier",
                       f"+{PAPER['benefit_p0']} points at p = 0 → {PAPER['benefit_p1']:g} at p = 1 (§5.2)",
                       f"benefit at p = 0 minus at p = 1: {claims.interval(est, lo, hi)}", verdict,
                       {TOO_FEW: f"needs {MIN_RUNS} runs per cell", NOT_APPLICABLE: not_applicable, HOLDS: "",
                        FAILS: "Task1 accuracy is higher at p = 1 than at p = 0",
                        UNDECIDED: "the interval includes 0"}[verdict],
                       f"Task1 accuracy of MTL at p = 0 minus at p = 1{pairing(paired)}, 95 % bootstrap CI, above 0",
                       len(p0) + len(p1)))
        est, lo, hi, paired = diff(p1, stl)
        verdict = TOO_FEW if few else NOT_APPLICABLE if premise != HOLDS else equivalence(lo, hi, MARGIN)
        out.append(row("at p = 1 the transfer benefit is gone (≈ 0)", f"{PAPER['benefit_p1']:g} points (§5.2)",
                       claims.interval(est, lo, hi), verdict,
                       {TOO_FEW: f"needs {MIN_RUNS} runs per cell", NOT_APPLICABLE: not_applicable, HOLDS: "",
                        FAILS: f"MTL − STL at p = 1 lies beyond ±{MARGIN:g} points",
                        UNDECIDED: f"the interval straddles ±{MARGIN:g} points"}[verdict],
                       f"MTL − STL on Task1 at p = 1{pairing(paired)}, 95 % bootstrap CI, inside ±{MARGIN:g} points",
                       len(p1) + len(stl)))
        k2 = len(split_tasks(data.num_classes(dataset), 0)[1])  # Task2's classes
        blind = (k2 - 1) / k2  # labels independent of the image: each of the k2 classes equally likely
        q = min(t1, key=lambda v: abs(v - blind)) if t1 else 1.0
        if q != 1.0:
            pq = t1[q]
            est, lo, hi, paired = diff(pq, stl)
            few_q = min(len(pq), len(stl)) < MIN_RUNS
            verdict = TOO_FEW if few_q else NOT_APPLICABLE if premise != HOLDS else equivalence(lo, hi, MARGIN)
            out.append(row(f"the transfer benefit is gone where Task2's labels say nothing of the image "
                           f"(p = {k2 - 1}/{k2}; p = {q:g} in the grid)",
                           f"gone at full corruption, where its 50-class labels carry almost none (§5.2)",
                           claims.interval(est, lo, hi), verdict,
                           {TOO_FEW: f"needs {MIN_RUNS} runs per cell", NOT_APPLICABLE: not_applicable, HOLDS: "",
                            FAILS: f"MTL − STL at p = {q:g} lies beyond ±{MARGIN:g} points",
                            UNDECIDED: f"the interval straddles ±{MARGIN:g} points"}[verdict],
                           f"MTL − STL on Task1 at p = {q:g}{pairing(paired)}, 95 % bootstrap CI, inside "
                           f"±{MARGIN:g} points",
                           len(pq) + len(stl)))
        benefit = transfer_benefit(part)
        per_p = [(r.p, r.benefit, r.low, r.high) for r in benefit.itertuples()]
        verdicts = [at_least(lo, hi, -MARGIN) for _, _, lo, hi in per_p]
        worst = min(per_p, key=lambda t: t[1]) if per_p else None
        too_few = not per_p or claims.few(m) or len(stl) < MIN_RUNS
        verdict = (TOO_FEW if too_few else FAILS if FAILS in verdicts
                   else HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED)
        out.append(row("MTL Task1 does not fall far below single-task learning at any p",
                       f"STL {PAPER['stl_task1']} %; MTL not far below it (Fig. 5, §5.2)",
                       f"lowest at p = {worst[0]:g}: {claims.interval(*worst[1:])}" if worst else "–", verdict,
                       {TOO_FEW: f"needs {MIN_RUNS} runs per cell", HOLDS: "",
                        FAILS: f"at some p MTL is more than {MARGIN:g} points below STL",
                        UNDECIDED: f"at some p the interval straddles −{MARGIN:g} points"}[verdict],
                       f"MTL − STL on Task1 at every p{pairing(benefit.paired.all() if len(benefit) else False)}, "
                       f"95 % bootstrap CI, above −{MARGIN:g} points",
                       len(m) + len(stl)))
    return out



def figure(part: pd.DataFrame, benefit: pd.DataFrame, title: str, paper_benefit: tuple[float, float]):
    """Fig. 5 redrawn for the page width: top, Task1 and Task2 accuracy (%) of the multi-task network against p
    beside the single-task baseline (mean ± 1 std; the baseline dashed and drawn beneath, so an equal MTL line
    stays visible); bottom, the transfer benefit with its 95 % interval and the paper's."""
    mtl_runs = part[part["mode"] == "mtl"]
    mtl_runs = mtl_runs.assign(task1_acc=100 * mtl_runs.task1_acc, task2_acc=100 * mtl_runs.task2_acc)
    s = plots.summarise(mtl_runs, ["p"], ["task1_acc", "task2_acc"]).sort_values("p")
    stl = 100 * part[part["mode"] == "stl"].task1_acc
    fig, axes = plt.subplots(2, 1, figsize=(6.0, 5.6), sharex=True)
    ax = axes[0]
    plots.band(ax, s.p, s.task1_acc_mean, s.task1_acc_std, plots.CLEAN, "Task1 (MTL)")
    plots.band(ax, s.p, s.task2_acc_mean, s.task2_acc_std, plots.CORRUPT, "Task2 (MTL, noisy)", marker="s")
    if len(stl):
        ax.axhline(stl.mean(), color=plots.OVERALL, ls="--", lw=1.2, zorder=1.5, label=f"Task1 (STL), n={len(stl)}")
        ax.axhspan(stl.mean() - np.nan_to_num(stl.std()), stl.mean() + np.nan_to_num(stl.std()),
                   color=plots.OVERALL, alpha=0.12, lw=0, zorder=0.5)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 102), title=title)
    ax.legend(loc="lower left")
    ax = axes[1]
    if not benefit.empty:
        b = benefit
        ax.errorbar(b.p, 100 * b.benefit, yerr=[100 * (b.benefit - b.low).fillna(0), 100 * (b.high - b.benefit).fillna(0)],
                    marker="o", ms=4, color=plots.CLEAN, capsize=3, label="ours (95 % bootstrap CI)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.plot([0, 1], list(paper_benefit), "s", color=plots.PAPER, label="paper (p = 0 and p = 1)")
    ax.set(xlabel="Task2 corruption probability p", ylabel="MTL − STL, Task1 (points)", title="transfer benefit")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


STUDY = Study(name="mtl", title="Multi-task", version=2, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims,
              key_params=("dataset", "p", "mode", "weight_decay", "split_seed", "seed", "epochs"), published=PUBLISHED)
