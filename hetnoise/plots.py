"""One look for every figure in the notebooks and the book, and the pieces the studies' figures share."""
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
