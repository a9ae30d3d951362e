"""The features study: its measures (linear CKA, probes, scatter ratio) on synthetic data with a known answer,
the layers read from LeNet-5, how it finds the multi-class runs it reads (and says how to make them when
missing), its grids against the multi-class ones, the claims on synthetic records, the page's blocks, and a
papermill run of the notebook on toy checkpoints."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import ortho_group

from conftest import papermill
from hetnoise import claims, data, features, models, multiclass, plots, records, settings, sweep, tables, train
from test_plots import capture_page

NUM_CLASSES = 10


# ---------------------------------------------------------------------------------------------------- CKA
@pytest.mark.parametrize("examples, width", [(200, 30), (20, 60)], ids=["features-form", "gram-form"])
def test_cka_is_1_for_equal_representations_and_ignores_rotation_and_scale(examples, width):
    rng = np.random.default_rng(0)
    first = rng.normal(size=(examples, width))
    assert features.linear_cka(first, first) == pytest.approx(1.0)
    rotated = 7.5 * first @ ortho_group.rvs(width, random_state=1) + 3.0
    assert features.linear_cka(first, rotated) == pytest.approx(1.0)
    second = rng.normal(size=(examples, 40))
    assert features.linear_cka(first, second) == pytest.approx(features.linear_cka(first @ np.eye(width) * 0.1,
                                                                                   second * 4))
    assert features.linear_cka(first, second) == pytest.approx(features.linear_cka(second, first))


def test_cka_of_unrelated_representations_is_small_and_of_a_constant_one_nan():
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(2000, 10)), rng.normal(size=(2000, 10))
    assert features.linear_cka(first, second) < 0.05
    assert features.linear_cka(first, first[:, :3]) > 0.2  # a part of the same representation
    assert np.isnan(features.linear_cka(first, np.ones((2000, 4))))


def test_cka_per_class_uses_each_class_alone():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 100)
    first = rng.normal(size=(300, 8))
    second = first.copy()
    second[labels == 1] = rng.normal(size=(100, 8))  # class 1 alone is changed
    values = features.class_cka(first, second, labels, 4)
    assert values[0] == pytest.approx(1.0) and values[2] == pytest.approx(1.0) and values[1] < 0.3
    assert np.isnan(values[3])


# ------------------------------------------------------------------------------------------ scatter ratio
def test_scatter_ratio_by_hand_and_invariant_to_scale_and_shift():
    points = np.array([[0.0, 1.0], [0.0, -1.0], [4.0, 1.0], [4.0, -1.0]])
    labels = np.array([0, 0, 1, 1])
    # class 0: mean (0, 0), all-mean (2, 0): between 4, within 1
    assert features.scatter_ratio(points, labels, 0) == pytest.approx(4.0)
    assert features.scatter_ratio(3 * points + 5, labels, 1) == pytest.approx(4.0)
    assert np.isnan(features.scatter_ratio(points, labels, 2))
    assert np.isnan(features.scatter_ratio(np.zeros((4, 2)), labels, 0))


def test_scatter_ratio_grows_as_a_class_moves_away():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 200)
    points = rng.normal(size=(600, 5)) + 3 * np.eye(5)[labels]
    near = features.scatter_ratio(points, labels, 0)
    points[labels == 0] += 5 * np.eye(5)[0]
    assert features.scatter_ratio(points, labels, 0) > 2 * near


# -------------------------------------------------------------------------------------------------- probes
def synthetic_classes(rng, examples: int, blurred: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten Gaussian classes in 20 dimensions, well apart, except that class `blurred` sits on class 0."""
    labels = np.arange(examples) % NUM_CLASSES
    centres = 6 * np.eye(NUM_CLASSES, 20)
    centres[blurred] = centres[0]
    return centres[labels] + rng.normal(size=(examples, 20)), labels


def test_probes_find_separable_classes_and_not_a_class_lying_on_another():
    rng = np.random.default_rng(0)
    train_x, train_y = synthetic_classes(rng, 2000, blurred=3)
    test_x, test_y = synthetic_classes(rng, 1000, blurred=3)
    out = features.probes(train_x, train_y, test_x, test_y, NUM_CLASSES)
    assert len(out["probe_binary"]) == len(out["probe_recall"]) == NUM_CLASSES
    assert min(out["probe_binary"][cls] for cls in (1, 2, 4, 5, 6, 7, 8, 9)) > 0.97
    # class 3 is told from the rest but class 0: all its images found, 1 in 9 of the rest taken for it
    assert out["probe_binary"][3] == pytest.approx((1 + 8 / 9) / 2, abs=0.03) and out["probe_recall"][3] < 0.7
    assert 0.75 < out["probe_acc"] < 0.95  # classes 0 and 3 cannot be told apart
    again = features.probes(train_x, train_y, test_x, test_y, NUM_CLASSES)
    assert again == out  # fixed seed, same answer


def test_a_probe_on_noise_scores_chance():
    rng = np.random.default_rng(1)
    train_x, test_x = rng.normal(size=(1000, 5)), rng.normal(size=(500, 5))
    train_y, test_y = rng.integers(0, NUM_CLASSES, 1000), rng.integers(0, NUM_CLASSES, 500)
    out = features.probes(train_x, train_y, test_x, test_y, NUM_CLASSES)
    assert abs(np.mean(out["probe_binary"]) - 0.5) < 0.06 and out["probe_acc"] < 0.2


# ----------------------------------------------------------------------------------------- LeNet-5 layers
def test_layer_features_read_every_layer_of_lenet5():
    ds = data.load("digits")
    net = models.build("lenet5", NUM_CLASSES, 1, seed=0).eval()
    out = features.layer_features(net, ds.x_test[:50], ds)
    assert {name: values.shape for name, values in out.items()} == {
        "conv1": (50, 6 * 14 * 14), "conv2": (50, 16 * 5 * 5), "fc1": (50, 120), "fc2": (50, 84), "logits": (50, 10)}
    np.testing.assert_allclose(out["logits"], train.predict(net, ds.x_test[:50], ds.mean, ds.std).numpy(), rtol=1e-5)
    assert all((out[name] >= 0).all() for name in ("conv1", "conv2", "fc1", "fc2"))
    assert not net._forward_hooks and not any(module._forward_hooks for module in net.modules())


def test_probe_split_is_the_validation_split_capped_per_class():
    ds = data.load("digits")
    images, labels = features.probe_split(ds, 0)
    _, val_idx = multiclass.split(ds, 0)
    assert len(labels) == len(val_idx) and np.bincount(labels).max() <= features.PROBE_PER_CLASS
    np.testing.assert_array_equal(labels, ds.y_train[val_idx].numpy())


# ------------------------------------------------------------------------------------- parameters, grids
def test_p_0_names_no_clean_class_and_above_0_needs_one():
    zero = settings.resolve("features", {"profile": "smoke", "p": 0.0, "clean_class": 3})
    assert zero["clean_class"] is None and zero["strategy"] is None
    with pytest.raises(ValueError, match="p=0.5 needs a clean_class and a strategy"):
        settings.resolve("features", {"profile": "smoke", "p": 0.5, "clean_class": None})
    with pytest.raises(ValueError, match="clean_class=10 is not a class of digits"):
        settings.resolve("features", {"profile": "smoke", "clean_class": 10})
    with pytest.raises(ValueError, match="checkpoint='best' is not allowed"):
        settings.resolve("features", {"checkpoint": "best"})


def test_the_source_results_folder_is_not_part_of_a_runs_identity():
    one = settings.resolve("features", {"profile": "smoke", "source_results": "/a"})
    assert one["run_id"] == settings.resolve("features", {"profile": "smoke", "source_results": "/b"})["run_id"]
    assert one["run_id"] != settings.resolve("features", {"profile": "smoke", "checkpoint": "oracle"})["run_id"]


@pytest.mark.parametrize("profile", ["smoke", "fashion", "paper"])
def test_each_grid_reads_the_multiclass_grid_of_its_profile(profile):
    cells = sweep.plan("features", profile, "/r")
    sources = {settings.resolve("multiclass", features.source_params(settings.resolve("features", cell.params)))
               ["run_id"] for cell in cells}
    lenet = [c for c in sweep.plan("multiclass", profile, "/r") if c.params["model"] == "lenet5"
             and (profile != "smoke" or c.params["p"] in features.SMOKE_P)]
    assert sources == {c.run_id for c in lenet}
    checkpoints = {cell.params["checkpoint"] for cell in cells}
    assert checkpoints == ({"final"} if profile == "smoke" else {"final", "oracle"})
    assert len(cells) == len(lenet) * len(checkpoints)


def test_a_source_follows_the_recipe_and_its_reference_is_the_p_0_run_of_its_seed():
    run = settings.resolve("features", {"profile": "smoke", "p": 0.6, "clean_class": 7, "strategy": "include",
                                        "seed": 2, "epochs": 2})
    source = settings.resolve("multiclass", features.source_params(run))
    reference = settings.resolve("multiclass", features.source_params(run, reference=True))
    same = settings.resolve("multiclass", {"profile": "smoke", "p": 0.6, "clean_class": 7, "strategy": "include",
                                           "seed": 2, "epochs": 2})
    assert source["run_id"] == same["run_id"]
    assert reference["run_id"] == settings.resolve("multiclass", {"profile": "smoke", "p": 0.0, "seed": 2,
                                                                  "epochs": 2})["run_id"]


# ------------------------------------------------------------------------------ finding the source runs
def toy_source(results, params: dict, weight_seed: int) -> dict:
    """A multi-class record with the fields the study reads, and untrained LeNet-5 weights beside it."""
    run = settings.resolve("multiclass", {"profile": "smoke", "epochs": 2, **params})
    per_class = [0.9 - 0.01 * cls for cls in range(NUM_CLASSES)]
    figures = {"clean_acc": 0.9, "corrupted_acc": 0.85, "test_acc": 0.86, "per_class_acc": per_class}
    path = records.save_run(results, "multiclass", run, {**figures, "final_epoch": 2, "best_epoch": 1,
                                                         "oracle": {**figures, "epoch": 1}, "wall_time_s": 1.0})
    net = models.build("lenet5", NUM_CLASSES, 1, seed=weight_seed)
    for reading in features.CHECKPOINTS:
        records.save_tensors(path.with_suffix(f".{reading}.pt"), net.state_dict())
    return run


@pytest.fixture
def toy_results(tmp_path):
    """Results holding a p = 0.6 multi-class run (clean class 7, include, seed 0) and its p = 0 reference."""
    results = tmp_path / "results"
    toy_source(results, {"p": 0.6, "clean_class": 7, "strategy": "include"}, weight_seed=1)
    toy_source(results, {"p": 0.0}, weight_seed=0)
    return results


def features_run(results_dir, **given) -> dict:
    return settings.resolve("features", {"profile": "smoke", "p": 0.6, "clean_class": 7, "strategy": "include",
                                         "epochs": 2, "results_dir": str(results_dir), **given})


def test_the_source_is_found_in_the_results_folder_or_one_above_it(toy_results):
    ds = data.load("digits")
    staging = toy_results / "features" / "smoke" / ".abc.1.staging"
    run = features_run(staging)
    source = settings.resolve("multiclass", features.source_params(run))
    record, net = features.load_network(run, source, ds)
    assert record["run_id"] == source["run_id"] and not net.training
    assert features.results_root(run) == toy_results
    elsewhere = features_run("/nowhere", source_results=str(toy_results))
    assert features.locate(elsewhere, source) == features.locate(run, source)


def test_a_missing_source_names_the_sweep_that_makes_it(tmp_path):
    run = features_run(tmp_path / "results", seed=1)
    source = settings.resolve("multiclass", features.source_params(run))
    with pytest.raises(FileNotFoundError) as error:
        features.locate(run, source)
    message = str(error.value)
    assert "digits, p = 0.6, clean class 7, include, seed 1" in message and "\n" not in message
    assert (f"`hetnoise sweep multiclass --profile smoke --results {tmp_path / 'results'} --set dataset=digits "
            "--set p=0.6 --set seed=1 --set clean_class=7 --set strategy=include --set epochs=2`") in message


def test_a_source_without_weights_says_so(toy_results):
    run = features_run(toy_results, checkpoint="oracle")
    source = settings.resolve("multiclass", features.source_params(run))
    features.locate(run, source).with_suffix(".oracle.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"has no weights file \w+\.oracle\.pt .*hetnoise sweep multiclass"):
        features.load_network(run, source, data.load("digits"))


# ---------------------------------------------------------------------------------------- records, claims
def per_layer(clean_class: int | None, probe_clean: float, gaps: dict[str, float]) -> dict:
    """Measures of every layer: the corrupted classes' probe at 0.8, CKA 0.95 for the clean class and 0.95 minus
    the layer's gap for the others; with no clean class (p = 0) every class's probe at 0.95 and CKA 1."""
    out = {}
    for layer in features.LAYERS:
        probe = [0.8 if clean_class is not None else 0.95] * NUM_CLASSES
        cka = [0.95 - gaps.get(layer, 0.0) if clean_class is not None else 1.0] * NUM_CLASSES
        if clean_class is not None:
            probe[clean_class], cka[clean_class] = probe_clean, 0.95
        out[layer] = {"probe_acc": 0.8, "probe_recall": probe, "probe_binary": probe, "cka": cka,
                      "scatter": [1.0] * NUM_CLASSES}
    return out


def fake_record(p: float, seed: int, clean_class: int | None = 3, strategy: str | None = "exclude",
                probe_clean: float = 0.95, gaps: dict | None = None, checkpoint: str = "final",
                profile: str = "paper", dataset: str = "mnist") -> dict:
    """A record with the fields the page and claims read."""
    params = {"profile": profile, "dataset": dataset, "p": p, "clean_class": clean_class, "strategy": strategy,
              "checkpoint": checkpoint, "seed": seed, "split_seed": 0, "epochs": 14, "batch_size": 128,
              "optimizer": "adam", "lr": 0.001, "weight_decay": 0.0, "schedule": "constant", "augment": False}
    result = {"layers": list(features.LAYERS), "per_layer": per_layer(clean_class, probe_clean, gaps or {}),
              "network_per_class_acc": [0.9] * NUM_CLASSES, "n_probe": 5000, "n_test": 10000,
              "num_classes": NUM_CLASSES, "wall_time_s": 30.0}
    return {"study": "features", "protocol": 1, "run_id": f"{profile}-{p}-{clean_class}-{strategy}-{seed}-{checkpoint}",
            "profile": profile, "params": params, "result": result,
            "provenance": {"device_name": "cpu", "git_revision": "abc"}, "_source": "local"}


def fake_loaded(gaps: dict | None = None, probe_at_1: float = 0.95, profiles=("paper",)) -> tables.Loaded:
    """Three seeds at p = 0, 0.5 and 1 (exclude, clean class 3), at both checkpoints; the corrupted classes' CKA
    below the clean class's by `gaps` per layer, the clean probe falling linearly to `probe_at_1`."""
    recs = [fake_record(0.0, seed, None, None, checkpoint=checkpoint, profile=profile)
            for profile in profiles for seed in range(3) for checkpoint in features.CHECKPOINTS]
    recs += [fake_record(p, seed, probe_clean=0.95 + p * (probe_at_1 - 0.95) + 0.001 * seed, gaps=gaps,
                         checkpoint=checkpoint, profile=profile)
             for profile in profiles for p in (0.5, 1.0) for seed in range(3) for checkpoint in features.CHECKPOINTS]
    rows = features.rows(recs)
    return tables.Loaded(rows, tables.frame(rows), [])


def test_a_p_0_record_stands_for_every_clean_class_and_both_strategies():
    record = fake_record(0.0, 0, None, None)
    record["result"]["per_layer"]["fc1"]["probe_binary"] = [0.5 + 0.01 * cls for cls in range(NUM_CLASSES)]
    rows = features.rows([record])
    assert len(rows) == 2 * NUM_CLASSES
    seven = [r for r in rows if r["params"]["clean_class"] == 7]
    assert {r["params"]["strategy"] for r in seven} == {"include", "exclude"}
    assert seven[0]["result"]["probe_clean_fc1"] == pytest.approx(0.57)
    others = [0.5 + 0.01 * cls for cls in range(NUM_CLASSES) if cls != 7]
    assert seven[0]["result"]["probe_corrupted_fc1"] == pytest.approx(np.mean(others))
    (one,) = features.rows([fake_record(0.5, 0)])
    assert one["params"]["clean_class"] == 3 and one["result"]["cka_clean_logits"] == pytest.approx(0.95)


def verdicts_of(loaded) -> pd.DataFrame:
    """The verdicts on the exclude strategy (the fake p = 0 runs stand for include too, which has no other runs)."""
    table = claims.table(features.check_claims(loaded.frame))
    assert (table[table.scope.str.contains("include")].verdict == claims.TOO_FEW).all()
    return table[table.scope.str.contains("exclude")]


def test_claims_hold_when_the_clean_class_is_untouched_and_name_where_the_others_depart():
    table = verdicts_of(fake_loaded(gaps={"fc2": 0.1, "logits": 0.3}))
    assert len(table) == 2 * len(features.LAYERS) + 1  # final checkpoint only, one strategy
    assert (table.verdict == claims.HOLDS).all(), table[["claim", "ours", "why"]].to_string()
    (depth,) = table[table.claim.str.contains("depart")].itertuples()
    assert depth.ours.startswith("at p = 1: departs at fc2 (conv1 +0.0, conv2 +0.0, fc1 +0.0, fc2 +10.0")


def test_claims_fail_when_the_clean_probe_falls_and_a_convolution_departs():
    table = verdicts_of(fake_loaded(gaps={"conv1": 0.2}, probe_at_1=0.80))
    probe = table[table.claim.str.contains("probe")]
    assert (probe.verdict == claims.FAILS).all()
    (depth,) = table[table.claim.str.contains("depart")].itertuples()
    assert depth.verdict == claims.FAILS and "departs at conv1" in depth.ours
    cka = table[table.claim.str.contains("CKA")]
    assert (cka.verdict == claims.HOLDS).all()  # the clean class is the closer one


def test_claims_on_one_seed_are_too_few():
    loaded = fake_loaded()
    table = claims.table(features.check_claims(loaded.frame[loaded.frame.seed == 0]))
    assert (table.verdict == claims.TOO_FEW).all() and features.check_claims(pd.DataFrame()) == []


def test_prose_numbers_name_each_data_set_strategy_measure_layer_and_p():
    loaded = fake_loaded(gaps={"fc2": 0.1}, probe_at_1=0.85, profiles=("paper", "smoke"))
    numbers = features.prose_numbers(loaded.frame)
    assert numbers["features_mnist_seeds"] == "3" and numbers["features_fashion_seeds"] == "–"
    assert numbers["features_mnist_coverage"] == "seeds 0–2 at p = 0, 0.5, 1"  # of the paper's p
    assert numbers["features_fashion_coverage"] == "–"
    assert numbers["features_mnist_exclude_probe_clean_fc1_p1"] == "85.1"  # mean of 0.850, 0.851, 0.852
    assert numbers["features_mnist_exclude_probe_clean_fc1_p05"] == "90.1"
    assert numbers["features_mnist_include_probe_clean_fc1_p0"] == "95.0"  # a p = 0 run stands for both strategies
    assert numbers["features_mnist_exclude_cka_clean_fc2_p1"] == "0.95"
    assert numbers["features_mnist_exclude_cka_corrupted_fc2_p1"] == "0.85"
    assert numbers["features_mnist_exclude_cka_corrupted_fc2_p08"] == "–"  # every key the page may name is there
    assert numbers["features_mnist_include_cka_clean_conv1_p1"] == "–"  # the fake runs have no include cell at p 1
    oracle_only = loaded.frame[loaded.frame.checkpoint == "oracle"]
    assert features.prose_numbers(oracle_only)["features_mnist_exclude_probe_clean_fc1_p1"] == "–"  # last epoch only
    empty = features.prose_numbers(pd.DataFrame())
    assert set(empty) == set(numbers) and set(empty.values()) == {"–"}


# ---------------------------------------------------------------------------------------------------- page
@pytest.fixture
def shown(monkeypatch):
    """What the page's blocks display (test_plots.capture_page); afterwards no figure is left open for the
    notebook to show a second time."""
    yield capture_page(monkeypatch, features)
    assert not plt.get_fignums()


def test_the_page_shows_paper_first_final_before_oracle_and_the_smoke_check_last(shown):
    features.results(fake_loaded(profiles=("smoke", "paper")))
    headings = [text for text in shown["markdown"] if text.startswith("###")]
    assert headings[0].startswith("### mnist, profile `paper`, weights of the last epoch")
    assert "oracle" in headings[1] and headings[2].startswith("### Pipeline check: `smoke` profile")
    assert shown["figures"] == 4 * len(features.FIGURE_TEXT)  # paper and smoke, each at both checkpoints
    assert len(shown["tables"]) == 2 * 4  # what was run and the table at the largest p, per block


def test_each_figure_has_its_own_alt_text_caption_and_numbers(shown):
    loaded = fake_loaded(gaps={"fc2": 0.1})
    features.block(loaded, "paper", "mnist", "final")
    parts, frame = shown["parts"], loaded.of(checkpoint="final").frame
    assert [part["number"] for part in parts] == [1, 2, 3] and len({part["alt"] for part in parts}) == 3
    assert parts[0]["alt"].startswith("The one-vs-rest probe's balanced accuracy in % against the corruption "
                                      "probability p, mnist, profile paper, weights of the last epoch")
    assert "At p = 1: Exclude: conv1 clean 95.1 and corrupted 80, logits clean 95.1 and corrupted 80." in (
        parts[0]["alt"])
    assert ("drawn from 9 runs (profile paper, data set mnist, local records, weights of the last epoch)"
            in parts[1]["caption"])
    for part, measure in zip(parts, features.MEASURES):
        pd.testing.assert_frame_equal(part["numbers"], features.measure_numbers(frame, measure), check_dtype=False)


def test_figures_plot_their_numbers():
    frame = fake_loaded(gaps={"fc2": 0.1}).frame
    numbers = features.measure_numbers(frame, "cka")
    fig = features.figure(frame, "cka")
    corrupted, clean = fig.axes[3].get_lines()  # fc2, exclude
    cells = numbers[(numbers.strategy == "exclude") & (numbers.layer == "fc2")]
    assert list(corrupted.get_ydata()) == cells.corrupted_mean.tolist()
    assert list(clean.get_ydata()) == cells.clean_mean.tolist()
    plt.close(fig)


def test_figure_bands_are_intervals_over_the_three_seeds():
    frame = fake_loaded().frame
    numbers = features.measure_numbers(frame, "probe")
    cell = numbers[(numbers.strategy == "exclude") & (numbers.layer == "fc1") & (numbers.p == 0.5)].iloc[0]
    half = stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3)  # the seeds' clean probes 95.0, 95.1, 95.2 (%): sd 0.1
    assert cell.seeds == 3 and (cell.clean_low, cell.clean_high) == pytest.approx((95.1 - half, 95.1 + half))
    assert plots.spread(numbers) == "mean and 95 % t interval over the 3 seeds"
    fig = features.figure(frame, "probe")
    band = fig.axes[2].collections[1].get_paths()[0].vertices  # fc1, exclude: the clean class's band
    at_half = band[np.isclose(band[:, 0], 0.5), 1]
    assert at_half.min() == pytest.approx(95.1 - half) and at_half.max() == pytest.approx(95.1 + half)
    plt.close(fig)


def test_the_page_says_how_to_make_records_when_there_are_none(shown, tmp_path, monkeypatch):
    monkeypatch.setenv("HETNOISE_PUBLISHED", str(tmp_path / "none"))
    from hetnoise import report

    report.section("features", "results", results=tmp_path)
    assert shown["markdown"] == [features.NO_RECORDS]
    assert "hetnoise sweep multiclass --profile fashion" in features.NO_RECORDS


def test_figures_are_page_sized():
    frame = fake_loaded().frame
    for measure in features.MEASURES:
        fig = features.figure(frame, measure, "subtitle")
        assert fig.get_size_inches()[0] <= 7.6 and len(fig.axes) == 2 * len(features.LAYERS)
        plt.close(fig)


# ------------------------------------------------------------------------------------------------ notebook
@pytest.mark.slow
def test_the_notebook_reads_toy_checkpoints_and_writes_a_record_per_packed_run(toy_results, tmp_path):
    """One execution of two runs (the second of another seed and checkpoint, as `--pack` sends it): each record
    is what the measures give on that run's own networks."""
    toy_source(toy_results, {"p": 0.6, "clean_class": 7, "strategy": "include", "seed": 1}, weight_seed=3)
    toy_source(toy_results, {"p": 0.0, "seed": 1}, weight_seed=2)
    packed = features_run(toy_results, seed=1, checkpoint="oracle")
    proc = papermill("features.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, profile="smoke", p=0.6, clean_class=7,
                     strategy="include", epochs=2, results_dir=str(toy_results),
                     pack=[{"seed": 1, "checkpoint": "oracle", "run_id": packed["run_id"]}])
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = toy_results / "features" / "smoke"
    second = records.read_record(folder / f"{packed['run_id']}.json")
    assert second["params"]["seed"] == 1 and second["params"]["checkpoint"] == "oracle"
    ds = data.load("digits")
    *_, net, reference_net = features.networks(packed, *(settings.resolve("multiclass", features.source_params(
        packed, reference)) for reference in (False, True)), ds)
    images, labels = features.probe_split(ds, 0)
    def flat(per_layer):
        return np.array([np.nan if x is None else x for layer in features.LAYERS for key in sorted(per_layer[layer])
                         for x in np.atleast_1d(per_layer[layer][key])], dtype=float)

    measured = features.measures(net, reference_net, ds, images, labels)
    np.testing.assert_allclose(flat(second["result"]["per_layer"]), flat(measured), rtol=1e-6, equal_nan=True)
    (path,) = set(folder.glob("*.json")) - {folder / f"{packed['run_id']}.json"}
    record = records.read_record(path)
    result = record["result"]
    assert record["params"]["clean_class"] == 7 and record["params"]["checkpoint"] == "final"
    assert result["layers"] == list(features.LAYERS) and result["epoch"] == 2 and result["num_classes"] == NUM_CLASSES
    for values in result["per_layer"].values():
        assert all(0 <= score <= 1 for score in values["probe_binary"])
        assert all(0 < similarity < 1 for similarity in values["cka"])  # two untrained networks of other seeds
    (row,) = features.rows([record])
    assert row["result"]["network_clean_acc"] == pytest.approx(0.83)
    from test_notebooks import assert_outputs_read_well

    assert_outputs_read_well(tmp_path / "out.ipynb")
