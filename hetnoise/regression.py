"""The regression study the paper proposes (§6): rotated digits, the network predicting the angle.

Every image is rotated by an angle drawn uniformly from [-max_angle, max_angle] with a fixed seed (one for
the training images, another for the test images), so the targets are balanced by construction and the
same on every machine. The errors are measured in degrees per range of true angles: the corrupted range
[low, high], the clean rest, and the clean angles within BAND degrees of the corrupted range. This module
holds what is the study's own: the task, the pipeline its notebook calls (subset, rotation, corruption,
model, training, evaluation, result), its parameters, profiles and grids, what the paper proposes, the
claims checked on the records and the blocks of its book page (`sections`).
"""
from __future__ import annotations

import math

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from hetnoise import claims, data, models, noise, plots, stats, tables, train
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


# ------------------------------------------------------------------------------------------- the pipeline
def subset(labels: np.ndarray, n_train: int, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) of the training images a run uses: at most n_train of them, drawn by
    split_seed so a smaller run uses a subset, then the paper's stratified 9:1 split."""
    used = np.sort(np.random.default_rng(split_seed).permutation(len(labels))[:n_train])
    train_part, val_part = data.stratified_split(np.asarray(labels)[used], 0.1, split_seed)
    return used[train_part], used[val_part]


def rotated(x_train: torch.Tensor, x_test: torch.Tensor, max_angle: float, train_idx: np.ndarray,
            val_idx: np.ndarray) -> dict[str, tuple[torch.Tensor, np.ndarray]]:
    """The images of each part ("train", "val", "test"), rotated by their angles, with those angles: the
    angles are drawn for the whole training and test sets, so an image keeps its angle whatever the subset."""
    angle_train = angles(len(x_train), max_angle, "train")
    angle_test = angles(len(x_test), max_angle, "test")
    return {"train": (rotate(x_train[train_idx], angle_train[train_idx]), angle_train[train_idx]),
            "val": (rotate(x_train[val_idx], angle_train[val_idx]), angle_train[val_idx]),
            "test": (rotate(x_test, angle_test), angle_test)}


def pixel_stats(images: torch.Tensor) -> tuple[tuple[float], tuple[float]]:
    """Mean and standard deviation of the training pixels in [0, 1], one channel: the network's input scaling."""
    pixels = images.float() / 255
    return (pixels.mean().item(),), (pixels.std().item(),)


def corrupt(true: np.ndarray, run: dict):
    """The noisy training angles and the noise report: each angle in [low, high] is, with probability p,
    replaced by a draw of N(angle, σ²) truncated to the range (the paper's §6 proposal)."""
    return noise.corrupt_regression(true, run["low"], run["high"], run["sigma"], seed=run["seed"], p=run["p"])


def targets(degrees: np.ndarray, max_angle: float) -> torch.Tensor:
    """Angles as training targets, divided by max_angle so they lie in [-1, 1]."""
    return torch.tensor(degrees / max_angle, dtype=torch.float32)


def model(run: dict, channels: int) -> torch.nn.Module:
    """The run's network with one output, the angle, initialised from the run's seed."""
    return models.build(run["model"], 1, channels, seed=run["seed"])


def fit(net: torch.nn.Module, parts: dict, noisy: np.ndarray, recipe, mean, std, run: dict):
    """Train on the noisy training angles with a squared-error loss, keeping the checkpoint of the lowest
    loss on the true validation angles; the training history."""
    (x_train, _), (x_val, val_angles) = parts["train"], parts["val"]
    return train.fit(net, x_train, targets(noisy, run["max_angle"]), x_val, targets(val_angles, run["max_angle"]),
                     recipe, mean=mean, std=std, device=run["device"], seed=run["seed"], loss="mse",
                     label=f"[{run['run_id']}]")


def predict(net: torch.nn.Module, images: torch.Tensor, mean, std, max_angle: float) -> np.ndarray:
    """Predicted angles in degrees."""
    return train.predict(net, images, mean, std)[:, 0].numpy().astype(float) * max_angle


def evaluate(net: torch.nn.Module, parts: dict, mean, std, run: dict) -> tuple[dict, dict]:
    """Test errors per range of true angles (`errors`) and per bin of true angle (`error_by_angle`)."""
    images, true = parts["test"]
    pred = predict(net, images, mean, std, run["max_angle"])
    return errors(true, pred, run["low"], run["high"]), error_by_angle(true, pred, run["max_angle"])


def range_table(errs: dict) -> pd.DataFrame:
    """One row per range: its test images and errors in degrees, for the notebook."""
    return pd.DataFrame([{"range": name, "test images": errs[f"n_{name}"], "MSE (°²)": errs[f"mse_{name}"],
                          "RMSE (°)": np.sqrt(errs[f"mse_{name}"]), "MAE (°)": errs[f"mae_{name}"],
                          "mean signed error (°)": errs[f"bias_{name}"]} for name in RANGES]).round(2)


def result(errs: dict, by_angle: dict, noise_report, history, net: torch.nn.Module, parts: dict, source: str,
           device, wall_time_s: float) -> dict:
    """The result a run's record holds: the errors per range (and their roots), the error curve, the noise,
    the training history and the sizes of the run."""
    return dict(**errs, **{f"rmse_{name}": float(np.sqrt(errs[f"mse_{name}"])) for name in RANGES},
                band=BAND, error_by_angle=by_angle, noise=noise_report.to_dict(), history=history.to_dict(),
                best_epoch=history.best_epoch, n_params=models.count_parameters(net), n_train=len(parts["train"][1]),
                n_val=len(parts["val"][1]), n_test=len(parts["test"][1]), data_source=source, device=str(device),
                wall_time_s=wall_time_s)


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
    "mnist-rotation": Profile("mnist", {"lenet5": replace(LENET_PAPER, epochs=12)}),
    "smoke": Profile("digits", {"lenet5": Recipe(epochs=10, batch_size=64, optimizer="adam", lr=2e-3)}),
}

PARAMS = {
    "profile": Param(str, "mnist-rotation", choices=tuple(PROFILES)),
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
    "mnist-rotation": [{"dataset": ["mnist"], "p": [0.0, 0.25, 0.5, 0.75, 1.0], "sigma": [20.0], "seed": [0, 1, 2]},
                       {"dataset": ["mnist"], "p": [1.0], "sigma": [5.0, 40.0], "seed": [0, 1, 2]}],
}

# The paper never ran this study: its MNIST profile was called `paper` until it was named for what it runs.
RENAMED = {"paper": "mnist-rotation"}
PUBLISHED = (Grid("mnist-rotation", "rotated MNIST, the regression study the paper proposes (§6)"),)

RESULT_FIELDS = {"mse_clean": (float, 0, None), "mse_corrupted": (float, 0, None), "mse_boundary": (float, 0, None),
                 "mse_overall": (float, 0, None), "mae_clean": (float, 0, None), "mae_corrupted": (float, 0, None),
                 "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}


def complete(params: dict) -> None:
    """The corrupted range must be a range; augmentation would flip the digits, and a flip negates the angle."""
    if not params["low"] < params["high"]:
        raise ValueError(f"regression: low={params['low']:g} must be below high={params['high']:g} "
                         "(the corrupted range in degrees)")
    if params["augment"]:
        raise ValueError("regression: augment=True would flip and shift the rotated digits, and a flip negates the "
                         "angle; leave augment unset for the regression study")


def margin_for(max_angle: float) -> float:
    """Degrees: MARGIN's share of the accuracy scale (MARGIN of 100 points) applied to the span of the angles
    (2 × max_angle), so a change the regression tests accept as none is as small, for its scale, as elsewhere."""
    return round(MARGIN / 100 * 2 * max_angle, 2)


def _flat_error(claim, scope, profile, paper_text, part, x_name, metric, margin, span_text) -> Verdict:
    """Equivalence test on the change of an error (root of the MSE `metric`, degrees) over the range of `x_name`:
    the least-squares slope within each seed times that range, its mean and t interval over seeds."""
    test = (f"change over {span_text} (least-squares slope × range within each seed), 95 % t interval over "
            f"seeds, inside ±{margin:g}°")

    def verdict_of(ours: str, verdict: str, why: str) -> Verdict:
        return Verdict("regression", claim, scope, profile, paper_text, ours, verdict, why, test,
                       claims.run_count(part))

    seeds_per_value = part.drop_duplicates([x_name, "seed"]).groupby(x_name).size() if len(part) else part
    if part.empty or seeds_per_value.min() < MIN_RUNS or part[x_name].nunique() < MIN_P:
        return verdict_of("–", TOO_FEW, f"needs {MIN_RUNS} seeds at each of {MIN_P} or more values of {x_name}")
    errors = part.assign(rmse=np.sqrt(part[metric].to_numpy(float)))
    est, lo, hi = stats.t_interval(stats.unit_change(errors, "rmse", ("seed",), x_name))
    ours = claims.interval(est, lo, hi, "°")
    verdict = equivalence(lo, hi, margin)
    why = (claims.real_change(est, lo, hi, margin, "°") if verdict == HOLDS else
           _why_not_flat(verdict, est, lo, margin))
    return verdict_of(ours, verdict, why)


def _why_not_flat(verdict: str, est: float, lo: float, margin: float) -> str:
    """The sentence a flatness verdict gives when it does not hold."""
    if verdict == FAILS:
        return f"the whole interval lies beyond ±{margin:g}°: a real {'rise' if est > 0 else 'fall'}"
    if verdict == UNDECIDED and lo > 0:
        return (f"a real rise (the whole interval is above 0), but the interval straddles +{margin:g}°: the "
                "runs cannot tell whether it exceeds the margin")
    if verdict == UNDECIDED:
        return f"the interval straddles ±{margin:g}°: the runs cannot tell"
    return ""


PROPOSAL = "proposed, not run (§6): evaluate each range by MSE"


def _premise(scope: str, profile: str, by_p: pd.DataFrame, sigma: float) -> Verdict:
    """The noise must raise the corrupted range's RMSE (largest p against p = 0), or there is nothing to resist."""
    at_max, at_zero = by_p[by_p.p == by_p.p.max()], by_p[by_p.p == 0]
    test = "corrupted-range RMSE at the largest p minus at p = 0, paired by seed, 95 % t interval over seeds, above 0"
    claim = f"the noise raises the corrupted range's error (the premise; σ = {sigma:g}°)"
    runs = claims.run_count(at_max, at_zero)
    if min(at_max.seed.nunique(), at_zero.seed.nunique()) < MIN_RUNS or at_max.p.max() == 0:
        return Verdict("regression", claim, scope, profile, PROPOSAL, "–", TOO_FEW,
                       f"needs {MIN_RUNS} seeds at p = 0 and at a larger p", test, runs)
    est, lo, hi, _, _ = stats.unit_diff(at_max.assign(rmse=np.sqrt(at_max.mse_corrupted.astype(float))),
                                        at_zero.assign(rmse=np.sqrt(at_zero.mse_corrupted.astype(float))),
                                        "rmse", ("seed",))
    verdict = at_least(lo, hi, 0.0)
    why = {HOLDS: "", FAILS: "the corrupted range's error fell", UNDECIDED: "the interval includes 0"}[verdict]
    return Verdict("regression", claim, scope, profile, PROPOSAL,
                   f"at p = {at_max.p.max():g}: {claims.interval(est, lo, hi, '°')}", verdict, why, test, runs)


def _slice_claims(part: pd.DataFrame, profile: str, dataset: str, low: float, high: float,
                  max_angle: float) -> list[Verdict]:
    """The claims on one slice of the records (one data set and corrupted range): the premise, the clean range
    and its neighbours flat in p (at the σ with most p values), the clean range flat in σ (at the p with most σ)."""
    margin = margin_for(max_angle)
    scope = claims.scope(dataset, f"corrupted {low:g}° to {high:g}° of ±{max_angle:g}°")
    sigma = part.groupby("sigma").p.nunique().idxmax()
    by_p = part[part.sigma == sigma]
    p_span = "p = 0 → 1" if by_p.p.min() == 0 and by_p.p.max() == 1 else "the range of p"
    out = [_premise(scope, profile, by_p, sigma)]
    for metric, what in (("mse_clean", "the clean range's error"),
                         ("mse_boundary", f"the error of clean angles within {_band(part)}° of the corrupted range")):
        out.append(_flat_error(f"{what} stays flat as p grows (σ = {sigma:g}°)", scope, profile, PROPOSAL, by_p,
                               "p", metric, margin, p_span))
    p_of_sigma = part.groupby("p").sigma.nunique().idxmax()
    by_sigma = part[part.p == p_of_sigma]
    if by_sigma.sigma.nunique() > 1:
        out.append(_flat_error(f"the clean range's error stays flat as σ grows (p = {p_of_sigma:g})", scope, profile,
                               PROPOSAL, by_sigma, "sigma", "mse_clean", margin,
                               f"σ = {by_sigma.sigma.min():g} → {by_sigma.sigma.max():g}°"))
    return out


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """The study the paper proposes (§6): noise in one range of angles raises its error (the premise), and the
    clean range's error, on the whole and next to the corrupted range, does not rise with p (at the σ with
    most p values) nor with σ (at the p with most σ values). Errors are RMSE in degrees."""
    if frame.empty:
        return []
    keys = ["profile", "dataset", "low", "high", "max_angle"]
    return [verdict for (profile, dataset, low, high, max_angle), part in frame.groupby(keys)
            for verdict in _slice_claims(part, profile, dataset, low, high, max_angle)]


def _band(part: pd.DataFrame) -> str:
    """The boundary band's width in degrees, as recorded."""
    return f"{part['band'].iloc[0]:g}" if "band" in part else "a few"


ERROR_LINES = {"corrupted": "corrupted range", "clean": "clean range", "boundary": "clean, next to the corrupted range"}


def error_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """What the errors figure plots: the test RMSE (°) of each range, mean, std and number of runs per cell, against
    p at the σ with most p values (`axis` "p") and against σ at the p with most σ values (`axis` "sigma")."""
    frame = frame.assign(**{name: np.sqrt(frame[f"mse_{name}"]) for name in ERROR_LINES})
    sigma = frame.groupby("sigma").p.nunique().idxmax()
    p_of_sigma = frame.groupby("p").sigma.nunique().idxmax()
    table = pd.concat([plots.summarise(frame[frame.sigma == sigma], ["sigma", "p"], list(ERROR_LINES)).assign(axis="p"),
                       plots.summarise(frame[frame.p == p_of_sigma], ["sigma", "p"], list(ERROR_LINES))
                       .assign(axis="sigma")], ignore_index=True)
    return table[["axis", *table.columns.drop("axis")]]


def figure(frame: pd.DataFrame, subtitle: str = ""):
    """Test RMSE (°) of the clean range, the corrupted range and the clean angles next to it: left against p
    (at the σ with most p values), right against σ (at the p with most σ values); mean ± 1 std over seeds."""
    numbers = error_numbers(frame)
    fig, axes = plt.subplots(1, 2, figsize=(6.2, 3.4), sharey=True)
    for ax, x in zip(axes, ("p", "sigma")):
        s = numbers[numbers.axis == x].sort_values(x)
        for name, colour, marker in (("corrupted", plots.CORRUPT, "o"), ("clean", plots.CLEAN, "o"),
                                     ("boundary", plots.OVERALL, "s")):
            plots.band(ax, s[x], s[f"{name}_mean"], s[f"{name}_std"], colour, ERROR_LINES[name], marker=marker)
        ax.set(xlabel=f"p (σ = {s.sigma.iloc[0]:g}°)" if x == "p" else f"σ in degrees (p = {s.p.iloc[0]:g})")
    axes[0].set(ylabel="test RMSE (°)", ylim=(0, None))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def error_alt(numbers: pd.DataFrame, band: float, where: str) -> str:
    """The errors figure's alt text: what it plots, and each range's RMSE at both ends of each axis."""
    by_p, by_sigma = numbers[numbers.axis == "p"], numbers[numbers.axis == "sigma"]

    def ends(part, x, name, x_unit=""):
        return "; ".join(f"{ERROR_LINES[line]} {plots.trend(part, x, f'{line}_mean', '°', name, x_unit)}"
                         for line in ERROR_LINES)

    return (f"Test root mean squared error in degrees of the corrupted range (orange), the clean range (green) and "
            f"the clean angles within {band:g}° of the corrupted range (purple), {where}, mean and spread over seeds. "
            f"Left, against p at σ = {by_p.sigma.iloc[0]:g}°: {ends(by_p, 'p', 'p')}. Right, against σ at "
            f"p = {by_sigma.p.iloc[0]:g}: {ends(by_sigma, 'sigma', 'σ', '°')}.")


def angle_numbers(records: list[dict]) -> pd.DataFrame:
    """What the error-per-angle figure plots: per p, at the σ with most p values, and per bin of true angle (its
    centre, °), the test MAE (°), mean over seeds, and the number of runs."""
    rows = [{"sigma": r["params"]["sigma"], "p": r["params"]["p"], "angle": c, "mae": m}
            for r in records
            for c, m in zip(r["result"]["error_by_angle"]["centre"], r["result"]["error_by_angle"]["mae"])]
    df = pd.DataFrame(rows)
    df = df[df.sigma == df.groupby("sigma").p.nunique().idxmax()]
    return df.groupby(["sigma", "p", "angle"]).mae.agg(mae="mean", runs="size").reset_index()


def error_by_angle_figure(records: list[dict], subtitle: str = ""):
    """Test MAE (°) per bin of true angle, mean over seeds, one line per p at the σ of the p axis; the
    corrupted range shaded. Transfer from the noisy range would show first next to it."""
    numbers = angle_numbers(records)
    ps = sorted(numbers.p.unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(ps)))
    prm = records[0]["params"]
    fig, ax = plt.subplots(figsize=(5.3, 3.3))  # with the legend beside it, page width
    ax.axvspan(prm["low"], prm["high"], color=plots.CORRUPT, alpha=0.1, label="corrupted range")
    for p, colour in zip(ps, colours):
        line = numbers[numbers.p == p]
        ax.plot(line.angle, line.mae, marker="o", ms=3, color=colour, label=f"p = {p:g}")
    ax.set(xlabel="true angle (°)", ylabel="test MAE (°)", ylim=(0, None))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title=f"σ = {numbers.sigma.iloc[0]:g}°",
              title_fontsize=8)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


def angle_alt(numbers: pd.DataFrame, low: float, high: float, where: str) -> str:
    """The error-per-angle figure's alt text: what it plots, and the mean MAE over the bins of each range at the
    smallest and largest p."""
    inside = numbers.angle.between(low, high)
    ranges = {"corrupted": numbers[inside], "clean": numbers[~inside]}
    means = {name: part.groupby("p").mae.mean().reset_index() for name, part in ranges.items()}
    ps = ", ".join(f"{p:g}" for p in sorted(numbers.p.unique()))
    return (f"Test mean absolute error in degrees per {BIN:g}-degree bin of true angle, {where}, one line per p "
            f"({ps}) at σ = {numbers.sigma.iloc[0]:g}°, the corrupted range {low:g}° to {high:g}° shaded. Mean over "
            f"the bins of the corrupted range {plots.trend(means['corrupted'], 'p', 'mae', '°')}; of the clean range "
            f"{plots.trend(means['clean'], 'p', 'mae', '°')}.")


def runs_of(frame: pd.DataFrame, numbers: pd.DataFrame) -> pd.DataFrame:
    """The runs behind a figure's numbers: those of the (σ, p) cells it plots."""
    return frame.merge(numbers[["sigma", "p"]].drop_duplicates(), on=["sigma", "p"])


# ---------------------------------------------------------------------------------------- the book page
NO_RECORDS = ("No regression records yet. Produce them with `hetnoise sweep regression --profile smoke` "
              "(minutes on a CPU) or `--profile mnist-rotation` (MNIST), then rebuild the book with "
              "`jupyter-book build book`.")
TABLE_COLUMNS = ["clean RMSE", "boundary RMSE", "corrupted RMSE", "clean MAE", "corrupted MAE"]


def _page_order(group: tuple[str, str]) -> tuple:
    """Where a (profile, data set) block stands on the page: the MNIST profile first, the smoke check last."""
    return {"mnist-rotation": 0, "smoke": 3}.get(group[0], 2), group


def heading(profile: str, dataset: str, source: str) -> str:
    """The heading of a block; a smoke block says that it checks the code, not the hypothesis."""
    if profile == "smoke":
        return (f"### Pipeline check: `smoke` profile, {dataset}\n\nA toy run of the whole pipeline "
                "(bundled 8×8 digits, a few epochs); it checks the code, not the hypothesis.")
    return f"### {dataset}, profile `{profile}` ({source} records)"


def what_was_run(recs: list[dict], profile: str):
    """The "What was run" table: our runs beside what the paper proposes (§6), which it did not run."""
    return tables.box(recs, PAPER_SETUP, profile, tables.grid_size(GRIDS, profile), paper_label="paper (§6, proposed)")


def cell_table(frame: pd.DataFrame):
    """Test error (degrees) per cell (σ, p), mean over runs: RMSE of each range and MAE of the clean and
    corrupted ones, with the number of runs."""
    shown = frame.assign(**{f"{name} RMSE": frame[f"mse_{name}"] ** 0.5 for name in ("clean", "corrupted", "boundary")},
                         **{f"{name} MAE": frame[f"mae_{name}"] for name in ("clean", "corrupted")})
    table = plots.summarise(shown, ["sigma", "p"], TABLE_COLUMNS)
    table = table[["sigma", "p"] + [f"{column}_mean" for column in TABLE_COLUMNS] + ["n"]]
    table.columns = ["σ (°)", "p"] + TABLE_COLUMNS + ["runs"]
    return (table.round(2).style.hide(axis="index").format(precision=2, subset=TABLE_COLUMNS)
            .format("{:g}", subset=["σ (°)", "p"]))


def block(part, profile: str, dataset: str) -> None:
    """One profile and data set (`part`, a tables.Loaded): the errors against p and σ, what was run, the
    table per cell and, beyond the smoke check, the error per angle."""
    frame = part.frame
    source = ", ".join(sorted(frame.source.unique()))
    display(Markdown(heading(profile, dataset, source)))
    numbers, where = error_numbers(frame), f"{dataset}, profile {profile}"
    subtitle = f"profile '{profile}' · {dataset} · {len(frame)} runs ({source}) · mean ± 1 std over seeds"
    plots.show(figure(frame, subtitle),
               error_alt(numbers, frame.band.iloc[0], where), "Test RMSE (°) of the corrupted range, the clean range "
               "and the clean angles next to it, against p (left) and σ (right), mean ± 1 std over seeds",
               runs_of(frame, numbers), numbers)
    display(Markdown("**What was run**"))
    display(what_was_run(part.records, profile))
    display(Markdown("**Test error (degrees) per cell**: mean over runs; *boundary*: the clean angles within "
                     f"{frame.band.iloc[0]:g}° of the corrupted range."))
    display(cell_table(frame))
    if profile == "smoke":
        return
    display(Markdown("**Where the error sits.** Test MAE per 5° bin of true angle, mean over seeds."))
    numbers, prm = angle_numbers(part.records), part.records[0]["params"]
    plots.show(error_by_angle_figure(part.records, f"{dataset} · mean over seeds per p"),
               angle_alt(numbers, prm["low"], prm["high"], where), f"Test MAE (°) per {BIN:g}° bin of true angle, one "
               "line per p, the corrupted range shaded, mean over seeds", runs_of(frame, numbers), numbers)


def results(loaded) -> None:
    """Every profile and data set of the records, the MNIST profile first, as one block each; a line on how to
    make records when there are none."""
    if loaded.frame.empty:
        display(Markdown(NO_RECORDS))
        return
    for profile, dataset in sorted(loaded.frame.groupby(["profile", "dataset"]).groups, key=_page_order):
        block(loaded.of(profile=profile, dataset=dataset), profile, dataset)


def verdict_numbers(table: pd.DataFrame) -> dict[str, float | int]:
    """The numbers the verdicts' prose quotes: the accuracy margin, the angle margin at the default ±45°, and
    how many checks there are and hold."""
    return {"regression_accuracy_margin": MARGIN, "regression_margin": margin_for(PARAMS["max_angle"].default),
            "regression_n_checks": len(table),
            "regression_n_holds": int((table.verdict == HOLDS).sum()) if len(table) else 0}


CLAIM_KEYS = ("premise", "clean", "boundary", "sigma")  # the order `_slice_claims` checks them in


def prose_numbers(frame: pd.DataFrame, profile: str = "mnist-rotation") -> dict[str, str]:
    """What the page's prose says of one profile's runs, as text: each range's mean test RMSE (°) per cell plotted
    (keys regression_clean_s20_p1), and each claim's reading and verdict (regression_boundary_ours)."""
    def key(name, sigma, p):
        return f"regression_{name}_s{sigma:g}_p{p:g}".replace(".", "")

    out = {key(name, sigma, p): "–" for block in GRIDS[profile] for sigma in block["sigma"] for p in block["p"]
           for name in ERROR_LINES}  # every number the page may name, "–" until runs give it
    out.update({f"regression_{claim}_{what}": "–" for claim in CLAIM_KEYS for what in ("ours", "verdict")})
    part = frame[frame.profile == profile] if "profile" in frame and len(frame) else frame.iloc[0:0]
    if part.empty:
        return out
    numbers = error_numbers(part).drop_duplicates(["sigma", "p"])
    out.update({key(name, row["sigma"], row["p"]): f"{row[f'{name}_mean']:.2f}"
                for _, row in numbers.iterrows() for name in ERROR_LINES})
    for key, verdict in zip(CLAIM_KEYS, check_claims(part)):
        out.update({f"regression_{key}_ours": verdict.ours, f"regression_{key}_verdict": verdict.verdict})
    return out


def glue_numbers(loaded) -> None:
    """Glue the verdicts' numbers and the runs' numbers for the page's prose."""
    tables.glue({**verdict_numbers(claims.table(check_claims(loaded.frame))), **prose_numbers(loaded.frame)})


STUDY = Study(name="regression", title="Regression", version=1, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims, complete=complete,
              key_params=("dataset", "p", "sigma", "seed", "epochs"), published=PUBLISHED, renamed=RENAMED,
              sections={"results": results, "verdict_numbers": glue_numbers})
