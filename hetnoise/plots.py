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
    """Fig. 4 redrawn: clean-class and mean corrupted-class test accuracy against p, one panel per
    data set × strategy, mean ± std over runs (clean classes and seeds)."""
    stats = summarise(frame, ["dataset", "strategy", "p"], ["clean_acc", "corrupted_acc"])
    panels = list(stats.groupby(["dataset", "strategy"]).groups)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.2), squeeze=False, sharey=True)
    for ax, (dset, strat) in zip(axes[0], panels):
        s = stats[(stats.dataset == dset) & (stats.strategy == strat)].sort_values("p")
        band(ax, s.p, s.clean_acc_mean, s.clean_acc_std, CLEAN, "clean class")
        band(ax, s.p, s.corrupted_acc_mean, s.corrupted_acc_std, CORRUPT, "corrupted classes (mean)")
        knee = (paper_knee or {}).get(dset)
        if knee is not None:
            ax.axvline(knee, color=PAPER, ls="--", lw=1)
            ax.annotate(f"paper: holds to p≈{knee}", (knee, 0.04), rotation=90, ha="right", va="bottom",
                        fontsize=7.5, color=PAPER)
        label = "clean class may be drawn" if strat == "include" else "clean class never drawn"
        ax.set(title=f"{dset}, {strat} ({label})", xlabel="corruption probability p", xlim=(-0.03, 1.03),
               ylim=(0, 1.02))
    axes[0][0].set_ylabel("test accuracy")
    axes[0][0].legend(loc="lower left")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9, color="#555555")
    return fig
