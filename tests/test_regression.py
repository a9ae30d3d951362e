"""The regression study: the noise with probability p against its definition, the rotated-digit task and its
error measures, the claims on synthetic records with a known truth, and a toy-size papermill run."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from conftest import papermill
from hetnoise import claims, noise, regression, settings


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
    low, high = noise.corrupt_regression(y, 0, 45, 10.0, seed=7, p=0.3), noise.corrupt_regression(y, 0, 45, 10.0, seed=7, p=0.8)
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
            rmse = lambda base, rise: (base + rise * strength + rng.normal(0, noise_sd)) ** 2
            rows.append({"profile": "paper", "dataset": "mnist", "low": 0.0, "high": 45.0, "max_angle": 45.0,
                         "band": 10.0, "p": p, "sigma": sigma, "seed": seed_, "mse_clean": rmse(6, clean_rise),
                         "mse_boundary": rmse(7, clean_rise), "mse_corrupted": rmse(6, corrupted_rise)})
    return pd.DataFrame(rows)


def verdicts(frame):
    table = claims.evaluate({"regression": frame})
    return {row.claim.split(" (")[0] + (" σ" if "σ grows" in row.claim else ""): row for row in table.itertuples()}


def test_the_margin_is_marginss_share_of_the_angle_span():
    assert claims.regression_margin(45) == pytest.approx(round(claims.MARGIN / 100 * 90, 2))


def test_a_flat_clean_range_holds_and_a_rising_one_does_not():
    flat = verdicts(regression_frame())
    assert {v.verdict for v in flat.values()} == {claims.HOLDS}, flat
    assert len(flat) == 4 and all(v.study == "regression" for v in flat.values())
    rising = verdicts(regression_frame(clean_rise=6.0))
    assert rising["the clean range's error stays flat as p grows"].verdict == claims.FAILS
    assert "rise" in rising["the clean range's error stays flat as p grows"].why
    assert rising["the clean range's error stays flat as σ grows σ"].verdict == claims.FAILS


def test_a_small_real_rise_never_holds_and_noisy_runs_cannot_tell():
    small = verdicts(regression_frame(clean_rise=1.0, noise_sd=0.02))
    assert small["the clean range's error stays flat as p grows"].verdict == claims.FAILS
    noisy = verdicts(regression_frame(noise_sd=4.0))
    assert noisy["the clean range's error stays flat as p grows"].verdict == claims.UNDECIDED


def test_too_few_runs_and_an_absent_premise():
    few = verdicts(regression_frame(runs=2))
    assert {v.verdict for v in few.values()} == {claims.TOO_FEW}
    no_harm = verdicts(regression_frame(corrupted_rise=-3.0, noise_sd=0.05))
    assert no_harm["the noise raises the corrupted range's error"].verdict == claims.FAILS


# ---------------------------------------------------------------------------------------------- notebook
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
