"""Tables of runs for the book, from records written by the real `records.save_run`."""
import json

import matplotlib.pyplot as plt
import nbformat
import pandas as pd

from hetnoise import grids, plots, records, runs, settings, tables

RESULT = {"clean_acc": 0.9, "corrupted_acc": 0.5, "test_acc": 0.6, "per_class_acc": [], "best_epoch": 1,
          "wall_time_s": 1.0}


def make_runs(tmp_path):
    paths = []
    for p, seconds in ((0.0, 10.0), (0.6, 12.0), (1.0, 14.0)):
        params = settings.resolve("multiclass", {"profile": "smoke", "p": p, "clean_class": 0, "strategy": "exclude",
                                                 "seed": 0, "epochs": 2})
        paths.append(records.save_run(tmp_path, "multiclass", params, {**RESULT, "wall_time_s": seconds}))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# a run"), nbformat.v4.new_code_cell("1 + 1")])
    for path in paths[:2]:
        nbformat.write(nb, path.with_suffix(".ipynb"))
    return records.load_records(tmp_path)[0], paths


def test_runs_table(tmp_path):
    recs, paths = make_runs(tmp_path)
    table = runs.runs_table(recs)
    assert len(table) == 3 and set(table.study) == {"multiclass"}
    assert table["wall time (s)"].sum() == 36.0
    assert (table.notebook != "–").sum() == 2 and table["git revision"].str.len().max() <= 10
    assert "p=0.6" in " ".join(table.parameters) and "strategy=exclude" in " ".join(table.parameters)


def test_representative_run_and_its_html(tmp_path):
    recs, paths = make_runs(tmp_path)
    chosen = runs.representative(recs, "multiclass")
    assert chosen["params"]["p"] == 0.6  # the largest p not above 0.9 among runs with a notebook
    assert runs.representative(recs, "mtl") is None
    for clean in range(1, 10):  # runs packed behind the p = 0.6 run: its notebook shows that first one
        params = {**chosen["params"], "clean_class": clean}
        path = records.save_run(tmp_path, "multiclass", params, {**RESULT, "pack_index": clean})
        path.with_suffix(".ipynb").write_text(paths[1].with_suffix(".ipynb").read_text())
    assert runs.representative(records.load_records(tmp_path)[0], "multiclass")["run_id"] == chosen["run_id"]
    older = {**chosen, "protocol": chosen["protocol"] - 1}  # an earlier protocol's run gives way to the p = 0 one
    others = [r for r in recs if r["run_id"] != chosen["run_id"]]
    assert runs.representative([older, *others], "multiclass")["params"]["p"] == 0.0
    html = runs.notebook_html(runs.notebook_of(chosen))
    assert "<h1" in html and "a run" in html and "<html" not in html  # a fragment, for a page


def test_versions_and_expected_time(tmp_path):
    recs, _ = make_runs(tmp_path)
    versions = runs.versions_table(recs)
    assert versions.runs.sum() == 3 and "torch" in versions.columns
    timing = runs.expected_time(recs)
    row = timing.iloc[0]
    assert row["runs measured"] == 3 and row["seconds per run"] == 12.0 and row["data set"] == "digits"
    # the smoke grid trains 10 epochs: runs of 2 epochs price none of its cells
    assert row["epochs"] == 2 and pd.isna(row["runs in the grid"]) and pd.isna(row["hours for the grid"])
    assert runs.expected_time([]).empty and runs.runs_table([]).empty
    json.dumps(timing.to_dict())


def test_expected_time_prices_only_the_data_sets_it_measured(tmp_path):
    """MNIST runs of the multi-class `paper` profile price the grid's MNIST cells only: its CIFAR-10 cells,
    which no run measured, get no row and no share of the time."""
    for p, seconds in ((0.0, 100.0), (0.6, 140.0)):
        params = settings.resolve("multiclass", {"profile": "paper", "dataset": "mnist", "p": p, "clean_class": 0,
                                                 "strategy": "exclude", "seed": 0})
        records.save_run(tmp_path, "multiclass", params, {**RESULT, "wall_time_s": seconds})
    timing = runs.expected_time(records.load_records(tmp_path)[0])
    assert len(timing) == 1
    row = timing.iloc[0]
    assert row["data set"] == "mnist" and row["epochs"] == 14 and row["seconds per run"] == 120.0
    mnist_cells = [c for c in grids.cells("multiclass", "paper") if c["dataset"] == "mnist"]
    assert 0 < row["runs in the grid"] == len(mnist_cells) < len(grids.cells("multiclass", "paper"))
    assert abs(row["hours for the grid"] - 120.0 * len(mnist_cells) / 3600) < 1e-9


def test_the_sweep_command_names_what_narrows_the_grid_to_the_runs(tmp_path):
    recs, _ = make_runs(tmp_path)  # smoke, digits, seed 0, 2 epochs: the smoke grid's LeNet-5 trains 10
    frame = tables.frame(recs)
    assert runs.sweep_command("multiclass", "smoke", frame) == (
        "hetnoise sweep multiclass --profile smoke --set epochs=2")
    grid = pd.DataFrame([settings.resolve("multiclass", {**cell, "profile": "paper"})
                         for cell in grids.cells("multiclass", "paper")])
    assert runs.sweep_command("multiclass", "paper", grid) == "hetnoise sweep multiclass --profile paper"
    mnist = grid[grid.dataset == "mnist"]
    assert runs.sweep_command("multiclass", "paper", mnist[mnist.seed == 0]) == (
        "hetnoise sweep multiclass --profile paper --set dataset=mnist --seeds 0")
    two = mnist.assign(epochs=[2, 4] * (len(mnist) // 2) + [2] * (len(mnist) % 2))
    assert runs.sweep_command("multiclass", "paper", two).endswith("--set dataset=mnist --set 'epochs=[2, 4]'")


def test_a_figures_caption_links_each_profile_to_its_runs(tmp_path, monkeypatch):
    recs, _ = make_runs(tmp_path)
    assert runs.figure_links("multiclass", tables.frame(recs)) == (
        ' Runs: <a href="provenance.html#runs-multiclass-smoke">the smoke runs</a>, made by '
        "<code>hetnoise sweep multiclass --profile smoke --set epochs=2</code>.")
    assert f'<div id="{runs.anchor("multiclass", "smoke")}">' in runs.group_markdown(recs, tmp_path)
    shown = []
    monkeypatch.setattr(plots, "display", lambda obj: shown.append(obj.data))
    monkeypatch.setattr(plots, "NUMBERING", {"page": "", "count": 0, "links": None})
    plots.page("multiclass", links=lambda frame: f" {len(frame)} runs, linked.")
    plots.show(plt.figure(), "alt", "what", recs, pd.DataFrame({"x": [1, 2]}))
    plots.page("another page")
    plots.show(plt.figure(), "alt", "what", recs, pd.DataFrame({"x": [1, 2]}))
    assert " 3 runs, linked." in shown[0] and "linked" not in shown[1]


def test_device_names_are_short_in_run_tables():
    """The per-run tables name a device without trademarks and filler words, so a table of two machines fits
    the page; the machines table keeps the whole name."""
    assert runs.short_device("Intel(R) Xeon(R) Processor") == "Intel Xeon"
    assert runs.short_device("Intel(R) Xeon(R) CPU @ 2.20GHz") == "Intel Xeon @ 2.20GHz"
    assert runs.short_device("AMD EPYC") == "AMD EPYC" and runs.short_device("") == ""
