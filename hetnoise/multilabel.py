"""The multi-label study (paper §3.3, §4.3, §5.3): the labels split into two groups, one group's positive
labels corrupted with probability p (moved to another label of the group: `swap`, or every label of the
group inverted: `flip`), mAP per group. This module holds what is the study's own: the label groups,
parameters, profiles and grids, what the paper reports, the claims checked on the records and the figure
of its page, and the steps of a run that its notebook calls (label groups, noise, model, evaluation,
result) with the blocks of its book page (`sections`)."""
from __future__ import annotations

import warnings
from dataclasses import asdict, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from hetnoise import claims, data, metrics, models, noise, plots, tables, train
from hetnoise.claims import Verdict
from hetnoise.spec import (DATA_PARAMS, RECIPE_PARAMS, RESNET_PAPER, RUN_PARAMS, TWELVE_P, Grid, P, Param, Profile,
                           Recipe, Study)

CASES = (1, 2)


def label_groups(num_labels: int, case: int) -> tuple[list[int], list[int]]:
    """(corrupted, clean) label indices. The cut is after 5/8 of the labels (COCO: 50 of 80, as the
    paper's 1–50 / 51–80); case 1 corrupts the first part, case 2 the second."""
    if case not in CASES:
        raise ValueError(f"case={case!r} is unknown; choose 1 (first 5/8 of the labels corrupted) or 2 (the rest)")
    if num_labels < 2:
        raise ValueError(f"num_labels={num_labels}: two label groups need at least two labels")
    cut = min(max(1, round(num_labels * 5 / 8)), num_labels - 1)
    first, last = list(range(cut)), list(range(cut, num_labels))
    return (first, last) if case == 1 else (last, first)


# §5.3: percent mAP of the corrupted label group at p = 0 and p = 1.
PAPER = {"case1": {"corrupted": "1-50", "map_p0": 31.30, "map_p1": 6.38},
         "case2": {"corrupted": "51-80", "map_p0": 27.97, "map_p1": 11.42}}
PAPER_SETUP = {
    "data": "mini MS-COCO: 20 % of COCO 2017 training images (≈ 25 K) at 128 × 128, 80 labels; 9:1 "
            "train/validation split; COCO's 5 K validation images as the test set",
    "network": "ResNet18 from scratch, 80 sigmoid outputs, binary cross-entropy",
    "training": "optimiser, schedule and epochs not stated",
    "grid": "12 values of p in [0, 1]; case 1 corrupts labels 1–50, case 2 labels 51–80; a corrupted positive "
            "moves to another label of its group",
    "runs": "3 per p and case",
}

# The paper gives the network (ResNet18, sigmoid outputs, from scratch): ours is the CIFAR ResNet18 recipe
# at batch 128 for 40 epochs, on 128-pixel images.
# Real images on a 2-core CPU (not in the paper): 2×2 mosaics of MNIST digits and Fashion-MNIST garments, 20 labels,
# a quarter-width ResNet18 trained with AdamW at batch 64 (our recipe; the paper states none for this study) for 8
# epochs: the pilot profile ran it at p = 0 for 2, 4, 8 and 16 epochs, and 8 is the smallest number whose doubling
# adds under PILOT_GAIN points of overall mAP (`pilot_choice`; 2 epochs, the earlier recipe, was far from converged).
REAL_RECIPE = Recipe(epochs=8, batch_size=64, optimizer="adam", lr=2e-3, weight_decay=1e-4, schedule="cosine")
REAL = Profile("mnist-fashion-mosaics", {"resnet18": REAL_RECIPE}, {"width": 0.25, "image_size": 56})
# The pilot that chose the `real` profile's number of epochs: its runs are shown as a pilot, never checked as claims.
PILOT = "real-pilot"
PILOTS = (PILOT,)
PROFILES = {
    "paper": Profile("mini-coco", {"resnet18": replace(RESNET_PAPER, epochs=40, batch_size=128)},
                     {"width": 1.0, "image_size": 128}),
    "smoke": Profile("digit-mosaics", {"resnet18": Recipe(epochs=4, batch_size=64, optimizer="adam", lr=2e-3,
                                                          weight_decay=1e-4, schedule="cosine")},
                     {"width": 0.25, "image_size": 64}),
    "real": REAL,
    PILOT: REAL,
}

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=data.names(data.MULTILABEL)),
    "case": Param(int, 1, choices=CASES),
    "mode": Param(str, "swap", choices=("swap", "flip")),
    "p": P,
    "width": Param(float, None, low=1e-3),
    "stem": Param(str, "imagenet", choices=("imagenet", "cifar")),
    "image_size": Param(int, None, low=8),
    **RUN_PARAMS, **RECIPE_PARAMS,
    "coco_root": Param(str, "", identity=False),
    **DATA_PARAMS,
    "save_scores": Param(bool, True, identity=False),
}

REAL_FLIP_P = [TWELVE_P[i] for i in (0, 4, 8, 11)]  # 0, 0.364, 0.727, 1: flip on the `real` grid
REAL_SEEDS = [0, 1, 2, 3, 4]  # the paper's three runs and two more: three seeds left the flip verdicts inconclusive
PILOT_EPOCHS = [2, 4, 8, 16]  # the pilot's lengths, each twice the one before
# Three runs per case and p in `paper`, as in §4.3 (here seeds of noise, initialisation and batch order).
GRIDS = {
    "smoke": [{"dataset": ["digit-mosaics"], "p": [0.0, 0.5, 1.0], "case": [1, 2], "seed": [0, 1]}],
    "paper": [{"dataset": ["mini-coco"], "p": TWELVE_P, "case": [1, 2], "seed": [0, 1, 2]}],
    # Real-image mosaics on a CPU: the paper's swap grid in full and the flip extension at four of its p, five seeds.
    "real": [{"dataset": ["mnist-fashion-mosaics"], "p": TWELVE_P, "case": [1, 2], "mode": ["swap"],
              "seed": REAL_SEEDS},
             {"dataset": ["mnist-fashion-mosaics"], "p": REAL_FLIP_P, "case": [1, 2], "mode": ["flip"],
              "seed": REAL_SEEDS}],
    # The pilot: p = 0 (no noise, so both cases and both modes train the same network: one case suffices), three
    # seeds, the `real` recipe at each number of epochs.
    PILOT: [{"dataset": ["mnist-fashion-mosaics"], "p": [0.0], "case": [1], "mode": ["swap"], "seed": [0, 1, 2],
             "epochs": PILOT_EPOCHS}],
}

# The earlier 2-epoch recipe's records (and swap at 4 epochs) left published/ when the 8-epoch grid was complete;
# the git history keeps them.
PUBLISHED = (Grid(PILOT, "MNIST + Fashion-MNIST mosaics at p = 0: the pilot that chose the recipe — not evidence"),
             Grid("real", "MNIST + Fashion-MNIST mosaics, the 8-epoch recipe, five seeds"))

NOT_IN_PAPER = ("flip",)  # noise modes the paper never used: their verdicts are extensions

RESULT_FIELDS = {"map_clean": (float, 0, 1), "map_corrupted": (float, 0, 1), "map_overall": (float, 0, 1),
                 "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}


def clean_claim(part: pd.DataFrame, profile: str, dataset: str, mode: str, case: int, *length: str) -> Verdict:
    """The claim on one slice of runs (one case and mode): the clean group's mAP stays flat over p; with a noise
    mode the paper never used (NOT_IN_PAPER), an extension."""
    paper = PAPER[f"case{int(case)}"]
    verdict = claims.flat("multi-label", "the clean label group's mAP stays flat",
                          claims.scope(dataset, f"case {case}", mode, *length), profile,
                          f"flat; corrupted group {paper['map_p0']} → {paper['map_p1']} % (Fig. 6)", part, "map_clean")
    return replace(verdict, kind=claims.EXTENSION) if mode in NOT_IN_PAPER else verdict


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """The clean label group's mAP is unaffected by noise in the other group, per case, corruption mode and
    (where a profile trains for more than one length) number of epochs; a pilot's runs are left out, and so
    are the `real` runs of an earlier recipe once runs of the current one exist (`superseded`)."""
    frame = frame[~frame.profile.isin(PILOTS)] if "profile" in frame else frame
    if frame.empty:
        return []
    frame = frame.assign(mode=frame["mode"] if "mode" in frame else "swap",
                         epochs=frame["epochs"] if "epochs" in frame else 0)
    frame = frame[~superseded(frame)]
    lengths = frame.groupby(["profile", "dataset"]).epochs.nunique()
    return [clean_claim(part, profile, dataset, mode, case,
                        *([f"{epochs} epochs"] if lengths[(profile, dataset)] > 1 else []))
            for (profile, dataset, mode, case, epochs), part in frame.groupby(["profile", "dataset", "mode", "case",
                                                                               "epochs"])]


def superseded(frame: pd.DataFrame) -> pd.Series:
    """Which rows are `real` runs of an earlier recipe (another number of epochs) while runs of the current
    recipe exist: the pilot chose the current one because the earlier one had not converged."""
    real = frame.profile == "real"
    current = real & (frame.epochs == REAL_RECIPE.epochs)
    return real & ~current & current.any()


def corrupted_span(record: dict) -> str:
    """The corrupted labels of a multi-label run as a range: 1-based positions for COCO (as the paper counts
    them), label names otherwise (digits 0–9 for the digit mosaics)."""
    res, labels = record["result"], record["result"].get("corrupted_labels") or []
    if not labels:
        return "?"
    if record["params"].get("dataset") == "mini-coco" or "label_names" not in res:
        return f"labels {labels[0] + 1}–{labels[-1] + 1}"
    return f"labels {res['label_names'][labels[0]]}–{res['label_names'][labels[-1]]}"


def figure_numbers(part: pd.DataFrame) -> pd.DataFrame:
    """What Fig. 6 plots: per case and p, mean, std and count of each group's mAP (%) over runs."""
    return plots.summarise(part, ["case", "p"], ["map_clean", "map_corrupted", "map_overall"])


def figure_alt(stats: pd.DataFrame, profile: str, mode: str, epochs: int, paper_values: dict) -> str:
    """Fig. 6's alt text: per case, each group's mean mAP at the lowest and the highest p, and the paper's marks."""
    cases = []
    for case in sorted(stats.case.unique()):
        s, ref = stats[stats.case == case], paper_values[f"case{int(case)}"]
        cases.append(f"Case {int(case)}: clean group {plots.trend(s, 'p', 'map_clean_mean', ' %')}; corrupted "
                     f"group {plots.trend(s, 'p', 'map_corrupted_mean', ' %')}; overall "
                     f"{plots.trend(s, 'p', 'map_overall_mean', ' %')}; the paper's corrupted group "
                     f"{ref['map_p0']:.2f} % at p = 0 and {ref['map_p1']:.2f} % at p = 1.")
    return (f"Profile {profile}: test mAP against the corruption probability p, mode {mode}, {epochs} epochs. "
            + " ".join(cases))


def figure(part: pd.DataFrame, subtitle: str, paper_values: dict):
    """Fig. 6 redrawn: clean-group, corrupted-group and overall mAP (%) against p, one panel per case,
    mean ± 1 std over runs, with the paper's corrupted-group mAP at p = 0 and p = 1 marked."""
    stats = figure_numbers(part)
    fig, axes = plt.subplots(1, 2, figsize=(6.0, 3.6), sharey=True, squeeze=False, layout="constrained")
    for ax, case in zip(axes[0], (1, 2)):
        s = stats[stats.case == case].sort_values("p")
        if s.empty:
            ax.text(0.5, 0.5, f"no case-{case} runs", ha="center", va="center", transform=ax.transAxes)
        else:
            plots.band(ax, s.p, s.map_clean_mean, s.map_clean_std, plots.CLEAN, "clean group")
            plots.band(ax, s.p, s.map_corrupted_mean, s.map_corrupted_std, plots.CORRUPT, "corrupted group")
            plots.band(ax, s.p, s.map_overall_mean, s.map_overall_std, plots.OVERALL, "overall", marker="s")
        ref = paper_values[f"case{case}"]
        ax.plot([0, 1], [ref["map_p0"], ref["map_p1"]], ls="none", marker="X", ms=8, color=plots.PAPER,
                label="paper, corrupted group (mini-COCO)")
        for x, y in ((0, ref["map_p0"]), (1, ref["map_p1"])):
            ax.annotate(f"{y:.2f}", (x, y), textcoords="offset points", xytext=(0, 7), ha="center",
                        fontsize=8, color=plots.PAPER)
        spans = part[part.case == case].corrupted.unique()
        ax.set(title=f"case {case}\n{', '.join(spans) if len(spans) else '–'} corrupted",
               xlabel="corruption probability p", xlim=(-0.05, 1.05), ylim=(0, None))
    axes[0][0].set_ylabel("test mAP (%)")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, frameon=False)
    fig.suptitle(subtitle, fontsize=9, color="#555555")
    return fig


# The steps of one run, in the order the notebook calls them.

def label_group_names(num_labels: int, corrupted: list[int]) -> np.ndarray:
    """"corrupted" or "clean" for each label: the group a label's bars and rows are marked with."""
    return np.array(["corrupted" if j in corrupted else "clean" for j in range(num_labels)])


def corrupt_training(y_true: np.ndarray, p: float, corrupted: list[int], clean: list[int], mode: str, seed: int):
    """The training labels with the corrupted group's noise and its report; the report keeps its findings in
    `report.warnings` (shown by `noise_summary`), so they are not also raised. Fails if the clean group changed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        y_noisy, report = noise.corrupt_multilabel(y_true, p, corrupted, mode=mode, seed=seed)
    if not (y_noisy[:, clean] == y_true[:, clean]).all():
        raise AssertionError("the clean group was changed")
    return y_noisy, report


def realised_rate(report, mode: str):
    """The realised noise per label, comparable to p: under swap the share of a label's positives moved out
    (swap also turns free labels on), under flip the share of its bits flipped."""
    return report.moved_out_rate if mode == "swap" else report.realised_rate


def noise_table(y_true: np.ndarray, report, label_names, p: float, corrupted: list[int], mode: str) -> pd.DataFrame:
    """Intended against realised noise per label, and the share of rows whose bit changed beside its exact
    expectation (`noise.expected_change_rate`)."""
    return pd.DataFrame({"label": label_names, "group": label_group_names(len(label_names), corrupted),
                         "intended": report.intended_rate, "realised": realised_rate(report, mode),
                         "bits changed: expected": noise.expected_change_rate(y_true, p, corrupted, mode=mode),
                         "bits changed: realised": report.realised_rate,
                         "positives before": report.positives_before, "positives after": report.positives_after})


def noise_summary(report, mode: str, n_train: int) -> str:
    """What the corruption did, in words: rows changed, chosen positives (or bits) that stayed, and why the
    report's departures from p are expected under swap."""
    lines = [f"{n_train} training rows, {report.rows_affected} with a changed label; "
             f"{report.n_no_free_label} of {report.n_selected} chosen {'positives' if mode == 'swap' else 'bits'} "
             "found no free label of the group and stayed"]
    if report.warnings and mode == "swap":
        lines.append(f"The noise report notes {len(report.warnings)} departure(s) from p: expected with swap, where a "
                     "chosen positive with no free label in its row stays, so fewer than p of a label's positives "
                     "move out; 'bits changed: expected' is the exact rate that allows for it.")
    elif report.warnings:
        lines.append("The noise report notes departures from p:\n" + "\n".join(report.warnings))
    return "\n".join(lines)


def group_colours(groups) -> list[str]:
    """The colour of each label's bar: its group's."""
    return [plots.CLEAN if g == "clean" else plots.CORRUPT for g in groups]


def noise_figure(table: pd.DataFrame, mode: str, p: float, corrupted: list[int]):
    """Realised noise per label against the intended p, and rows whose bit changed against the exact
    expectation, coloured by group; with its alt text."""
    xs, colours, num_labels = np.arange(len(table)), group_colours(table.group), len(table)
    groups = [plt.Rectangle((0, 0), 1, 1, color=plots.CLEAN, label="clean group, realised"),
              plt.Rectangle((0, 0), 1, 1, color=plots.CORRUPT, label="corrupted group, realised")]
    fig, axes = plt.subplots(2, 1, figsize=(5.8, 4.6), sharex=True)
    for ax, bars, line, ylabel, target in (
            (axes[0], table.realised, table.intended, "positives moved out" if mode == "swap" else "bits flipped",
             "intended"),
            (axes[1], table["bits changed: realised"], table["bits changed: expected"], "rows whose bit changed",
             "expected")):
        ax.bar(xs, np.nan_to_num(np.asarray(bars, dtype=float)), color=colours, width=0.8)
        mark, = ax.plot(xs, line, ls="none", marker="_", ms=9, mew=2, color=plots.PAPER, label=target)
        ax.set(ylabel=ylabel, ylim=(0, 1.05), xlim=(-0.8, num_labels - 0.2))
        ax.legend(handles=[mark], loc="upper right")
    axes[0].set_title(f"Realised noise per label, {mode}, p = {p}")
    axes[1].set_xlabel("label")
    axes[1].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.legend(handles=groups, loc="outside lower center", ncol=2, frameon=False)
    alt = (f"Bar charts per label, {mode} at p = {p}: share of positives moved out against the intended p, and "
           f"share of rows whose bit changed against its exact expectation; labels {min(corrupted)}–{max(corrupted)} "
           "are the corrupted group.")
    return fig, alt


def build_model(run: dict, num_labels: int, in_channels: int) -> torch.nn.Module:
    """The run's ResNet18 with one output per label, its initial weights drawn from the run's seed."""
    with models.seeded(run["seed"]):
        return models.resnet18(num_labels, width=run["width"], in_channels=in_channels, stem=run["stem"])


def loss_figure(history):
    """Training (noisy labels) and validation (true labels) loss per epoch, the kept epoch marked; with its
    alt text."""
    fig, ax = plt.subplots(figsize=(4.5, 3))
    pd.DataFrame(history.epochs).plot(x="epoch", y=["train_loss", "val_loss"], ax=ax, ylabel="binary cross-entropy",
                                      marker="o", ms=3)
    ax.axvline(history.best_epoch, color="grey", ls=":")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title("train: noisy labels; validation: true labels")
    return fig, f"Training and validation loss per epoch; lowest validation loss at epoch {history.best_epoch}."


def predict_scores(net: torch.nn.Module, ds) -> np.ndarray:
    """Sigmoid scores of the test images, one column per label."""
    return torch.sigmoid(train.predict(net, ds.x_test, ds.mean, ds.std)).numpy()


def evaluate(y_test: np.ndarray, scores: np.ndarray, clean: list[int], corrupted: list[int]) -> dict:
    """Test AP per label and mAP of each group and overall (over labels with test positives), with the
    per-label F1 and the exact-match ratio of the predictions thresholded at 0.5."""
    ap = metrics.average_precision(y_test, scores)
    return {"ap": ap, "map_clean": metrics.mean_ap(ap, clean), "map_corrupted": metrics.mean_ap(ap, corrupted),
            "map_overall": metrics.mean_ap(ap), "f1": metrics.f1_at(y_test, scores),
            "exact_match": metrics.exact_match(y_test, scores)}


def group_table(scores: dict, clean: list[int], corrupted: list[int]) -> pd.DataFrame:
    """mAP (%) and mean F1 at 0.5 of the clean group, the corrupted group and all labels."""
    f1 = scores["f1"]
    return pd.DataFrame({"group": ["clean", "corrupted", "overall"],
                         "mAP %": [100 * scores["map_clean"], 100 * scores["map_corrupted"],
                                   100 * scores["map_overall"]],
                         "mean F1 @0.5": [np.nanmean(f1[clean]), np.nanmean(f1[corrupted]), np.nanmean(f1)]}).round(2)


def ap_figure(scores: dict, groups, case: int, p: float):
    """Test AP per label coloured by group, with each group's mAP and the overall mAP as lines; with its alt text."""
    num_labels = len(groups)
    fig, ax = plt.subplots(figsize=(5.8, 3.4))
    ax.bar(np.arange(num_labels), np.nan_to_num(scores["ap"]), color=group_colours(groups), width=0.8)
    for key, colour, name in (("map_clean", plots.CLEAN, "clean"), ("map_corrupted", plots.CORRUPT, "corrupted"),
                              ("map_overall", plots.OVERALL, "overall")):
        ax.axhline(scores[key], color=colour, ls="--", lw=1, label=f"{name} mAP {100 * scores[key]:.1f} %")
    ax.set(xlabel="label", ylabel="test AP", ylim=(0, 1.02), xlim=(-0.8, num_labels - 0.2),
           title=f"case {case}, p = {p}: test AP per label")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(loc="upper right")
    fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colour, label=f"{group} group AP") for colour, group in
                        ((plots.CLEAN, "clean"), (plots.CORRUPT, "corrupted"))],
               loc="outside lower center", ncol=2, frameon=False)
    alt = (f"Bar chart of test average precision per label, case {case} at p = {p}: mAP "
           f"{100 * scores['map_clean']:.1f} % for the clean group, {100 * scores['map_corrupted']:.1f} % for the "
           f"corrupted group, {100 * scores['map_overall']:.1f} % overall.")
    return fig, alt


def floats_or_none(values) -> list:
    """Floats for JSON, None where NaN (a label without test positives, or never chosen)."""
    return [None if np.isnan(value) else float(value) for value in np.asarray(values, dtype=float)]


def result(scores: dict, clean: list[int], corrupted: list[int], ds, report, realised, history, *, n_params: int,
           n_train: int, n_val: int, device: str, arrays_saved: bool, wall_time_s: float) -> dict:
    """The result written to the run's record: mAP per group and per label, F1, the label groups, the noise
    as intended and realised, the training history and the run's sizes."""
    y_test = np.asarray(ds.y_test, dtype=np.uint8)
    return dict(map_clean=scores["map_clean"], map_corrupted=scores["map_corrupted"],
                map_overall=scores["map_overall"], per_label_ap=floats_or_none(scores["ap"]),
                per_label_f1=floats_or_none(scores["f1"]), exact_match=scores["exact_match"],
                clean_labels=clean, corrupted_labels=corrupted, label_names=list(ds.classes),
                test_positives=y_test.sum(0).astype(int).tolist(), noise=report.to_dict(),
                realised_noise=floats_or_none(realised), history=history.to_dict(), best_epoch=history.best_epoch,
                image_size=int(ds.x_train.shape[-1]), n_params=n_params, n_train=n_train, n_val=n_val,
                n_test=len(y_test), data_source=ds.source, device=device, arrays_saved=arrays_saved,
                wall_time_s=wall_time_s)


# The blocks of the book page (`sections`), each drawn from a `tables.Loaded` of the study's records.

NO_RECORDS = ("No multi-label records yet. Produce them with `hetnoise sweep multilabel --profile smoke` "
              "(offline digit mosaics, minutes on a CPU), `--profile real` (MNIST + Fashion-MNIST mosaics from "
              "`$HETNOISE_DATA`, a few hours on two cores) or `--profile paper` (mini-COCO, GPU; build the cache "
              "from an MS-COCO root given by `$HETNOISE_COCO`), then rebuild the book with `jupyter-book build book`.")


def page_frame(recs: list[dict]) -> pd.DataFrame:
    """One row per run: its id, source and parameters, mAP in percent (as the paper's), the corrupted labels in
    words and the device, which the page's figures and tables read."""
    return pd.DataFrame([{**r["params"], "profile": r["profile"], "run_id": r["run_id"],
                          "source": r.get("_source", "local"),
                          "map_clean": 100 * r["result"]["map_clean"],
                          "map_corrupted": 100 * r["result"]["map_corrupted"],
                          "map_overall": 100 * r["result"]["map_overall"],
                          "corrupted": corrupted_span(r), "device": r["result"].get("device", ""),
                          "wall_time_s": r["result"].get("wall_time_s", np.nan)} for r in recs])


def swap_first(combo: tuple) -> tuple:
    """Sort key of a (mode, epochs) pair: the current recipe's length first, then the paper's swap first, then
    shorter training first."""
    mode, epochs = combo
    return epochs != REAL_RECIPE.epochs, mode != "swap", epochs


def map_table(part: pd.DataFrame):
    """Test mAP (%) per case and p of each group and overall: mean and 95 % t interval over runs."""
    rows = [{"case": case, "p": p, "clean group": tables.mean_interval(cell.map_clean, scale=1),
             "corrupted group": tables.mean_interval(cell.map_corrupted, scale=1),
             "overall": tables.mean_interval(cell.map_overall, scale=1), "runs": len(cell)}
            for (case, p), cell in part.groupby(["case", "p"])]
    return pd.DataFrame(rows).style.hide(axis="index").format({"p": "{:g}"})


def network(recs: list[dict]) -> str:
    """The network of these runs in words: width, stem, image size, outputs and parameters."""
    res, params = recs[0]["result"], recs[0]["params"]
    return (f"ResNet18 × {params['width']:g} width ({params['stem']} stem) at {params['image_size']} pixels, "
            f"{len(res.get('label_names', []))} sigmoid outputs; {res.get('n_params', 0):,} parameters")


def grid_runs(recs: list[dict], profile: str) -> str:
    """The box's "runs": how many, and how many of them are cells of the profile's current grid (its axes and
    the profile's recipe), so that runs of an earlier recipe are not counted towards it."""
    if profile not in GRIDS:
        return str(len(recs))
    recipe = asdict(PROFILES[profile].recipes["resnet18"])
    axes = tables.expand(GRIDS[profile], profile)
    cells = [{**recipe, **{k: v for k, v in cell.items() if k != "profile"}} for cell in axes]
    inside = sum(any(all(r["params"].get(k) == v for k, v in cell.items()) for cell in cells) for r in recs)
    return f"{len(recs)}; {inside} of them of the current grid's {len(cells)} cells"


def show_profile(loaded, profile: str) -> None:
    """Fig. 6 redrawn for one profile (one figure per corruption mode and training length), its mAP table,
    and the "What was run" box; a line saying so when the profile has no records."""
    recs = loaded.of(profile=profile).records
    frame = page_frame(recs)
    if frame.empty:
        display(Markdown(f"No records of profile `{profile}` here yet."))
        return
    for mode, epochs in sorted(frame.groupby(["mode", "epochs"]).size().index, key=swap_first):
        part = frame[(frame["mode"] == mode) & (frame.epochs == epochs)]
        subtitle = (f"profile '{profile}' · {', '.join(sorted(part.dataset.unique()))} · mode {mode} · {epochs} "
                    f"epochs · {len(part)} runs on {', '.join(sorted(part.device.unique()))}\n"
                    "mean ± 1 std over seeds · ✕ = paper (mini-COCO)")
        stats = figure_numbers(part)
        plots.show(figure(part, subtitle, PAPER), figure_alt(stats, profile, mode, epochs, PAPER),
                   f"Fig. 6 redrawn, mode {mode}, {epochs} epochs: mAP of the clean group, the corrupted group and "
                   "all labels against p, mean ± 1 std over seeds, the paper's mini-COCO values marked ✕",
                   runs=part, numbers=stats)
        display(Markdown(f"**Test mAP (%) per case and p, mode `{mode}`, {epochs} epochs**: mean and 95 % "
                         "t interval over runs."))
        display(map_table(part))
    display(Markdown("**What was run**"))
    display(tables.box(recs, PAPER_SETUP, profile, network=network(recs), runs=grid_runs(recs, profile)))


# The pilot that chose the `real` recipe's number of epochs: its rule, stated before its runs, and its table.

PILOT_GAIN = 1.0  # points of overall mAP at p = 0: a doubling of the epochs that adds less is not worth its time


def pilot_rows(recs: list[dict]) -> pd.DataFrame:
    """One row per pilot run: epochs, seed, wall time and mAP (%) of all labels and of the two label groups, read
    from the per-label AP (at p = 0 case 2's groups are case 1's with their roles swapped)."""
    rows = []
    for r in recs:
        ap = np.asarray(r["result"]["per_label_ap"], dtype=float)
        first, rest = label_groups(len(ap), 1)
        rows.append({"epochs": r["params"]["epochs"], "seed": r["params"]["seed"],
                     "overall": 100 * metrics.mean_ap(ap), "first": 100 * metrics.mean_ap(ap, first),
                     "rest": 100 * metrics.mean_ap(ap, rest), "seconds": r["result"].get("wall_time_s", np.nan)})
    return pd.DataFrame(rows, columns=["epochs", "seed", "overall", "first", "rest", "seconds"])


def doubling_gains(rows: pd.DataFrame) -> pd.Series:
    """Per number of epochs E, the mean overall mAP at 2E less that at E (points); NaN where 2E was not run."""
    means = rows.groupby("epochs").overall.mean()
    return pd.Series({e: means.get(2 * e, np.nan) - means[e] for e in means.index}, dtype=float)


def pilot_choice(rows: pd.DataFrame) -> int | None:
    """The pilot's rule: the smallest number of epochs E whose doubling to 2E adds less than PILOT_GAIN points of
    overall mAP (mean over seeds); None while no doubling run so far adds that little."""
    gains = doubling_gains(rows)
    chosen = gains[gains < PILOT_GAIN]
    return int(chosen.index.min()) if len(chosen) else None


def pilot_table(rows: pd.DataFrame, names: tuple[str, str]):
    """mAP (%) at p = 0 per number of epochs: overall and of each label group (mean and 95 % t interval over
    seeds), what doubling the epochs adds overall, and seconds per run."""
    gains = doubling_gains(rows)
    out = [{"epochs": e, "runs": len(cell), "overall": tables.mean_interval(cell.overall, scale=1),
            names[0]: tables.mean_interval(cell["first"], scale=1), names[1]: tables.mean_interval(cell.rest, scale=1),
            "doubling adds": "–" if np.isnan(gains[e]) else claims.signed(gains[e]),
            "seconds per run": cell.seconds.mean()} for e, cell in rows.groupby("epochs")]
    return pd.DataFrame(out).style.hide(axis="index").format({"seconds per run": "{:.0f}"})


def group_names(rec: dict) -> tuple[str, str]:
    """The pilot table's names of the two label groups: their labels, and which case corrupts each."""
    names = rec["result"]["label_names"]
    first, rest = label_groups(len(names), 1)
    return (f"labels {names[first[0]]}–{names[first[-1]]} (case 1 corrupted, case 2 clean)",
            f"labels {names[rest[0]]}–{names[rest[-1]]} (case 1 clean, case 2 corrupted)")


def pilot_section(loaded) -> None:
    """The pilot's table: mAP at p = 0 and seconds per run for each number of epochs it ran."""
    recs = loaded.of(profile=PILOT).records
    if not recs:
        display(Markdown(f"No records of the pilot `{PILOT}` here yet."))
        return
    display(Markdown(f"**Pilot `{PILOT}`, p = 0: test mAP (%)**, mean and 95 % t interval over seeds; \"doubling "
                     "adds\" is the mean overall mAP at twice the epochs less that at these."))
    display(pilot_table(pilot_rows(recs), group_names(recs[0])))


def pilot_numbers(loaded) -> dict[str, object]:
    """What the page's prose says of the pilot, as text: the epochs its rule chooses, what that doubling adds and
    what the doubling before it added, the rule's threshold, the mean overall mAP at each length, and the epochs
    the `real` recipe trains for."""
    rows = pilot_rows(loaded.of(profile=PILOT).records)
    chosen = pilot_choice(rows) if len(rows) else None
    gains = doubling_gains(rows) if len(rows) else pd.Series(dtype=float)
    means = rows.groupby("epochs").overall.mean()

    def gain(epochs):
        return claims.signed(gains[epochs]) if epochs in gains and not np.isnan(gains[epochs]) else "–"

    return {"multilabel_pilot_epochs": chosen or "none yet", "multilabel_pilot_threshold": f"{PILOT_GAIN:g}",
            "multilabel_pilot_gain": gain(chosen), "multilabel_pilot_gain_before": gain((chosen or 0) // 2),
            **{f"multilabel_pilot_overall_e{e}": points(means.get(e, np.nan)) for e in PILOT_EPOCHS},
            "multilabel_real_epochs": REAL_RECIPE.epochs}


def glue_pilot(loaded) -> None:
    """Glue the pilot's numbers for the page's prose."""
    tables.glue(pilot_numbers(loaded))


def points(value: float) -> str:
    """A mean mAP for prose: one decimal, "–" when there is none."""
    return "–" if value is None or np.isnan(value) else f"{value:.1f}"


SLICE_NUMBERS = ("corrupted_first", "corrupted_last", "clean_first", "clean_last", "overall_first", "clean_change",
                 "verdict", "clean_peak", "clean_peak_p")


def slice_numbers(part: pd.DataFrame, key: str) -> dict[str, str]:
    """For the runs of one mode and case: mean mAP (%) of each group at the lowest and highest p, the clean
    group's highest mean over p and where, and its change over p with its verdict, as text ("–" without runs)."""
    if part.empty:
        return {f"{key}_{name}": "–" for name in SLICE_NUMBERS}
    first, last = part[part.p == part.p.min()], part[part.p == part.p.max()]
    verdict = clean_claim(part, "real", part.dataset.iloc[0], part["mode"].iloc[0], int(part.case.iloc[0]))
    means = {f"{group}_{end}": points(100 * cell[f"map_{group}"].mean())
             for end, cell in (("first", first), ("last", last)) for group in ("corrupted", "clean", "overall")}
    clean = part.groupby("p").map_clean.mean()
    return {**{f"{key}_{name}": value for name, value in means.items() if name in SLICE_NUMBERS},
            f"{key}_clean_change": verdict.ours, f"{key}_verdict": verdict.verdict,
            f"{key}_clean_peak": points(100 * clean.max()), f"{key}_clean_peak_p": f"{clean.idxmax():g}"}


def real_numbers(loaded) -> dict[str, object]:
    """What the page's prose says of the `real` runs of the current recipe, per mode and case (keys
    multilabel_e8_swap1_…), with their number of runs and seeds."""
    frame = loaded.of(profile="real").frame
    epochs = REAL_RECIPE.epochs
    runs = frame[frame.epochs == epochs] if len(frame) else frame
    out = {f"multilabel_e{epochs}_runs": len(runs),
           f"multilabel_e{epochs}_seeds": runs.seed.nunique() if len(runs) else 0}
    for mode in ("swap", "flip"):
        for case in CASES:
            part = runs[(runs["mode"] == mode) & (runs.case == case)] if len(runs) else runs
            out.update(slice_numbers(part, f"multilabel_e{epochs}_{mode}{case}"))
    return out


def glue_real(loaded) -> None:
    """Glue the `real` runs' numbers for the page's prose."""
    tables.glue(real_numbers(loaded))


def real_section(loaded) -> None:
    """The `real` profile: MNIST + Fashion-MNIST mosaics on a CPU."""
    show_profile(loaded, "real")


def paper_section(loaded) -> None:
    """The `paper` profile: mini-COCO on a GPU, when its records are present."""
    show_profile(loaded, "paper")


def smoke_section(loaded) -> None:
    """The `smoke` profile (pipeline check), and how to make records when the study has none."""
    show_profile(loaded, "smoke")
    if not loaded.records:
        display(Markdown(NO_RECORDS))


STUDY = Study(name="multilabel", title="Multi-label", version=1, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims,
              key_params=("dataset", "p", "mode", "case", "seed", "epochs"), published=PUBLISHED,
              sections={"real": real_section, "paper": paper_section, "smoke": smoke_section,
                        "pilot": pilot_section, "pilot_numbers": glue_pilot, "real_numbers": glue_real})
