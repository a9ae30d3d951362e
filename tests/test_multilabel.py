"""The multi-label notebook (paper §3.3, §4.3): a real offline smoke run through papermill, checked
against an independent recomputation of the noise and of the mAP; bad parameters and missing
mini-COCO fail fast and clearly; the book page draws from the record or says how to make one."""
import json
import os
import subprocess
import time

import numpy as np
import pytest

from conftest import BIN, ROOT, papermill


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


def test_clean_group_of_the_training_labels_is_untouched(smoke_run):
    from hetnoise import coco, noise

    _, rec, arrays, _ = smoke_run
    res, params = rec["result"], rec["params"]
    clean, corrupted = res["clean_labels"], res["corrupted_labels"]
    y_true, y_noisy = arrays["y_train_true"], arrays["y_train_noisy"]
    # the labels the network was trained on: clean columns identical, corrupted columns changed
    assert (y_noisy[:, clean] == y_true[:, clean]).all()
    assert (y_noisy[:, corrupted] != y_true[:, corrupted]).any()
    # the same seeds give the same split and the same noisy labels, independently of the notebook
    ds = coco.load_multilabel("digit-mosaics")
    train_idx, _ = coco.split_train_val(len(ds.y_train), 0.1, params["split_seed"])
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


def test_map_matches_an_independent_computation(smoke_run):
    from sklearn.metrics import average_precision_score

    _, rec, arrays, _ = smoke_run
    res = rec["result"]
    y, s = arrays["y_test"], arrays["scores_test"]
    assert y.shape == s.shape == (res["n_test"], 10)
    assert np.array_equal(y.sum(0), res["test_positives"])
    has_pos = y.any(0)
    direct = np.array([direct_average_precision(y[:, j], s[:, j]) if has_pos[j] else np.nan for j in range(10)])
    np.testing.assert_allclose(direct[has_pos], np.array(res["per_label_ap"], dtype=float)[has_pos], atol=1e-9)
    for key, labels in (("map_clean", res["clean_labels"]), ("map_corrupted", res["corrupted_labels"]),
                        ("map_overall", list(range(10)))):
        keep = [j for j in labels if has_pos[j]]
        assert res[key] == pytest.approx(np.mean(direct[keep]), abs=1e-9), key
        assert res[key] == pytest.approx(average_precision_score(y[:, keep], s[:, keep], average="macro"),
                                         abs=1e-9), key


def test_bad_parameters_fail_clearly(tmp_path):
    proc = papermill("multilabel.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, p=1.5, profile="smoke")
    assert proc.returncode != 0 and "p=1.5 is not allowed; it must be a number in [0, 1]" in proc.stderr
    proc = papermill("multilabel.ipynb", tmp_path / "bad.ipynb", cwd=tmp_path, case=3, profile="smoke")
    assert proc.returncode != 0 and "case=3 is not allowed; it must be one of [1, 2]" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_missing_mini_coco_fails_fast(tmp_path):
    env_before = {k: os.environ.get(k) for k in ("HETNOISE_COCO", "HETNOISE_DATA")}
    os.environ["HETNOISE_COCO"] = str(tmp_path / "no-coco")
    os.environ["HETNOISE_DATA"] = str(tmp_path / "no-cache")
    try:
        t = time.perf_counter()
        proc = papermill("multilabel.ipynb", tmp_path / "m.ipynb", cwd=tmp_path, p=0.5)
        seconds = time.perf_counter() - t
    finally:
        for k, v in env_before.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert proc.returncode != 0
    assert "FileNotFoundError" in proc.stderr and "HETNOISE_COCO" in proc.stderr, proc.stderr[-2000:]
    assert "instances_train2017.json" in proc.stderr or "annotations" in proc.stderr, proc.stderr[-2000:]
    assert seconds < 60 and not (tmp_path / "results").exists()


def execute_page(results, out, published=None):
    env = {**os.environ, "HETNOISE_RESULTS": str(results), **({"HETNOISE_PUBLISHED": str(published)} if published else {})}
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


def test_book_page_draws_the_figure_from_records(smoke_run, tmp_path):
    cwd, _, _, _ = smoke_run
    nb = execute_page(cwd / "results", tmp_path / "page.ipynb")
    assert outputs(nb, "image/png"), "no figure on the multi-label page"
    text = " ".join(outputs(nb, "text/markdown") + outputs(nb, "text/html") + outputs(nb, "text/plain"))
    assert "No multi-label records yet" not in text


def test_book_page_without_records_says_how_to_make_them(tmp_path):
    nb = execute_page(tmp_path / "none", tmp_path / "page.ipynb", published=tmp_path / "none")
    text = " ".join(outputs(nb, "text/markdown"))
    assert "No multi-label records yet" in text and "hetnoise sweep multilabel" in text
    assert not outputs(nb, "image/png")


def test_label_groups_follow_the_paper():
    from hetnoise import multilabel

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
