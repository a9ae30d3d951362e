"""The multi-class study (paper §3.1, §4.1, §5.1): nine of ten classes get label noise with probability
p, the tenth (the clean class) keeps its labels; a corrupted label is drawn from the other corrupted
classes (`exclude`, the paper's strategy 2) or from every other class (`include`, strategy 1). This
module holds what is the study's own: its parameters, profiles and grids, what the paper reports, the
claims checked on the records and the figures of its page."""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hetnoise import claims, data, noise, plots, stats
from hetnoise.claims import FAILS, HOLDS, MARGIN, MIN_RUNS, TOO_FEW, UNDECIDED, Verdict, at_least
from hetnoise.spec import (DATA_PARAMS, LENET_PAPER, P, PAPER_P, RECIPE_PARAMS, RESNET_PAPER, RUN_PARAMS, Grid,
                           Param, Profile, Recipe, Study)

# §5.1: corrupted-class accuracy "didn't drop off until 80 % corruption" on MNIST and "started to drop off
# after 60 % label corruption" on CIFAR-10; the clean class stays flat in both.
KNEE = {"mnist": 0.8, "cifar10": 0.6}
# Our offline and CPU stand-ins for the paper's data sets (same network, same protocol).
STAND_IN = {"digits": "mnist", "fashion-mnist": "mnist", "mnist": "mnist", "cifar10": "cifar10"}
STAND_IN_NOTE = {"digits": "digits, MNIST stand-in", "fashion-mnist": "Fashion-MNIST, MNIST protocol"}

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
    "clean_class": Param(int, 0, low=0),
    "strategy": Param(str, "exclude", choices=("exclude", "include")),
    **RUN_PARAMS, **RECIPE_PARAMS, **DATA_PARAMS,
    "batched": Param(bool, False, identity=False),
    "pack": Param(list, [], identity=False),
}

GRIDS = {
    "smoke": [{"dataset": ["digits"], "p": [0.0, 0.6, 0.9, 1.0], "clean_class": [0, 7],
               "strategy": ["include", "exclude"], "seed": [0]}],
    "fashion": [{"dataset": ["fashion-mnist"], "p": PAPER_P, "clean_class": list(range(10)),
                 "strategy": ["include", "exclude"], "seed": [0]}],
    "paper": [{"dataset": ["mnist", "cifar10"], "p": PAPER_P, "clean_class": list(range(10)),
               "strategy": ["include", "exclude"], "seed": [0]}],
}

PUBLISHED = (Grid("paper", "MNIST, the paper's protocol", {"dataset": ["mnist"]}),
             Grid("fashion", "Fashion-MNIST, the paper's MNIST protocol"))

RESULT_FIELDS = {"clean_acc": (float, 0, 1), "corrupted_acc": (float, 0, 1), "test_acc": (float, 0, 1),
                 "per_class_acc": (list, None, None), "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}


def knee_for(dataset: str) -> float | None:
    """The p up to which the paper saw corrupted-class accuracy hold, for a data set or its stand-in."""
    return KNEE.get(STAND_IN.get(dataset, dataset))


def complete(params: dict) -> None:
    """The network by the data set's shape when none is named; the clean class must be a class of the data set."""
    params["model"] = params["model"] or data.default_model(params["dataset"])
    classes = data.num_classes(params["dataset"])
    if params["clean_class"] >= classes:
        raise ValueError(f"multiclass: clean_class={params['clean_class']} is not a class of {params['dataset']}; "
                         f"it must be an integer in 0..{classes - 1}")


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """Clean class unaffected, and corrupted classes holding up to the paper's knee, per data set × strategy."""
    out = []
    if frame.empty:
        return out
    for (profile, dataset, strategy), part in frame.groupby(["profile", "dataset", "strategy"]):
        scope = claims.scope(STAND_IN_NOTE.get(dataset, dataset), f"strategy {strategy}")
        out.append(claims.flat("multi-class", "clean-class accuracy stays flat as the other classes get noisier", scope,
                         profile, "flat for p from 0 to 1 (Fig. 4)", part, "clean_acc"))
        if "clean_precision" in part and part.clean_precision.notna().any():
            out.append(claims.flat("multi-class", "clean-class precision stays flat too (images of other classes do not "
                                            "flow into it)", scope, profile, "not measured (accuracy only)",
                             part[part.clean_precision.notna()], "clean_precision"))
        knee = knee_for(dataset)
        if knee is None:
            continue
        grid = sorted(q for q in part.p.unique() if 0 < q <= knee + 1e-9)
        test = f"corrupted accuracy at that p minus at p = 0, 95 % bootstrap CI, above −{MARGIN:g} points"
        claim = f"corrupted-class accuracy does not drop off until ≈{100 * knee:.0f} % noise"
        paper_text = f"holds until p ≈ {knee} (§5.1)"
        if not grid:
            out.append(Verdict("multi-class", claim, scope, profile, paper_text, "–", TOO_FEW,
                               f"no run with 0 < p ≤ {knee}", test, len(part)))
            continue
        q = grid[-1]
        a, b = part[part.p == q], part[part.p == 0]
        if claims.few(pd.concat([a, b])):
            out.append(Verdict("multi-class", claim, scope, profile, paper_text, "–", TOO_FEW,
                               f"needs {MIN_RUNS} runs at p = 0 and at p = {q:g}", test, len(a) + len(b)))
            continue
        est, lo, hi = stats.bootstrap_diff(100 * a.corrupted_acc.to_numpy(float), 100 * b.corrupted_acc.to_numpy(float))
        verdict = at_least(lo, hi, -MARGIN)
        why = {HOLDS: "", FAILS: f"at p = {q:g} the corrupted classes lost more than {MARGIN:g} points",
               UNDECIDED: f"the interval straddles −{MARGIN:g} points"}[verdict]
        out.append(Verdict("multi-class", claim, scope, profile, paper_text, f"at p = {q:g}: {claims.interval(est, lo, hi)}",
                           verdict, why, test, len(a) + len(b)))
    return out



def figure(frame: pd.DataFrame, paper_knee: dict | None = None, subtitle: str = ""):
    """Fig. 4 redrawn in the paper's layout: clean-class and mean corrupted-class test accuracy (%) against
    p, left the corrupted label may take the clean class (include), right it may not (exclude); mean ± 1
    std over runs (clean classes and seeds); one row per data set."""
    frame = frame.assign(clean_pct=100 * frame.clean_acc, corrupted_pct=100 * frame.corrupted_acc)
    stats = plots.summarise(frame, ["dataset", "strategy", "p"], ["clean_pct", "corrupted_pct"])
    datasets = sorted(stats.dataset.unique())
    fig, axes = plt.subplots(len(datasets), 2, figsize=(6.1, 3.3 * len(datasets)), squeeze=False, sharey=True)
    for row, dset in zip(axes, datasets):
        for ax, strat in zip(row, ("include", "exclude")):
            s = stats[(stats.dataset == dset) & (stats.strategy == strat)].sort_values("p")
            if s.empty:
                ax.text(0.5, 0.5, f"no {strat} runs", ha="center", va="center", transform=ax.transAxes)
            plots.band(ax, s.p, s.clean_pct_mean, s.clean_pct_std, plots.CLEAN, "clean class")
            plots.band(ax, s.p, s.corrupted_pct_mean, s.corrupted_pct_std, plots.CORRUPT, "corrupted classes (mean)")
            knee = (paper_knee or {}).get(dset)
            if knee is not None:
                ax.axvline(knee, color=plots.PAPER, ls="--", lw=1, label=f"paper: corrupted hold to p ≈ {knee}")
            how = "may take" if strat == "include" else "never takes"
            ax.set(title=f"{dset}, {strat}:\nnoisy label {how} the clean class", xlabel="corruption probability p",
                   xlim=(-0.03, 1.03), ylim=(0, 102))
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(loc="center left")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9, color="#555555")
    return fig


def precision_figure(frame: pd.DataFrame, subtitle: str = ""):
    """Clean-class test precision beside its accuracy (recall) and F1, in %, against p; include left,
    exclude right. Under include the clean class can become a sink for other classes' images: its
    accuracy then stays high while its precision falls. Runs without a recorded precision are left out."""
    frame = frame[frame.clean_precision.notna()] if "clean_precision" in frame else frame.iloc[:0]
    fig, axes = plt.subplots(1, 2, figsize=(6.1, 3.2), sharey=True, squeeze=False)
    for ax, strategy in zip(axes[0], ("include", "exclude")):
        part = frame[frame.strategy == strategy]
        part = part.assign(acc=100 * part.clean_acc, prec=100 * part.clean_precision, f1=100 * part.clean_f1)
        s = plots.summarise(part, ["p"], ["acc", "prec", "f1"])
        plots.band(ax, s.p, s.acc_mean, s.acc_std, plots.CLEAN, "accuracy (recall)")
        plots.band(ax, s.p, s.prec_mean, s.prec_std, plots.CORRUPT, "precision", marker="s")
        ax.plot(s.p, s.f1_mean, color=plots.OVERALL, ls="--", lw=1.2, label="F1")
        ax.set(title=strategy, xlabel="corruption probability p", xlim=(-0.03, 1.03), ylim=(0, 102))
    axes[0, 0].set_ylabel("clean class, test (%)")
    axes[0, 0].legend(loc="lower left")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def memorisation_figure(records: list[dict], subtitle: str = ""):
    """Per-epoch accuracy on the noisy training labels (solid; training batches, dropout on) and on the
    true validation labels (dashed), mean over runs, one colour per p; include left, exclude right. The
    dotted line of each p is `noise.unmemorised_accuracy`: the most a network reaches on the noisy labels
    without memorising single images; above it, it memorises. None without such curves."""
    rows = []
    for r in records:
        res, prm = r["result"], r["params"]
        ceiling = None
        for e in res["history"]["epochs"]:
            if "train_acc" in e:
                ceiling = ceiling or 100 * noise.unmemorised_accuracy(
                    res["noise"]["num_classes"], prm["p"], res["noise"]["clean"], prm["strategy"],
                    res["noise"]["counts"])
                rows.append({"strategy": prm["strategy"], "p": prm["p"], "epoch": e["epoch"],
                             "train": 100 * e["train_acc"], "val": 100 * e["val_acc"], "right": ceiling})
    if not rows:
        return None
    df = pd.DataFrame(rows)
    ps = sorted(df.p.unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(ps)))
    fig, axes = plt.subplots(1, 2, figsize=(6.1, 4.2), sharey=True, layout="constrained")
    for ax, strategy in zip(axes, ("include", "exclude")):
        for p, colour in zip(ps, colours):
            g = df[(df.strategy == strategy) & (df.p == p)].groupby("epoch").mean(numeric_only=True)
            if g.empty:
                continue
            ax.plot(g.index, g.train, color=colour, label=f"p = {p:g}")
            ax.plot(g.index, g.val, color=colour, ls="--", lw=1)
            ax.axhline(g.right.mean(), color=colour, ls=":", lw=0.9)
        ax.set(title=strategy, xlabel="epoch", ylim=(0, 102))
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylabel("accuracy (%)")
    handles, names = axes[0].get_legend_handles_labels()
    key = [mpl.lines.Line2D([], [], color="#555555", ls=ls, lw=lw) for ls, lw in (("-", 1.5), ("--", 1), (":", 0.9))]
    fig.legend(handles + key, names + ["noisy training labels", "true validation labels", "most without memorising"],
               loc="outside lower center", ncol=4, frameon=False)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


STUDY = Study(name="multiclass", title="Multi-class", version=1, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims, complete=complete,
              key_params=("dataset", "p", "clean_class", "strategy", "seed", "epochs"), published=PUBLISHED,
              packable=("clean_class", "strategy", "seed"))
