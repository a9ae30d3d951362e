"""The multi-label study (paper §3.3, §4.3, §5.3): the labels split into two groups, one group's positive
labels corrupted with probability p (moved to another label of the group: `swap`, or every label of the
group inverted: `flip`), mAP per group. This module holds what is the study's own: the label groups,
parameters, profiles and grids, what the paper reports, the claims checked on the records and the figure
of its page."""
from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import pandas as pd

from hetnoise import claims, data, plots
from hetnoise.claims import Verdict
from hetnoise.spec import DATA_PARAMS, RECIPE_PARAMS, RESNET_PAPER, RUN_PARAMS, TWELVE_P, Grid, P, Param, Profile, Recipe, Study

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
PROFILES = {
    "paper": Profile("mini-coco", {"resnet18": replace(RESNET_PAPER, epochs=40, batch_size=128)},
                     {"width": 1.0, "image_size": 128}),
    "smoke": Profile("digit-mosaics", {"resnet18": Recipe(epochs=4, batch_size=64, optimizer="adam", lr=2e-3,
                                                          weight_decay=1e-4, schedule="cosine")},
                     {"width": 0.25, "image_size": 64}),
    # Real images on a 2-core CPU (not in the paper): 2×2 mosaics of MNIST digits and Fashion-MNIST garments,
    # 20 labels, a quarter-width ResNet18 for 2 epochs of AdamW at batch 64 (a short pilot: as good as 3 epochs
    # at batch 128, ≈ 20 s of training and ≈ 30 s per run in all at one thread).
    "real": Profile("mnist-fashion-mosaics", {"resnet18": Recipe(epochs=2, batch_size=64, optimizer="adam",
                                                                 lr=2e-3, weight_decay=1e-4, schedule="cosine")},
                    {"width": 0.25, "image_size": 56}),
}

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=data.names("multilabel")),
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
# Three runs per case and p, as in §4.3 (here three seeds of noise, initialisation and batch order).
GRIDS = {
    "smoke": [{"dataset": ["digit-mosaics"], "p": [0.0, 0.5, 1.0], "case": [1, 2], "seed": [0, 1]}],
    "paper": [{"dataset": ["mini-coco"], "p": TWELVE_P, "case": [1, 2], "seed": [0, 1, 2]}],
    # Real-image mosaics on a CPU: the paper's swap grid in full, the flip extension at four of its p, and swap
    # trained twice as long at three p (does the clean group's rise come from the short recipe?).
    "real": [{"dataset": ["mnist-fashion-mosaics"], "p": TWELVE_P, "case": [1, 2], "mode": ["swap"], "seed": [0, 1, 2]},
             {"dataset": ["mnist-fashion-mosaics"], "p": REAL_FLIP_P, "case": [1, 2], "mode": ["flip"],
              "seed": [0, 1, 2]},
             {"dataset": ["mnist-fashion-mosaics"], "p": [TWELVE_P[i] for i in (0, 6, 11)], "case": [1, 2],
              "mode": ["swap"], "seed": [0, 1, 2], "epochs": [4]}],
}

PUBLISHED = (Grid("real", "MNIST + Fashion-MNIST mosaics, the paper's multi-label protocol on real images (CPU)"),)

RESULT_FIELDS = {"map_clean": (float, 0, 1), "map_corrupted": (float, 0, 1), "map_overall": (float, 0, 1),
                 "best_epoch": (int, 1, None), "wall_time_s": (float, 0, None)}


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """The clean label group's mAP is unaffected by noise in the other group, per case, corruption mode and
    (where a profile trains for more than one length) number of epochs."""
    out = []
    if frame.empty:
        return out
    frame = frame.assign(mode=frame["mode"] if "mode" in frame else "swap",
                         epochs=frame["epochs"] if "epochs" in frame else 0)
    lengths = frame.groupby(["profile", "dataset"]).epochs.nunique()
    for (profile, dataset, mode, case, epochs), part in frame.groupby(["profile", "dataset", "mode", "case", "epochs"]):
        ref = PAPER[f"case{int(case)}"]
        extra = [f"{epochs} epochs"] if lengths[(profile, dataset)] > 1 else []
        out.append(claims.flat("multi-label", "the clean label group's mAP stays flat",
                         claims.scope(dataset, f"case {case}", mode, *extra), profile,
                         f"flat; corrupted group {ref['map_p0']} → {ref['map_p1']} % (Fig. 6)", part, "map_clean"))
    return out



def corrupted_span(record: dict) -> str:
    """The corrupted labels of a multi-label run as a range: 1-based positions for COCO (as the paper counts
    them), label names otherwise (digits 0–9 for the digit mosaics)."""
    res, labels = record["result"], record["result"].get("corrupted_labels") or []
    if not labels:
        return "?"
    if record["params"].get("dataset") == "mini-coco" or "label_names" not in res:
        return f"labels {labels[0] + 1}–{labels[-1] + 1}"
    return f"labels {res['label_names'][labels[0]]}–{res['label_names'][labels[-1]]}"


def figure(part: pd.DataFrame, subtitle: str, paper_values: dict):
    """Fig. 6 redrawn: clean-group, corrupted-group and overall mAP (%) against p, one panel per case,
    mean ± 1 std over runs, with the paper's corrupted-group mAP at p = 0 and p = 1 marked."""
    stats = plots.summarise(part, ["case", "p"], ["map_clean", "map_corrupted", "map_overall"])
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


STUDY = Study(name="multilabel", title="Multi-label", version=1, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims,
              key_params=("dataset", "p", "mode", "case", "seed", "epochs"), published=PUBLISHED)
