"""`plots.show`, which puts a figure on a book page: numbered per page, its own alt text, a caption that names
its runs, a 2× PNG shown at its 1× size, and a CSV download of exactly the numbers it is drawn from."""
import base64
import html
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Markdown  # noqa: E402
from PIL import Image  # noqa: E402

from hetnoise import plots  # noqa: E402


def figure_parts(shown: str) -> dict:
    """What a figure's HTML (as `plots.show` displays it) holds: number, alt text, caption text, the CSV's file
    name and table, the PNG's size in pixels and the size the page shows it at."""
    image = re.search(r'srcset="data:image/png;base64,([^ "]+) 2x"', shown).group(1)
    csv_data, name = re.search(r'href="data:text/csv;base64,([^"]+)" download="([^"]+)"', shown).groups()
    caption = re.sub(r"<[^>]+>", "", re.search(r"<figcaption>(.*?)</figcaption>", shown).group(1))
    return {"number": int(re.search(r"Figure (\d+)\.", caption).group(1)),
            "alt": html.unescape(re.search(r'alt="([^"]*)"', shown).group(1)), "caption": html.unescape(caption),
            "csv_name": name, "numbers": pd.read_csv(io.BytesIO(base64.b64decode(csv_data))),
            "pixels": Image.open(io.BytesIO(base64.b64decode(image))).size,
            "shown_at": tuple(int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', shown).groups())}


def capture_page(monkeypatch, module) -> dict:
    """What a study's page blocks display, collected instead of shown: Markdown texts, tables, the number of
    figures `plots.show` showed and their parts (`figure_parts`); figure numbering starts afresh."""
    out = {"markdown": [], "tables": [], "figures": 0, "parts": []}

    def display(obj):
        is_markdown = isinstance(obj, Markdown)
        out["markdown" if is_markdown else "tables"].append(obj.data if is_markdown else obj)

    def show(obj):
        out["figures"] += 1
        out["parts"].append(figure_parts(obj.data))

    monkeypatch.setattr(module, "display", display)
    monkeypatch.setattr(plots, "display", show)
    monkeypatch.setattr(plots, "NUMBERING", {"page": "", "count": 0})
    plt.close("all")
    return out


@pytest.fixture
def shown(monkeypatch):
    """The HTML of each figure `plots.show` displays, numbering from a fresh state."""
    out = []
    monkeypatch.setattr(plots, "NUMBERING", {"page": "", "count": 0})
    monkeypatch.setattr(plots, "display", lambda obj: out.append(obj.data))
    return out


def runs_frame(profile="paper", dataset="mnist", source="published", run_ids=("a", "a", "b", "c")):
    return pd.DataFrame({"run_id": list(run_ids), "profile": profile, "dataset": dataset, "source": source})


def drawn(numbers: pd.DataFrame):
    """A figure drawn from `numbers`, as a study's figure is."""
    fig, ax = plt.subplots(figsize=(6.1, 3.3))
    ax.plot(numbers.p, numbers.accuracy, label="accuracy")
    return fig


def test_each_figure_gets_its_own_alt_text_number_caption_and_numbers(shown):
    plots.page("somepage")
    tables = [pd.DataFrame({"p": [0.0, 0.5, 1.0], "accuracy": [99.0, 97.25, 12.125 + k]}) for k in range(2)]
    for k, numbers in enumerate(tables):
        assert plots.show(drawn(numbers), f"Accuracy against p, figure {k}", "Accuracy against p.", runs_frame(),
                          numbers, note="last epoch") == k + 1
    first, second = (figure_parts(html) for html in shown)
    assert (first["number"], second["number"]) == (1, 2) and first["alt"] != second["alt"]
    assert first["caption"].startswith("Figure 1. Accuracy against p; drawn from 3 runs (profile paper, data set "
                                       "mnist, published records, last epoch).")
    assert "Numbers behind figure 1 (CSV)" in first["caption"]
    assert (first["csv_name"], second["csv_name"]) == ("somepage-figure-1.csv", "somepage-figure-2.csv")
    for parts, numbers in zip((first, second), tables):
        pd.testing.assert_frame_equal(parts["numbers"], numbers)
    assert not plt.get_fignums()  # shown figures are closed, so the notebook does not show them again


def test_the_csv_holds_exactly_the_numbers_plotted(shown):
    numbers = pd.DataFrame({"p": [0.0, 0.6, 0.95], "accuracy": [98.87654321, 1 / 3, 2 / 3]})
    fig = drawn(numbers)
    (line,) = fig.axes[0].get_lines()
    plots.show(fig, "Accuracy from 98.9 % to 66.7 %", "Accuracy", runs_frame(), numbers)
    csv = figure_parts(shown[0])["numbers"]
    assert csv.p.tolist() == list(line.get_xdata()) and csv.accuracy.tolist() == list(line.get_ydata())


def test_figures_are_twice_the_resolution_they_are_shown_at(shown):
    numbers = pd.DataFrame({"p": [0.0, 1.0], "accuracy": [1.0, 2.0]})
    plots.show(drawn(numbers), "A line", "A line", runs_frame(), numbers)
    parts = figure_parts(shown[0])
    assert all(0 <= pixels - plots.DENSITY * size < plots.DENSITY for pixels, size in zip(parts["pixels"],
                                                                                       parts["shown_at"]))
    once = io.BytesIO()  # the same figure at screen resolution: the page shows the PNG at this size
    drawn(numbers).savefig(once, format="png", dpi=plots.SCREEN_DPI, bbox_inches="tight")
    plt.close("all")
    assert parts["shown_at"] == pytest.approx(Image.open(once).size, abs=1)


def test_numbering_starts_afresh_on_each_page_and_goes_on_within_one(shown):
    numbers = pd.DataFrame({"p": [0.0], "accuracy": [1.0]})
    for page in ("first", "first", "second"):
        plots.page(page)
        plots.show(drawn(numbers), f"A line on {page}", "A line", runs_frame(), numbers)
    assert [figure_parts(html)["number"] for html in shown] == [1, 2, 1]
    assert figure_parts(shown[2])["csv_name"] == "second-figure-1.csv"


def test_a_figure_without_alt_text_is_refused(shown):
    with pytest.raises(ValueError, match="alt text"):
        plots.show(drawn(pd.DataFrame({"p": [0.0], "accuracy": [1.0]})), " ", "A line", runs_frame(), pd.DataFrame())
    plt.close("all")


def test_runs_text_counts_runs_and_names_their_records():
    assert plots.runs_text(runs_frame()) == "3 runs (profile paper, data set mnist, published records)"
    mixed = pd.concat([runs_frame(), runs_frame("fashion", "fashion-mnist", "local", ("d",))])
    assert plots.runs_text(mixed, "oracle") == ("4 runs (profiles fashion, paper, data sets fashion-mnist, mnist, "
                                                "local, published records, oracle)")
    assert plots.runs_text(runs_frame(run_ids=("a",))).startswith("1 run (")


def test_trend_reads_a_column_at_both_ends():
    table = pd.DataFrame({"p": [1.0, 0.0, 0.5], "acc": [12.34, 98.76, None]})
    assert plots.trend(table, "p", "acc", " %") == "98.8 % at p = 0 to 12.3 % at p = 1"
    assert plots.trend(table, "p", "acc", "°", "σ", "°") == "98.8° at σ = 0° to 12.3° at σ = 1°"
    assert plots.trend(table.iloc[:0], "p", "acc") == "no value"
