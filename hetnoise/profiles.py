"""The parameter grid of every experiment under every profile: what `hetnoise sweep` runs. What a
profile means for a single run (data set, network, recipe) is in `settings`.

A profile is a list of blocks; each block maps a parameter to the list of its values and expands to
their Cartesian product. Several blocks let a grid hold cells of different shapes (for example the
multi-task study's single-task baseline, which has no p).
"""
from __future__ import annotations

import itertools
from pathlib import Path

from hetnoise import settings
from hetnoise.records import repo_root

PAPER_P = [0.0, 0.5, 0.6, 0.8, 0.9, 0.95, 0.98, 1.0]  # §4.1
TWELVE_P = [round(i / 11, 3) for i in range(12)]  # §4.2, §4.3: "12 different probability values" in [0, 1]
REAL_FLIP_P = [TWELVE_P[i] for i in (0, 4, 8, 11)]  # 0, 0.364, 0.727, 1: flip on the multi-label `real` grid

EXPERIMENTS: dict[str, dict[str, list[dict]]] = {
    "multiclass": {
        "smoke": [{"dataset": ["digits"], "p": [0.0, 0.6, 0.9, 1.0], "clean_class": [0, 7],
                   "strategy": ["include", "exclude"], "seed": [0]}],
        "fashion": [{"dataset": ["fashion-mnist"], "p": PAPER_P, "clean_class": list(range(10)),
                     "strategy": ["include", "exclude"], "seed": [0]}],
        "paper": [{"dataset": ["mnist", "cifar10"], "p": PAPER_P, "clean_class": list(range(10)),
                   "strategy": ["include", "exclude"], "seed": [0]}],
    },
    # One run per split and p, as in §4.2; the smoke grid has two seeds so that its claims can be decided (three splits); STL baseline per split; both weight decays (§6).
    "mtl": {
        "smoke": [{"mode": ["mtl"], "p": [0.0, 0.5, 1.0], "split_seed": [0], "seed": [0, 1]},
                  {"mode": ["stl"], "p": [0.0], "split_seed": [0], "seed": [0, 1]}],
        "paper": [{"mode": ["mtl"], "p": TWELVE_P, "split_seed": [0, 1, 2], "seed": [0],
                   "weight_decay": [5e-4, 5e-5]},
                  {"mode": ["stl"], "p": [0.0], "split_seed": [0, 1, 2], "seed": [0], "weight_decay": [5e-4, 5e-5]}],
        # Real images on a CPU: three class splits × two seeds per p at the main weight decay, one seed per split
        # for the §6 ablation; the STL baseline with both seeds at both weight decays.
        "real": [{"mode": ["mtl"], "p": TWELVE_P, "split_seed": [0, 1, 2], "seed": [0, 1], "weight_decay": [5e-4]},
                 {"mode": ["mtl"], "p": TWELVE_P, "split_seed": [0, 1, 2], "seed": [0], "weight_decay": [5e-5]},
                 {"mode": ["stl"], "p": [0.0], "split_seed": [0, 1, 2], "seed": [0, 1], "weight_decay": [5e-4, 5e-5]}],
    },
    # Three runs per case and p, as in §4.3 (here three seeds of noise, initialisation and batch order).
    "multilabel": {
        "smoke": [{"dataset": ["digit-mosaics"], "p": [0.0, 0.5, 1.0], "case": [1, 2], "seed": [0, 1]}],
        "paper": [{"dataset": ["mini-coco"], "p": TWELVE_P, "case": [1, 2], "seed": [0, 1, 2]}],
        # Real-image mosaics on a CPU: the paper's swap grid in full, the flip extension at four of its p, and swap
        # trained twice as long at three p (does the clean group's rise come from the short recipe?).
        "real": [{"dataset": ["mnist-fashion-mosaics"], "p": TWELVE_P, "case": [1, 2], "mode": ["swap"],
                  "seed": [0, 1, 2]},
                 {"dataset": ["mnist-fashion-mosaics"], "p": REAL_FLIP_P, "case": [1, 2], "mode": ["flip"],
                  "seed": [0, 1, 2]},
                 {"dataset": ["mnist-fashion-mosaics"], "p": [TWELVE_P[i] for i in (0, 6, 11)], "case": [1, 2],
                  "mode": ["swap"], "seed": [0, 1, 2], "epochs": [4]}],
    },
    # Not in the paper (its §6 proposal): p at σ = 20°, then σ at p = 1; three seeds per cell.
    "regression": {
        "smoke": [{"dataset": ["digits"], "p": [0.0, 0.5, 1.0], "sigma": [20.0], "seed": [0, 1, 2]},
                  {"dataset": ["digits"], "p": [1.0], "sigma": [5.0], "seed": [0, 1, 2]}],
        "paper": [{"dataset": ["mnist"], "p": [0.0, 0.25, 0.5, 0.75, 1.0], "sigma": [20.0], "seed": [0, 1, 2]},
                  {"dataset": ["mnist"], "p": [1.0], "sigma": [5.0, 40.0], "seed": [0, 1, 2]}],
    },
}


# The grids of the report's published results (records in `published/`, made by the project's own runs):
# a study, a profile and the narrowing of its grid. A test checks that nothing else is published.
PUBLISHED = [
    {"experiment": "multiclass", "profile": "paper", "overrides": {"dataset": ["mnist"]},
     "title": "MNIST, the paper's protocol"},
    {"experiment": "multiclass", "profile": "fashion", "overrides": {},
     "title": "Fashion-MNIST, the paper's MNIST protocol"},
    {"experiment": "mtl", "profile": "real", "overrides": {},
     "title": "MNIST in two 5-class tasks, the paper's multi-task protocol on real images (CPU)"},
    {"experiment": "multilabel", "profile": "real", "overrides": {},
     "title": "MNIST + Fashion-MNIST mosaics, the paper's multi-label protocol on real images (CPU)"},
    {"experiment": "regression", "profile": "paper", "overrides": {},
     "title": "rotated MNIST, the regression study the paper proposes (§6)"},
]


def notebook(experiment: str) -> Path:
    """The notebook an experiment runs."""
    return repo_root() / "notebooks" / f"{experiment}.ipynb"


def available() -> list[str]:
    """Experiments whose notebook exists in this checkout."""
    return [e for e in EXPERIMENTS if notebook(e).is_file()]


def profiles(experiment: str) -> list[str]:
    check(experiment)
    return list(EXPERIMENTS[experiment])


def check(experiment: str, profile: str | None = None) -> None:
    """ValueError naming the choices when an experiment or profile is unknown."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment {experiment!r} is unknown; choose one of {sorted(EXPERIMENTS)} or 'all'")
    if profile is not None and profile not in EXPERIMENTS[experiment]:
        raise ValueError(f"profile {profile!r} is unknown for {experiment}; "
                         f"choose one of {sorted(EXPERIMENTS[experiment])}")


def cells(experiment: str, profile: str, overrides: dict | None = None) -> list[dict]:
    """Every cell of a profile's grid as notebook parameters; `overrides` maps a parameter to a list of
    values (replacing or adding that axis in every block), e.g. {"p": [0, 1], "seed": [0, 1]}."""
    check(experiment, profile)
    for key, values in (overrides or {}).items():
        if key not in settings.PARAMS[experiment] or not settings.PARAMS[experiment][key].identity or key == "profile":
            allowed = [k for k, v in settings.PARAMS[experiment].items() if v.identity and k != "profile"]
            raise ValueError(f"{experiment}: --set {key}=… is not a parameter a sweep can set; choose from "
                             f"{', '.join(allowed)}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{experiment}: {key} needs a non-empty list of values, got {values!r}")
    out, seen = [], set()
    for block in EXPERIMENTS[experiment][profile]:
        axes = {**block, **{k: list(v) for k, v in (overrides or {}).items()}}
        for values in itertools.product(*axes.values()):
            cell = {"profile": profile, **dict(zip(axes, values))}
            key = tuple(sorted((k, repr(v)) for k, v in cell.items()))
            if key not in seen:
                seen.add(key)
                out.append(cell)
    return out
