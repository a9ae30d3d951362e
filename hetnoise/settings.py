"""The settings table: every study's notebook parameters (type, default, allowed values) and each
profile's data set, network and training recipe, declared once. `resolve` turns what a user, a
notebook or the sweep gives into the complete, canonical, validated parameter set a run records;
`run_id` hashes that set with the study's protocol version, so one run has one identity everywhere.

Where the paper is silent (optimiser, learning rate, schedule, epochs of §4.2/§4.3, augmentation) the
recipes below are our choices; the book's Reproduce page lists them.
"""
from __future__ import annotations

import ast
import hashlib
import json
import math
import numbers
from dataclasses import asdict, dataclass, fields, replace

# A study's protocol version is part of every run id: bump it when a change alters results (the golden
# tests in tests/test_golden.py fail with that advice), never otherwise.
PROTOCOL = {"multiclass": 1, "mtl": 2, "multilabel": 1, "regression": 1}


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    optimizer: str = "adam"        # "adam" (AdamW) | "sgd" (Nesterov, momentum 0.9)
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"     # "constant" | "cosine" (per step, to zero)
    augment: bool = False          # random crop with 4-pixel padding + horizontal flip


@dataclass(frozen=True)
class Profile:
    """What a profile fixes for a study: default data set, the recipe of each network, width, image size."""
    dataset: str
    recipes: dict[str, Recipe]
    width: float = 1.0
    image_size: int = 0
    per_class: tuple[int, int] = (0, 0)  # multi-task: training images per class of Task1, Task2 (0: all)


@dataclass(frozen=True)
class Param:
    """One notebook parameter. `default=None` means "the profile's value"; bounds are inclusive;
    `identity=False` marks where or how a run executes, not what it computes."""
    type: type
    default: object = None
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    identity: bool = True
    help: str = ""


# Number of classes (labels) of every data set a study can name, known before any data is loaded.
DATASETS = {"digits": 10, "mnist": 10, "fashion-mnist": 10, "cifar10": 10, "cifar100": 100,
            "digit-mosaics": 10, "mnist-fashion-mosaics": 20, "mini-coco": 80}
MULTICLASS_DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")
MULTILABEL_DATASETS = ("digit-mosaics", "mnist-fashion-mosaics", "mini-coco")
DEFAULT_MODEL = {"digits": "lenet5", "mnist": "lenet5", "fashion-mnist": "lenet5", "cifar10": "resnet18",
                 "cifar100": "resnet18"}

# Paper: LeNet-5 14 epochs at batch 128, ResNet18 200 epochs at batch 256 (§4.1).
_LENET_PAPER = Recipe(epochs=14, batch_size=128, optimizer="adam", lr=1e-3)
_RESNET_PAPER = Recipe(epochs=200, batch_size=256, optimizer="sgd", lr=0.1, weight_decay=5e-4, schedule="cosine",
                       augment=True)

PROFILES: dict[str, dict[str, Profile]] = {
    "multiclass": {
        "paper": Profile("mnist", {"lenet5": _LENET_PAPER, "resnet18": _RESNET_PAPER}),
        # The paper's MNIST protocol on a harder data set of the same shape (not in the paper).
        "fashion": Profile("fashion-mnist", {"lenet5": _LENET_PAPER}),
        "smoke": Profile("digits", {
            "lenet5": Recipe(epochs=10, batch_size=128, optimizer="adam", lr=2e-3),
            "resnet18": Recipe(epochs=2, batch_size=128, optimizer="sgd", lr=0.05, weight_decay=5e-4,
                               schedule="cosine")}),
    },
    # The paper gives the network (2×-wide ResNet18 with Mish, two heads) but no optimiser, schedule or epochs:
    # ours are the multi-class ResNet18 recipe with 100 epochs.
    "mtl": {
        "paper": Profile("cifar100", {"resnet18": replace(_RESNET_PAPER, epochs=100)}, width=2.0),
        "smoke": Profile("digits", {"resnet18": Recipe(epochs=4, batch_size=64, optimizer="adam", lr=2e-3,
                                                       weight_decay=5e-4)}, width=0.25),
        # Real images on a CPU (not in the paper): MNIST's digits split 5/5, a LeNet-5 trunk with Mish, Task1 with 5
        # training images per class and Task2 with 1,000, so that Task2 has something to give (chosen by a pilot).
        "real": Profile("mnist", {"lenet5": Recipe(epochs=8, batch_size=64, optimizer="sgd", lr=0.02,
                                                   weight_decay=5e-4, schedule="cosine")}, per_class=(5, 1000)),
    },
    # The paper gives the network (ResNet18, sigmoid outputs, from scratch): ours is the CIFAR ResNet18 recipe
    # at batch 128 for 40 epochs, on 128-pixel images.
    "multilabel": {
        "paper": Profile("mini-coco", {"resnet18": replace(_RESNET_PAPER, epochs=40, batch_size=128)},
                         width=1.0, image_size=128),
        "smoke": Profile("digit-mosaics", {"resnet18": Recipe(epochs=4, batch_size=64, optimizer="adam", lr=2e-3,
                                                              weight_decay=1e-4, schedule="cosine")},
                         width=0.25, image_size=64),
        # Real images on a 2-core CPU (not in the paper): 2×2 mosaics of MNIST digits and Fashion-MNIST garments,
        # 20 labels, a quarter-width ResNet18 for 2 epochs of AdamW at batch 64 (a short pilot: as good as 3 epochs
        # at batch 128, ≈ 20 s of training and ≈ 30 s per run in all at one thread).
        "real": Profile("mnist-fashion-mosaics", {"resnet18": Recipe(epochs=2, batch_size=64, optimizer="adam",
                                                                     lr=2e-3, weight_decay=1e-4, schedule="cosine")},
                        width=0.25, image_size=56),
    },
    # Not in the paper (its §6 proposal): LeNet-5 with one output on rotated digits, the multi-class LeNet-5 recipe
    # at 12 epochs on a 12,000-image subset of MNIST.
    "regression": {
        "paper": Profile("mnist", {"lenet5": replace(_LENET_PAPER, epochs=12)}),
        "smoke": Profile("digits", {"lenet5": Recipe(epochs=10, batch_size=64, optimizer="adam", lr=2e-3)}),
    },
}

_RECIPE = {
    "epochs": Param(int, None, low=1, help="None: the profile's recipe"),
    "batch_size": Param(int, None, low=1),
    "optimizer": Param(str, None, choices=("adam", "sgd")),
    "lr": Param(float, None, low=0),
    "weight_decay": Param(float, None, low=0),
    "schedule": Param(str, None, choices=("constant", "cosine")),
    "augment": Param(bool, None),
}
_RUN = {
    "seed": Param(int, 0, low=0, help="noise, initial weights, batch order and dropout"),
    "split_seed": Param(int, 0, low=0, help="the 9:1 train/validation split"),
    "results_dir": Param(str, "results", identity=False),
    "device": Param(str, "", identity=False, help="empty: CUDA when present, else CPU"),
    "run_id": Param(str, "", identity=False, help="empty: computed; else checked against the parameters"),
}
_P = Param(float, 0.5, low=0.0, high=1.0, help="corruption probability")

PARAMS: dict[str, dict[str, Param]] = {
    "multiclass": {
        "profile": Param(str, "paper", choices=tuple(PROFILES["multiclass"])),
        "dataset": Param(str, None, choices=MULTICLASS_DATASETS),
        "model": Param(str, None, choices=("lenet5", "resnet18")),
        "p": _P,
        "clean_class": Param(int, 0, low=0),
        "strategy": Param(str, "exclude", choices=("exclude", "include")),
        **_RUN, **_RECIPE,
        "data_root": Param(str, "", identity=False),
        "download": Param(bool, True, identity=False),
        "batched": Param(bool, False, identity=False, help="train a pack's models at once (LeNet-5 only)"),
        "pack": Param(list, [], identity=False, help="further runs of this execution"),
    },
    "mtl": {
        "profile": Param(str, "paper", choices=tuple(PROFILES["mtl"])),
        "dataset": Param(str, None, choices=MULTICLASS_DATASETS),
        "mode": Param(str, "mtl", choices=("mtl", "stl")),
        "model": Param(str, None, choices=("resnet18", "lenet5"), help="the shared trunk"),
        "p": _P,
        "width": Param(float, None, low=1e-3),
        "task1_per_class": Param(int, None, low=0, help="training images per Task1 class; 0: all"),
        "task2_per_class": Param(int, None, low=0, help="training images per Task2 class; 0: all"),
        **_RUN, **_RECIPE,
        "data_root": Param(str, "", identity=False),
        "download": Param(bool, True, identity=False),
    },
    "multilabel": {
        "profile": Param(str, "paper", choices=tuple(PROFILES["multilabel"])),
        "dataset": Param(str, None, choices=MULTILABEL_DATASETS),
        "case": Param(int, 1, choices=(1, 2)),
        "mode": Param(str, "swap", choices=("swap", "flip")),
        "p": _P,
        "width": Param(float, None, low=1e-3),
        "stem": Param(str, "imagenet", choices=("imagenet", "cifar")),
        "image_size": Param(int, None, low=8),
        **_RUN, **_RECIPE,
        "coco_root": Param(str, "", identity=False),
        "data_root": Param(str, "", identity=False, help="empty: HETNOISE_DATA (mnist-fashion-mosaics' MNIST and "
                                                         "Fashion-MNIST files)"),
        "download": Param(bool, True, identity=False),
        "save_scores": Param(bool, True, identity=False),
    },
    "regression": {
        "profile": Param(str, "paper", choices=tuple(PROFILES["regression"])),
        "dataset": Param(str, None, choices=("digits", "mnist", "fashion-mnist")),
        "model": Param(str, "lenet5", choices=("lenet5",), help="LeNet-5 with one output"),
        "p": _P,
        "sigma": Param(float, 20.0, low=0.0, help="degrees: scale of the Gaussian before truncation"),
        "low": Param(float, 0.0, low=-90.0, high=90.0, help="degrees: lower end of the corrupted range"),
        "high": Param(float, 45.0, low=-90.0, high=90.0, help="degrees: upper end of the corrupted range"),
        "max_angle": Param(float, 45.0, low=1.0, high=90.0, help="angles are uniform on [-max_angle, max_angle]"),
        "n_train": Param(int, 12000, low=100, help="at most this many training images (before the 9:1 split)"),
        **_RUN, **_RECIPE,
        "data_root": Param(str, "", identity=False),
        "download": Param(bool, True, identity=False),
    },
}

# Parameters that may differ between the runs one notebook execution trains together (`sweep --pack`).
PACKABLE = {"multiclass": ("clean_class", "strategy", "seed")}


def check_study(study: str) -> None:
    if study not in PARAMS:
        raise ValueError(f"experiment {study!r} is unknown; choose one of {sorted(PARAMS)}")


def _describe(spec: Param) -> str:
    if spec.choices:
        return f"one of {list(spec.choices)}"
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list"}[spec.type]
    if spec.low is not None and spec.high is not None:
        return f"{kind} in [{spec.low:g}, {spec.high:g}]"
    if spec.low is not None:
        return f"{kind} ≥ {spec.low:g}"
    return kind


def check_value(study: str, name: str, value):
    """`value` in canonical form (ints as int, numbers as float), or ValueError naming the parameter, the
    value and what is allowed."""
    spec = PARAMS[study][name]
    if value is None and spec.default is None:
        return None
    t = spec.type
    ok = (isinstance(value, bool) if t is bool else
          isinstance(value, numbers.Integral) and not isinstance(value, bool) if t is int else
          isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) if t is float else
          isinstance(value, t))
    if ok and t is int:
        value = int(value)
    if ok and t is float:
        value = float(value)
    if ok and spec.choices:
        ok = value in spec.choices
    if ok and spec.low is not None:
        ok = value >= spec.low
    if ok and spec.high is not None:
        ok = value <= spec.high
    if not ok:
        extra = " or None (the profile's value)" if spec.default is None else ""
        raise ValueError(f"{study}: {name}={value!r} is not allowed; it must be {_describe(spec)}{extra}")
    return value


def resolve(study: str, given: dict) -> dict:
    """The complete canonical parameter set of a run: unknown names and bad values rejected, every
    None replaced by the profile's value, `run_id` computed (or checked when given)."""
    check_study(study)
    spec = PARAMS[study]
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ValueError(f"{study}: unknown parameter {unknown[0]!r}; the parameters are {', '.join(spec)}")
    v = {name: check_value(study, name, given.get(name, s.default)) for name, s in spec.items()}
    prof = PROFILES[study][v["profile"]]
    v["dataset"] = v["dataset"] or prof.dataset
    if "model" in v:
        v["model"] = v["model"] or (DEFAULT_MODEL[v["dataset"]] if study == "multiclass" else next(iter(prof.recipes)))
    model = v.get("model", next(iter(prof.recipes)))
    if model not in prof.recipes:
        raise ValueError(f"{study}: profile {v['profile']!r} has no recipe for model {model!r}; "
                         f"choose model from {sorted(prof.recipes)}")
    for f in fields(Recipe):
        if v[f.name] is None:
            v[f.name] = getattr(prof.recipes[model], f.name)
    if "width" in v and v["width"] is None:
        v["width"] = prof.width
    if "image_size" in v and v["image_size"] is None:
        v["image_size"] = prof.image_size
    for t in (1, 2):
        if f"task{t}_per_class" in v and v[f"task{t}_per_class"] is None:
            v[f"task{t}_per_class"] = prof.per_class[t - 1]
    if "clean_class" in v and v["clean_class"] >= DATASETS[v["dataset"]]:
        raise ValueError(f"{study}: clean_class={v['clean_class']} is not a class of {v['dataset']}; "
                         f"it must be an integer in 0..{DATASETS[v['dataset']] - 1}")
    if "low" in v and not v["low"] < v["high"]:
        raise ValueError(f"{study}: low={v['low']:g} must be below high={v['high']:g} (the corrupted range in degrees)")
    if "pack" in v:
        v["pack"] = [_pack_entry(study, v, entry) for entry in v["pack"]]
    rid = run_id(study, v)
    if v["run_id"] and v["run_id"] != rid:
        raise ValueError(f"{study}: run_id={v['run_id']!r} does not match these parameters (their id is {rid}); "
                         "leave run_id empty to have it computed")
    v["run_id"] = rid
    return v


def _pack_entry(study: str, main: dict, entry) -> dict:
    free = PACKABLE.get(study, ())
    if not isinstance(entry, dict) or not set(entry) <= {*free, "run_id"}:
        raise ValueError(f"{study}: pack entry {entry!r} may only set {', '.join(free)} and run_id")
    run = resolve(study, {**{k: x for k, x in main.items() if k not in ("pack", "run_id")}, "run_id": "", **entry})
    return {k: run[k] for k in (*free, "run_id")}


def runs(study: str, params: dict) -> list[dict]:
    """Every run of one execution, resolved: the main run, then each `pack` entry with its own identity."""
    main = {k: x for k, x in params.items() if k != "pack"}
    return [main] + [resolve(study, {**main, **entry}) for entry in params.get("pack", [])]


def from_namespace(study: str, namespace: dict) -> dict:
    """Resolve a notebook's parameters from its global namespace. Besides the study's parameter names,
    every name assigned in a cell made only of literal assignments (the parameters cell and papermill's
    injected one, read from IPython's `In`) is taken, so a misspelt parameter is rejected, not ignored."""
    names = {k for k in PARAMS[study] if k in namespace} | _literal_names(namespace.get("In") or [])
    return resolve(study, {k: namespace[k] for k in names if k in namespace})


def _literal_names(sources) -> set[str]:
    """Names assigned in the code cells that hold nothing but `name = literal` lines."""
    names = set()
    for src in sources:
        try:
            body = ast.parse(src).body
        except (SyntaxError, ValueError, TypeError):
            continue
        if body and all(isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                        and _is_literal(s.value) for s in body):
            names |= {s.targets[0].id for s in body}
    return names


def _is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False


def identity(study: str, params: dict) -> dict:
    """The parameters that define what a run computes (those of `params` marked identity)."""
    spec = PARAMS[study]
    return {k: x for k, x in params.items() if k in spec and spec[k].identity}


def run_id(study: str, params: dict, protocol: int | None = None) -> str:
    """16 hex digits: sha256 of the study, its protocol version and the identity parameters."""
    blob = json.dumps({"study": study, "protocol": PROTOCOL[study] if protocol is None else protocol,
                       "params": identity(study, params)}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def recipe(params: dict) -> Recipe:
    """The training recipe of a resolved parameter set."""
    return Recipe(**{f.name: params[f.name] for f in fields(Recipe)})


def recipes_table() -> list[dict]:
    """Every study, profile and network with its data set, width, image size and recipe: the Reproduce page's table."""
    return [{"study": study, "profile": name, "model": model, "dataset": prof.dataset, "width": prof.width,
             "image size": prof.image_size or None, **asdict(r)}
            for study, profs in PROFILES.items() for name, prof in profs.items() for model, r in prof.recipes.items()]

