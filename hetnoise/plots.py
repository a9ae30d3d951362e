"""One look for every figure in the notebooks and the book, and the pieces the studies' figures share: among
them `show`, which puts a figure on a book page numbered, with its own alt text, a caption naming its runs and
the numbers behind it as a CSV download."""
from __future__ import annotations

import base64
import html
import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, display
from PIL import Image

from hetnoise import stats, tables

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


def summarise_seeds(frame: pd.DataFrame, by: list[str], values: list[str]) -> pd.DataFrame:
    """`summarise`, with the number of seeds of each group and the 95 % t interval of the mean over them (each
    seed's mean over its rows; NaN under two seeds), as `value_low` and `value_high`."""
    rows = []
    for key, cell in frame.groupby(by):
        row = dict(zip(by, key), seeds=cell.seed.nunique())
        for value in values:
            _, row[f"{value}_low"], row[f"{value}_high"] = stats.t_interval(stats.per_unit(cell, value, ("seed",)))
        rows.append(row)
    columns = [*by, "seeds", *(f"{value}_{end}" for value in values for end in ("low", "high"))]
    return summarise(frame, by, values).merge(pd.DataFrame(rows, columns=columns), on=by)


def over_seeds(numbers: pd.DataFrame) -> bool:
    """Whether a figure drawn from `summarise_seeds` shows intervals over seeds: every point has two or more
    (else ± 1 std over its rows, so that one band means one thing across the figure)."""
    return bool(len(numbers)) and int(numbers.seeds.min()) >= 2


def spread(numbers: pd.DataFrame) -> str:
    """What the bands of a figure drawn from `summarise_seeds` show, in words."""
    if over_seeds(numbers):
        low, high = int(numbers.seeds.min()), int(numbers.seeds.max())
        return f"mean and 95 % t interval over {'the ' + str(low) if low == high else f'{low} to {high}'} seeds"
    return "mean ± 1 std over clean classes and seeds"


def seed_band(ax, cells: pd.DataFrame, value: str, intervals: bool, color, label, marker="o"):
    """A line of `summarise_seeds` numbers with its interval over seeds, or its ± 1 std band."""
    mean, std = cells[f"{value}_mean"], cells[f"{value}_std"].fillna(0)
    low, high = (cells[f"{value}_low"], cells[f"{value}_high"]) if intervals else (mean - std, mean + std)
    interval(ax, cells.p, mean, low, high, color, label, marker)


def band(ax, x, mean, std, color, label, marker="o"):
    """A line with markers and a ±1 std band (no band where std is undefined)."""
    mean, std = np.asarray(mean, dtype=float), np.nan_to_num(np.asarray(std, dtype=float))
    interval(ax, x, mean, mean - std, mean + std, color, label, marker)


def interval(ax, x, mean, low, high, color, label, marker="o"):
    """A line with markers and a band from `low` to `high` (none where they are undefined)."""
    x, mean = np.asarray(x), np.asarray(mean, dtype=float)
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    ax.plot(x, mean, marker=marker, ms=4, color=color, label=label)
    ax.fill_between(x, low, high, where=np.isfinite(low) & np.isfinite(high), color=color, alpha=0.2, lw=0)


# A page's figure is saved at DENSITY × SCREEN_DPI and shown at its SCREEN_DPI size (an <img srcset> "2x"
# candidate), one image pixel a CSS pixel as the notebooks' figures are: text drawn at 10 pt reads at 11.5 pt
# (96 CSS px are 72 pt) unless a narrow column shrinks the figure, and stays sharp on high-density screens.
SCREEN_DPI = 110
DENSITY = 2
# The page whose figures are being numbered, how many it has shown, and what its captions add about the runs.
NUMBERING = {"page": "", "count": 0, "links": None}


def page(key: str, links=None) -> None:
    """Number the figures of page `key` from 1: a new key starts afresh, the same key (a later block of the
    same page) goes on counting. A book page runs in a kernel of its own; the key keeps a kernel that draws
    several pages (tests, notebooks) from numbering across them, and names the page's CSV files. `links(frame)`
    gives the HTML a caption adds about the runs it is drawn from (where to find them, how to make them)."""
    if key != NUMBERING["page"]:
        NUMBERING.update(page=key, count=0)
    NUMBERING["links"] = links


def show(fig, alt: str, what: str, runs, numbers: pd.DataFrame, note: str = "") -> int:
    """Show `fig` in place of `plt.show()`, as the page's next numbered figure, and close it: a 2× PNG with its
    own `alt` text, the caption "Figure N. `what`; drawn from K runs (profile, data set, records, `note`)" and a
    link that downloads `numbers` (the table the figure is drawn from) as a CSV. `runs`: the records frame
    (`tables.frame`) or the records the figure is drawn from. Returns N. One line per figure:

        plots.show(fig, alt, "Test accuracy against p", runs=frame, numbers=table, note="last epoch")
    """
    if not alt.strip():
        raise ValueError("a figure needs an alt text of its own: what it shows, for a reader who cannot see it")
    NUMBERING["count"] += 1
    number = NUMBERING["count"]
    caption = (f"<strong>Figure {number}.</strong> {html.escape(what.rstrip('. '))}; drawn from "
               f"{html.escape(runs_text(runs, note))}. {csv_link(numbers, number)}{run_links(runs)}")
    display(HTML(figure_html(fig, alt, caption, number)))
    plt.close(fig)
    return number


def runs_text(runs, note: str = "") -> str:
    """"12 runs (profile paper, data set mnist, published records)": what a figure is drawn from."""
    frame = runs if isinstance(runs, pd.DataFrame) else tables.frame(list(runs))
    count = frame.run_id.nunique() if "run_id" in frame else len(frame)
    parts = [named(frame, "profile", "profile"), named(frame, "dataset", "data set"),
             f"{', '.join(sorted(frame.source.unique()))} records" if "source" in frame and len(frame) else "", note]
    return f"{count} run{'s' * (count != 1)} ({', '.join(part for part in parts if part)})"


def run_links(runs) -> str:
    """What the page's `links` says of the runs a figure is drawn from ("" when the page set none)."""
    links = NUMBERING.get("links")
    return links(runs if isinstance(runs, pd.DataFrame) else tables.frame(list(runs))) if links else ""


def named(frame: pd.DataFrame, column: str, word: str) -> str:
    """"data set mnist", "data sets digits, mnist": the values of a column, after their name ("" when none)."""
    values = sorted(str(v) for v in frame[column].dropna().unique()) if column in frame else []
    return f"{word}{'s' * (len(values) > 1)} {', '.join(values)}" if values else ""


def csv_name(number: int) -> str:
    """The file name a figure's numbers download as: the page's key and the figure's number."""
    return f"{NUMBERING['page'] or 'page'}-figure-{number}.csv"


def csv_link(numbers: pd.DataFrame, number: int) -> str:
    """A self-contained link (a data: URL) that downloads `numbers` as a CSV file."""
    data = base64.b64encode(numbers.to_csv(index=False).encode()).decode()
    return (f'<a class="figure-numbers" href="data:text/csv;base64,{data}" download="{csv_name(number)}">'
            f"Numbers behind figure {number} (CSV)</a>")


def png(fig) -> tuple[bytes, int, int]:
    """`fig` as PNG bytes at DENSITY × SCREEN_DPI, cropped to what is drawn, with its width and height in pixels;
    in a palette of 256 colours, which keeps a third of the bytes with no visible loss on these plots."""
    drawn = io.BytesIO()
    fig.savefig(drawn, format="png", dpi=DENSITY * SCREEN_DPI, bbox_inches="tight")
    image = Image.open(drawn).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), *image.size


def figure_html(fig, alt: str, caption: str, number: int) -> str:
    """A <figure>: the PNG inline as a "2x" image (so it shows at its screen size) with its alt text, and the
    caption (HTML) below it."""
    data, width, height = png(fig)
    source = base64.b64encode(data).decode()
    return (f'<figure class="hetnoise-figure" id="figure-{number}" style="margin: 1em 0;">'
            f'<img srcset="data:image/png;base64,{source} {DENSITY}x" alt="{html.escape(alt)}" '
            f'width="{width // DENSITY}" height="{height // DENSITY}" style="max-width: 100%; height: auto;">'
            f"<figcaption>{caption}</figcaption></figure>")


def trend(table: pd.DataFrame, x: str, column: str, unit: str = "", name: str = "", x_unit: str = "") -> str:
    """"98.9 % at p = 0 to 97.5 % at p = 1": a plotted column at the smallest and the largest `x` (`name` for x in
    words), one decimal, for a figure's alt text; "no value" when the column has none."""
    rows = table.dropna(subset=[column]).sort_values(x)
    if rows.empty:
        return "no value"
    first, last = rows.iloc[0], rows.iloc[-1]
    return (f"{first[column]:.1f}{unit} at {name or x} = {first[x]:g}{x_unit} to {last[column]:.1f}{unit} at "
            f"{name or x} = {last[x]:g}{x_unit}")
