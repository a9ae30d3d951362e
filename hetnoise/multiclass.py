"""The multi-class study (paper §3.1, §4.1, §5.1): nine of ten classes get label noise with probability
p, the tenth (the clean class) keeps its labels; a corrupted label is drawn from the other corrupted
classes (`exclude`, the paper's strategy 2) or from every other class (`include`, strategy 1). This
module holds what is the study's own: its parameters, profiles and grids, what the paper reports, the
steps of a run (split, corrupt, build, fit, evaluate, result) that its notebook calls, the claims checked
on the records, and the figures and tables of its page (`sections`)."""
from __future__ import annotations

import copy
from dataclasses import replace

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from hetnoise import claims, data, ensemble, metrics, models, noise, plots, stats, tables, train
from hetnoise.claims import FAILS, HOLDS, MARGIN, MIN_RUNS, TOO_FEW, UNDECIDED, Verdict, at_least
from hetnoise.spec import (DATA_PARAMS, LENET_PAPER, P, PAPER_P, RECIPE_PARAMS, RESNET_PAPER, RUN_PARAMS, Grid,
                           Param, Profile, Recipe, Study)

# §5.1: corrupted-class accuracy "didn't drop off until 80 % corruption" on MNIST and "started to drop off
# after 60 % label corruption" on CIFAR-10; the clean class stays flat in both.
KNEE = {"mnist": 0.8, "cifar10": 0.6}
# Our offline and CPU stand-ins for the paper's data sets (same network, same protocol).
STAND_IN = {"digits": "mnist", "fashion-mnist": "mnist", "mnist": "mnist", "cifar10": "cifar10"}
STAND_IN_NOTE = {"digits": "digits, MNIST stand-in", "fashion-mnist": "Fashion-MNIST, MNIST protocol"}
NOT_IN_PAPER = ("fashion-mnist",)  # data sets the paper never ran this study on: their verdicts are extensions

PAPER_SETUP = {
    "data": "MNIST (60,000 training, 10,000 test images); CIFAR-10 (50,000 / 10,000)",
    "network": "LeNet-5 with dropout (MNIST); ResNet18 (CIFAR-10)",
    "training": "14 epochs at batch 128 (LeNet-5), 200 epochs at batch 256 (ResNet18); 9:1 train/validation "
                "split, only the training part corrupted; optimiser not stated",
    "grid": "p ∈ {0, 0.5, 0.6, 0.8, 0.9, 0.95, 0.98, 1}; each of the 10 classes clean in turn; both replacement "
            "strategies",
    "runs": "160 per data set (8 p × 10 clean classes × 2 strategies), one seed",
}

PROFILES = {
    "paper": Profile("mnist", {"lenet5": LENET_PAPER, "resnet18": RESNET_PAPER}),
    # The paper's MNIST protocol on a harder data set of the same shape (not in the paper).
    "fashion": Profile("fashion-mnist", {"lenet5": LENET_PAPER}),
    "smoke": Profile("digits", {
        "lenet5": Recipe(epochs=10, batch_size=128, optimizer="adam", lr=2e-3),
        "resnet18": Recipe(epochs=2, batch_size=128, optimizer="sgd", lr=0.05, weight_decay=5e-4, schedule="cosine")}),
}

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=data.names("classification")),
    "model": Param(str, None, choices=("lenet5", "resnet18")),
    "p": P,
    "clean_class": Param(int, 0, low=0, optional=True),
    "strategy": Param(str, "exclude", choices=("exclude", "include"), optional=True),
    **RUN_PARAMS, **RECIPE_PARAMS, **DATA_PARAMS,
    "batched": Param(bool, False, identity=False),
    "save_checkpoints": Param(bool, True, identity=False),
    "pack": Param(list, [], identity=False),
}

STUDY_VERSION = 2  # enters every run id; 2: the headline is the last epoch, p = 0 runs name no clean class
SEEDS = [0, 1, 2]  # each seed: initial weights, batch order, dropout and the noise draw


def grid(datasets: list[str], clean_classes: list[int], seeds: list[int], p=PAPER_P) -> list[dict]:
    """A multi-class grid: one p = 0 run per data set and seed (it serves every clean class and strategy),
    then every p above 0 × clean class × strategy × seed."""
    return [{"dataset": datasets, "p": [0.0], "seed": seeds},
            {"dataset": datasets, "p": [q for q in p if q > 0], "clean_class": clean_classes,
             "strategy": ["include", "exclude"], "seed": seeds}]


GRIDS = {
    "smoke": grid(["digits"], [0, 7], [0], [0.0, 0.6, 0.9, 1.0]),
    "fashion": grid(["fashion-mnist"], list(range(10)), SEEDS),
    "paper": grid(["mnist", "cifar10"], list(range(10)), SEEDS),
}

# Protocol 1 (one seed, the checkpoint of the lowest clean-validation loss) stays published until the
# protocol-2 grid that replaces it is complete (MNIST's is; its protocol-1 records left with it).
PUBLISHED = (Grid("paper", "MNIST, protocol 2: three seeds", {"dataset": ["mnist"]}),
             Grid("fashion", "Fashion-MNIST, protocol 2, the first seed as it finishes: seed 0 at p = 0 to 0.8",
                  {"seed": [0], "p": [0.0, 0.5, 0.6, 0.8]}),
             Grid("fashion", "Fashion-MNIST, the paper's MNIST protocol (protocol 1: one seed, checkpoint chosen on "
                             "clean validation labels)", version=1))

RESULT_FIELDS = {"clean_acc": (float, 0, 1), "corrupted_acc": (float, 0, 1), "test_acc": (float, 0, 1),
                 "per_class_acc": (list, None, None), "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}


def rows(records: list[dict]) -> list[dict]:
    """The records as the page and claims read them: a p = 0 run (no clean class named) stands for every
    clean class under both strategies, each with that class's figures as its clean ones."""
    out = []
    for record in records:
        if record["params"].get("clean_class") is not None:
            out.append(record)
            continue
        for clean_class in range(len(record["result"]["per_class_acc"])):
            for strategy in ("include", "exclude"):
                result = {**record["result"], **cell_figures(record["result"], clean_class)}
                if "oracle" in result:
                    result["oracle"] = {**result["oracle"], **cell_figures(result["oracle"], clean_class)}
                out.append({**record, "params": {**record["params"], "clean_class": clean_class, "strategy": strategy},
                            "result": result})
    return out


def cell_figures(result: dict, clean_class: int) -> dict:
    """A result's clean and corrupted figures when `clean_class` is the clean one (from its per-class lists)."""
    accuracy = np.asarray(result["per_class_acc"], dtype=float)
    precision = np.asarray([np.nan if v is None else v for v in result.get("per_class_precision", [])], dtype=float)
    clean_acc, corrupted_acc = class_scores(accuracy, clean_class)
    figures = {"clean_acc": clean_acc, "corrupted_acc": corrupted_acc}
    if len(precision):
        p_clean = precision[clean_class]
        figures["clean_precision"] = float(p_clean)
        figures["clean_f1"] = float(2 * p_clean * clean_acc / (p_clean + clean_acc)) if p_clean + clean_acc else 0.0
    return figures


def oracle_rows(records: list[dict]) -> list[dict]:
    """The records with their oracle reading (checkpoint of lowest clean-validation loss) as the headline."""
    return [{**r, "result": {**r["result"], **r["result"]["oracle"]}} for r in records if "oracle" in r["result"]]


def knee_for(dataset: str) -> float | None:
    """The p up to which the paper saw corrupted-class accuracy hold, for a data set or its stand-in."""
    return KNEE.get(STAND_IN.get(dataset, dataset))


def complete(params: dict) -> None:
    """The network by the data set's shape when none is named, and the cell's rule (`cell_rule`)."""
    params["model"] = params["model"] or data.default_model(params["dataset"])
    cell_rule(params, "multiclass")


def cell_rule(params: dict, study: str) -> None:
    """At p = 0 no label changes, so the run is the same for every clean class and strategy: its identity
    names neither (one run per seed serves them all). Above 0 both are needed, and the clean class must be a
    class of the data set; `study` names the caller in the error."""
    if params["p"] == 0:
        params["clean_class"] = params["strategy"] = None
        return
    if params["clean_class"] is None or params["strategy"] is None:
        raise ValueError(f"{study}: p={params['p']:g} needs a clean_class and a strategy (None only at p = 0)")
    classes = data.num_classes(params["dataset"])
    if params["clean_class"] >= classes:
        raise ValueError(f"{study}: clean_class={params['clean_class']} is not a class of {params['dataset']}; "
                         f"it must be an integer in 0..{classes - 1}")


VAL_FRACTION = 0.1  # §4.1: a 9:1 train/validation split of the training images; only the training part is corrupted


def split(ds: data.Dataset, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation parts of the stratified 9:1 split (§4.1)."""
    return data.stratified_split(ds.y_train.numpy(), VAL_FRACTION, split_seed)


def corrupt(y_true: np.ndarray, p: float, num_classes: int, runs: list[dict]) -> tuple[list, list]:
    """Each run's noisy training labels and noise report: every class but the run's clean class is
    corrupted with probability p, by the run's strategy and seed (§3.1); at p = 0 (no clean class named)
    nothing changes."""
    pairs = [noise.corrupt_classes(y_true, p, clean=[] if run["clean_class"] is None else [run["clean_class"]],
                                   num_classes=num_classes, strategy=run["strategy"] or "include", seed=run["seed"])
             for run in runs]
    return [labels for labels, _ in pairs], [report for _, report in pairs]


def build(model: str, ds: data.Dataset, runs: list[dict]) -> list[torch.nn.Module]:
    """One network per run, initialised from the run's seed."""
    return [models.build(model, ds.num_classes, ds.x_train.shape[1], seed=run["seed"]) for run in runs]


def run_label(run: dict) -> str:
    """How a run's training log lines are prefixed, so the runs of a pack can be told apart."""
    return f"[{run['run_id']} clean {run['clean_class']} {run['strategy']} seed {run['seed']}]"


def fit(nets: list, ds: data.Dataset, train_idx, val_idx, noisy_labels: list, recipe, runs: list[dict], *,
        device: str = "", batched: bool = False) -> list[train.History]:
    """Train each run's network on its noisy training labels for the recipe's epochs and leave it at its
    last epoch (the paper's protocol: 14 epochs, "after which the learning curve saturated", §4.1). Each
    History keeps the weights of the lowest loss on the true validation labels (an oracle: a user with
    noisy labels has no clean validation split) and the test figures of every epoch."""
    return ensemble.fit_many(nets, ds.x_train[train_idx], [torch.from_numpy(labels) for labels in noisy_labels],
                             ds.x_train[val_idx], ds.y_train[val_idx], recipe, mean=ds.mean, std=ds.std,
                             seeds=[run["seed"] for run in runs], device=device, batched=batched,
                             labels=[run_label(run) for run in runs], test=(ds.x_test, ds.y_test), restore=False)


def oracle_nets(nets: list, histories: list) -> list[torch.nn.Module]:
    """Copies of the networks holding the weights of their lowest clean-validation loss."""
    out = []
    for net, history in zip(nets, histories):
        twin = copy.deepcopy(net)
        twin.load_state_dict(history.best_state)
        out.append(twin)
    return out


def predict(nets: list, ds: data.Dataset) -> list[np.ndarray]:
    """Each network's predicted class of every test image."""
    return [train.predict(net, ds.x_test, ds.mean, ds.std).argmax(1).numpy() for net in nets]


def class_scores(per_class_acc: np.ndarray, clean_class: int | None) -> tuple[float, float]:
    """Test accuracy of the clean class and the mean over the corrupted ones (the two lines of Fig. 4); with
    no clean class (p = 0) both are the mean over all classes."""
    if clean_class is None:
        return float(np.nanmean(per_class_acc)), float(np.nanmean(per_class_acc))
    return float(per_class_acc[clean_class]), float(np.nanmean(np.delete(per_class_acc, clean_class)))


def evaluate(y_test: np.ndarray, pred: np.ndarray, clean_class: int, num_classes: int) -> dict:
    """A run's test metrics: accuracy of the clean and corrupted classes, the clean class's precision and
    F1 (is it a sink for other classes' images?), overall accuracy, per-class figures and the confusion."""
    per_class = metrics.per_class_accuracy(y_test, pred, num_classes)
    clean_acc, corrupted_acc = class_scores(per_class, clean_class)
    matrix = metrics.confusion(y_test, pred, num_classes)
    precision, _, f1 = metrics.precision_recall_f1(matrix)
    clean_precision, clean_f1 = ((float(np.nanmean(precision)), float(np.nanmean(f1))) if clean_class is None else
                                 (float(precision[clean_class]), float(f1[clean_class])))
    return dict(clean_acc=clean_acc, corrupted_acc=corrupted_acc, clean_precision=clean_precision,
                clean_f1=clean_f1, test_acc=float((pred == y_test).mean()),
                per_class_acc=per_class.tolist(), per_class_precision=precision.tolist(), confusion=matrix.tolist())


def results(evaluations: list[dict], oracles: list[dict], reports: list, histories: list, *, n_params: int,
            n_train: int, n_val: int, ds: data.Dataset, device: str, elapsed_s: float, batched: bool) -> list[dict]:
    """The result written to each run's record: its metrics at the last epoch (the headline), the same at
    the epoch of lowest clean-validation loss (`oracle`, with that epoch), its noise report and training
    history (test figures per epoch included), and facts of the execution; a pack's runs share its wall
    time equally and are batched only when more than one."""
    size = len(evaluations)
    return [dict(**evaluation, reading="final epoch", final_epoch=len(history.epochs),
                 oracle={**oracle, "epoch": history.best_epoch}, noise=report.to_dict(), history=history.to_dict(),
                 best_epoch=history.best_epoch, n_params=n_params, n_train=n_train, n_val=n_val,
                 n_test=len(ds.x_test), data_source=ds.source, device=device, wall_time_s=elapsed_s / size,
                 pack_size=size, pack_index=index, batched=bool(batched and size > 1))
            for index, (evaluation, oracle, report, history) in enumerate(zip(evaluations, oracles, reports,
                                                                               histories))]


def checkpoints(nets: list, histories: list) -> list[dict]:
    """Each run's weights at its last epoch and at its oracle epoch, for studies of its features."""
    return [{"final": net.state_dict(), "oracle": history.best_state} for net, history in zip(nets, histories)]


def epoch_curves(history: dict, clean_class: int | None) -> pd.DataFrame:
    """Per epoch: test accuracy of the clean class and of the corrupted ones (mean), and accuracy on the
    noisy training labels, in % (from a record's history); with no clean class, all classes' mean twice."""
    rows = []
    for row in history["epochs"]:
        if "test_per_class_acc" not in row:
            continue
        clean, corrupted = class_scores(np.asarray(row["test_per_class_acc"], dtype=float), clean_class)
        rows.append({"epoch": row["epoch"], "clean": 100 * clean, "corrupted": 100 * corrupted,
                     "noisy training labels": 100 * row.get("train_acc", np.nan)})
    return pd.DataFrame(rows, columns=["epoch", "clean", "corrupted", "noisy training labels"])


PAIR = ("clean_class",)  # within a seed, a cell at one p is paired with the same clean class at another


def corrupted_change(part: pd.DataFrame, q: float) -> tuple[float, float, float, bool, int]:
    """Corrupted-class accuracy at p = q minus at p = 0, in points: paired by clean class within each seed,
    with a t interval over seeds."""
    percent = part.assign(corrupted=100 * part.corrupted_acc.astype(float))
    return stats.unit_diff(percent[percent.p == q], percent[percent.p == 0], "corrupted", claims.UNITS, PAIR)


def knee(part: pd.DataFrame) -> tuple[float | None, float | None]:
    """(the largest p up to which the corrupted classes stay within the margin of p = 0 at every p with
    enough seeds, the first p where they do not): where they give way, as the paper reads its Fig. 4."""
    last_within = None
    for q in sorted(value for value in part.p.unique() if value > 0):
        if claims.few(part[part.p.isin([0, q])]):
            continue
        _, lo, hi, _, _ = corrupted_change(part, q)
        if at_least(lo, hi, -MARGIN) != HOLDS:
            return last_within, q
        last_within = q
    return last_within, None


def knee_verdict(part: pd.DataFrame, scope: str, profile: str, paper_knee: float) -> Verdict:
    """Corrupted-class accuracy at the largest p up to the paper's knee against p = 0: no loss beyond the
    margin; beside it, the p where our corrupted classes give way."""
    claim = f"corrupted-class accuracy does not drop off until ≈{100 * paper_knee:.0f} % noise"
    paper_text = f"holds until p ≈ {paper_knee} (§5.1)"
    test = (f"corrupted accuracy at that p minus at p = 0, paired by clean class within each seed, 95 % t "
            f"interval over seeds, above −{MARGIN:g} points")
    below_knee = sorted(value for value in part.p.unique() if 0 < value <= paper_knee + 1e-9)
    if not below_knee:
        return Verdict("multi-class", claim, scope, profile, paper_text, "–", TOO_FEW,
                       f"no run with 0 < p ≤ {paper_knee}", test, claims.run_count(part))
    top = below_knee[-1]
    compared = claims.run_count(part[part.p.isin([0, top])])
    if claims.few(part[part.p.isin([0, top])]):
        return Verdict("multi-class", claim, scope, profile, paper_text, "–", TOO_FEW,
                       f"needs {MIN_RUNS} seeds at p = 0 and at p = {top:g}", test, compared)
    est, lo, hi, _, _ = corrupted_change(part, top)
    verdict = at_least(lo, hi, -MARGIN)
    why = {HOLDS: "", FAILS: f"at p = {top:g} the corrupted classes lost more than {MARGIN:g} points",
           UNDECIDED: f"the interval straddles −{MARGIN:g} points"}[verdict]
    within, beyond = knee(part)
    where = (f"; within the margin up to p = {within:g}" if within is not None else "; beyond the margin from the "
             "first p") + (f", beyond it at p = {beyond:g}" if beyond is not None and within is not None else "")
    return Verdict("multi-class", claim, scope, profile, paper_text,
                   f"at p = {top:g}: {claims.interval(est, lo, hi)}{where}", verdict, why, test, compared)


def reading(protocol: int) -> str:
    """What a protocol's headline numbers are, in words."""
    return ("the last epoch" if protocol >= 2 else
            "protocol 1: one seed, the checkpoint of lowest clean-validation loss")


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """Clean class unaffected, and corrupted classes holding up to the paper's knee, per data set × strategy
    (and protocol, whose headline reading differs); on a data set the paper never used here, extensions."""
    out = []
    if frame.empty:
        return out
    frame = frame.assign(protocol=frame["protocol"] if "protocol" in frame else STUDY_VERSION)
    for (profile, dataset, strategy, protocol), recipe, part in claims.slices(frame, ["profile", "dataset", "strategy",
                                                                                      "protocol"]):
        older = [] if protocol == STUDY_VERSION else [f"protocol {protocol}"]
        scope = claims.scope(STAND_IN_NOTE.get(dataset, dataset), f"strategy {strategy}", *older,
                             *([recipe] if recipe else []))
        found = [claims.flat("multi-class", "clean-class accuracy stays flat as the other classes get noisier", scope,
                             profile, "flat for p from 0 to 1 (Fig. 4)", part, "clean_acc")]
        if "clean_precision" in part and part.clean_precision.notna().any():
            found.append(claims.flat("multi-class", "clean-class precision stays flat too (images of other classes do "
                                                    "not flow into it)", scope, profile, "not measured (accuracy only)",
                                     part[part.clean_precision.notna()], "clean_precision"))
        paper_knee = knee_for(dataset)
        if paper_knee is not None:
            found.append(knee_verdict(part, scope, profile, paper_knee))
        out += [replace(v, kind=claims.EXTENSION) for v in found] if dataset in NOT_IN_PAPER else found
    return out


def fig4_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """What Fig. 4 plots: per data set, strategy and p, the clean class's and the corrupted classes' mean test
    accuracy in % over rows (clean classes × seeds), with the interval over seeds (`plots.summarise_seeds`)."""
    frame = frame.assign(clean_pct=100 * frame.clean_acc, corrupted_pct=100 * frame.corrupted_acc)
    return plots.summarise_seeds(frame, ["dataset", "strategy", "p"], ["clean_pct", "corrupted_pct"])


def figure(frame: pd.DataFrame, paper_knee: dict | None = None, subtitle: str = ""):
    """Fig. 4 redrawn in the paper's layout: clean-class and mean corrupted-class test accuracy (%) against
    p, left the corrupted label may take the clean class (include), right it may not (exclude); the bands as
    `plots.spread` says; one row per data set."""
    summary = fig4_numbers(frame)
    seeds = plots.over_seeds(summary)
    datasets = sorted(summary.dataset.unique())
    fig, axes = plt.subplots(len(datasets), 2, figsize=(6.1, 3.3 * len(datasets)), squeeze=False, sharey=True)
    for row, dset in zip(axes, datasets):
        for ax, strat in zip(row, ("include", "exclude")):
            cells = summary[(summary.dataset == dset) & (summary.strategy == strat)].sort_values("p")
            if cells.empty:
                ax.text(0.5, 0.5, f"no {strat} runs", ha="center", va="center", transform=ax.transAxes)
            plots.seed_band(ax, cells, "clean_pct", seeds, plots.CLEAN, "clean class")
            plots.seed_band(ax, cells, "corrupted_pct", seeds, plots.CORRUPT, "corrupted classes (mean)")
            knee = (paper_knee or {}).get(dset)
            if knee is not None:
                ax.axvline(knee, color=plots.PAPER, ls="--", lw=1, label=f"paper: corrupted hold to p ≈ {knee}")
            how = "may take" if strat == "include" else "never takes"
            ax.set(title=f"{dset}, {strat}:\nnoisy label {how} the clean class", xlabel="corruption probability p",
                   xlim=(-0.03, 1.03), ylim=(0, 102))
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(loc="center left")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def by_strategy(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """A figure's rows per strategy, in the order of its panels (include, then exclude)."""
    return [(strategy, table[table.strategy == strategy]) for strategy in ("include", "exclude")
            if (table.strategy == strategy).any()]


def panel_rows(table: pd.DataFrame) -> list[pd.Series]:
    """A figure's rows in the order of its panels (include, then exclude)."""
    return [row for _, part in by_strategy(table) for _, row in part.iterrows()]


def fig4_alt(summary: pd.DataFrame, paper_knee: float | None, where: str) -> str:
    """Fig. 4's alt text: what it plots for `where`, and each line's accuracy at the smallest and largest p."""
    lines = " ".join(f"{strategy.capitalize()}: clean class {plots.trend(cells, 'p', 'clean_pct_mean', ' %')}; "
                     f"corrupted classes {plots.trend(cells, 'p', 'corrupted_pct_mean', ' %')}."
                     for strategy, cells in by_strategy(summary))
    knee = (f" A dashed line at p = {paper_knee:g}, up to which the paper saw the corrupted classes hold."
            if paper_knee is not None else "")
    return (f"Fig. 4 redrawn for {where}: test accuracy in % against the corruption probability p of the clean "
            f"class (green) and the mean of the corrupted classes (orange), {plots.spread(summary)}, include "
            f"left and exclude right. {lines}{knee}")


def precision_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """What the precision figure plots: per strategy and p, the clean class's test accuracy and precision (mean,
    std) and F1 (mean), in %, over the rows that recorded its precision, and their number."""
    frame = frame[frame.clean_precision.notna()] if "clean_precision" in frame else frame.iloc[:0]
    part = frame.assign(acc=100 * frame.clean_acc, prec=100 * frame.clean_precision, f1=100 * frame.clean_f1)
    return plots.summarise(part, ["strategy", "p"], ["acc", "prec", "f1"]).drop(columns="f1_std")


def precision_figure(frame: pd.DataFrame, subtitle: str = ""):
    """Clean-class test precision beside its accuracy (recall) and F1, in %, against p; include left,
    exclude right. Under include the clean class can become a sink for other classes' images: its
    accuracy then stays high while its precision falls. Runs without a recorded precision are left out."""
    numbers = precision_numbers(frame)
    fig, axes = plt.subplots(1, 2, figsize=(6.1, 3.2), sharey=True, squeeze=False)
    for ax, strategy in zip(axes[0], ("include", "exclude")):
        cells = numbers[numbers.strategy == strategy].sort_values("p")
        plots.band(ax, cells.p, cells.acc_mean, cells.acc_std, plots.CLEAN, "accuracy (recall)")
        plots.band(ax, cells.p, cells.prec_mean, cells.prec_std, plots.CORRUPT, "precision", marker="s")
        ax.plot(cells.p, cells.f1_mean, color=plots.OVERALL, ls="--", lw=1.2, label="F1")
        ax.set(title=strategy, xlabel="corruption probability p", xlim=(-0.03, 1.03), ylim=(0, 102))
    axes[0, 0].set_ylabel("clean class, test (%)")
    axes[0, 0].legend(loc="lower left")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def precision_alt(numbers: pd.DataFrame, where: str) -> str:
    """The precision figure's alt text: what it plots, and the clean class's precision and accuracy at the
    smallest and largest p under each strategy."""
    lines = " ".join(f"{strategy.capitalize()}: precision {plots.trend(cells, 'p', 'prec_mean', ' %')}; "
                     f"accuracy {plots.trend(cells, 'p', 'acc_mean', ' %')}."
                     for strategy, cells in by_strategy(numbers))
    return (f"The clean class's test precision (orange), accuracy or recall (green) and F1 (dashed) in % against "
            f"the corruption probability p, {where}, include left and exclude right. {lines}")


def train_curves(records: list[dict]) -> list[dict]:
    """The records whose history kept the accuracy on the noisy training labels of every epoch."""
    return [r for r in records if any("train_acc" in epoch for epoch in r["result"]["history"]["epochs"])]


MEMORISATION = ["noisy training labels", "true validation labels", "most without memorising"]


def memorisation_numbers(records: list[dict]) -> pd.DataFrame:
    """What the memorisation figure plots: per strategy, p and epoch, the mean over runs of the accuracy (%) on
    the noisy training labels, on the true validation labels, and the most reachable on the noisy labels
    without memorising (`noise.unmemorised_accuracy`); empty without such curves."""
    rows = []
    for record in train_curves(records):
        res, prm = record["result"], record["params"]
        ceiling = 100 * noise.unmemorised_accuracy(res["noise"]["num_classes"], prm["p"], res["noise"]["clean"],
                                                   prm["strategy"], res["noise"]["counts"])
        rows += [{"strategy": prm["strategy"], "p": prm["p"], "epoch": epoch["epoch"],
                  MEMORISATION[0]: 100 * epoch["train_acc"], MEMORISATION[1]: 100 * epoch["val_acc"],
                  MEMORISATION[2]: ceiling} for epoch in res["history"]["epochs"] if "train_acc" in epoch]
    table = pd.DataFrame(rows, columns=["strategy", "p", "epoch", *MEMORISATION])
    return table.groupby(["strategy", "p", "epoch"])[MEMORISATION].mean().reset_index()


def memorisation_figure(records: list[dict], subtitle: str = ""):
    """Per-epoch accuracy on the noisy training labels (solid; training batches, dropout on) and on the
    true validation labels (dashed), mean over runs, one colour per p; include left, exclude right. The
    dotted line of each p is `noise.unmemorised_accuracy`: the most a network reaches on the noisy labels
    without memorising single images; above it, it memorises. None without such curves."""
    numbers = memorisation_numbers(records)
    return None if numbers.empty else per_epoch_figure(numbers, MEMORISATION, "accuracy (%)", subtitle)


LINE_STYLES = (("-", 1.5), ("--", 1), (":", 0.9))  # the per-epoch figures' first, second and level lines


def per_epoch_figure(numbers: pd.DataFrame, lines: list[str], ylabel: str, subtitle: str = ""):
    """Columns `lines` of `numbers` against the epoch, one colour per p, include left and exclude right: the
    first solid, the second dashed, a third (if any) as a dotted level at its mean."""
    ps = sorted(numbers.p.unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(ps)))
    fig, axes = plt.subplots(1, 2, figsize=(6.1, 4.2), sharey=True, layout="constrained")
    for ax, strategy in zip(axes, ("include", "exclude")):
        for p, colour in zip(ps, colours):
            per_epoch = numbers[(numbers.strategy == strategy) & (numbers.p == p)]
            if per_epoch.empty:
                continue
            ax.plot(per_epoch.epoch, per_epoch[lines[0]], color=colour, label=f"p = {p:g}")
            ax.plot(per_epoch.epoch, per_epoch[lines[1]], color=colour, ls="--", lw=1)
            if len(lines) > 2:
                ax.axhline(per_epoch[lines[2]].mean(), color=colour, ls=":", lw=0.9)
        ax.set(title=strategy, xlabel="epoch", ylim=(0, 102))
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylabel(ylabel)
    handles, names = axes[0].get_legend_handles_labels()
    key = [mpl.lines.Line2D([], [], color="#555555", ls=ls, lw=lw) for ls, lw in LINE_STYLES[:len(lines)]]
    fig.legend(handles + key, names + list(lines), loc="outside lower center", ncol=4, frameon=False)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def memorisation_alt(numbers: pd.DataFrame, where: str) -> str:
    """The memorisation figure's alt text: what it plots, and each strategy's accuracies after the last epoch
    at the largest p."""
    top = numbers[numbers.p == numbers.p.max()]
    last = top[top.epoch == top.epoch.max()]
    lines = " ".join(f"{row.strategy.capitalize()}: {row[MEMORISATION[0]]:.1f} % on the noisy training labels "
                     f"against at most {row[MEMORISATION[2]]:.1f} % without memorising, {row[MEMORISATION[1]]:.1f} % "
                     "on the true validation labels." for row in panel_rows(last))
    return (f"Accuracy in % per epoch on the noisy training labels (solid) and the true validation labels "
            f"(dashed), {where}, one colour per p ({', '.join(f'{p:g}' for p in sorted(numbers.p.unique()))}), "
            f"include left and exclude right; a dotted line per p marks the most a network reaches on the noisy "
            f"labels without memorising. After epoch {top.epoch.max():g} at p = {numbers.p.max():g}: {lines}")


def test_curves(records: list[dict]) -> list[dict]:
    """The records whose history kept the test figures of every epoch (protocol 2)."""
    return [r for r in records if any("test_per_class_acc" in epoch for epoch in r["result"]["history"]["epochs"])]


EPOCH_LINES = ["corrupted classes (mean)", "clean class"]


def epochs_numbers(records: list[dict]) -> pd.DataFrame:
    """What the epochs figure plots: per strategy, p and epoch, the mean over runs of the test accuracy (%) of
    the corrupted classes (their mean) and of the clean class; empty without per-epoch test figures."""
    frames = [epoch_curves(r["result"]["history"], r["params"]["clean_class"])
              .assign(p=r["params"]["p"], strategy=r["params"]["strategy"]) for r in test_curves(records)]
    table = pd.concat(frames) if frames else pd.DataFrame(columns=["strategy", "p", "epoch", "corrupted", "clean"])
    table = table.rename(columns=dict(zip(["corrupted", "clean"], EPOCH_LINES)))
    return table.groupby(["strategy", "p", "epoch"])[EPOCH_LINES].mean().reset_index()


def epochs_figure(records: list[dict], subtitle: str = ""):
    """Test accuracy after every epoch (protocol 2): the corrupted classes' mean (solid) and the clean class
    (dashed), mean over runs, one colour per p; include left, exclude right. It shows when the corrupted
    classes give way during training, which the last epoch alone does not. None without such figures."""
    numbers = epochs_numbers(records)
    return None if numbers.empty else per_epoch_figure(numbers, EPOCH_LINES, "test accuracy (%)", subtitle)


def epochs_alt(numbers: pd.DataFrame, where: str) -> str:
    """The epochs figure's alt text: what it plots, and each strategy's test accuracies after the last epoch at
    the largest p."""
    top = numbers[numbers.p == numbers.p.max()]
    last = top[top.epoch == top.epoch.max()]
    lines = " ".join(f"{row.strategy.capitalize()}: corrupted classes {row[EPOCH_LINES[0]]:.1f} %, clean class "
                     f"{row[EPOCH_LINES[1]]:.1f} %." for row in panel_rows(last))
    return (f"Test accuracy in % after each epoch, {where}: the corrupted classes' mean (solid) and the clean class "
            f"(dashed), one colour per p ({', '.join(f'{p:g}' for p in sorted(numbers.p.unique()))}), include "
            f"left and exclude right. After epoch {top.epoch.max():g} at p = {numbers.p.max():g}: {lines}")


# The page's blocks, in this order: the paper's protocol first, its other data set next, the smoke check last.
PAGE_ORDER = {"paper": 0, "fashion": 1, "smoke": 3}
NO_RECORDS = ("No multi-class records yet. Produce them with `hetnoise sweep multiclass --profile smoke` "
              "(minutes on a CPU) or `--profile paper` (GPU), then rebuild the book with `jupyter-book build book`.")


def page_key(block: tuple[str, str]) -> tuple:
    """Sort key of a (profile, data set) block of the page: by PAGE_ORDER (other profiles between), then by name."""
    return PAGE_ORDER.get(block[0], 2), block


def blocks(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """The (profile, data set, protocol) triples that have records, in the page's order (newest protocol first)."""
    frame = frame.assign(protocol=frame["protocol"] if "protocol" in frame else STUDY_VERSION)
    found = frame.groupby(["profile", "dataset", "protocol"]).groups
    return sorted(found, key=lambda key: (*page_key(key[:2]), -key[2]))


def heading(profile: str, dataset: str, part: pd.DataFrame, protocol: int = STUDY_VERSION) -> str:
    """The heading of a block; the smoke profile's says it checks the pipeline, not the paper's claim."""
    if profile == "smoke":
        return (f"### Pipeline check: `smoke` profile, {dataset}\n\nA toy run of the whole pipeline "
                "(bundled 8×8 digits, a few epochs); it checks the code, not the paper's claim.")
    return (f"### {dataset}, profile `{profile}`, {reading(protocol)} "
            f"({', '.join(sorted(part.source.unique()))} records)")


def accuracy_table(part: pd.DataFrame):
    """Test accuracy (%) of the clean and the corrupted classes per strategy and p: mean and sd over (clean class,
    seed), and the number of runs (a p = 0 run, read for every clean class, counts once)."""
    table = plots.summarise(part.assign(clean=100 * part.clean_acc, corrupted=100 * part.corrupted_acc),
                            ["strategy", "p"], ["clean", "corrupted"])
    table["n"] = part.groupby(["strategy", "p"]).run_id.nunique().to_numpy()
    table = table.rename(columns={"clean_mean": "clean, mean", "clean_std": "clean, sd",
                                  "corrupted_mean": "corrupted, mean", "corrupted_std": "corrupted, sd", "n": "runs"})
    return (table.style.hide(axis="index").format(precision=1, subset=table.columns[2:-1])
            .format("{:g}", subset=["p"]))


def training_text(records: list[dict], protocol: int) -> str:
    """The "training" row of the What-was-run box: the recipe and which epoch the numbers are read at."""
    prm = records[0]["params"]
    read = ("numbers read after the last epoch; the checkpoint of lowest clean-validation loss shown beside them"
            if protocol >= 2 else "numbers read at the checkpoint of lowest clean-validation loss")
    return (f"{prm['epochs']} epochs at batch {prm['batch_size']}, {prm['optimizer']} (learning rate {prm['lr']:g}, "
            f"weight decay {prm['weight_decay']:g}, {prm['schedule']}); {read}")


def block(loaded, profile: str, dataset: str, protocol: int = STUDY_VERSION) -> None:
    """One profile × data set × protocol: Fig. 4 (at the last epoch, and beside it at the oracle checkpoint
    where recorded), what was run, the accuracy table and, beyond the smoke check, the clean class's
    precision and the curves per epoch."""
    chosen = [r for r in loaded.of(profile=profile, dataset=dataset).records if r.get("protocol") == protocol]
    part = tables.Loaded(chosen, tables.frame(chosen), loaded.problems)
    display(Markdown(heading(profile, dataset, part.frame, protocol)))
    fig4_blocks(part, profile, dataset, protocol)
    display(Markdown("**What was run**"))
    size = tables.grid_size(GRIDS, profile, dataset=dataset) if protocol == STUDY_VERSION else None
    display(tables.box(part.records, PAPER_SETUP, profile, size,
                       training=training_text(part.records, protocol)))
    display(Markdown("**Test accuracy (%) per cell**: mean, standard deviation and number of runs."))
    display(accuracy_table(part.frame))
    if profile != "smoke":
        precision_block(part.frame, profile, dataset)
        curves_blocks(part.records, profile, dataset)


FIG4_CAPTION = ("Fig. 4 redrawn: test accuracy (%) of the clean class and the mean of the corrupted classes against "
                "p, include left and exclude right, {spread}")


def fig4_blocks(part, profile: str, dataset: str, protocol: int) -> None:
    """Fig. 4 at the block's reading and, beyond the smoke check, at the oracle checkpoint where recorded."""
    frame, source = part.frame, ", ".join(sorted(part.frame.source.unique()))
    runs, knee = frame.run_id.nunique(), knee_for(dataset)
    where, numbers = f"{dataset}, profile {profile}", fig4_numbers(frame)
    plots.show(figure(frame, {dataset: knee}, f"profile '{profile}' · {dataset} · {runs} runs ({source})\n"
                                              f"{reading(protocol)}\n{plots.spread(numbers)}"),
               fig4_alt(numbers, knee, f"{where}, {reading(protocol)}"),
               FIG4_CAPTION.format(spread=plots.spread(numbers)), frame, numbers, reading(protocol))
    oracle = tables.frame(oracle_rows(part.records))
    if oracle.empty or profile == "smoke":
        return
    display(Markdown("**The same runs at the checkpoint of lowest clean-validation loss** (an oracle: a user "
                     "with noisy labels has no clean validation split; shown beside the paper's protocol, "
                     "not instead of it)."))
    numbers = fig4_numbers(oracle)
    plots.show(figure(oracle, {dataset: knee}, f"profile '{profile}' · {dataset} · oracle checkpoint · {runs} runs\n"
                                               f"{plots.spread(numbers)}"),
               fig4_alt(numbers, knee, f"{where}, at the oracle checkpoint"),
               FIG4_CAPTION.format(spread=plots.spread(numbers)), oracle, numbers,
               "oracle checkpoint: lowest clean-validation loss")


def precision_block(frame: pd.DataFrame, profile: str, dataset: str) -> None:
    """The clean class's precision beside its accuracy, from the runs that recorded it (none: nothing)."""
    measured = frame[frame.clean_precision.notna()] if "clean_precision" in frame else frame.iloc[:0]
    if measured.empty:
        return
    display(Markdown(f"**Is the clean class a sink?** Its test precision beside its accuracy, from the "
                     f"{measured.run_id.nunique()} of these {frame.run_id.nunique()} runs that recorded it."))
    numbers = precision_numbers(frame)
    plots.show(precision_figure(frame, f"{dataset} · clean class · mean ± 1 std over runs"),
               precision_alt(numbers, f"{dataset}, profile {profile}"),
               "The clean class's test precision, accuracy (recall) and F1 (%) against p, include left and exclude "
               "right, mean ± 1 std over runs", measured, numbers)


def curves_blocks(records: list[dict], profile: str, dataset: str) -> None:
    """Test accuracy after every epoch, then the memorisation curves, each where its runs recorded it."""
    where = f"{dataset}, profile {profile}"
    numbers = epochs_numbers(records)
    if len(numbers):
        display(Markdown("**When do the corrupted classes give way?** Test accuracy after every epoch of the "
                         "corrupted classes (solid) and the clean class (dashed); the headline reads the last."))
        plots.show(epochs_figure(records, f"{dataset} · test accuracy after each epoch · mean over runs per p"),
                   epochs_alt(numbers, where), "Test accuracy (%) after each epoch of the corrupted classes and the "
                   "clean class, one colour per p, mean over runs", test_curves(records), numbers)
    numbers = memorisation_numbers(records)
    if len(numbers):
        display(Markdown("**Does the network memorise the noisy labels?** Accuracy per epoch on the noisy "
                         "training labels and on the true validation labels."))
        plots.show(memorisation_figure(records, f"{dataset} · mean over runs per p"), memorisation_alt(numbers, where),
                   "Accuracy (%) per epoch on the noisy training labels and the true validation labels, with the most "
                   "reachable without memorising, one colour per p, mean over runs", train_curves(records), numbers)


def runs_section(loaded) -> None:
    """Every profile × data set with records, in the page's order, or how to produce records when none."""
    if loaded.frame.empty:
        display(Markdown(NO_RECORDS))
        return
    for profile, dataset, protocol in blocks(loaded.frame):
        block(loaded, profile, dataset, protocol)


SLICE_NAMES = {"mnist": "mnist", "fashion-mnist": "fashion", "digits": "digits", "cifar10": "cifar"}
PROSE_METRICS = {"clean": "clean_acc", "corrupted": "corrupted_acc", "precision": "clean_precision"}


def prose_numbers(frame: pd.DataFrame, oracle: pd.DataFrame | None = None) -> dict[str, str]:
    """What the page's prose says of the real-data runs, as text: the mean (%) of the clean class's accuracy and
    precision and of the corrupted classes' accuracy per data set, protocol, strategy and p, keyed
    multiclass_mnist2_exclude_clean_p08; the seeds behind each data set and protocol (`tables.coverage`), keyed
    multiclass_mnist2_coverage; the mean epoch of lowest clean-validation loss, keyed
    multiclass_mnist2_exclude_oracle_epoch_p1; and, from the `oracle` reading's frame, how many points the
    corrupted classes read higher there than at the last epoch, keyed multiclass_mnist2_exclude_oracle_gain_p08,
    and the clean class's precision there, keyed multiclass_mnist2_include_oracle_precision_p1 ("–" where a
    value is missing)."""
    def key(dataset, protocol, strategy, word, p):
        return f"multiclass_{SLICE_NAMES.get(dataset, dataset)}{protocol}_{strategy}_{word}_p{p:g}".replace(".", "")

    datasets, protocols = ("mnist", "fashion-mnist"), range(1, STUDY_VERSION + 1)
    words = (*PROSE_METRICS, "oracle_gain", "oracle_epoch", "oracle_precision")
    out = {key(dataset, protocol, strategy, word, p): "–" for dataset in datasets for protocol in protocols
           for strategy in ("include", "exclude") for word in words
           for p in PAPER_P}  # every number the page may name, "–" until runs give it
    out.update({f"multiclass_{SLICE_NAMES[dataset]}{protocol}_coverage": "–" for dataset in datasets
                for protocol in protocols})
    frame = frame[frame.profile != "smoke"] if "profile" in frame else frame
    if frame.empty:
        return out
    for (dataset, protocol), runs in frame.groupby(["dataset", "protocol"]):
        out[f"multiclass_{SLICE_NAMES.get(dataset, dataset)}{protocol}_coverage"] = tables.coverage(runs, PAPER_P)
    for (dataset, protocol, strategy, p), cell in frame.groupby(["dataset", "protocol", "strategy", "p"]):
        for word, column in PROSE_METRICS.items():
            value = 100 * cell[column].mean() if column in cell else np.nan
            out[key(dataset, protocol, strategy, word, p)] = "–" if np.isnan(value) else f"{value:.1f}"
        out[key(dataset, protocol, strategy, "oracle_epoch", p)] = f"{cell.best_epoch.mean():.1f}"
    if oracle is not None and not oracle.empty:
        read = ["corrupted_acc", *(["clean_precision"] if "clean_precision" in oracle else [])]
        both = frame.merge(oracle[["run_id", "clean_class", "strategy", *read]],
                           on=["run_id", "clean_class", "strategy"], suffixes=("", "_oracle"))
        for (dataset, protocol, strategy, p), cell in both.groupby(["dataset", "protocol", "strategy", "p"]):
            gain = round(100 * (cell.corrupted_acc_oracle - cell.corrupted_acc).mean(), 1) + 0.0  # no "-0.0"
            out[key(dataset, protocol, strategy, "oracle_gain", p)] = f"{gain:.1f}"
            precision = 100 * cell["clean_precision_oracle"].mean() if "clean_precision" in read else np.nan
            if not np.isnan(precision):
                out[key(dataset, protocol, strategy, "oracle_precision", p)] = f"{precision:.1f}"
    return out


def glue_numbers(loaded) -> None:
    """Glue the numbers the page's prose names."""
    tables.glue(prose_numbers(loaded.frame, tables.frame(oracle_rows(loaded.records))))


STUDY = Study(name="multiclass", title="Multi-class", version=STUDY_VERSION, params=PARAMS, profiles=PROFILES,
              grids=GRIDS, result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims, complete=complete,
              key_params=("dataset", "p", "clean_class", "strategy", "seed", "epochs"), published=PUBLISHED,
              packable=("clean_class", "strategy", "seed"), sections={"runs": runs_section, "numbers": glue_numbers},
              rows=rows)
