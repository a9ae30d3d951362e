"""The regression study: the noise with probability p against its definition, the rotated-digit task and its
error measures, the pipeline the notebook calls, the claims on synthetic records with a known truth, the
blocks of the book page on small fake records, and a toy-size papermill run."""
import json
import math

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import pytest
import torch
from scipy import stats

from conftest import papermill
from hetnoise import claims, noise, regression, report, settings, tables
from hetnoise.spec import Recipe
from test_plots import capture_page


# ------------------------------------------------------------------------------------------- noise with p
@pytest.mark.parametrize("p", [0.0, 0.3, 0.75, 1.0])
def test_each_target_in_range_is_corrupted_with_probability_p(p):
    y = np.random.default_rng(0).uniform(-45, 45, 40_000)
    noisy, rep = noise.corrupt_regression(y, 0, 45, 10.0, seed=3, p=p)
    inside = (y >= 0) & (y <= 45)
    np.testing.assert_array_equal(noisy[~rep.changed], y[~rep.changed])
    assert not rep.changed[~inside].any() and (noisy[inside] >= 0).all() and (noisy[inside] <= 45).all()
    k, n = int(rep.changed.sum()), int(inside.sum())
    assert stats.binomtest(k, n, p).pvalue > 1e-4 if 0 < p < 1 else k == n * p
    assert rep.to_dict()["p"] == p and rep.to_dict()["n_changed"] == k and not rep.warnings


def test_a_corrupted_target_follows_the_truncated_gaussian_whatever_p():
    y = np.full(40_000, 5.0)
    noisy, rep = noise.corrupt_regression(y, 0, 45, 20.0, seed=1, p=0.5)
    ref = stats.truncnorm((0 - 5) / 20, (45 - 5) / 20, loc=5, scale=20)
    assert stats.kstest(noisy[rep.changed], ref.cdf).pvalue > 1e-4
    assert noisy[rep.changed].mean() > 5  # truncation at 0 pulls labels near the boundary into the range


def test_corruption_is_nested_in_p_and_p_1_is_the_old_process():
    y = np.random.default_rng(2).uniform(-45, 45, 5_000)
    low = noise.corrupt_regression(y, 0, 45, 10.0, seed=7, p=0.3)
    high = noise.corrupt_regression(y, 0, 45, 10.0, seed=7, p=0.8)
    assert (low[1].changed <= high[1].changed).all()
    np.testing.assert_array_equal(low[0][low[1].changed], high[0][low[1].changed])
    np.testing.assert_array_equal(noise.corrupt_regression(y, 0, 45, 10.0, seed=7, p=1.0)[0],
                                  noise.corrupt_regression(y, 0, 45, 10.0, seed=7)[0])


@pytest.mark.parametrize("bad", [1.5, -0.1, True, "0.5", float("nan")])
def test_a_bad_p_is_refused(bad):
    with pytest.raises(ValueError, match="p="):
        noise.corrupt_regression([1.0, 2.0], 0, 3, 1.0, p=bad)


# ------------------------------------------------------------------------------------- task and measures
def test_rotation_is_counter_clockwise_and_angles_are_fixed_and_uniform():
    x = torch.zeros(1, 1, 29, 29, dtype=torch.uint8)
    x[0, 0, 4, 14] = 255  # a dot above the centre
    turned = regression.rotate(x, np.array([90.0]))[0, 0]
    row, col = divmod(int(turned.argmax()), 29)
    assert (row, col) == (14, 4)  # moved to the left of the centre
    a = regression.angles(50_000, 45, "train")
    np.testing.assert_array_equal(a, regression.angles(50_000, 45, "train"))
    assert stats.kstest(a, stats.uniform(-45, 90).cdf).pvalue > 1e-4
    assert not np.array_equal(a[:100], regression.angles(100, 45, "test"))


def test_errors_per_range():
    true = np.array([-40.0, -5.0, 3.0, 30.0, 44.0])
    pred = true + np.array([1.0, -2.0, 3.0, -4.0, 5.0])
    e = regression.errors(true, pred, 0, 45, band=10)
    assert (e["n_clean"], e["n_corrupted"], e["n_boundary"], e["n_overall"]) == (2, 3, 1, 5)
    assert e["mse_clean"] == pytest.approx((1 + 4) / 2) and e["mae_corrupted"] == pytest.approx(4)
    assert e["mse_boundary"] == pytest.approx(4) and e["bias_boundary"] == pytest.approx(-2)
    assert math.isnan(regression.errors(true, pred, 50, 60)["mse_corrupted"])
    curve = regression.error_by_angle(true, pred, 45, width=45)
    assert curve["centre"] == [-22.5, 22.5] and curve["n"] == [2, 3] and curve["mae"] == pytest.approx([1.5, 4])


def test_settings_refuse_an_empty_range():
    with pytest.raises(ValueError, match="low=10 must be below high=10"):
        settings.resolve("regression", {"low": 10.0, "high": 10.0})


def test_settings_refuse_augmentation_and_accept_it_unset():
    with pytest.raises(ValueError, match="augment=True would flip"):
        settings.resolve("regression", {"augment": True})
    assert settings.resolve("regression", {"augment": False})["augment"] is False
    assert settings.resolve("regression", {"profile": "smoke"})["augment"] is False


# ------------------------------------------------------------------------------------------- pipeline
def test_subset_is_seeded_nested_in_n_train_and_split_nine_to_one():
    labels = np.repeat(np.arange(10), 100)
    train_idx, val_idx = regression.subset(labels, 500, split_seed=3)
    assert len(train_idx) == 450 and len(val_idx) == 50 and not set(train_idx) & set(val_idx)
    assert (np.diff(train_idx) > 0).all() and (np.diff(val_idx) > 0).all()
    used = np.bincount(labels[np.concatenate([train_idx, val_idx])], minlength=10)
    assert np.abs(np.bincount(labels[val_idx], minlength=10) - used / 10).max() <= 1  # stratified
    again = regression.subset(labels, 500, split_seed=3)
    np.testing.assert_array_equal(train_idx, again[0])
    bigger = regression.subset(labels, 800, split_seed=3)
    assert set(train_idx) | set(val_idx) <= set(bigger[0]) | set(bigger[1])  # a smaller run uses a subset
    everything = regression.subset(torch.as_tensor(labels), 10_000, split_seed=0)
    assert len(everything[0]) + len(everything[1]) == 1000


def test_rotated_parts_keep_each_image_its_angle_whatever_the_subset():
    x_train = torch.randint(0, 256, (40, 1, 9, 9), dtype=torch.uint8)
    x_test = torch.randint(0, 256, (10, 1, 9, 9), dtype=torch.uint8)
    train_idx, val_idx = np.array([1, 5, 7]), np.array([2, 30])
    parts = regression.rotated(x_train, x_test, 30.0, train_idx, val_idx)
    all_train, all_test = regression.angles(40, 30.0, "train"), regression.angles(10, 30.0, "test")
    np.testing.assert_array_equal(parts["train"][1], all_train[train_idx])
    np.testing.assert_array_equal(parts["val"][1], all_train[val_idx])
    np.testing.assert_array_equal(parts["test"][1], all_test)
    assert torch.equal(parts["val"][0], regression.rotate(x_train[val_idx], all_train[val_idx]))
    assert torch.equal(parts["test"][0], regression.rotate(x_test, all_test))
    assert parts["train"][0].dtype == torch.uint8 and parts["train"][0].shape == (3, 1, 9, 9)


def test_pixel_stats_and_targets():
    images = torch.tensor([[[[0, 255]]], [[[255, 255]]]], dtype=torch.uint8)
    mean, std = regression.pixel_stats(images)
    assert mean == pytest.approx((0.75,)) and std == pytest.approx((0.5,))
    scaled = regression.targets(np.array([-45.0, 0.0, 22.5]), 45.0)
    assert scaled.dtype == torch.float32 and scaled.tolist() == [-1.0, 0.0, 0.5]


def test_corrupt_follows_the_run_parameters():
    true = np.random.default_rng(0).uniform(-45, 45, 2_000)
    run = {"low": 0.0, "high": 45.0, "sigma": 10.0, "seed": 4, "p": 0.5}
    noisy, rep = regression.corrupt(true, run)
    expected, _ = noise.corrupt_regression(true, 0.0, 45.0, 10.0, seed=4, p=0.5)
    np.testing.assert_array_equal(noisy, expected)
    assert rep.to_dict()["p"] == 0.5 and not rep.changed[true < 0].any()


class Constant(torch.nn.Module):
    """A network whose one output is a fixed value, whatever the image."""

    def __init__(self, value: float):
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor([value]))

    def forward(self, x):
        return self.value.expand(len(x), 1)


def toy_parts(n: int = 60, max_angle: float = 45.0) -> dict:
    """Rotated random 28×28 images split as a run splits them."""
    x = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    train_idx, val_idx = regression.subset(np.arange(n) % 2, n, 0)
    return regression.rotated(x, x[:20], max_angle, train_idx, val_idx)


def test_evaluate_measures_predictions_in_degrees_per_range():
    parts = toy_parts()
    run = {"low": 0.0, "high": 45.0, "max_angle": 45.0}
    errs, by_angle = regression.evaluate(Constant(0.5), parts, (0.5,), (0.25,), run)
    true = parts["test"][1]
    assert errs == pytest.approx(regression.errors(true, np.full(len(true), 22.5), 0.0, 45.0), nan_ok=True)
    expected = regression.error_by_angle(true, np.full(len(true), 22.5), 45.0)
    assert by_angle["mae"] == pytest.approx(expected["mae"], nan_ok=True) and by_angle["n"] == expected["n"]
    table = regression.range_table(errs)
    assert table.range.tolist() == list(regression.RANGES) and table["test images"].iloc[-1] == 20


def test_fit_trains_on_scaled_noisy_angles_and_result_holds_the_record_fields():
    parts = toy_parts()
    run = {"model": "lenet5", "seed": 0, "device": "cpu", "run_id": "toy", "low": 0.0, "high": 45.0, "sigma": 10.0,
           "p": 1.0, "max_angle": 45.0}
    net = regression.model(run, 1)
    noisy, noise_report = regression.corrupt(parts["train"][1], run)
    mean, std = regression.pixel_stats(parts["train"][0])
    history = regression.fit(net, parts, noisy, Recipe(epochs=1, batch_size=16), mean, std, run)
    assert len(history.epochs) == 1 and history.best_epoch == 1
    errs, by_angle = regression.evaluate(net, parts, mean, std, run)
    result = regression.result(errs, by_angle, noise_report, history, net, parts, "toy.npz", torch.device("cpu"),
                               wall_time_s=1.5)
    assert set(regression.RESULT_FIELDS) <= set(result)
    assert set(result) == set(errs) | {"rmse_clean", "rmse_corrupted", "rmse_boundary", "rmse_overall", "band",
                                       "error_by_angle", "noise", "history", "best_epoch", "n_params", "n_train",
                                       "n_val", "n_test", "data_source", "device", "wall_time_s"}
    assert result["rmse_boundary"] == pytest.approx(math.sqrt(errs["mse_boundary"]))
    assert (result["n_train"], result["n_val"], result["n_test"]) == (54, 6, 20)
    assert result["device"] == "cpu" and result["band"] == regression.BAND and result["noise"]["n_changed"] > 0


# ---------------------------------------------------------------------------------------------- claims
def regression_frame(clean_rise=0.0, corrupted_rise=8.0, runs=3, noise_sd=0.2, seed=0):
    """Synthetic records: RMSE (°) of each range grows in proportion to p × σ, by the given amount at p = 1 and
    σ = 40° (half of it at σ = 20°, the σ of the p axis)."""
    rng = np.random.default_rng(seed)
    cells = [(p, 20.0) for p in (0.0, 0.25, 0.5, 0.75, 1.0)] + [(1.0, 5.0), (1.0, 40.0)]
    rows = []
    for p, sigma in cells:
        for seed_ in range(runs):
            strength = p * sigma / 40

            def rmse(base, rise):
                return (base + rise * strength + rng.normal(0, noise_sd)) ** 2

            rows.append({"profile": "mnist-rotation", "dataset": "mnist", "low": 0.0, "high": 45.0, "max_angle": 45.0,
                         "band": 10.0, "p": p, "sigma": sigma, "seed": seed_, "mse_clean": rmse(6, clean_rise),
                         "mse_boundary": rmse(7, clean_rise), "mse_corrupted": rmse(6, corrupted_rise)})
    return pd.DataFrame(rows)


def verdicts(frame):
    table = report.evaluate({"regression": frame})
    return {row.claim.split(" (")[0] + (" σ" if "σ grows" in row.claim else ""): row for row in table.itertuples()}


def test_the_margin_is_marginss_share_of_the_angle_span():
    assert regression.margin_for(45) == pytest.approx(round(claims.MARGIN / 100 * 90, 2))


def test_a_flat_clean_range_holds_and_a_rising_one_does_not():
    flat = verdicts(regression_frame())
    assert {v.verdict for v in flat.values()} == {claims.HOLDS}, flat
    assert len(flat) == 4 and all(v.study == "regression" for v in flat.values())
    rising = verdicts(regression_frame(clean_rise=6.0))
    assert rising["the clean range's error stays flat as p grows"].verdict == claims.FAILS
    assert "rise" in rising["the clean range's error stays flat as p grows"].why
    assert rising["the clean range's error stays flat as σ grows σ"].verdict == claims.FAILS


def test_a_small_real_rise_holds_in_words_and_noisy_runs_cannot_tell():
    small = verdicts(regression_frame(clean_rise=1.0, noise_sd=0.02))
    row = small["the clean range's error stays flat as p grows"]
    assert row.verdict == claims.HOLDS and row.why.startswith("flat within ±1.75 °; a small real rise of")
    noisy = verdicts(regression_frame(noise_sd=4.0))
    assert noisy["the clean range's error stays flat as p grows"].verdict == claims.UNDECIDED


def test_too_few_runs_and_an_absent_premise():
    few = verdicts(regression_frame(runs=2))
    assert {v.verdict for v in few.values()} == {claims.TOO_FEW}
    no_harm = verdicts(regression_frame(corrupted_rise=-3.0, noise_sd=0.05))
    assert no_harm["the noise raises the corrupted range's error"].verdict == claims.FAILS


# ------------------------------------------------------------------------------------------- book page
def fake_record(profile="mnist-rotation", dataset="mnist", p=0.0, sigma=20.0, seed=0, rmse=10.0):
    """A record with the fields the page reads: parameters, errors per range, the error curve, provenance."""
    params = {"dataset": dataset, "model": "lenet5", "p": p, "sigma": sigma, "low": 0.0, "high": 45.0,
              "max_angle": 45.0, "seed": seed, "split_seed": 0, "epochs": 2, "batch_size": 64, "optimizer": "adam",
              "lr": 0.002, "weight_decay": 0.0, "schedule": "constant"}
    result = {f"{kind}_{name}": (rmse + p) ** (2 if kind == "mse" else 1) for kind in ("mse", "mae")
              for name in regression.RANGES}
    result.update(band=10.0, n_train=90, n_val=10, n_test=50, n_params=61, wall_time_s=2.0,
                  error_by_angle={"centre": [-22.5, 22.5], "mae": [rmse, rmse + p], "bias": [0.0, p], "n": [25, 25]})
    return {"study": "regression", "run_id": f"{profile}-{p}-{sigma}-{seed}", "profile": profile, "params": params,
            "result": result, "provenance": {"device_name": "cpu", "git_revision": "abc"}, "_source": "local"}


def fake_loaded(profiles=("mnist-rotation", "smoke")) -> tables.Loaded:
    """Three seeds at three p (σ = 20°) and two more σ at p = 1, for each profile."""
    cells = [(0.0, 20.0), (0.5, 20.0), (1.0, 20.0), (1.0, 5.0), (1.0, 40.0)]
    recs = [fake_record(profile, "digits" if profile == "smoke" else "mnist", p, sigma, seed)
            for profile in profiles for p, sigma in cells for seed in range(3)]
    return tables.Loaded(recs, tables.frame(recs), [])


@pytest.fixture
def shown(monkeypatch):
    """What the page's blocks display (test_plots.capture_page); afterwards no figure is left open for the
    notebook to show a second time."""
    yield capture_page(monkeypatch, regression)
    assert not plt.get_fignums()


def test_results_shows_paper_first_and_the_smoke_check_last_without_its_angle_curve(shown):
    regression.results(fake_loaded(("smoke", "mnist-rotation")))
    headings = [text for text in shown["markdown"] if text.startswith("###")]
    assert headings[0] == "### mnist, profile `mnist-rotation` (local records)"
    assert headings[1].startswith("### Pipeline check: `smoke` profile, digits")
    assert shown["figures"] == 3  # paper: errors and error per angle; smoke: errors only
    assert sum(text.startswith("**Where the error sits.**") for text in shown["markdown"]) == 1
    assert "within 10° of the corrupted range" in shown["markdown"][2]


def test_each_figure_has_its_own_alt_text_caption_and_numbers(shown):
    loaded = fake_loaded(("mnist-rotation",))
    regression.results(loaded)
    errors, angles = shown["parts"]
    assert (errors["number"], angles["number"]) == (1, 2) and errors["alt"] != angles["alt"]
    assert "Left, against p at σ = 20°: corrupted range 10.0° at p = 0 to 11.0° at p = 1" in errors["alt"]
    assert "mean over the bins of the corrupted range 10.0° at p = 0 to 11.0° at p = 1" in angles["alt"].lower()
    assert "drawn from 15 runs (profile mnist-rotation, data set mnist, local records)" in errors["caption"]
    assert "drawn from 9 runs" in angles["caption"]  # the error curve is drawn at σ = 20° only
    pd.testing.assert_frame_equal(errors["numbers"], regression.error_numbers(loaded.frame), check_dtype=False)
    pd.testing.assert_frame_equal(angles["numbers"], regression.angle_numbers(loaded.records), check_dtype=False)


def test_figures_plot_their_numbers():
    loaded = fake_loaded(("mnist-rotation",))
    numbers = regression.error_numbers(loaded.frame)
    fig = regression.figure(loaded.frame)
    corrupted = fig.axes[1].get_lines()[0]  # right panel: against σ
    assert list(corrupted.get_xdata()) == [5, 20, 40]
    assert list(corrupted.get_ydata()) == numbers[numbers.axis == "sigma"].corrupted_mean.tolist()
    angles = regression.angle_numbers(loaded.records)
    fig = regression.error_by_angle_figure(loaded.records)
    assert [list(line.get_ydata()) for line in fig.axes[0].get_lines()] == [
        angles[angles.p == p].mae.tolist() for p in (0.0, 0.5, 1.0)]
    plt.close("all")


def test_results_without_records_says_how_to_make_them(shown):
    regression.results(tables.Loaded([], tables.frame([]), []))
    assert shown["markdown"] == [regression.NO_RECORDS] and shown["figures"] == 0


def test_cell_table_gives_the_mean_error_per_cell_in_degrees():
    table = regression.cell_table(fake_loaded(("mnist-rotation",)).frame).data
    assert list(table.columns) == ["σ (°)", "p", *regression.TABLE_COLUMNS, "runs"]
    assert table[["σ (°)", "p"]].values.tolist() == [[5, 1], [20, 0], [20, 0.5], [20, 1], [40, 1]]
    assert table["clean RMSE"].tolist() == pytest.approx([11, 10, 10.5, 11, 11]) and set(table.runs) == {3}


def test_what_was_run_sets_the_papers_proposal_beside_the_mnist_profile_only():
    loaded = fake_loaded(("mnist-rotation", "smoke"))
    paper = regression.what_was_run(loaded.of(profile="mnist-rotation").records, "mnist-rotation").data
    assert list(paper.columns) == ["", "these runs", "paper (§6, proposed)"]
    assert "of the grid's 21" in paper.set_index("").loc["runs", "these runs"]
    smoke = regression.what_was_run(loaded.of(profile="smoke").records, "smoke").data
    assert list(smoke.columns) == ["", "these runs"]


def test_verdict_numbers_and_their_glue(monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    regression.glue_numbers(fake_loaded(("mnist-rotation",)))
    assert glued["regression_accuracy_margin"] == claims.MARGIN
    assert glued["regression_margin"] == regression.margin_for(45)
    assert glued["regression_n_checks"] == 4 and 0 <= glued["regression_n_holds"] <= 4
    empty = regression.verdict_numbers(report.evaluate({}))
    assert (empty["regression_n_checks"], empty["regression_n_holds"]) == (0, 0)


def test_the_page_sections_are_registered_and_render_the_published_records(shown, tmp_path):
    assert set(regression.STUDY.sections) == {"results", "verdict_numbers"}
    report.section("regression", "results", results=tmp_path)
    assert any(text.startswith("### mnist, profile `mnist-rotation` (published records)") for text in shown["markdown"])


# ---------------------------------------------------------------------------------------------- notebook
@pytest.mark.slow
def test_readme_command_writes_a_record(tmp_path):
    """`papermill notebooks/regression.ipynb out.ipynb -p p 0.9 -p profile smoke` at toy size, offline."""
    proc = papermill("regression.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, p=0.9, profile="smoke", epochs=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = (tmp_path / "results" / "regression" / "smoke").glob("*.json")
    rec = json.loads(path.read_text())
    res = rec["result"]
    assert rec["params"]["dataset"] == "digits" and rec["params"]["p"] == 0.9 and rec["params"]["sigma"] == 20.0
    assert res["n_clean"] + res["n_corrupted"] == res["n_overall"] == res["n_test"] and res["n_boundary"] > 0
    assert 0.8 < res["noise"]["n_changed"] / res["noise"]["n_in_range"] < 1.0
    assert res["rmse_clean"] ** 2 == pytest.approx(res["mse_clean"]) and len(res["history"]["epochs"]) == 2
    assert len(res["error_by_angle"]["mae"]) == 18
    from test_notebooks import assert_outputs_read_well

    assert_outputs_read_well(tmp_path / "out.ipynb")


def test_prose_numbers_name_each_cell_and_each_claim_in_order():
    loaded = fake_loaded(("mnist-rotation", "smoke"))
    numbers = regression.prose_numbers(loaded.frame)
    assert numbers["regression_clean_s20_p0"] == "10.00" and numbers["regression_clean_s40_p1"] == "11.00"
    claims_in_order = [v.claim for v in regression.check_claims(loaded.of(profile="mnist-rotation").frame)]
    assert [c.split(" (")[0] for c in claims_in_order] == [
        "the noise raises the corrupted range's error", "the clean range's error stays flat as p grows",
        "the error of clean angles within 10° of the corrupted range stays flat as p grows",
        "the clean range's error stays flat as σ grows"]
    assert set(numbers) >= {f"regression_{key}_{what}" for key in regression.CLAIM_KEYS for what in ("ours", "verdict")}
    empty = regression.prose_numbers(loaded.frame.iloc[0:0])
    assert set(empty) == set(numbers) and set(empty.values()) == {"–"}  # a book without records names every key
