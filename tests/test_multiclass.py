"""The multi-class study's own code: the steps of a run its notebook calls, the claims, and the blocks of
its book page drawn from small synthetic records."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Markdown  # noqa: E402
from scipy import stats  # noqa: E402

from hetnoise import claims, data, multiclass, noise, plots, report, studies, tables  # noqa: E402
from hetnoise.spec import Recipe  # noqa: E402
from test_plots import figure_parts  # noqa: E402

RESULT_KEYS = ["clean_acc", "corrupted_acc", "clean_precision", "clean_f1", "test_acc", "per_class_acc",
               "per_class_precision", "confusion", "reading", "final_epoch", "oracle", "noise", "history",
               "best_epoch", "n_params", "n_train", "n_val", "n_test", "data_source", "device", "wall_time_s",
               "pack_size", "pack_index", "batched"]


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def pack(*runs):
    """Run dicts as `settings.runs` gives them, for the fields the pipeline reads."""
    return [{"run_id": f"run{i}", "clean_class": clean, "strategy": strategy, "seed": seed}
            for i, (clean, strategy, seed) in enumerate(runs)]


# ------------------------------------------------------------------------------------------- pipeline
def test_split_is_a_stratified_nine_to_one_partition(digits):
    train_idx, val_idx = multiclass.split(digits, 0)
    assert not set(train_idx) & set(val_idx)
    assert len(train_idx) + len(val_idx) == len(digits.y_train)
    assert len(val_idx) == pytest.approx(0.1 * len(digits.y_train), abs=digits.num_classes)
    val_counts = np.bincount(digits.y_train[val_idx].numpy(), minlength=digits.num_classes)
    assert val_counts.min() > 0
    again, _ = multiclass.split(digits, 0)
    other, _ = multiclass.split(digits, 1)
    assert np.array_equal(train_idx, again) and not np.array_equal(train_idx, other)


def test_corrupt_keeps_each_runs_clean_class_and_follows_its_strategy():
    y = np.repeat(np.arange(10), 200)
    labels, reports = multiclass.corrupt(y, 1.0, 10, pack((3, "exclude", 0), (7, "include", 1)))
    assert len(labels) == len(reports) == 2
    assert np.array_equal(labels[0][y == 3], y[y == 3]) and np.array_equal(labels[1][y == 7], y[y == 7])
    assert (labels[0][y != 3] != 3).all()  # exclude: no corrupted image gets the clean label
    assert (labels[1][y != 7] == 7).any()  # include: some do
    assert (labels[0][y != 3] != y[y != 3]).all()  # p = 1: every other image is relabelled
    assert reports[0].to_dict()["clean"] == [3] and reports[1].strategy == "include"
    same, _ = noise.corrupt_classes(y, 1.0, clean=[3], num_classes=10, strategy="exclude", seed=0)
    assert np.array_equal(labels[0], same)


def test_build_gives_one_network_per_run_seeded_by_the_run(digits):
    nets = multiclass.build("lenet5", digits, pack((0, "exclude", 0), (1, "exclude", 0), (2, "exclude", 1)))
    weights = [next(net.parameters()).detach() for net in nets]
    assert len(nets) == 3 and weights[0].equal(weights[1]) and not weights[0].equal(weights[2])


def test_run_label_names_the_run():
    assert multiclass.run_label(pack((4, "include", 2))[0]) == "[run0 clean 4 include seed 2]"


@pytest.mark.parametrize("batched", [False, True], ids=["one at a time", "at once"])
def test_fit_leaves_the_last_epoch_keeps_the_oracle_and_tests_every_epoch(digits, batched):
    runs = pack((0, "exclude", 0), (3, "include", 1))
    train_idx, val_idx = multiclass.split(digits, 0)
    labels, _ = multiclass.corrupt(digits.y_train[train_idx].numpy(), 0.6, digits.num_classes, runs)
    nets = multiclass.build("lenet5", digits, runs)
    histories = multiclass.fit(nets, digits, train_idx, val_idx, labels, Recipe(epochs=3, batch_size=128), runs,
                               device="cpu", batched=batched)
    oracle_preds = multiclass.predict(multiclass.oracle_nets(nets, histories), digits)
    for run, history, pred, oracle_pred, weights in zip(runs, histories, multiclass.predict(nets, digits), oracle_preds,
                                                        multiclass.checkpoints(nets, histories)):
        clean = run["clean_class"]
        assert len(history.epochs) == 3 and 1 <= history.best_epoch <= 3
        last = history.epochs[-1]
        assert pred.shape == (len(digits.y_test),) and pred.min() >= 0 and pred.max() < digits.num_classes
        final = multiclass.evaluate(digits.y_test.numpy(), pred, clean, digits.num_classes)
        assert final["per_class_acc"] == pytest.approx(last["test_per_class_acc"], abs=1e-6)  # at its last epoch
        assert final["test_acc"] == pytest.approx(last["test_acc"], abs=1e-6)
        oracle = multiclass.evaluate(digits.y_test.numpy(), oracle_pred, clean, digits.num_classes)
        at_oracle = history.epochs[history.best_epoch - 1]
        assert oracle["per_class_acc"] == pytest.approx(at_oracle["test_per_class_acc"], abs=1e-6)
        assert set(weights) == {"final", "oracle"} and set(weights["final"]) == set(weights["oracle"])
        curves = multiclass.epoch_curves(history.to_dict(), clean)
        assert list(curves.epoch) == [1, 2, 3] and curves.clean.iloc[-1] == pytest.approx(100 * final["clean_acc"])
    assert curves.corrupted.iloc[-1] == pytest.approx(100 * final["corrupted_acc"])


def test_a_p0_run_names_no_clean_class_nor_strategy_and_serves_them_all():
    from hetnoise import settings, sweep

    runs = [settings.resolve("multiclass", {"profile": "smoke", "p": 0.0, "clean_class": c, "strategy": s})
            for c, s in ((0, "exclude"), (7, "include"))]
    assert runs[0]["run_id"] == runs[1]["run_id"] and runs[0]["clean_class"] is runs[0]["strategy"] is None
    assert settings.resolve("multiclass", {"profile": "smoke", "p": 0.0, "clean_class": None,
                                           "strategy": None})["run_id"] == runs[0]["run_id"]
    with pytest.raises(ValueError, match="p=0.5 needs a clean_class and a strategy"):
        settings.resolve("multiclass", {"profile": "smoke", "p": 0.5, "clean_class": None})
    cells = sweep.plan("multiclass", "smoke", "/r", {"clean_class": [0, 7]})
    assert len(cells) == len({c.run_id for c in cells}) == 1 + 3 * 2 * 2  # the p = 0 cell once
    labels, (report,) = multiclass.corrupt(np.repeat(np.arange(10), 20), 0.0, 10, pack((None, None, 0)))
    assert np.array_equal(labels[0], np.repeat(np.arange(10), 20)) and report.to_dict()["clean"] == []
    evaluation = multiclass.evaluate(np.arange(10), np.arange(10), None, 10)
    assert evaluation["clean_acc"] == evaluation["corrupted_acc"] == 1.0


def test_class_scores_split_the_clean_class_from_the_mean_of_the_others():
    per_class = np.array([0.9, 0.5, np.nan, 0.7])
    assert multiclass.class_scores(per_class, 0) == (0.9, pytest.approx(0.6))


def test_evaluate_sees_a_clean_class_that_became_a_sink():
    y = np.repeat(np.arange(4), 5)
    pred = np.where(y == 1, 1, 0)  # class 1 right, every other image predicted as class 0
    metrics = multiclass.evaluate(y, pred, 0, 4)
    assert metrics["clean_acc"] == 1.0 and metrics["clean_precision"] == pytest.approx(5 / 15)
    assert metrics["corrupted_acc"] == pytest.approx(1 / 3) and metrics["test_acc"] == pytest.approx(10 / 20)
    assert metrics["per_class_acc"] == [1.0, 1.0, 0.0, 0.0]
    assert np.array(metrics["confusion"]).sum() == 20 and metrics["confusion"][2][0] == 5
    assert metrics["clean_f1"] == pytest.approx(2 * (1 / 3) / (1 + 1 / 3))


def test_results_hold_the_record_fields_and_share_the_wall_time(digits):
    y = digits.y_test.numpy()
    evaluations = [multiclass.evaluate(y, y, clean, digits.num_classes) for clean in (0, 1)]
    _, reports = multiclass.corrupt(y, 0.5, digits.num_classes, pack((0, "exclude", 0), (1, "exclude", 0)))
    histories = [multiclass.train.History(epochs=[{"epoch": 1}, {"epoch": 2}], best_epoch=1) for _ in range(2)]
    out = multiclass.results(evaluations, evaluations, reports, histories, n_params=10, n_train=9, n_val=1,
                             ds=digits, device="cpu", elapsed_s=8.0, batched=True)
    assert [list(r) for r in out] == [RESULT_KEYS, RESULT_KEYS]
    assert out[0]["reading"] == "final epoch" and out[0]["final_epoch"] == 2 and out[0]["oracle"]["epoch"] == 1
    assert [r["pack_index"] for r in out] == [0, 1] and all(r["wall_time_s"] == 4.0 for r in out)
    assert all(r["batched"] and r["pack_size"] == 2 for r in out)
    assert set(studies.get("multiclass").result_fields) <= set(RESULT_KEYS)
    (alone,) = multiclass.results(evaluations[:1], evaluations[:1], reports[:1], histories[:1], n_params=10, n_train=9,
                                  n_val=1, ds=digits, device="cpu", elapsed_s=8.0, batched=True)
    assert alone["batched"] is False and alone["wall_time_s"] == 8.0


# --------------------------------------------------------------------------------------------- claims
def claims_frame(dataset="mnist", ps=(0.0, 0.5, 0.8, 1.0), runs_per_p=3, corrupted_drop=0.0):
    """Records frame of a flat clean class and corrupted classes losing `corrupted_drop` at p = 0.8."""
    rng = np.random.default_rng(0)
    rows = [{"profile": "paper", "dataset": dataset, "strategy": "exclude", "p": p, "seed": seed, "clean_class": 0,
             "clean_acc": 0.98 + rng.normal(0, 0.002), "clean_precision": 0.97 + rng.normal(0, 0.002),
             "corrupted_acc": 0.95 - (corrupted_drop if p >= 0.8 else 0) + rng.normal(0, 0.002)}
            for p in ps for seed in range(runs_per_p)]
    return pd.DataFrame(rows)


def test_claims_keep_their_wording_and_verdicts():
    table = multiclass.check_claims(claims_frame())
    assert [v.claim for v in table] == [
        "clean-class accuracy stays flat as the other classes get noisier",
        "clean-class precision stays flat too (images of other classes do not flow into it)",
        "corrupted-class accuracy does not drop off until ≈80 % noise"]
    assert [v.verdict for v in table] == [claims.HOLDS] * 3
    knee = table[2]
    assert knee.ours.startswith("at p = 0.8: ") and knee.paper == "holds until p ≈ 0.8 (§5.1)" and knee.runs == 6
    assert knee.scope == "mnist, strategy exclude"
    dropped = multiclass.check_claims(claims_frame(corrupted_drop=0.3))[2]
    assert dropped.verdict == claims.FAILS
    assert dropped.why == f"at p = 0.8 the corrupted classes lost more than {claims.MARGIN:g} points"


def test_claims_on_a_data_set_the_paper_never_used_are_extensions():
    frame = tables.frame(grid("paper", "mnist") + grid("fashion", "fashion-mnist"))
    kinds = {(v.scope.split(",")[0], v.kind) for v in multiclass.check_claims(frame)}
    assert kinds == {("mnist", ""), ("Fashion-MNIST", claims.EXTENSION)}


def test_knee_claim_needs_runs_below_the_knee_and_none_for_other_data_sets():
    none_below = multiclass.check_claims(claims_frame(ps=(0.0, 0.9, 1.0)))[2]
    assert none_below.verdict == claims.TOO_FEW and none_below.why == "no run with 0 < p ≤ 0.8"
    few = multiclass.check_claims(claims_frame(runs_per_p=2))[2]
    assert few.verdict == claims.TOO_FEW and few.why == "needs 3 seeds at p = 0 and at p = 0.8"
    assert len(multiclass.check_claims(claims_frame(dataset="cifar100"))) == 2
    assert multiclass.check_claims(pd.DataFrame()) == []


# --------------------------------------------------------------------------------------------- page
def fake_record(profile, dataset, p, clean_class, strategy, seed=0, precision=True):
    """A record with the fields the page reads; accuracies fall with p in the corrupted classes only."""
    counts = [100] * 10
    result = {"clean_acc": 0.97, "corrupted_acc": 0.95 - 0.3 * p, "test_acc": 0.9, "per_class_acc": [0.9] * 10,
              "best_epoch": 2, "wall_time_s": 3.0, "n_train": 900, "n_val": 100, "n_test": 200, "n_params": 1234,
              "noise": {"num_classes": 10, "clean": [clean_class], "counts": counts},
              "history": {"epochs": [{"epoch": e, "train_acc": 0.5 + 0.1 * e, "val_acc": 0.6 + 0.05 * e}
                                     for e in (1, 2)]}}
    if precision:
        result.update(clean_precision=0.9 - 0.2 * p, clean_f1=0.93 - 0.1 * p)
    params = {"dataset": dataset, "model": "lenet5", "p": p, "clean_class": clean_class, "strategy": strategy,
              "seed": seed, "split_seed": 0, "epochs": 2, "batch_size": 128, "optimizer": "adam", "lr": 0.001,
              "weight_decay": 0.0, "schedule": "constant"}
    return {"study": "multiclass", "protocol": 2, "run_id": f"{profile}-{dataset}-{p}-{clean_class}-{strategy}-{seed}",
            "profile": profile, "params": params, "result": result, "_source": "local",
            "provenance": {"git_revision": "abcdef0123456", "device_name": "cpu"}}


def loaded_of(recs, problems=()):
    return tables.Loaded(recs, tables.frame(recs), list(problems))


def grid(profile, dataset, precision=True):
    return [fake_record(profile, dataset, p, clean, strategy, precision=precision)
            for p in (0.0, 0.5, 1.0) for clean in (0, 1) for strategy in ("include", "exclude")]


@pytest.fixture
def shown(monkeypatch):
    """What the page's blocks display (`displayed`) and the parts of each figure they show (`figures`, see
    test_plots.figure_parts); afterwards no figure is left open for the notebook to show a second time."""
    out = {"displayed": [], "figures": []}
    monkeypatch.setattr(multiclass, "display", out["displayed"].append)
    monkeypatch.setattr(plots, "display", lambda obj: out["figures"].append(figure_parts(obj.data)))
    monkeypatch.setattr(plots, "NUMBERING", {"page": "", "count": 0})
    plt.close("all")
    yield out
    assert not plt.get_fignums()


def markdown(displayed):
    return [item.data for item in displayed if isinstance(item, Markdown)]


def test_runs_section_without_records_says_how_to_make_them(shown):
    multiclass.runs_section(loaded_of([]))
    assert markdown(shown["displayed"]) == [multiclass.NO_RECORDS] and not shown["figures"]


def test_runs_section_draws_every_profile_in_the_page_order(shown):
    recs = grid("smoke", "digits") + grid("fashion", "fashion-mnist") + grid("paper", "mnist")
    studies.get("multiclass").sections["runs"](loaded_of(recs))
    headings = [text for text in markdown(shown["displayed"]) if text.startswith("###")]
    assert headings == ["### mnist, profile `paper`, the last epoch (local records)",
                        "### fashion-mnist, profile `fashion`, the last epoch (local records)",
                        "### Pipeline check: `smoke` profile, digits\n\nA toy run of the whole pipeline (bundled 8×8 "
                        "digits, a few epochs); it checks the code, not the paper's claim."]
    figures = shown["figures"]  # Fig. 4, precision, memorisation; the smoke check: Fig. 4 only
    assert [figure["number"] for figure in figures] == list(range(1, 8))
    assert len({figure["alt"] for figure in figures}) == 7 and "mnist, profile paper" in figures[0]["alt"]
    assert ("Include: clean class 97.0 % at p = 0 to 97.0 % at p = 1; corrupted classes 95.0 % at p = 0 to 65.0 % "
            "at p = 1." in figures[0]["alt"])
    assert "drawn from 12 runs (profile paper, data set mnist, local records, the last epoch)" in figures[0]["caption"]
    texts = markdown(shown["displayed"])
    assert texts.count("**What was run**") == 3
    assert any(text.startswith("**Is the clean class a sink?**") and "from the 12 of these 12 runs" in text
               for text in texts)
    boxes = [item.data for item in shown["displayed"] if hasattr(item, "data") and "these runs" in item.data]
    assert [list(box.columns) for box in boxes] == [["", "these runs", "paper"]] * 2 + [["", "these runs"]]
    assert "12 of the grid's" in boxes[0].set_index("").loc["runs", "these runs"]


def test_each_figure_downloads_the_numbers_it_plots(shown):
    recs = grid("paper", "mnist")
    multiclass.block(loaded_of(recs), "paper", "mnist")
    frame = tables.frame(recs)
    expected = [multiclass.fig4_numbers(frame), multiclass.precision_numbers(frame),
                multiclass.memorisation_numbers(recs)]
    assert len(shown["figures"]) == len(expected)
    for figure, numbers in zip(shown["figures"], expected):
        pd.testing.assert_frame_equal(figure["numbers"], numbers, check_dtype=False)
    fig = multiclass.figure(frame)
    clean, corrupted = fig.axes[0].get_lines()[:2]  # the include panel
    include = expected[0][expected[0].strategy == "include"]
    assert list(clean.get_ydata()) == include.clean_pct_mean.tolist()
    assert list(corrupted.get_ydata()) == include.corrupted_pct_mean.tolist()
    plt.close(fig)


def test_block_without_precision_leaves_out_the_precision_figure(shown):
    multiclass.block(loaded_of(grid("paper", "mnist", precision=False)), "paper", "mnist")
    assert len(shown["figures"]) == 2
    assert not any(text.startswith("**Is the clean class a sink?**") for text in markdown(shown["displayed"]))


def test_accuracy_table_gives_mean_sd_and_runs_per_strategy_and_p():
    table = multiclass.accuracy_table(tables.frame(grid("paper", "mnist"))).data
    assert list(table.columns) == ["strategy", "p", "clean, mean", "corrupted, mean", "clean, sd", "corrupted, sd",
                                   "runs"]
    row = table[(table.strategy == "exclude") & (table.p == 1.0)].iloc[0]
    assert row["clean, mean"] == pytest.approx(97) and row["corrupted, mean"] == pytest.approx(65) and row.runs == 2


def test_a_p0_run_read_for_every_clean_class_counts_once_in_tables_and_boxes(shown):
    """A p = 0 run stands for 20 rows (10 clean classes × 2 strategies); the run counts, the wall time per run
    and the precision sentence count it once."""
    p0 = [{**fake_record("paper", "mnist", 0.0, None, None, seed=s), "run_id": f"p0-{s}"} for s in (0, 1)]
    p0[1]["result"]["wall_time_s"] = 5.0
    noisy = [fake_record("paper", "mnist", 0.5, c, st, seed=s) for c in range(10) for st in ("include", "exclude")
             for s in (0, 1)]
    rows = multiclass.rows(p0 + noisy)
    assert len(rows) == 40 + 40
    table = multiclass.accuracy_table(tables.frame(rows)).data
    assert table.set_index(["strategy", "p"]).runs.to_dict() == {("exclude", 0.0): 2, ("exclude", 0.5): 20,
                                                                 ("include", 0.0): 2, ("include", 0.5): 20}
    facts = tables.what_was_run(rows, 423)
    assert facts["runs"] == "42 of the grid's 423"
    assert facts["wall time"] == f"{(3.0 * 41 + 5.0) / 3600:.1f} h in all, {(3.0 * 41 + 5.0) / 42:.0f} s per run"
    multiclass.precision_block(tables.frame(rows), "paper", "mnist")
    assert any("from the 42 of these 42 runs" in text for text in markdown(shown["displayed"]))
    plt.close("all")


def test_blocks_order_paper_first_smoke_last_others_between():
    frame = pd.DataFrame({"profile": ["smoke", "other", "paper", "fashion", "paper"],
                          "dataset": ["digits", "mnist", "mnist", "fashion-mnist", "cifar10"]})
    assert multiclass.blocks(frame) == [("paper", "cifar10", 2), ("paper", "mnist", 2), ("fashion", "fashion-mnist", 2),
                                        ("other", "mnist", 2), ("smoke", "digits", 2)]
    both = pd.DataFrame({"profile": ["paper", "paper"], "dataset": ["mnist", "mnist"], "protocol": [1, 2]})
    assert multiclass.blocks(both) == [("paper", "mnist", 2), ("paper", "mnist", 1)]  # the current protocol first
    published = pd.DataFrame({"source": ["published"]})
    assert "one seed, the checkpoint of lowest clean-validation loss" in multiclass.heading("paper", "mnist",
                                                                                            published, 1)


def test_a_p0_record_stands_for_every_clean_class_under_both_strategies():
    record = fake_record("paper", "mnist", 0.0, None, None)
    record["result"].update(per_class_acc=[0.9 + 0.01 * c for c in range(10)], per_class_precision=[0.8] * 10,
                            oracle={"per_class_acc": [0.5] * 10, "clean_acc": 0.5, "corrupted_acc": 0.5})
    rows = multiclass.rows([record, fake_record("paper", "mnist", 0.5, 3, "include")])
    assert len(rows) == 10 * 2 + 1
    cell = next(r for r in rows if r["params"]["clean_class"] == 4 and r["params"]["strategy"] == "exclude")
    assert cell["result"]["clean_acc"] == pytest.approx(0.94) and cell["result"]["clean_precision"] == 0.8
    assert cell["result"]["corrupted_acc"] == pytest.approx(np.mean([0.9 + 0.01 * c for c in range(10) if c != 4]))
    assert cell["result"]["oracle"]["clean_acc"] == 0.5 and record["params"]["clean_class"] is None  # not mutated
    (oracle,) = multiclass.oracle_rows([cell])
    assert oracle["result"]["clean_acc"] == 0.5


def test_section_renders_the_published_records(shown, tmp_path):
    """`report.section` as the page calls it, from an empty results folder: the published records render, their
    figures numbered from 1, each with an alt text of its own."""
    report.section("multiclass", "runs", results=tmp_path)
    figures = shown["figures"]
    assert [figure["number"] for figure in figures] == list(range(1, len(figures) + 1)) and len(figures) >= 3
    assert len({figure["alt"] for figure in figures}) == len(figures)
    assert figures[0]["csv_name"] == "multiclass-figure-1.csv" and "published records" in figures[0]["caption"]


def test_epochs_figure_draws_test_accuracy_per_epoch_only_where_recorded():
    plain = fake_record("paper", "mnist", 0.5, 1, "include")
    assert multiclass.epochs_figure([plain]) is None
    tested = fake_record("paper", "mnist", 0.5, 1, "include")
    tested["result"]["history"] = {"epochs": [{"epoch": e, "train_acc": 0.5, "test_per_class_acc": [0.9 - 0.1 * e] * 10}
                                              for e in (1, 2)]}
    figure = multiclass.epochs_figure([tested], "sub")
    lines = figure.axes[0].get_lines()
    assert figure is not None and [list(line.get_ydata()) for line in lines[:2]] == [[80.0, 70.0], [80.0, 70.0]]
    numbers = multiclass.epochs_numbers([tested])
    assert numbers[multiclass.EPOCH_LINES].values.tolist() == [[80.0, 80.0], [70.0, 70.0]]
    assert "After epoch 2 at p = 0.5: Include: corrupted classes 70.0 %" in multiclass.epochs_alt(numbers, "mnist")
    plt.close("all")


def test_prose_numbers_name_each_data_set_protocol_strategy_metric_and_p():
    recs = grid("paper", "mnist") + grid("fashion", "fashion-mnist", precision=False) + grid("smoke", "digits")
    frame = tables.frame(recs)
    numbers = multiclass.prose_numbers(frame)
    assert numbers["multiclass_mnist2_exclude_corrupted_p1"] == "65.0"
    assert numbers["multiclass_mnist2_include_precision_p05"] == "80.0"
    assert numbers["multiclass_fashion2_exclude_precision_p0"] == "–"  # records without the field
    assert not any("digits" in key for key in numbers)  # a pipeline check says nothing on the page
    assert numbers["multiclass_mnist1_exclude_clean_p095"] == "–"  # every key the page may name is there
    assert numbers["multiclass_mnist2_coverage"] == "seed 0 at p = 0, 0.5, 1"  # of the paper's p
    assert numbers["multiclass_mnist2_exclude_oracle_epoch_p1"] == "2.0"
    assert numbers["multiclass_mnist2_exclude_oracle_gain_p1"] == "–"  # no oracle frame given
    empty = multiclass.prose_numbers(pd.DataFrame())
    assert set(empty) <= set(numbers) and set(empty.values()) == {"–"}
    assert "multiclass_fashion2_exclude_clean_p1" in empty and "multiclass_fashion2_coverage" in empty


def test_oracle_gain_is_the_oracle_reading_minus_the_last_epoch_for_the_same_runs():
    recs = grid("paper", "mnist")
    for r in recs:
        r["result"]["oracle"] = {**r["result"], "corrupted_acc": r["result"]["corrupted_acc"] + 0.012, "epoch": 1,
                                 "clean_precision": 0.5}
    rows = multiclass.rows(recs)
    numbers = multiclass.prose_numbers(tables.frame(rows), tables.frame(multiclass.oracle_rows(rows)))
    assert numbers["multiclass_mnist2_include_oracle_gain_p05"] == "1.2"
    assert numbers["multiclass_mnist2_include_oracle_precision_p1"] == "50.0"
    assert numbers["multiclass_mnist2_include_precision_p1"] == "70.0"  # the last epoch's, from the same runs


def test_fig4_bands_are_t_intervals_over_seeds_once_every_point_has_two():
    recs = [fake_record("paper", "mnist", p, clean, "exclude", seed=seed) for p in (0.0, 0.5) for clean in (0, 1)
            for seed in (0, 1, 2)]
    for r in recs:  # seed s reads 0.90 + s/100 in the corrupted classes at every p
        r["result"]["corrupted_acc"] = 0.90 + r["params"]["seed"] / 100
    numbers = multiclass.fig4_numbers(tables.frame(recs))
    half = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)  # the seed means 90, 91, 92 have sd 1 point
    assert numbers.seeds.tolist() == [3, 3] and plots.over_seeds(numbers)
    assert numbers.corrupted_pct_low.tolist() == pytest.approx([91 - half] * 2)
    assert numbers.corrupted_pct_high.tolist() == pytest.approx([91 + half] * 2)
    assert plots.spread(numbers) == "mean and 95 % t interval over the 3 seeds"
    fig = multiclass.figure(tables.frame(recs))
    band = fig.axes[1].collections[1].get_paths()[0].vertices[:, 1]  # the exclude panel's corrupted band
    assert band.min() == pytest.approx(91 - half) and band.max() == pytest.approx(91 + half)
    one = multiclass.fig4_numbers(tables.frame([r for r in recs if r["params"]["seed"] == 0]))
    assert not plots.over_seeds(one) and one.corrupted_pct_low.isna().all()
    assert plots.spread(one) == "mean ± 1 std over clean classes and seeds"
    plt.close("all")
