"""The regression study the paper proposes (§6): rotated digits, the network predicting the angle.

Every image is rotated by an angle drawn uniformly from [-max_angle, max_angle] with a fixed seed (one for
the training images, another for the test images), so the targets are balanced by construction and the
same on every machine. The errors are measured in degrees per range of true angles: the corrupted range
[low, high], the clean rest, and the clean angles within BAND degrees of the corrupted range. This module
holds what is the study's own: the task, its parameters, profiles and grids, what the paper proposes, the
claims checked on the records and the figures of its page.
"""
from __future__ import annotations

import math

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from hetnoise import claims, plots, stats
from hetnoise.claims import FAILS, HOLDS, MARGIN, MIN_P, MIN_RUNS, TOO_FEW, UNDECIDED, Verdict, at_least, equivalence
from hetnoise.spec import DATA_PARAMS, LENET_PAPER, RECIPE_PARAMS, RUN_PARAMS, Grid, P, Param, Profile, Recipe, Study

ANGLE_SEEDS = {"train": 0, "test": 1}  # fixed: the task is one data set, not part of a run's randomness
BAND = 10.0  # degrees: clean angles this close to the corrupted range form the boundary band
BIN = 5.0  # degrees: width of the angle bins of the error-per-angle curve
RANGES = ("clean", "corrupted", "boundary", "overall")


def angles(n: int, max_angle: float, split: str) -> np.ndarray:
    """The `n` rotation angles (degrees) of a split, uniform on [-max_angle, max_angle], from the split's fixed seed."""
    return np.random.default_rng(ANGLE_SEEDS[split]).uniform(-max_angle, max_angle, n)


def rotate(x: torch.Tensor, degrees: np.ndarray, batch_size: int = 4096) -> torch.Tensor:
    """uint8 N×C×H×W images, each rotated counter-clockwise about its centre by its angle (bilinear, black
    corners), returned as uint8."""
    out = torch.empty_like(x)
    theta = torch.as_tensor(np.deg2rad(degrees), dtype=torch.float32)
    for i in range(0, len(x), batch_size):
        t = theta[i:i + batch_size]
        cos, sin = torch.cos(t), torch.sin(t)
        # affine_grid maps output to input coordinates: rotating the image by +t samples it at -t
        mat = torch.stack([torch.stack([cos, -sin, torch.zeros_like(t)], 1),
                           torch.stack([sin, cos, torch.zeros_like(t)], 1)], 1)
        xb = x[i:i + batch_size].float()
        grid = F.affine_grid(mat, list(xb.shape), align_corners=False)
        out[i:i + batch_size] = F.grid_sample(xb, grid, align_corners=False).round().clamp(0, 255).to(torch.uint8)
    return out


def masks(true: np.ndarray, low: float, high: float, band: float = BAND) -> dict[str, np.ndarray]:
    """Which true angles belong to each range: corrupted [low, high], clean (the rest), boundary (clean and
    within `band` degrees of the corrupted range), overall."""
    corrupted = (true >= low) & (true <= high)
    boundary = ~corrupted & (((true >= low - band) & (true < low)) | ((true > high) & (true <= high + band)))
    return {"clean": ~corrupted, "corrupted": corrupted, "boundary": boundary, "overall": np.ones_like(corrupted)}


def errors(true: np.ndarray, pred: np.ndarray, low: float, high: float, band: float = BAND) -> dict[str, float]:
    """Test MSE, MAE and mean signed error (prediction − truth, degrees) of each range, with its size;
    NaN for an empty range."""
    err = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    out = {}
    for name, m in masks(true, low, high, band).items():
        e = err[m]
        out[f"mse_{name}"] = float((e ** 2).mean()) if e.size else math.nan
        out[f"mae_{name}"] = float(np.abs(e).mean()) if e.size else math.nan
        out[f"bias_{name}"] = float(e.mean()) if e.size else math.nan
        out[f"n_{name}"] = int(m.sum())
    return out


def error_by_angle(true: np.ndarray, pred: np.ndarray, max_angle: float, width: float = BIN) -> dict[str, list]:
    """MAE and mean signed error per bin of true angle (bins of `width` degrees from -max_angle): the error curve."""
    edges = np.arange(-max_angle, max_angle + width / 2, width)
    idx = np.clip(np.digitize(true, edges) - 1, 0, len(edges) - 2)
    err = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    count = np.bincount(idx, minlength=len(edges) - 1)
    with np.errstate(invalid="ignore"):
        mae = np.bincount(idx, np.abs(err), len(edges) - 1) / count
        bias = np.bincount(idx, err, len(edges) - 1) / count
    return {"centre": ((edges[:-1] + edges[1:]) / 2).tolist(), "mae": mae.tolist(), "bias": bias.tolist(),
            "n": count.tolist()}


# §6 proposes this study and runs none of it: what it does say, beside our design.
PAPER_SETUP = {
    "data": "none: no balanced image regression data set was found (age estimation given as the example)",
    "network": "not stated",
    "training": "labels in a range [a, b] get N(0, σ²) noise truncated to stay in [a, b], in training only",
    "grid": "not stated",
    "runs": "none; evaluation of the corrupted and the uncorrupted range by MSE",
}

# Not in the paper (its §6 proposal): LeNet-5 with one output on rotated digits, the multi-class LeNet-5 recipe
# at 12 epochs on a 12,000-image subset of MNIST.
PROFILES = {
    "paper": Profile("mnist", {"lenet5": replace(LENET_PAPER, epochs=12)}),
    "smoke": Profile("digits", {"lenet5": Recipe(epochs=10, batch_size=64, optimizer="adam", lr=2e-3)}),
}

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=("digits", "mnist", "fashion-mnist")),
    "model": Param(str, "lenet5", choices=("lenet5",)),
    "p": P,
    "sigma": Param(float, 20.0, low=0.0),
    "low": Param(float, 0.0, low=-90.0, high=90.0),
    "high": Param(float, 45.0, low=-90.0, high=90.0),
    "max_angle": Param(float, 45.0, low=1.0, high=90.0),
    "n_train": Param(int, 12000, low=100),
    **RUN_PARAMS, **RECIPE_PARAMS, **DATA_PARAMS,
}

# p at σ = 20°, then σ at p = 1; three seeds per cell.
GRIDS = {
    "smoke": [{"dataset": ["digits"], "p": [0.0, 0.5, 1.0], "sigma": [20.0], "seed": [0, 1, 2]},
              {"dataset": ["digits"], "p": [1.0], "sigma": [5.0], "seed": [0, 1, 2]}],
    "paper": [{"dataset": ["mnist"], "p": [0.0, 0.25, 0.5, 0.75, 1.0], "sigma": [20.0], "seed": [0, 1, 2]},
              {"dataset": ["mnist"], "p": [1.0], "sigma": [5.0, 40.0], "seed": [0, 1, 2]}],
}

PUBLISHED = (Grid("paper", "rotated MNIST, the regression study the paper proposes (§6)"),)

RESULT_FIELDS = {"mse_clean": (float, 0, None), "mse_corrupted": (float, 0, None), "mse_boundary": (float, 0, None),
                 "mse_overall": (float, 0, None), "mae_clean": (float, 0, None), "mae_corrupted": (float, 0, None),
                 "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}


def complete(params: dict) -> None:
    """The corrupted range must be a range."""
    if not params["low"] < params["high"]:
        raise ValueError(f"regression: low={params['low']:g} must be below high={params['high']:g} "
                         "(the corrupted range in degrees)")


def margin_for(max_angle: float) -> float:
    """Degrees: MARGIN's share of the accuracy scale (MARGIN of 100 points) applied to the span of the angles
    (2 × max_angle), so a change the regression tests accept as none is as small, for its scale, as elsewhere."""
    return round(MARGIN / 100 * 2 * max_angle, 2)


def _flat_error(claim, scope, profile, paper_text, part, x_name, metric, margin, span_text) -> Verdict:
    """Equivalence test on the change of an error (root of the MSE `metric`, degrees) over the range of `x_name`:
    the least-squares slope times that range, inside ±margin and not wholly above 0 (errors must not rise)."""
    x, y = part[x_name].to_numpy(float), np.sqrt(part[metric].to_numpy(float))
    test = (f"change over {span_text} (least-squares slope × range), 95 % bootstrap CI over runs, inside "
            f"±{margin:g}° and not wholly above 0")
    v = lambda ours, verdict, why: Verdict("regression", claim, scope, profile, paper_text, ours, verdict, why, test,
                                           len(part))
    if part.empty or part.groupby(x_name).size().min() < MIN_RUNS or len(np.unique(x)) < MIN_P:
        return v("–", TOO_FEW, f"needs {MIN_RUNS} runs at each of {MIN_P} or more values of {x_name}")
    span = float(np.ptp(x))
    est, lo, hi = (span * t for t in stats.bootstrap_slope(x, y))
    ours = claims.interval(est, lo, hi, "°")
    verdict = equivalence(lo, hi, margin)
    if verdict == HOLDS and lo > 0:
        return v(ours, FAILS, f"a small but real rise: the whole interval is above 0 (inside ±{margin:g}°)")
    why = {HOLDS: "", FAILS: f"the whole interval lies beyond ±{margin:g}°: a real {'rise' if est > 0 else 'fall'}",
           UNDECIDED: f"a real rise (the whole interval is above 0), but the interval straddles +{margin:g}°: the "
                      "runs cannot tell whether it exceeds the margin" if lo > 0 else
                      f"the interval straddles ±{margin:g}°: the runs cannot tell"}[verdict]
    return v(ours, verdict, why)


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """The study the paper proposes (§6): noise in one range of angles raises its error (the premise), and the
    clean range's error, on the whole and next to the corrupted range, does not rise with p (at the σ with
    most p values) nor with σ (at the p with most σ values). Errors are RMSE in degrees."""
    out = []
    if frame.empty:
        return out
    proposal = "proposed, not run (§6): evaluate each range by MSE"
    for (profile, dataset, low, high, max_angle), part in frame.groupby(["profile", "dataset", "low", "high",
                                                                          "max_angle"]):
        margin = margin_for(max_angle)
        scope = claims.scope(dataset, f"corrupted {low:g}° to {high:g}° of ±{max_angle:g}°")
        sigma = part.groupby("sigma").p.nunique().idxmax()
        by_p = part[part.sigma == sigma]
        a, b = by_p[by_p.p == by_p.p.max()], by_p[by_p.p == 0]
        test = "corrupted-range RMSE at the largest p minus at p = 0, 95 % bootstrap CI, above 0"
        claim = f"the noise raises the corrupted range's error (the premise; σ = {sigma:g}°)"
        if min(len(a), len(b)) < MIN_RUNS or a.p.max() == 0:
            out.append(Verdict("regression", claim, scope, profile, proposal, "–", TOO_FEW,
                               f"needs {MIN_RUNS} runs at p = 0 and at a larger p", test, len(a) + len(b)))
        else:
            est, lo, hi = stats.bootstrap_diff(np.sqrt(a.mse_corrupted.to_numpy(float)),
                                               np.sqrt(b.mse_corrupted.to_numpy(float)))
            verdict = at_least(lo, hi, 0.0)
            out.append(Verdict("regression", claim, scope, profile, proposal,
                               f"at p = {a.p.max():g}: {claims.interval(est, lo, hi, '°')}", verdict,
                               {HOLDS: "", FAILS: "the corrupted range's error fell", UNDECIDED: "the interval includes 0"}
                               [verdict], test, len(a) + len(b)))
        for metric, what in (("mse_clean", "the clean range's error"),
                             ("mse_boundary", f"the error of clean angles within {_band(part)}° of the corrupted range")):
            out.append(_flat_error(f"{what} stays flat as p grows (σ = {sigma:g}°)", scope, profile, proposal, by_p,
                                   "p", metric, margin, "p = 0 → 1" if by_p.p.min() == 0 and by_p.p.max() == 1
                                   else "the range of p"))
        q = part.groupby("p").sigma.nunique().idxmax()
        by_sigma = part[part.p == q]
        if by_sigma.sigma.nunique() > 1:
            out.append(_flat_error(f"the clean range's error stays flat as σ grows (p = {q:g})", scope, profile,
                                   proposal, by_sigma, "sigma", "mse_clean", margin,
                                   f"σ = {by_sigma.sigma.min():g} → {by_sigma.sigma.max():g}°"))
    return out


def _band(part: pd.DataFrame) -> str:
    """The boundary band's width in degrees, as recorded."""
    return f"{part['band'].iloc[0]:g}" if "band" in part else "a few"



def figure(frame: pd.DataFrame, subtitle: str = ""):
    """Test RMSE (°) of the clean range, the corrupted range and the clean angles next to it: left against p
    (at the σ with most p values), right against σ (at the p with most σ values); mean ± 1 std over seeds."""
    frame = frame.assign(**{name: np.sqrt(frame[f"mse_{name}"]) for name in ("clean", "corrupted", "boundary")})
    sigma = frame.groupby("sigma").p.nunique().idxmax()
    q = frame.groupby("p").sigma.nunique().idxmax()
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.3), sharey=True)
    for ax, part, x, label in ((axes[0], frame[frame.sigma == sigma], "p", f"p (σ = {sigma:g}°)"),
                               (axes[1], frame[frame.p == q], "sigma", f"σ in degrees (p = {q:g})")):
        s = plots.summarise(part, [x], ["clean", "corrupted", "boundary"]).sort_values(x)
        plots.band(ax, s[x], s.corrupted_mean, s.corrupted_std, plots.CORRUPT, "corrupted range")
        plots.band(ax, s[x], s.clean_mean, s.clean_std, plots.CLEAN, "clean range")
        plots.band(ax, s[x], s.boundary_mean, s.boundary_std, plots.OVERALL, "clean, next to the corrupted range", marker="s")
        ax.set(xlabel=label)
    axes[0].set(ylabel="test RMSE (°)", ylim=(0, None))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def error_by_angle_figure(records: list[dict], subtitle: str = ""):
    """Test MAE (°) per bin of true angle, mean over seeds, one line per p at the σ of the p axis; the
    corrupted range shaded. Transfer from the noisy range would show first next to it."""
    rows = [{"p": r["params"]["p"], "sigma": r["params"]["sigma"], "angle": c, "mae": m}
            for r in records for c, m in zip(r["result"]["error_by_angle"]["centre"], r["result"]["error_by_angle"]["mae"])]
    df = pd.DataFrame(rows)
    sigma = df.groupby("sigma").p.nunique().idxmax()
    df = df[df.sigma == sigma]
    ps = sorted(df.p.unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(ps)))
    prm = records[0]["params"]
    fig, ax = plt.subplots(figsize=(7.6, 3.3))
    ax.axvspan(prm["low"], prm["high"], color=plots.CORRUPT, alpha=0.1, label="corrupted range")
    for p, colour in zip(ps, colours):
        g = df[df.p == p].groupby("angle").mae.mean()
        ax.plot(g.index, g.values, marker="o", ms=3, color=colour, label=f"p = {p:g}")
    ax.set(xlabel="true angle (°)", ylabel="test MAE (°)", ylim=(0, None))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title=f"σ = {sigma:g}°", title_fontsize=8)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


STUDY = Study(name="regression", title="Regression", version=1, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims, complete=complete,
              key_params=("dataset", "p", "sigma", "seed", "epochs"), published=PUBLISHED)
