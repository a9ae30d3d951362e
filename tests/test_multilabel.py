"""The multi-label study: the steps of a run (label groups, noise, model, evaluation, result) and the
blocks of its book page on small fake records; its claims; and the notebook itself, a real offline
smoke run through papermill checked against an independent recomputation of the noise and of the mAP
(bad parameters and missing mini-COCO fail fast and clearly; the book page draws from the record or
says how to make one)."""
import json
import os
import subprocess
import time
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Markdown  # noqa: E402

from conftest import BIN, ROOT, papermill  # noqa: E402
from hetnoise import claims, multilabel, noise, report, tables  # noqa: E402


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """`papermill notebooks/multilabel.ipynb out.ipynb -p p 0.9 -p profile smoke`, offline."""
    cwd = tmp_path_factory.mktemp("multilabel")
    t = time.perf_counter()
    proc = papermill("multilabel.ipynb", cwd / "out.ipynb", cwd=cwd, p=0.9, profile="smoke")
    seconds = time.perf_counter() - t
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = list((cwd / "results" / "multilabel" / "smoke").glob("*.json"))
    assert len(recs) == 1, recs
    rec = json.loads(recs[0].read_text())
    arrays = np.load(recs[0].with_suffix(".npz"))
    return cwd, rec, arrays, seconds


def direct_average_precision(y, s):
    """AP of one label without scikit-learn: sum over distinct score thresholds t (descending) of
    precision(score >= t) times the recall gained at t."""
    order = np.argsort(-s, kind="stable")
    y, s = y[order].astype(float), s[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0.0, tp]) / y.sum()
    return float((precision * recall_gain).sum())


@pytest.mark.slow
def test_smoke_run_writes_a_complete_record(smoke_run):
    _, rec, _, seconds = smoke_run
    params, res = rec["params"], rec["result"]
    assert params["dataset"] == "digit-mosaics" and params["p"] == 0.9 and params["case"] == 1
    assert params["mode"] == "swap" and params["profile"] == "smoke"
    assert res["corrupted_labels"] == list(range(6)) and res["clean_labels"] == list(range(6, 10))
    assert len(res["per_label_ap"]) == 10 and len(res["realised_noise"]) == 10
    for key in ("map_clean", "map_corrupted", "map_overall", "exact_match"):
        assert 0 <= res[key] <= 1, key
    assert len(res["history"]["epochs"]) == params["epochs"] == 4 and params["optimizer"] == "adam"
    assert 1 <= res["best_epoch"] <= params["epochs"]
    assert res["n_params"] > 500_000 and res["wall_time_s"] > 0 and res["device"]
    prov = rec["provenance"]
    assert prov["git_revision"] and prov["python"] and prov["versions"]["torch"]
    print(f"smoke run: {seconds:.1f} s through papermill, {res['wall_time_s']:.1f} s in the notebook; "
          f"mAP clean {res['map_clean']:.3f}, corrupted {res['map_corrupted']:.3f}, overall {res['map_overall']:.3f}")


@pytest.mark.slow
def test_clean_group_of_the_training_labels_is_untouched(smoke_run):
    from hetnoise import data, noise

    _, rec, arrays, _ = smoke_run
    res, params = rec["result"], rec["params"]
    clean, corrupted = res["clean_labels"], res["corrupted_labels"]
    y_true, y_noisy = arrays["y_train_true"], arrays["y_train_noisy"]
    # the labels the network was trained on: clean columns identical, corrupted columns changed
    assert (y_noisy[:, clean] == y_true[:, clean]).all()
    assert (y_noisy[:, corrupted] != y_true[:, corrupted]).any()
    # the same seeds give the same split and the same noisy labels, independently of the notebook
    ds = data.load("digit-mosaics", size=params["image_size"])
    train_idx, _ = data.train_val_split(ds, 0.1, params["split_seed"])
    np.testing.assert_array_equal(np.asarray(train_idx), arrays["train_idx"])
    np.testing.assert_array_equal(np.asarray(ds.y_train, dtype=np.uint8)[train_idx], y_true)
    again, report = noise.corrupt_multilabel(y_true, params["p"], corrupted, mode="swap", seed=params["seed"])
    np.testing.assert_array_equal(again, y_noisy)
    # the report in the record says the same: no change in the clean group, about p moved out elsewhere
    rates = res["noise"]["realised_rate"]
    assert all(rates[j] == 0 for j in clean)
    assert res["noise"]["positives_before"] == report.to_dict()["positives_before"]
    moved = [res["realised_noise"][j] for j in corrupted]
    assert all(r is not None and 0.6 < r <= 1 for r in moved), moved
    assert all(res["realised_noise"][j] == 0 for j in clean)


@pytest.mark.slow
def test_map_matches_an_independent_computation(smoke_run):
    from sklearn.metrics import average_precision_score

    _, rec, arrays, _ = smoke_run
    res = rec["result"]
    y, s = arrays["y_test"], arrays["scores_test"]
    assert y.shape == s.shape == (res["n_test"], 10)
    assert np.array_equal(y.sum(0), res["test_positives"])
    has_pos = y.any(0)
    direct = np.array([direct_average_precision(y[:, j], s[:, j]) if has_pos[j] else np.nan for j in range(10)])
    recorded = np.array(res["per_label_ap"], dtype=float)[has_pos]
    np.testing.assert_allclose(direct[has_pos], recorded, rtol=1e-6)  # records keep 7 significant digits
    for key, labels in (("map_clean", res["clean_labels"]), ("map_corrupted", res["corrupted_labels"]),
                        ("map_overall", list(range(10)))):
        keep = [j for j in labels if has_pos[j]]
        assert res[key] == pytest.approx(np.mean(direct[keep]), rel=1e-6), key
        assert res[key] == pytest.approx(average_precision_score(y[:, keep], s[:, keep], average="macro"),
                                         rel=1e-6), key


@pytest.mark.slow
def test_bad_parameters_fail_clearly(tmp_path):
    proc = papermill("multilabel.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, p=1.5, profile="smoke")
    assert proc.returncode != 0 and "p=1.5 is not allowed; it must be a number in [0, 1]" in proc.stderr
    proc = papermill("multilabel.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, case=3, profile="smoke")
    assert proc.returncode != 0 and "case=3 is not allowed; it must be one of [1, 2]" in proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_missing_mini_coco_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HETNOISE_COCO", str(tmp_path / "no-coco"))
    monkeypatch.setenv("HETNOISE_DATA", str(tmp_path / "no-cache"))
    t = time.perf_counter()
    proc = papermill("multilabel.ipynb", tmp_path / "m.ipynb", cwd=tmp_path, p=0.5)
    seconds = time.perf_counter() - t
    assert proc.returncode != 0
    assert "FileNotFoundError" in proc.stderr and "HETNOISE_COCO" in proc.stderr, proc.stderr[-2000:]
    assert "instances_train2017.json" in proc.stderr or "annotations" in proc.stderr, proc.stderr[-2000:]
    assert seconds < 60 and not (tmp_path / "results").exists()


def execute_page(results, out, published=None):
    env = {**os.environ, "HETNOISE_RESULTS": str(results),
           **({"HETNOISE_PUBLISHED": str(published)} if published else {})}
    proc = subprocess.run([str(BIN / "jupytext"), "--to", "ipynb", "--execute", str(ROOT / "book" / "multilabel.md"),
                           "-o", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def outputs(nb, kind):
    found = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            found += [v if isinstance(v, str) else "".join(v) for k, v in o.get("data", {}).items() if k == kind]
    return found


@pytest.mark.slow
def test_book_page_draws_the_figure_from_records(smoke_run, tmp_path):
    cwd, _, _, _ = smoke_run
    nb = execute_page(cwd / "results", tmp_path / "page.ipynb")
    assert any('class="hetnoise-figure"' in html and 'alt="Profile smoke: test mAP' in html
               for html in outputs(nb, "text/html")), "no figure on the multi-label page"
    text = " ".join(outputs(nb, "text/markdown") + outputs(nb, "text/html") + outputs(nb, "text/plain"))
    assert "No multi-label records yet" not in text


@pytest.mark.slow
def test_book_page_without_records_says_how_to_make_them(tmp_path):
    nb = execute_page(tmp_path / "none", tmp_path / "page.ipynb", published=tmp_path / "none")
    text = " ".join(outputs(nb, "text/markdown"))
    assert "No multi-label records yet" in text and "hetnoise sweep multilabel" in text
    assert not outputs(nb, "image/png")


def test_label_groups_follow_the_paper():
    corrupted, clean = multilabel.label_groups(80, 1)
    assert corrupted == list(range(50)) and clean == list(range(50, 80))  # COCO labels 1-50 corrupted
    corrupted, clean = multilabel.label_groups(80, 2)
    assert corrupted == list(range(50, 80)) and clean == list(range(50))
    for n in (2, 3, 10, 80):
        for case in (1, 2):
            a, b = multilabel.label_groups(n, case)
            assert a and b and sorted(a + b) == list(range(n))
    with pytest.raises(ValueError, match="case=3 is unknown"):
        multilabel.label_groups(80, 3)
    with pytest.raises(ValueError, match="at least two labels"):
        multilabel.label_groups(1, 1)


# The steps of a run, on small arrays.

Y = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 0, 1], [1, 0, 0, 1, 1], [0, 0, 1, 0, 0],
              [1, 1, 0, 0, 1], [0, 1, 0, 1, 0], [1, 0, 0, 0, 0], [0, 0, 1, 1, 1]] * 5, dtype=np.uint8)


def test_label_group_names_mark_each_label():
    assert list(multilabel.label_group_names(5, [0, 1, 2])) == ["corrupted"] * 3 + ["clean"] * 2


@pytest.mark.filterwarnings("ignore:.*found no free label:UserWarning")
@pytest.mark.parametrize("mode", ["swap", "flip"])
def test_corrupt_training_changes_only_the_corrupted_group(mode):
    corrupted, clean = multilabel.label_groups(5, 1)
    noisy, rep = multilabel.corrupt_training(Y, 0.8, corrupted, clean, mode, seed=3)
    again, _ = noise.corrupt_multilabel(Y, 0.8, corrupted, mode=mode, seed=3)
    np.testing.assert_array_equal(noisy, again)
    assert (noisy[:, clean] == Y[:, clean]).all() and (noisy[:, corrupted] != Y[:, corrupted]).any()
    expected = rep.moved_out_rate if mode == "swap" else rep.realised_rate
    np.testing.assert_array_equal(multilabel.realised_rate(rep, mode), expected)


def test_corrupt_training_fails_when_the_clean_group_changes(monkeypatch):
    def touch_everything(y, p, group, mode, seed):
        """A broken corruption that flips every bit."""
        return 1 - y, None

    monkeypatch.setattr(noise, "corrupt_multilabel", touch_everything)
    with pytest.raises(AssertionError, match="the clean group was changed"):
        multilabel.corrupt_training(Y, 0.5, [0, 1, 2], [3, 4], "swap", seed=0)


def test_noise_table_and_summary_say_what_the_noise_did():
    noisy, rep = multilabel.corrupt_training(Y, 1.0, [0, 1, 2], [3, 4], "swap", seed=0)
    table = multilabel.noise_table(Y, rep, list("abcde"), 1.0, [0, 1, 2], "swap")
    assert list(table.group) == ["corrupted"] * 3 + ["clean"] * 2
    assert list(table.intended) == [1, 1, 1, 0, 0] and (table.realised[3:] == 0).all()
    assert list(table["positives before"]) == list(Y.sum(0))
    text = multilabel.noise_summary(rep, "swap", len(Y))
    assert text.startswith(f"40 training rows, {rep.rows_affected} with a changed label")
    assert "chosen positives found no free label" in text
    _, flipped = multilabel.corrupt_training(Y, 0.5, [0, 1, 2], [3, 4], "flip", seed=0)
    assert "chosen bits" in multilabel.noise_summary(flipped, "flip", len(Y))


def test_noise_figure_draws_both_panels():
    _, rep = multilabel.corrupt_training(Y, 0.5, [0, 1, 2], [3, 4], "swap", seed=0)
    table = multilabel.noise_table(Y, rep, list("abcde"), 0.5, [0, 1, 2], "swap")
    fig, alt = multilabel.noise_figure(table, "swap", 0.5, [0, 1, 2])
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 5
    assert "labels 0–2 are the corrupted group" in alt
    plt.close(fig)


def run_params(**changes):
    """The parameters build_model reads."""
    return {"seed": 0, "width": 0.125, "stem": "cifar", **changes}


def test_build_model_is_seeded_and_has_one_output_per_label():
    import torch

    first, second = (multilabel.build_model(run_params(), 7, in_channels=1) for _ in range(2))
    other = multilabel.build_model(run_params(seed=1), 7, in_channels=1)
    weights = [torch.cat([w.flatten() for w in net.parameters()]) for net in (first, second, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])
    first.eval()
    assert first(torch.zeros(2, 1, 16, 16)).shape == (2, 7)


def test_evaluate_gives_the_map_of_each_group():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    scores = np.clip(Y * 0.6 + rng.random(Y.shape) * 0.5, 0, 1)
    evaluation = multilabel.evaluate(Y, scores, clean=[3, 4], corrupted=[0, 1, 2])
    for key, labels in (("map_clean", [3, 4]), ("map_corrupted", [0, 1, 2]), ("map_overall", list(range(5)))):
        assert evaluation[key] == pytest.approx(average_precision_score(Y[:, labels], scores[:, labels]))
    assert evaluation["exact_match"] == np.mean(((scores >= 0.5) == Y).all(1))
    table = multilabel.group_table(evaluation, [3, 4], [0, 1, 2])
    assert list(table.group) == ["clean", "corrupted", "overall"]
    assert table["mAP %"][0] == round(100 * evaluation["map_clean"], 2)
    fig, alt = multilabel.ap_figure(evaluation, multilabel.label_group_names(5, [0, 1, 2]), 1, 0.5)
    assert len(fig.axes[0].patches) == 5 and f"{100 * evaluation['map_clean']:.1f} % for the clean group" in alt
    plt.close(fig)


def test_result_holds_the_fields_of_the_record():
    _, rep = multilabel.corrupt_training(Y, 0.5, [0, 1, 2], [3, 4], "swap", seed=0)
    ap = np.array([0.5, np.nan, 0.25, 1.0, 0.75])
    evaluation = {"ap": ap, "map_clean": 0.875, "map_corrupted": 0.375, "map_overall": 0.625,
                  "f1": np.array([0.5, np.nan, 0.0, 1.0, 0.5]), "exact_match": 0.25}
    ds = SimpleNamespace(y_test=Y[:8], x_train=np.zeros((4, 1, 12, 12)), classes=list("abcde"), source="fake")
    history = SimpleNamespace(to_dict=dict, best_epoch=2)
    res = multilabel.result(evaluation, [3, 4], [0, 1, 2], ds, rep, multilabel.realised_rate(rep, "swap"), history,
                            n_params=10, n_train=40, n_val=4, device="cpu", arrays_saved=False, wall_time_s=1.5)
    assert list(res) == ["map_clean", "map_corrupted", "map_overall", "per_label_ap", "per_label_f1", "exact_match",
                         "clean_labels", "corrupted_labels", "label_names", "test_positives", "noise",
                         "realised_noise", "history", "best_epoch", "image_size", "n_params", "n_train", "n_val",
                         "n_test", "data_source", "device", "arrays_saved", "wall_time_s"]
    assert set(multilabel.RESULT_FIELDS) <= set(res)
    assert res["per_label_ap"] == [0.5, None, 0.25, 1.0, 0.75] and res["per_label_f1"][1] is None
    assert res["test_positives"] == Y[:8].sum(0).tolist() and res["n_test"] == 8 and res["image_size"] == 12
    assert res["realised_noise"][3:] == [0.0, 0.0] and res["noise"]["mode"] == "swap"
    json.dumps(res)


# The blocks of the book page, on fake records.

def fake_record(profile="real", mode="swap", epochs=2, case=1, p=0.0, seed=0, map_clean=0.8):
    """A record with the fields the page reads."""
    params = {"dataset": "mnist-fashion-mosaics", "mode": mode, "epochs": epochs, "case": case, "p": p, "seed": seed,
              "split_seed": 0, "width": 0.25, "stem": "imagenet", "image_size": 56, "batch_size": 64,
              "optimizer": "adam", "lr": 0.002, "weight_decay": 0.0001, "schedule": "cosine", "augment": False}
    names = [str(d) for d in range(10)] + [f"garment {g}" for g in range(10)]
    result = {"map_clean": map_clean, "map_corrupted": 0.8 - 0.6 * p, "map_overall": 0.7, "device": "cpu",
              "wall_time_s": 30.0, "corrupted_labels": list(range(12)) if case == 1 else list(range(12, 20)),
              "label_names": names, "n_params": 700_000, "n_train": 7200, "n_val": 800, "n_test": 2000}
    return {"study": "multilabel", "run_id": f"{profile}-{mode}-{epochs}-{case}-{p}-{seed}", "profile": profile,
            "params": params, "result": result, "provenance": {"git_revision": "abc", "device_name": "CPU"}}


def loaded_of(recs):
    """The records as `report.section` hands them to a section."""
    return tables.Loaded(recs, tables.frame(recs), [])


def shown(monkeypatch):
    """What the sections display, collected instead of shown."""
    out = []
    monkeypatch.setattr(multilabel, "display", out.append)
    monkeypatch.setattr(report, "display", out.append)
    return out


def texts(out):
    """The Markdown the sections displayed, as text."""
    return " ".join(item.data for item in out if isinstance(item, Markdown))


REAL = [fake_record(mode=mode, epochs=epochs, case=case, p=p, seed=seed)
        for mode, epochs in (("flip", 2), ("swap", 4), ("swap", 2)) for case in (1, 2)
        for p in (0.0, 1.0) for seed in (0, 1, 2)]


def test_real_section_draws_one_figure_and_table_per_mode_and_length(monkeypatch):
    out, figures = shown(monkeypatch), []
    monkeypatch.setattr(multilabel.plots, "show", lambda fig, alt, what, runs, numbers, note="": figures.append(
        (fig, {"alt": alt, "what": what, "runs": len(runs), "numbers": numbers})))
    multilabel.real_section(loaded_of(REAL + [fake_record(profile="smoke")]))
    assert len(figures) == 3
    titles = [fig.axes[0].get_title() for fig, _ in figures]
    assert titles[0] == "case 1\nlabels 0–garment 1 corrupted"
    subtitles = [fig._suptitle.get_text() for fig, _ in figures]
    assert [s.split(" · ")[2:4] for s in subtitles] == [["mode swap", "2 epochs"], ["mode swap", "4 epochs"],
                                                       ["mode flip", "2 epochs"]]
    assert "12 runs on cpu" in subtitles[0]
    shows = [show for _, show in figures]
    assert [show["runs"] for show in shows] == [12, 12, 12] and len({show["alt"] for show in shows}) == 3
    assert shows[0]["alt"] == (
        "Profile real: test mAP against the corruption probability p, mode swap, 2 epochs. Case 1: clean group 80.0 % "
        "at p = 0 to 80.0 % at p = 1; corrupted group 80.0 % at p = 0 to 20.0 % at p = 1; overall 70.0 % at p = 0 to "
        "70.0 % at p = 1; the paper's corrupted group 31.30 % at p = 0 and 6.38 % at p = 1. Case 2: clean group "
        "80.0 % at p = 0 to 80.0 % at p = 1; corrupted group 80.0 % at p = 0 to 20.0 % at p = 1; overall 70.0 % at "
        "p = 0 to 70.0 % at p = 1; the paper's corrupted group 27.97 % at p = 0 and 11.42 % at p = 1.")
    numbers = shows[0]["numbers"]
    assert list(numbers.columns[:2]) == ["case", "p"] and list(numbers.n) == [3, 3, 3, 3]
    assert numbers.map_corrupted_mean.tolist() == pytest.approx([80.0, 20.0, 80.0, 20.0])
    text = texts(out)
    assert text.index("mode `swap`, 2 epochs") < text.index("mode `swap`, 4 epochs") < text.index("mode `flip`")
    assert "**What was run**" in text
    tables = [item.data for item in out if hasattr(item, "data") and isinstance(item.data, pd.DataFrame)]
    first = tables[0]
    assert list(first.columns) == ["case", "p", "clean group", "corrupted group", "overall", "runs"]
    assert first["clean group"][0] == "80.0 [80.0, 80.0]" and first["corrupted group"][1] == "20.0 [20.0, 20.0]"
    assert list(first.runs) == [3, 3, 3, 3]
    box = dict(zip(tables[-1][""], tables[-1]["these runs"]))
    assert box["network"] == ("ResNet18 × 0.25 width (imagenet stem) at 56 pixels, 20 sigmoid outputs; "
                              "700,000 parameters")
    assert box["runs"] == "36; 0 of them of the current grid's 160 cells"
    plt.close("all")


def test_a_profile_without_records_says_so(monkeypatch):
    out = shown(monkeypatch)
    multilabel.paper_section(loaded_of(REAL))
    assert texts(out) == "No records of profile `paper` here yet."
    assert not plt.get_fignums()


def test_smoke_section_says_how_to_make_records_only_when_there_are_none(monkeypatch):
    out = shown(monkeypatch)
    multilabel.smoke_section(loaded_of([]))
    assert "No multi-label records yet" in texts(out) and "hetnoise sweep multilabel" in texts(out)
    out.clear()
    multilabel.smoke_section(loaded_of(REAL))
    assert "No multi-label records yet" not in texts(out)


def test_sections_are_registered():
    assert set(multilabel.STUDY.sections) == {"real", "paper", "smoke", "pilot", "pilot_numbers", "real_numbers"}


def test_page_frame_reads_percent_and_the_corrupted_span():
    frame = multilabel.page_frame([fake_record(case=2, map_clean=0.5)])
    assert frame.map_clean[0] == 50 and frame.corrupted[0] == "labels garment 2–garment 9"
    assert sorted([("flip", 2), ("swap", 4), ("flip", 8), ("swap", 2), ("swap", 8)], key=multilabel.swap_first) == [
        ("swap", 8), ("flip", 8), ("swap", 2), ("swap", 4), ("flip", 2)]


def test_claims_give_one_verdict_per_case_mode_and_length():
    frame = tables.frame(REAL)
    verdicts = multilabel.check_claims(frame)
    assert [v.scope for v in verdicts] == [
        "mnist-fashion-mosaics, case 1, flip, 2 epochs", "mnist-fashion-mosaics, case 2, flip, 2 epochs",
        "mnist-fashion-mosaics, case 1, swap, 2 epochs", "mnist-fashion-mosaics, case 1, swap, 4 epochs",
        "mnist-fashion-mosaics, case 2, swap, 2 epochs", "mnist-fashion-mosaics, case 2, swap, 4 epochs"]
    assert all(v.verdict == claims.TOO_FEW for v in verdicts)  # two values of p: no slope
    assert verdicts[0].paper == "flat; corrupted group 31.3 → 6.38 % (Fig. 6)"
    assert [v.kind for v in verdicts] == [claims.EXTENSION] * 2 + [""] * 4  # the paper never flipped labels
    current = [fake_record(mode="swap", epochs=8, case=1, p=p, seed=seed) for p in (0.0, 0.5, 1.0) for seed in (0, 1)]
    verdicts = multilabel.check_claims(tables.frame(REAL + current))  # the 2- and 4-epoch runs are superseded
    assert [v.scope for v in verdicts] == ["mnist-fashion-mosaics, case 1, swap"]
    assert multilabel.check_claims(pd.DataFrame()) == []


# The pilot that chose the `real` recipe's number of epochs.

def pilot_record(epochs, seed, first, rest, seconds=10.0):
    """A pilot record at p = 0 whose first 12 labels have AP `first` and last 8 AP `rest` (one label has none)."""
    rec = fake_record(profile=multilabel.PILOT, epochs=epochs, seed=seed)
    rec["result"]["per_label_ap"] = [first] * 11 + [None] + [rest] * 8
    rec["result"]["wall_time_s"] = seconds
    rec["run_id"] = f"pilot-{epochs}-{seed}"
    return rec


# Overall mAP (11 × first + 8 × rest) / 19: 2 epochs 0.70, 4 epochs 0.80, 8 epochs 0.805 (+0.5 points), 16: 0.81.
PILOT = [pilot_record(e, seed, first + 0.01 * (seed - 1), rest, seconds=5.0 * e)
         for e, first, rest in ((2, 0.70, 0.70), (4, 0.80, 0.80), (8, 0.805, 0.805), (16, 0.81, 0.81))
         for seed in (0, 1, 2)]


def test_pilot_runs_are_left_out_of_the_claims():
    with_pilot = multilabel.check_claims(tables.frame(REAL + PILOT))
    assert [v.scope for v in with_pilot] == [v.scope for v in multilabel.check_claims(tables.frame(REAL))]
    assert {v.profile for v in with_pilot} == {"real"}
    assert multilabel.check_claims(tables.frame(PILOT)) == []


def test_pilot_rows_read_both_label_groups_from_the_per_label_ap():
    rows = multilabel.pilot_rows(PILOT[:1])
    assert rows.epochs[0] == 2 and rows.seed[0] == 0 and rows.seconds[0] == 10.0
    assert rows["first"][0] == pytest.approx(69.0) and rows.rest[0] == pytest.approx(70.0)  # the None is skipped
    assert rows.overall[0] == pytest.approx((11 * 69.0 + 8 * 70.0) / 19)


def test_pilot_rule_chooses_the_smallest_length_whose_doubling_adds_under_a_point():
    rows = multilabel.pilot_rows(PILOT)
    gains = multilabel.doubling_gains(rows)
    assert gains[2] == pytest.approx(10.0) and gains[4] == pytest.approx(0.5) and np.isnan(gains[16])
    assert multilabel.pilot_choice(rows) == 4
    assert multilabel.pilot_choice(rows[rows.epochs <= 4]) is None  # no doubling under a point run yet
    assert multilabel.pilot_choice(multilabel.pilot_rows(PILOT[:3] + PILOT[9:])) is None  # 2 → 16 is no doubling


def test_pilot_section_shows_one_row_per_length(monkeypatch):
    out = shown(monkeypatch)
    multilabel.pilot_section(loaded_of(REAL + PILOT))
    assert "Pilot `real-pilot`, p = 0" in texts(out)
    table = [item.data for item in out if hasattr(item, "data") and isinstance(item.data, pd.DataFrame)][0]
    assert list(table.epochs) == [2, 4, 8, 16] and list(table.runs) == [3, 3, 3, 3]
    assert list(table.columns[3:5]) == ["labels 0–garment 1 (case 1 corrupted, case 2 clean)",
                                        "labels garment 2–garment 9 (case 1 clean, case 2 corrupted)"]
    assert list(table["doubling adds"]) == ["+10.0", "+0.5", "+0.5", "–"]
    assert list(table["seconds per run"]) == [10.0, 20.0, 40.0, 80.0]
    out.clear()
    multilabel.pilot_section(loaded_of(REAL))
    assert texts(out) == "No records of the pilot `real-pilot` here yet."


def test_pilot_numbers_name_the_choice_and_the_recipe():
    numbers = multilabel.pilot_numbers(loaded_of(REAL + PILOT))
    assert numbers["multilabel_pilot_epochs"] == 4 and numbers["multilabel_pilot_threshold"] == "1"
    assert numbers["multilabel_pilot_gain"] == "+0.5" and numbers["multilabel_pilot_gain_before"] == "+10.0"
    assert numbers["multilabel_pilot_overall_e2"] == "70.0" and numbers["multilabel_pilot_overall_e16"] == "81.0"
    assert numbers["multilabel_real_epochs"] == multilabel.REAL_RECIPE.epochs
    empty = multilabel.pilot_numbers(loaded_of(REAL))
    assert empty["multilabel_pilot_epochs"] == "none yet" and empty["multilabel_pilot_gain"] == "–"
    assert empty["multilabel_pilot_overall_e8"] == "–"


def test_real_numbers_read_each_length_per_mode_and_case():
    current = multilabel.REAL_RECIPE.epochs
    recs = [fake_record(mode=mode, epochs=current, case=case, p=p, seed=seed, map_clean=0.8 + 0.02 * p + 0.001 * seed)
            for mode in ("swap", "flip") for case in (1, 2) for p in (0.0, 0.5, 1.0) for seed in (0, 1, 2)]
    earlier = [fake_record(epochs=2, p=p, seed=seed, map_clean=0.1) for p in (0.0, 1.0) for seed in (0, 1)]
    numbers = multilabel.real_numbers(loaded_of(recs + earlier + PILOT))
    key = f"multilabel_e{current}"
    assert numbers[f"{key}_runs"] == 36 and numbers[f"{key}_seeds"] == 3
    assert numbers[f"{key}_swap1_corrupted_first"] == "80.0" and numbers[f"{key}_flip2_corrupted_last"] == "20.0"
    assert numbers[f"{key}_swap2_clean_first"] == "80.1" and numbers[f"{key}_swap2_clean_last"] == "82.1"
    assert numbers[f"{key}_flip1_overall_first"] == "70.0"
    assert numbers[f"{key}_swap2_clean_peak"] == "82.1" and numbers[f"{key}_swap2_clean_peak_p"] == "1"
    assert numbers[f"{key}_swap1_clean_change"].startswith("+2.0 [") and numbers[f"{key}_swap1_verdict"] == claims.FAILS
    assert not any(name.startswith("multilabel_e2") for name in numbers)  # an earlier recipe's runs are not read
    none = multilabel.real_numbers(loaded_of(earlier))
    assert none[f"{key}_runs"] == 0 and none[f"{key}_swap2_clean_change"] == "–"


def test_real_recipe_trains_for_the_epochs_the_published_pilot_chose():
    from hetnoise import records

    recs, problems = records.load_records(records.published_dir(), "multilabel", multilabel.PILOT)
    if not recs:
        pytest.skip("no published pilot records")
    assert not problems and {r["params"]["epochs"] for r in recs} == set(multilabel.PILOT_EPOCHS)
    assert multilabel.pilot_choice(multilabel.pilot_rows(recs)) == multilabel.REAL_RECIPE.epochs


def test_the_box_counts_only_runs_of_the_current_grid():
    current = fake_record(epochs=multilabel.REAL_RECIPE.epochs, p=multilabel.TWELVE_P[1], seed=4)
    assert multilabel.grid_runs([current, fake_record(epochs=2)], "real") == (
        "2; 1 of them of the current grid's 160 cells")
    assert multilabel.grid_runs([current], "smoke") == "1; 0 of them of the current grid's 12 cells"
    assert multilabel.grid_runs([current], "nope") == "1"
