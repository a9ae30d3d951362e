"""The shapes a study is declared in: a training recipe, a profile, a notebook parameter and the study
itself. Plain dataclasses with no behaviour beyond reading a parameter set, so that every study module
can declare itself without importing the generic machinery that iterates the studies.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    optimizer: str = "adam"        # "adam" (AdamW) | "sgd" (Nesterov, momentum 0.9)
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"     # "constant" | "cosine" (per step, to zero)
    augment: bool = False          # random crop with 4-pixel padding + horizontal flip


def recipe(params: dict) -> Recipe:
    """The training recipe of a resolved parameter set."""
    return Recipe(**{f.name: params[f.name] for f in fields(Recipe)})


@dataclass(frozen=True)
class Profile:
    """What a profile fixes for a study: its default data set, the recipe of each network, and the values
    other parameters take when a run leaves them as None (for example width or image size)."""
    dataset: str
    recipes: dict[str, Recipe]
    defaults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """One notebook parameter. `default=None` means "the profile's value"; bounds are inclusive;
    `identity=False` marks where or how a run executes, not what it computes; `optional` lets it be None
    (a value the run does not depend on); a value in `unnamed` is left out of the run id (the value the
    parameter implicitly had before it existed, so that earlier records keep their ids)."""
    type: type
    default: object = None
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    identity: bool = True
    optional: bool = False
    unnamed: tuple = ()


@dataclass(frozen=True)
class Grid:
    """A published grid: a profile of the study, the narrowing of its axes, and its title in the book.
    `version` names an earlier protocol version whose records stay published until the grid that
    supersedes them is complete (None: the study's current version)."""
    profile: str
    title: str
    overrides: dict = field(default_factory=dict)
    version: int | None = None


@dataclass(frozen=True)
class Study:
    """Everything generic code needs to know of one study. `complete(params)` fills what the profile
    leaves open and checks rules between parameters (ValueError naming them); `claims(frame)` checks the
    paper's claims on the study's records; `version` enters every run id: bump it when results change;
    `sections` are the blocks of the study's book page, each called by `report.section` with the records;
    `rows(records)` gives the records as its page and claims read them (for example one run that stands
    for several cells); `renamed` maps a profile's earlier name to its name now: the earlier one is still
    accepted, and run ids keep hashing it, so renaming a profile changes no id."""
    name: str
    title: str
    version: int
    params: dict[str, Param]
    profiles: dict[str, Profile]
    grids: dict[str, list[dict]]
    result_fields: dict[str, tuple]
    paper_setup: dict[str, str]
    key_params: tuple[str, ...]
    claims: Callable
    complete: Callable[[dict], None] | None = None
    published: tuple[Grid, ...] = ()
    packable: tuple[str, ...] = ()
    sections: dict[str, Callable] = field(default_factory=dict)
    rows: Callable[[list[dict]], list[dict]] | None = None
    renamed: dict[str, str] = field(default_factory=dict)


# Parameters every study shares: the run's seeds and where it executes, the training recipe (None: the
# profile's), the corruption probability and where data are read.
RUN_PARAMS = {
    "seed": Param(int, 0, low=0),
    "split_seed": Param(int, 0, low=0),
    "results_dir": Param(str, "results", identity=False),
    "device": Param(str, "", identity=False),
    "run_id": Param(str, "", identity=False),
}
RECIPE_PARAMS = {
    "epochs": Param(int, None, low=1),
    "batch_size": Param(int, None, low=1),
    "optimizer": Param(str, None, choices=("adam", "sgd")),
    "lr": Param(float, None, low=0),
    "weight_decay": Param(float, None, low=0),
    "schedule": Param(str, None, choices=("constant", "cosine")),
    "augment": Param(bool, None),
}
DATA_PARAMS = {
    "data_root": Param(str, "", identity=False),
    "download": Param(bool, True, identity=False),
}
P = Param(float, 0.5, low=0.0, high=1.0)

# The paper's p values: §4.1 for the multi-class study, "12 different probability values" in [0, 1] for §4.2/§4.3.
PAPER_P = [0.0, 0.5, 0.6, 0.8, 0.9, 0.95, 0.98, 1.0]
TWELVE_P = [round(i / 11, 3) for i in range(12)]
# Paper (§4.1): LeNet-5 14 epochs at batch 128, ResNet18 200 epochs at batch 256; optimisers are ours.
LENET_PAPER = Recipe(epochs=14, batch_size=128, optimizer="adam", lr=1e-3)
RESNET_PAPER = Recipe(epochs=200, batch_size=256, optimizer="sgd", lr=0.1, weight_decay=5e-4, schedule="cosine",
                      augment=True)
