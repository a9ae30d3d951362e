"""One look for every figure in the notebooks and the book, and the figure functions the book uses."""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

CLEAN = "#1b9e77"      # clean class / task / label group
CORRUPT = "#d95f02"    # corrupted ones
OVERALL = "#7570b3"    # overall, or a baseline
PAPER = "#444444"      # values the paper reports


def style() -> None:
    """Apply the project's matplotlib style: readable at page width, light grid, no top/right spines."""
    mpl.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 150, "figure.constrained_layout.use": True,
        "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    })


def transition_heatmap(ax, matrix, title: str = "", labels=None) -> None:
    """Draw a transition matrix P(noisy = column | true = row) as a heat map with a colour bar."""
    matrix = np.asarray(matrix, dtype=float)
    im = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    n = len(matrix)
    if n <= 12:
        ticks = range(n)
        ax.set_xticks(ticks, labels if labels is not None else ticks)
        ax.set_yticks(ticks, labels if labels is not None else ticks)
    ax.set(xlabel="noisy label", ylabel="true label", title=title)
    ax.grid(False)
    plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


def summarise(frame: pd.DataFrame, by: list[str], values: list[str]) -> pd.DataFrame:
    """Mean, standard deviation and count of `values` for each group of `by` (one row per group)."""
    g = frame.groupby(by)[values]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std")).join(g.size().rename("n"))
    return out.reset_index()


def band(ax, x, mean, std, color, label, marker="o"):
    """A line with markers and a ±1 std band (no band where std is undefined)."""
    x, mean, std = np.asarray(x), np.asarray(mean, dtype=float), np.nan_to_num(np.asarray(std, dtype=float))
    ax.plot(x, mean, marker=marker, ms=4, color=color, label=label)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)


def multiclass_figure(frame: pd.DataFrame, paper_knee: dict | None = None, subtitle: str = ""):
    """Fig. 4 redrawn in the paper's layout: clean-class and mean corrupted-class test accuracy (%) against
    p, left the corrupted label may take the clean class (include), right it may not (exclude); mean ± 1
    std over runs (clean classes and seeds); one row per data set."""
    frame = frame.assign(clean_pct=100 * frame.clean_acc, corrupted_pct=100 * frame.corrupted_acc)
    stats = summarise(frame, ["dataset", "strategy", "p"], ["clean_pct", "corrupted_pct"])
    datasets = sorted(stats.dataset.unique())
    fig, axes = plt.subplots(len(datasets), 2, figsize=(6.1, 3.3 * len(datasets)), squeeze=False, sharey=True)
    for row, dset in zip(axes, datasets):
        for ax, strat in zip(row, ("include", "exclude")):
            s = stats[(stats.dataset == dset) & (stats.strategy == strat)].sort_values("p")
            if s.empty:
                ax.text(0.5, 0.5, f"no {strat} runs", ha="center", va="center", transform=ax.transAxes)
            band(ax, s.p, s.clean_pct_mean, s.clean_pct_std, CLEAN, "clean class")
            band(ax, s.p, s.corrupted_pct_mean, s.corrupted_pct_std, CORRUPT, "corrupted classes (mean)")
            knee = (paper_knee or {}).get(dset)
            if knee is not None:
                ax.axvline(knee, color=PAPER, ls="--", lw=1, label=f"paper: corrupted hold to p ≈ {knee}")
            how = "may take" if strat == "include" else "never takes"
            ax.set(title=f"{dset}, {strat}:\nnoisy label {how} the clean class", xlabel="corruption probability p",
                   xlim=(-0.03, 1.03), ylim=(0, 102))
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(loc="center left")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9, color="#555555")
    return fig


def mtl_figure(part: pd.DataFrame, benefit: pd.DataFrame, title: str, paper_benefit: tuple[float, float]):
    """Fig. 5 redrawn for the page width: top, Task1 and Task2 accuracy (%) of the multi-task network against p
    beside the single-task baseline (mean ± 1 std; the baseline dashed and drawn beneath, so an equal MTL line
    stays visible); bottom, the transfer benefit with its 95 % interval and the paper's."""
    mtl_runs = part[part["mode"] == "mtl"]
    mtl_runs = mtl_runs.assign(task1_acc=100 * mtl_runs.task1_acc, task2_acc=100 * mtl_runs.task2_acc)
    s = summarise(mtl_runs, ["p"], ["task1_acc", "task2_acc"]).sort_values("p")
    stl = 100 * part[part["mode"] == "stl"].task1_acc
    fig, axes = plt.subplots(2, 1, figsize=(6.0, 5.6), sharex=True)
    ax = axes[0]
    band(ax, s.p, s.task1_acc_mean, s.task1_acc_std, CLEAN, "Task1 (MTL)")
    band(ax, s.p, s.task2_acc_mean, s.task2_acc_std, CORRUPT, "Task2 (MTL, noisy)", marker="s")
    if len(stl):
        ax.axhline(stl.mean(), color=OVERALL, ls="--", lw=1.2, zorder=1.5, label=f"Task1 (STL), n={len(stl)}")
        ax.axhspan(stl.mean() - np.nan_to_num(stl.std()), stl.mean() + np.nan_to_num(stl.std()),
                   color=OVERALL, alpha=0.12, lw=0, zorder=0.5)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 102), title=title)
    ax.legend(loc="lower left")
    ax = axes[1]
    if not benefit.empty:
        b = benefit
        ax.errorbar(b.p, 100 * b.benefit, yerr=[100 * (b.benefit - b.low).fillna(0), 100 * (b.high - b.benefit).fillna(0)],
                    marker="o", ms=4, color=CLEAN, capsize=3, label="ours (95 % bootstrap CI)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.plot([0, 1], list(paper_benefit), "s", color=PAPER, label="paper (p = 0 and p = 1)")
    ax.set(xlabel="Task2 corruption probability p", ylabel="MTL − STL, Task1 (points)", title="transfer benefit")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


def corrupted_span(record: dict) -> str:
    """The corrupted labels of a multi-label run as a range: 1-based positions for COCO (as the paper counts
    them), label names otherwise (digits 0–9 for the digit mosaics)."""
    res, labels = record["result"], record["result"].get("corrupted_labels") or []
    if not labels:
        return "?"
    if record["params"].get("dataset") == "mini-coco" or "label_names" not in res:
        return f"labels {labels[0] + 1}–{labels[-1] + 1}"
    return f"labels {res['label_names'][labels[0]]}–{res['label_names'][labels[-1]]}"


def multilabel_figure(part: pd.DataFrame, subtitle: str, paper_values: dict):
    """Fig. 6 redrawn: clean-group, corrupted-group and overall mAP (%) against p, one panel per case,
    mean ± 1 std over runs, with the paper's corrupted-group mAP at p = 0 and p = 1 marked."""
    stats = summarise(part, ["case", "p"], ["map_clean", "map_corrupted", "map_overall"])
    fig, axes = plt.subplots(1, 2, figsize=(6.0, 3.6), sharey=True, squeeze=False, layout="constrained")
    for ax, case in zip(axes[0], (1, 2)):
        s = stats[stats.case == case].sort_values("p")
        if s.empty:
            ax.text(0.5, 0.5, f"no case-{case} runs", ha="center", va="center", transform=ax.transAxes)
        else:
            band(ax, s.p, s.map_clean_mean, s.map_clean_std, CLEAN, "clean group")
            band(ax, s.p, s.map_corrupted_mean, s.map_corrupted_std, CORRUPT, "corrupted group")
            band(ax, s.p, s.map_overall_mean, s.map_overall_std, OVERALL, "overall", marker="s")
        ref = paper_values[f"case{case}"]
        ax.plot([0, 1], [ref["map_p0"], ref["map_p1"]], ls="none", marker="X", ms=8, color=PAPER,
                label="paper, corrupted group (mini-COCO)")
        for x, y in ((0, ref["map_p0"]), (1, ref["map_p1"])):
            ax.annotate(f"{y:.2f}", (x, y), textcoords="offset points", xytext=(0, 7), ha="center",
                        fontsize=8, color=PAPER)
        spans = part[part.case == case].corrupted.unique()
        ax.set(title=f"case {case}\n{', '.join(spans) if len(spans) else '–'} corrupted",
               xlabel="corruption probability p", xlim=(-0.05, 1.05), ylim=(0, None))
    axes[0][0].set_ylabel("test mAP (%)")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, frameon=False)
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
        s = summarise(part, ["p"], ["acc", "prec", "f1"])
        band(ax, s.p, s.acc_mean, s.acc_std, CLEAN, "accuracy (recall)")
        band(ax, s.p, s.prec_mean, s.prec_std, CORRUPT, "precision", marker="s")
        ax.plot(s.p, s.f1_mean, color=OVERALL, ls="--", lw=1.2, label="F1")
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
    from hetnoise import noise

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


def regression_figure(frame: pd.DataFrame, subtitle: str = ""):
    """Test RMSE (°) of the clean range, the corrupted range and the clean angles next to it: left against p
    (at the σ with most p values), right against σ (at the p with most σ values); mean ± 1 std over seeds."""
    frame = frame.assign(**{name: np.sqrt(frame[f"mse_{name}"]) for name in ("clean", "corrupted", "boundary")})
    sigma = frame.groupby("sigma").p.nunique().idxmax()
    q = frame.groupby("p").sigma.nunique().idxmax()
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.3), sharey=True)
    for ax, part, x, label in ((axes[0], frame[frame.sigma == sigma], "p", f"p (σ = {sigma:g}°)"),
                               (axes[1], frame[frame.p == q], "sigma", f"σ in degrees (p = {q:g})")):
        s = summarise(part, [x], ["clean", "corrupted", "boundary"]).sort_values(x)
        band(ax, s[x], s.corrupted_mean, s.corrupted_std, CORRUPT, "corrupted range")
        band(ax, s[x], s.clean_mean, s.clean_std, CLEAN, "clean range")
        band(ax, s[x], s.boundary_mean, s.boundary_std, OVERALL, "clean, next to the corrupted range", marker="s")
        ax.set(xlabel=label)
    axes[0].set(ylabel="test RMSE (°)", ylim=(0, None))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def error_by_angle_figure(records: list[dict], subtitle: str = ""):
    """Test MAE (°) per bin of true angle, mean over seeds, one line per p at the σ of the p axis; the
    corrupted range shaded. Transfer from the noisy range would show first next to it."""
    rows = [{"p": r["params"]["p"], "sigma": r["params"]["sigma"], "angle": c, "mae": m}
            for r in records for c, m in zip(r["result"]["error_by_angle"]["centre"], r["result"]["error_by_angle"]["mae"])]
    df = pd.DataFrame(rows)
    sigma = df.groupby("sigma").p.nunique().idxmax()
    df = df[df.sigma == sigma]
    ps = sorted(df.p.unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(ps)))
    prm = records[0]["params"]
    fig, ax = plt.subplots(figsize=(7.6, 3.3))
    ax.axvspan(prm["low"], prm["high"], color=CORRUPT, alpha=0.1, label="corrupted range")
    for p, colour in zip(ps, colours):
        g = df[df.p == p].groupby("angle").mae.mean()
        ax.plot(g.index, g.values, marker="o", ms=3, color=colour, label=f"p = {p:g}")
    ax.set(xlabel="true angle (°)", ylabel="test MAE (°)", ylim=(0, None))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title=f"σ = {sigma:g}°", title_fontsize=8)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig
