"""The features study (beyond the paper; its §1 question and §6 future work): does noise in nine classes
perturb the clean class's features, layer by layer? It trains nothing. Each run reads one multi-class run's
LeNet-5 (the weights kept beside its record, at the last epoch or at the oracle checkpoint) and the p = 0
run of the same seed, and measures at each layer (conv1, conv2, fc1, fc2, logits):

- linear probes trained on the features of the clean, true-labelled validation split (which no run trained
  on) and scored on the test set: each class against the rest (balanced accuracy) and all ten classes;
- linear CKA to the p = 0 network, on the test images of each class separately;
- each class's between-to-within scatter ratio (a Fisher ratio) on the test images.

Every figure is kept per class, so a p = 0 run (no clean class named) stands for every clean class, as in
the multi-class study. This module holds what is the study's own: the measures (CKA, probes, scatter ratio),
the pipeline its notebook calls, its parameters, profiles and grids, what the paper asserts, the claims
checked on the records and the blocks of its book page (`sections`).
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from hetnoise import claims, data, metrics, models, multiclass, plots, stats, tables, train
from hetnoise.claims import FAILS, HOLDS, MARGIN, MIN_RUNS, TOO_FEW, UNDECIDED, Verdict, at_least
from hetnoise.spec import DATA_PARAMS, RECIPE_PARAMS, RUN_PARAMS, Grid, P, Param, Profile, Study

# The layer each measure reads: the module whose output a forward hook keeps. LeNet5.forward applies the
# ReLUs of fc1 and fc2 as functions, so their hooks apply them; conv1 and conv2 are read after pool and ReLU.
LAYERS = {"conv1": "features.2", "conv2": "features.5", "fc1": "fc1", "fc2": "fc2", "logits": "fc3"}
AFTER_RELU = ("fc1", "fc2")
PROBE_PER_CLASS = 500  # validation images per class the probes train on (MNIST's split holds about 600)
PROBE_SEED = 0  # fixed: which validation images the probes use, and the probes' own seed
PROBE_ITERATIONS = 2000
CHECKPOINTS = ("final", "oracle")
DATASETS = ("digits", "mnist", "fashion-mnist")  # the 28×28 grey data sets the multi-class LeNet-5 runs on
RECIPE_KEYS = tuple(RECIPE_PARAMS)


# ----------------------------------------------------------------------------------------- the measures
def centred(features) -> np.ndarray:
    """Features in float64, each column minus its mean."""
    features = np.asarray(features, dtype=np.float64)
    return features - features.mean(0)


def linear_cka(first, second) -> float:
    """Linear CKA (Kornblith et al., 2019) of two representations of the same examples (rows): 1 for equal
    ones, unchanged by orthogonal transforms and isotropic scaling of either; NaN when either is constant."""
    first, second = centred(first), centred(second)
    if len(first) < max(first.shape[1], second.shape[1]):  # fewer examples than features: n×n Gram matrices
        gram_first, gram_second = first @ first.T, second @ second.T
        cross = float((gram_first * gram_second).sum())
        norms = np.linalg.norm(gram_first) * np.linalg.norm(gram_second)
    else:
        cross = float(np.linalg.norm(first.T @ second) ** 2)
        norms = np.linalg.norm(first.T @ first) * np.linalg.norm(second.T @ second)
    return cross / float(norms) if norms > 0 else float("nan")


def class_cka(features, reference, labels, num_classes: int) -> list[float]:
    """Linear CKA of two networks' features on the examples of each class (NaN for an absent class)."""
    labels = np.asarray(labels)
    return [linear_cka(features[labels == cls], reference[labels == cls]) if (labels == cls).sum() > 1
            else float("nan") for cls in range(num_classes)]


def scatter_ratio(features, labels, cls: int) -> float:
    """How separate one class stands: squared distance of its mean from the mean of all examples over the mean
    squared distance of its examples from its own mean (its term of tr S_B / tr S_W, a Fisher ratio); NaN when
    the class is absent or has no spread."""
    features, labels = np.asarray(features, dtype=np.float64), np.asarray(labels)
    own = features[labels == cls]
    if len(own) == 0:
        return float("nan")
    centre = own.mean(0)
    within = float(((own - centre) ** 2).sum(1).mean())
    between = float(((centre - features.mean(0)) ** 2).sum())
    return between / within if within > 0 else float("nan")


def standardised(train_features, test_features) -> tuple[np.ndarray, np.ndarray]:
    """Both sets scaled by the training set's mean and standard deviation per feature (a constant one stays 0)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_features)
    return scaler.transform(train_features), scaler.transform(test_features)


def logistic(balanced: bool = False):
    """The probe: L2-regularised logistic regression with a fixed seed (classes weighted alike when `balanced`)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=PROBE_ITERATIONS, random_state=PROBE_SEED,
                              class_weight="balanced" if balanced else None)


def one_vs_rest(train_z, train_y, test_z, test_y, cls: int) -> float:
    """Test balanced accuracy of a probe telling class `cls` from the rest (trained with balanced weights)."""
    from sklearn.metrics import balanced_accuracy_score

    probe = logistic(balanced=True).fit(train_z, np.asarray(train_y) == cls)
    return float(balanced_accuracy_score(np.asarray(test_y) == cls, probe.predict(test_z)))


def probes(train_features, train_y, test_features, test_y, num_classes: int) -> dict:
    """Linear probes on standardised features: the ten-class probe's test accuracy and recall per class, and
    each class's one-vs-rest balanced accuracy."""
    train_z, test_z = standardised(train_features, test_features)
    predicted = logistic().fit(train_z, train_y).predict(test_z)
    return {"probe_acc": float((predicted == np.asarray(test_y)).mean()),
            "probe_recall": metrics.per_class_accuracy(test_y, predicted, num_classes).tolist(),
            "probe_binary": [one_vs_rest(train_z, train_y, test_z, test_y, cls) for cls in range(num_classes)]}


def layer_measures(probe_features, probe_y, test_features, test_y, reference_features, num_classes: int) -> dict:
    """Every measure of one layer, per class: probes, CKA to the reference network, scatter ratio."""
    return {**probes(probe_features, probe_y, test_features, test_y, num_classes),
            "cka": class_cka(test_features, reference_features, test_y, num_classes),
            "scatter": [scatter_ratio(test_features, test_y, cls) for cls in range(num_classes)]}


# ------------------------------------------------------------------------------------------- the pipeline
def source_params(run: dict, reference: bool = False) -> dict:
    """The multi-class parameters of the run this one reads or, with `reference`, of the p = 0 run of its seed."""
    params = {key: run[key] for key in ("profile", "dataset", "p", "clean_class", "strategy", "seed", "split_seed",
                                        *RECIPE_KEYS)}
    if reference:
        params.update(p=0.0, clean_class=None, strategy=None)
    return {**params, "model": "lenet5"}


def folders(run: dict) -> list[Path]:
    """Where multi-class records are looked for: `source_results` when given, else the run's results folder and
    every folder above it (a sweep runs the notebook in a staging folder inside its results folder)."""
    if run["source_results"]:
        return [Path(run["source_results"])]
    here = Path(run["results_dir"]).resolve()
    return [here, *here.parents]


def sweep_command(source: dict, folder: Path) -> str:
    """The command that makes one multi-class run (the profile's recipe unless the run's differs)."""
    recipe = multiclass.PROFILES[source["profile"]].recipes["lenet5"]
    given = {"dataset": source["dataset"], "p": source["p"], "seed": source["seed"]}
    if source["clean_class"] is not None:
        given.update(clean_class=source["clean_class"], strategy=source["strategy"])
    if source["split_seed"]:
        given["split_seed"] = source["split_seed"]
    given.update({key: source[key] for key in RECIPE_KEYS if source[key] != getattr(recipe, key)})
    settings = " ".join(f"--set {key}={json.dumps(value) if isinstance(value, bool) else value}"
                        for key, value in given.items())
    return f"hetnoise sweep multiclass --profile {source['profile']} --results {folder} {settings}"


def describe(source: dict) -> str:
    """A multi-class run in words."""
    cell = ("p = 0" if source["clean_class"] is None else
            f"p = {source['p']:g}, clean class {source['clean_class']}, {source['strategy']}")
    return f"{source['dataset']}, {cell}, seed {source['seed']}"


def results_root(run: dict) -> Path:
    """The results folder a run belongs to: `source_results` when given; else its results folder or, when that
    lies inside a `features` folder (a sweep's staging folder), the folder holding it."""
    if run["source_results"]:
        return Path(run["source_results"])
    here = Path(run["results_dir"]).resolve()
    return next((folder.parent for folder in here.parents if folder.name == "features"), here)


def locate(run: dict, source: dict) -> Path:
    """The record of the multi-class run `source` (resolved, with its run_id) under `folders(run)`, laid out as
    every record is (<results>/multiclass/<profile>/<run_id>.json); FileNotFoundError naming the command
    that makes it."""
    name = Path("multiclass") / source["profile"] / f"{source['run_id']}.json"
    searched = folders(run)
    for folder in searched:
        if (folder / name).is_file():
            return folder / name
    where = run["source_results"] or f"{run['results_dir']} nor in a folder above it"
    raise FileNotFoundError(f"features: no multi-class record {name} ({describe(source)}) in {where}; make it with "
                            f"`{sweep_command(source, results_root(run))}`, or name the folder that holds it in "
                            "source_results")


def load_network(run: dict, source: dict, ds: data.Dataset) -> tuple[dict, torch.nn.Module]:
    """The multi-class record of `source` and its LeNet-5 with the weights of the run's checkpoint."""
    path = locate(run, source)
    weights = path.with_suffix(f".{run['checkpoint']}.pt")
    if not weights.is_file():
        raise FileNotFoundError(f"features: the multi-class record {path} has no weights file {weights.name} (a run "
                                "made with save_checkpoints=False or before weights were kept); move the record "
                                f"away and make it again with `{sweep_command(source, path.parents[2])}`")
    net = models.build("lenet5", ds.num_classes, ds.x_train.shape[1])
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return json.loads(path.read_text()), net.eval()


def probe_split(ds: data.Dataset, split_seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Images and true labels the probes train on: the multi-class runs' validation split (never trained on),
    at most PROBE_PER_CLASS per class, drawn with PROBE_SEED."""
    _, val_idx = multiclass.split(ds, split_seed)
    labels = ds.y_train[val_idx].numpy()
    rng = np.random.default_rng(PROBE_SEED)
    chosen = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == cls))[:PROBE_PER_CLASS]
                                     for cls in range(ds.num_classes)]))
    return ds.x_train[val_idx[chosen]], labels[chosen]


def keeper(parts: list, relu: bool):
    """A forward hook appending its module's output (after a ReLU when `relu`) to `parts`, on the CPU."""
    def hook(_module, _inputs, output):
        parts.append((torch.relu(output) if relu else output).detach().float().cpu())
    return hook


def layer_features(net: torch.nn.Module, images: torch.Tensor, ds: data.Dataset, device: str = "") -> dict:
    """Each layer's activations (LAYERS) of uint8 images, one flattened float32 row per image, in eval mode."""
    net = net.to(train.pick_device(device))
    kept = {name: [] for name in LAYERS}
    handles = [net.get_submodule(path).register_forward_hook(keeper(kept[name], name in AFTER_RELU))
               for name, path in LAYERS.items()]
    try:
        train.predict(net, images, ds.mean, ds.std)
    finally:
        for handle in handles:
            handle.remove()
    return {name: torch.cat(parts).flatten(1).numpy() for name, parts in kept.items()}


def networks(run: dict, source: dict, reference: dict, ds: data.Dataset) -> tuple:
    """What a run reads: its multi-class source and p = 0 reference (as resolved from `source_params`), their
    records and networks."""
    (source_record, net), (reference_record, reference_net) = (load_network(run, x, ds) for x in (source, reference))
    return source, reference, source_record, reference_record, net, reference_net


def measures(net, reference, ds: data.Dataset, probe_images, probe_labels, device: str = "") -> dict:
    """Every measure at every layer: probes trained on `probe_images`, CKA to `reference` and scatter ratios on
    the test set."""
    trained_on = layer_features(net, probe_images, ds, device)
    test, reference_test = layer_features(net, ds.x_test, ds, device), layer_features(reference, ds.x_test, ds, device)
    labels = ds.y_test.numpy()
    return {name: layer_measures(trained_on[name], probe_labels, test[name], labels, reference_test[name],
                                 ds.num_classes) for name in LAYERS}


def reading(record: dict, checkpoint: str) -> dict:
    """A multi-class result at a checkpoint: its test figures and the epoch they were read at."""
    result = record["result"]
    if checkpoint == "oracle":
        return result["oracle"]
    return {**result, "epoch": result["final_epoch"]}


def result(per_layer: dict, source: dict, reference: dict, run: dict, n_probe: int, ds: data.Dataset, device,
           wall_time_s: float) -> dict:
    """The result a run's record holds: every measure per layer and class, the network's own test accuracy per
    class at the checkpoint read, the two multi-class runs it read, and the sizes of the run."""
    own, base = reading(source, run["checkpoint"]), reading(reference, run["checkpoint"])
    return dict(layers=list(LAYERS), per_layer=per_layer, network_per_class_acc=own["per_class_acc"],
                network_test_acc=own["test_acc"], epoch=own["epoch"], reference_epoch=base["epoch"],
                source_run_id=source["run_id"], reference_run_id=reference["run_id"], n_probe=n_probe,
                n_test=len(ds.x_test), num_classes=ds.num_classes, data_source=ds.source, device=str(device),
                wall_time_s=wall_time_s)


def per_class(values) -> np.ndarray:
    """A recorded per-class list as floats (None, a NaN in the record, as NaN)."""
    return np.asarray([np.nan if value is None else value for value in values], dtype=float)


def layer_figures(per_layer: dict, clean_class: int | None) -> dict:
    """Flat figures of the measures when `clean_class` is the clean one: per layer and measure, the clean
    class's value and the mean over the others (with no clean class, every class's mean twice), and the
    ten-class probe's accuracy."""
    out = {}
    for layer, values in per_layer.items():
        for measure, key in (("probe", "probe_binary"), ("recall", "probe_recall"), ("cka", "cka"),
                             ("scatter", "scatter")):
            clean, corrupted = multiclass.class_scores(per_class(values[key]), clean_class)
            out[f"{measure}_clean_{layer}"], out[f"{measure}_corrupted_{layer}"] = clean, corrupted
        out[f"probe_all_{layer}"] = values["probe_acc"]
    return out


def cell_figures(result: dict, clean_class: int | None) -> dict:
    """A result's flat figures (`layer_figures`) with the network's own test accuracy of the clean class and
    of the corrupted ones."""
    own_clean, own_corrupted = multiclass.class_scores(per_class(result["network_per_class_acc"]), clean_class)
    return {**layer_figures(result["per_layer"], clean_class), "network_clean_acc": own_clean,
            "network_corrupted_acc": own_corrupted}


def rows(records: list[dict]) -> list[dict]:
    """The records as the page and claims read them, with flat figures (`cell_figures`); a p = 0 run (no clean
    class named) stands for every clean class under both strategies."""
    out = []
    for record in records:
        params, result = record["params"], record["result"]
        cells = ([(params["clean_class"], params["strategy"])] if params.get("clean_class") is not None else
                 [(cls, strategy) for cls in range(result["num_classes"]) for strategy in ("include", "exclude")])
        out += [{**record, "params": {**params, "clean_class": cls, "strategy": strategy},
                 "result": {**result, **cell_figures(result, cls)}} for cls, strategy in cells]
    return out


# ------------------------------------------------------------------------------- parameters and profiles
PAPER_SETUP = {
    "data": "MNIST and CIFAR-10, the multi-class runs of Fig. 4; no feature is measured",
    "network": "LeNet-5 (MNIST), ResNet18 (CIFAR-10)",
    "training": "the multi-class runs (§4.1); nothing trained for features",
    "grid": "none. §1 asks \"to what extent the feature representation of a noise-free class is affected\"; §5.1 "
            "concludes from test accuracy alone that the noise \"doesn't perturb the feature representation of the "
            "uncorrupted class\"",
    "runs": "none; §6 names \"how the heterogeneous noisy labels impact the features learned at each layer\" as "
            "future work",
}

# The multi-class study's LeNet-5 profiles: a features run reads a multi-class run of the same profile and recipe.
PROFILES = {name: Profile(multiclass.PROFILES[name].dataset, {"lenet5": multiclass.PROFILES[name].recipes["lenet5"]})
            for name in ("paper", "fashion", "smoke")}

PARAMS = {
    "profile": Param(str, "paper", choices=tuple(PROFILES)),
    "dataset": Param(str, None, choices=DATASETS),
    "p": P,
    "clean_class": Param(int, 0, low=0, optional=True),
    "strategy": Param(str, "exclude", choices=("exclude", "include"), optional=True),
    "checkpoint": Param(str, "final", choices=CHECKPOINTS),
    **RUN_PARAMS, **RECIPE_PARAMS, **DATA_PARAMS,
    "source_results": Param(str, "", identity=False),
    "pack": Param(list, [], identity=False),
}


def grid(profile: str, checkpoints: tuple[str, ...], datasets: list[str] | None = None) -> list[dict]:
    """A multi-class profile's grid (narrowed to `datasets`) with a checkpoint axis."""
    blocks = multiclass.GRIDS[profile]
    return [{**block, **({"dataset": datasets} if datasets else {}), "checkpoint": list(checkpoints)}
            for block in blocks]


SMOKE_P = [0.0, 0.9]  # the pipeline check reads the multi-class smoke runs at two p, so the test suite stays short

GRIDS = {
    "smoke": [{**block, "p": [q for q in block["p"] if q in SMOKE_P]} for block in grid("smoke", ("final",))],
    "fashion": grid("fashion", CHECKPOINTS),
    "paper": grid("paper", CHECKPOINTS, ["mnist"]),
}

PUBLISHED = (Grid("paper", "MNIST, three seeds"),
             Grid("fashion", "Fashion-MNIST, the first seed as its runs finish: seed 0 at p = 0 to 0.6",
                  {"seed": [0], "p": [0.0, 0.5, 0.6]}))

RESULT_FIELDS = {"layers": (list, None, None), "per_layer": (dict, None, None),
                 "network_per_class_acc": (list, None, None), "n_probe": (int, 1, None),
                 "num_classes": (int, 2, None), "wall_time_s": (float, 0, None)}


def complete(params: dict) -> None:
    """As for the multi-class runs it reads (`multiclass.cell_rule`)."""
    multiclass.cell_rule(params, "features")


# ---------------------------------------------------------------------------------------------- the claims
PAPER_CLAIM = "\"doesn't perturb the feature representation of the uncorrupted class\" (§5.1, from accuracy)"
PAPER_HINT = "\"noisy labels don't impact the learning of low-level features much\" (§6, a hint)"
CONVOLUTIONS = ("conv1", "conv2")


def cka_gap(part: pd.DataFrame, layer: str) -> tuple[float, float, float]:
    """Clean-class CKA minus corrupted-class CKA at `layer`, × 100: the difference within each run, averaged
    within each seed (its clean classes share its weights and noise), with its 95 % t interval over seeds."""
    gaps = part.assign(gap=100 * (part[f"cka_clean_{layer}"] - part[f"cka_corrupted_{layer}"]))
    return stats.t_interval(stats.per_unit(gaps.dropna(subset=["gap"]), "gap", claims.UNITS))


def at_largest_p(part: pd.DataFrame) -> pd.DataFrame:
    """The rows of the slice's largest p; none when that p is 0 or has fewer than MIN_RUNS seeds."""
    top = part[part.p == part.p.max()]
    return top.iloc[:0] if claims.few(top) or part.p.max() == 0 else top


CKA_TEST = "paired within each run, averaged within each seed, 95 % t interval over seeds"


def cka_verdict(part: pd.DataFrame, layer: str, scope: str, profile: str) -> Verdict:
    """The clean class stays at least as close to the p = 0 network as the corrupted classes, at the largest p."""
    claim = f"the clean class's CKA to the p = 0 network is at least the corrupted classes' ({layer})"
    test = f"clean minus corrupted CKA × 100 at the largest p, {CKA_TEST}, above −{MARGIN:g} points"
    top = at_largest_p(part)
    if top.empty:
        return Verdict("features", claim, scope, profile, PAPER_CLAIM, "–", TOO_FEW,
                       f"needs {MIN_RUNS} seeds at a p above 0", test, claims.run_count(part[part.p == part.p.max()]))
    est, lo, hi = cka_gap(top, layer)
    verdict = at_least(lo, hi, -MARGIN)
    why = {HOLDS: "", FAILS: f"the clean class is less similar by more than {MARGIN:g} points",
           UNDECIDED: f"the interval straddles −{MARGIN:g} points", TOO_FEW: f"needs {MIN_RUNS} seeds"}[verdict]
    return Verdict("features", claim, scope, profile, PAPER_CLAIM,
                   f"at p = {top.p.max():g}: {claims.interval(est, lo, hi)}", verdict, why, test, claims.run_count(top))


def departure(gaps: dict[str, tuple[float, float, float]]) -> str:
    """The first layer whose whole CKA-gap interval lies above MARGIN, with every layer's gap, in words."""
    first = next((layer for layer, (_, lo, _) in gaps.items() if lo > MARGIN), None)
    where = f"departs at {first}" if first else "departs at no layer"
    return f"{where} ({', '.join(f'{layer} {claims.signed(est)}' for layer, (est, _, _) in gaps.items())})"


def convolutions_verdict(gaps: dict[str, tuple[float, float, float]]) -> str:
    """Holds when both convolutions' gap intervals lie below MARGIN, fails when one lies above it."""
    bounds = [gaps[layer][1:] for layer in CONVOLUTIONS]
    if any(np.isnan(lo) for lo, _ in bounds):
        return TOO_FEW
    if any(lo > MARGIN for lo, _ in bounds):
        return FAILS
    return HOLDS if all(hi < MARGIN for _, hi in bounds) else UNDECIDED


def depth_verdict(part: pd.DataFrame, scope: str, profile: str) -> Verdict:
    """Where along the depth the corrupted classes' similarity to the p = 0 network departs from the clean
    class's (at the largest p): the paper's §6 hint holds when neither convolution departs."""
    claim = "the corrupted classes' features depart from the clean class's only after the convolutions"
    test = (f"per layer, clean minus corrupted CKA × 100 at the largest p, {CKA_TEST}; a layer departs when the "
            f"whole interval is above {MARGIN:g} points; holds when both convolutions' intervals lie below it")
    top = at_largest_p(part)
    if top.empty:
        return Verdict("features", claim, scope, profile, PAPER_HINT, "–", TOO_FEW,
                       f"needs {MIN_RUNS} seeds at a p above 0", test, claims.run_count(part[part.p == part.p.max()]))
    gaps = {layer: cka_gap(top, layer) for layer in LAYERS}
    verdict = convolutions_verdict(gaps)
    why = {HOLDS: "", FAILS: "a convolution's features already depart", TOO_FEW: f"needs {MIN_RUNS} seeds",
           UNDECIDED: f"a convolution's interval straddles {MARGIN:g} points"}[verdict]
    return Verdict("features", claim, scope, profile, PAPER_HINT, f"at p = {top.p.max():g}: {departure(gaps)}",
                   verdict, why, test, claims.run_count(top))


def slice_claims(part: pd.DataFrame, profile: str, scope: str) -> list[Verdict]:
    """The claims on one slice: the clean class's probe flat in p and its CKA at least the corrupted classes',
    at every layer, and where the corrupted classes depart."""
    flat = [claims.flat("features", f"clean-class probe (one vs rest) stays flat as p grows ({layer})", scope,
                        profile, PAPER_CLAIM, part, f"probe_clean_{layer}") for layer in LAYERS]
    similar = [cka_verdict(part, layer, scope, profile) for layer in LAYERS]
    return flat + similar + [depth_verdict(part, scope, profile)]


def check_claims(frame: pd.DataFrame) -> list[Verdict]:
    """Per data set × strategy (and recipe), at the last epoch (the paper's protocol; the oracle checkpoint is
    shown, not tested): the clean class's features are unperturbed, and where the corrupted classes' depart."""
    if frame.empty:
        return []
    out = []
    for (profile, dataset, strategy), recipe, part in claims.slices(frame[frame.checkpoint == "final"],
                                                                    ["profile", "dataset", "strategy"]):
        scope = claims.scope(multiclass.STAND_IN_NOTE.get(dataset, dataset), f"strategy {strategy}",
                             *([recipe] if recipe else []))
        out += slice_claims(part, profile, scope)
    return out


# ---------------------------------------------------------------------------------------------- figures
MEASURES = {"probe": ("probe: one vs rest,\nbalanced accuracy (%)", 100),
            "cka": ("linear CKA to the\np = 0 network", 1),
            "scatter": ("scatter ratio\n(between / within)", 1)}


def measure_numbers(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    """What a measure's figure plots: per strategy, layer and p, the clean class's and the corrupted classes' mean
    value of `measure` (× its MEASURES scale) over rows (clean classes × seeds), with the interval over seeds
    (`plots.summarise_seeds`)."""
    _, scale = MEASURES[measure]
    parts = [plots.summarise_seeds(frame[["strategy", "p", "seed"]].assign(
        layer=layer, clean=scale * frame[f"{measure}_clean_{layer}"],
        corrupted=scale * frame[f"{measure}_corrupted_{layer}"]), ["strategy", "layer", "p"], ["clean", "corrupted"])
        for layer in LAYERS]
    return pd.concat(parts, ignore_index=True)


def figure(frame: pd.DataFrame, measure: str, subtitle: str = ""):
    """One measure (MEASURES) against p at each layer (columns), clean class and corrupted classes (mean), one
    row per strategy; the bands as `plots.spread` says; page-wide at 10-pt text."""
    label, _ = MEASURES[measure]
    numbers = measure_numbers(frame, measure)
    seeds = plots.over_seeds(numbers)
    fig, axes = plt.subplots(2, len(LAYERS), figsize=(6.2, 4.8), sharex=True, sharey=measure != "scatter",
                             squeeze=False)
    for row, strategy in zip(axes, STRATEGIES):
        for ax, layer in zip(row, LAYERS):
            cells = numbers[(numbers.strategy == strategy) & (numbers.layer == layer)].sort_values("p")
            for kind, colour, name in (("corrupted", plots.CORRUPT, "corrupted classes (mean)"),
                                       ("clean", plots.CLEAN, "clean class")):
                plots.seed_band(ax, cells, kind, seeds, colour, name)
            ax.set(title=layer if strategy == STRATEGIES[0] else "", xlim=(-0.05, 1.05))
            ax.locator_params(axis="y", nbins=4)
        row[0].set_ylabel(f"{strategy}\n{label}")
    for ax in axes[-1]:
        ax.set_xlabel("p")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, frameon=False)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    return fig


STRATEGIES = ("exclude", "include")  # the figures' rows, top to bottom
MEASURE_WORDS = {"probe": "The one-vs-rest probe's balanced accuracy in %", "cka": "Linear CKA to the p = 0 network",
                 "scatter": "The scatter ratio (between-class over within-class scatter)"}  # each opens a sentence


def measure_alt(numbers: pd.DataFrame, measure: str, where: str) -> str:
    """A measure figure's alt text: what it plots, and the clean and corrupted values at the first and last layer
    at the largest p, per strategy."""
    top = numbers[numbers.p == numbers.p.max()]
    ends = (next(iter(LAYERS)), list(LAYERS)[-1])
    lines = " ".join(f"{strategy.capitalize()}: " + ", ".join(
        f"{layer} clean {row.clean_mean:.3g} and corrupted {row.corrupted_mean:.3g}"
        for layer in ends for row in top[(top.strategy == strategy) & (top.layer == layer)].itertuples()) + "."
        for strategy in STRATEGIES if (top.strategy == strategy).any())
    return (f"{MEASURE_WORDS[measure]} against the corruption probability p, {where}: ten panels, the "
            f"layers {', '.join(LAYERS)} in columns, exclude (top) and include (bottom) in rows, each with the clean "
            f"class (green) and the corrupted classes' mean (orange), {plots.spread(numbers)}. At p = "
            f"{numbers.p.max():g}: {lines}")


def depth_figure(per_layer: dict, clean_class: int | None):
    """One run: each measure along the depth, the clean class beside the mean of the corrupted ones (with no
    clean class, every class's mean twice)."""
    fig, axes = plt.subplots(1, 3, figsize=(5.8, 3.0))
    figures = layer_figures(per_layer, clean_class)
    for ax, (measure, (label, scale)) in zip(axes, MEASURES.items()):
        for kind, colour, marker in (("corrupted", plots.CORRUPT, "s"), ("clean", plots.CLEAN, "o")):
            values = [scale * figures[f"{measure}_{kind}_{layer}"] for layer in LAYERS]
            ax.plot(list(LAYERS), values, color=colour, marker=marker, label=f"{kind} class" + "es" * (kind != "clean"))
        ax.set(ylabel=label)
        ax.tick_params(axis="x", labelrotation=45)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, frameon=False)
    return fig


TABLE_COLUMNS = {"probe clean (%)": ("probe_clean", 100), "probe corrupted (%)": ("probe_corrupted", 100),
                 "ten-class probe (%)": ("probe_all", 100), "CKA clean": ("cka_clean", 1),
                 "CKA corrupted": ("cka_corrupted", 1), "scatter clean": ("scatter_clean", 1),
                 "scatter corrupted": ("scatter_corrupted", 1)}


def layer_table(per_layer: dict, clean_class: int | None) -> pd.DataFrame:
    """One run's measures per layer: the clean class and the corrupted mean of each, and the ten-class probe."""
    figures = layer_figures(per_layer, clean_class)
    return pd.DataFrame([{"layer": layer, **{name: scale * figures[f"{column}_{layer}"]
                                              for name, (column, scale) in TABLE_COLUMNS.items()}}
                         for layer in LAYERS]).round(3)


# ---------------------------------------------------------------------------------------- the book page
PAGE_ORDER = {"paper": 0, "fashion": 1, "smoke": 3}
NO_RECORDS = ("No features records yet: they read the multi-class runs' weights, which only local runs keep. "
              "Make them with `hetnoise sweep multiclass --profile fashion --results results`, then `hetnoise sweep "
              "features --profile fashion --results results` (or `--profile smoke` for both, minutes on a CPU), and "
              "rebuild the book with `jupyter-book build book`.")


def page_key(block: tuple[str, str, str]) -> tuple:
    """Where a (profile, data set, checkpoint) block stands: paper, fashion, others, smoke; final before oracle."""
    profile, dataset, checkpoint = block
    return PAGE_ORDER.get(profile, 2), dataset, CHECKPOINTS.index(checkpoint)


READ = {"final": "the last epoch", "oracle": "the checkpoint of lowest clean-validation loss (an oracle)"}


def heading(profile: str, dataset: str, checkpoint: str, source: str) -> str:
    """The heading of a block; a smoke block says that it checks the code, not the claim."""
    if profile == "smoke":
        return (f"### Pipeline check: `smoke` profile, {dataset}, {checkpoint} checkpoint\n\nA toy run of the whole "
                "pipeline (bundled 8×8 digits, a few epochs); it checks the code, not the claim.")
    return f"### {dataset}, profile `{profile}`, weights of {READ[checkpoint]} ({source} records)"


def what_was_run(records: list[dict], profile: str, dataset: str, checkpoint: str):
    """The "What was run" table: these runs beside what the paper asserts without measuring it."""
    first = records[0]
    prm, res = first["params"], first["result"]
    return tables.box(records, PAPER_SETUP, profile, tables.grid_size(GRIDS, profile, dataset=dataset,
                                                                      checkpoint=checkpoint),
                      data=f"{dataset}: probes trained on {res['n_probe']:,} validation images (true labels), scored "
                           f"on {res['n_test']:,} test images; CKA and scatter on the test images of each class",
                      network=f"LeNet-5 of the multi-class runs, read at {', '.join(LAYERS)}",
                      training=f"none: the multi-class runs' weights at the {checkpoint} checkpoint ({prm['epochs']} "
                               f"epochs at batch {prm['batch_size']}, {prm['optimizer']}, learning rate {prm['lr']:g})")


def largest_p_table(frame: pd.DataFrame):
    """Per strategy and layer at the largest p: the clean class and the corrupted mean of each measure, the
    ten-class probe, and the runs (means over runs)."""
    top = frame[frame.p == frame.p.max()]
    shown = [{"strategy": strategy, "layer": layer,
              **{name.replace(" (%)", ""): scale * part[f"{column}_{layer}"].mean()
                 for name, (column, scale) in TABLE_COLUMNS.items()}, "runs": part.run_id.nunique()}
             for strategy, part in top.groupby("strategy") for layer in LAYERS]
    return pd.DataFrame(shown).style.hide(axis="index").format(precision=2)


FIGURE_TEXT = {"probe": "**Linear probes.** Balanced accuracy of a probe telling each class from the rest.",
               "cka": "**Similarity to the p = 0 network** of the same seed, on each class's test images.",
               "scatter": "**How separate each class stands**: its between-to-within scatter ratio."}


def block(loaded, profile: str, dataset: str, checkpoint: str) -> None:
    """One profile × data set × checkpoint: probe, CKA and scatter figures, what was run, the table at the
    largest p."""
    part = loaded.of(profile=profile, dataset=dataset, checkpoint=checkpoint)
    frame = part.frame
    source = ", ".join(sorted(frame.source.unique()))
    display(Markdown(heading(profile, dataset, checkpoint, source)))
    runs = frame.run_id.nunique()
    where = f"{dataset}, profile {profile}, weights of {READ[checkpoint]}"
    for measure, text in FIGURE_TEXT.items():
        display(Markdown(text))
        numbers = measure_numbers(frame, measure)
        plots.show(figure(frame, measure, f"profile '{profile}' · {dataset} · {checkpoint} checkpoint · {runs} runs "
                                          f"({source})\n{plots.spread(numbers)}"),
                   measure_alt(numbers, measure, where), f"{MEASURE_WORDS[measure]} against p at each layer, "
                   f"clean class and corrupted classes, exclude above and include below, {plots.spread(numbers)}",
                   frame, numbers, f"weights of {READ[checkpoint]}")
    display(Markdown("**What was run**"))
    display(what_was_run(part.records, profile, dataset, checkpoint))
    display(Markdown("**At the largest p**, per layer: means over runs."))
    display(largest_p_table(frame))


def results(loaded) -> None:
    """Every profile × data set × checkpoint with records, in the page's order; how to make them when none."""
    if loaded.frame.empty:
        display(Markdown(NO_RECORDS))
        return
    for profile, dataset, checkpoint in sorted(loaded.frame.groupby(["profile", "dataset", "checkpoint"]).groups,
                                               key=page_key):
        block(loaded, profile, dataset, checkpoint)


def verdict_numbers(table: pd.DataFrame) -> dict[str, float | int]:
    """The numbers the verdicts' prose quotes: the margin, and how many checks there are and hold."""
    return {"features_margin": MARGIN, "features_n_checks": len(table),
            "features_n_holds": int((table.verdict == HOLDS).sum()) if len(table) else 0}


PROSE_P = (0.0, 0.5, 0.8, 0.9, 0.95, 1.0)
PROSE_MEASURES = {"probe": (100, 1), "cka": (1, 2)}  # scale and decimals: probe in %, CKA as is


def prose_numbers(frame: pd.DataFrame) -> dict[str, str]:
    """What the page's prose says of the real-data runs (last epoch), as text: per data set, strategy, measure,
    clean or corrupted classes, layer and p, the mean over clean classes and seeds, keyed
    features_mnist_exclude_cka_clean_fc1_p08; and the seeds behind them, features_mnist_seeds, with the p each
    covers, features_mnist_coverage (`tables.coverage`; "–" where a value is missing)."""
    def key(dataset, *words):
        return "_".join(["features", multiclass.SLICE_NAMES.get(dataset, dataset), *map(str, words)]).replace(".", "")

    out = {key(dataset, strategy, measure, role, layer, f"p{p:g}"): "–" for dataset in ("mnist", "fashion-mnist")
           for strategy in ("include", "exclude") for measure in PROSE_MEASURES for role in ("clean", "corrupted")
           for layer in LAYERS for p in PROSE_P}  # every number the page may name, "–" until runs give it
    out.update({key(dataset, word): "–" for dataset in ("mnist", "fashion-mnist") for word in ("seeds", "coverage")})
    if frame.empty:
        return out
    frame = frame[(frame.profile != "smoke") & (frame.checkpoint == "final")]
    for dataset, runs in frame.groupby("dataset"):
        out[key(dataset, "seeds")] = str(runs.seed.nunique())
        out[key(dataset, "coverage")] = tables.coverage(runs, multiclass.PAPER_P)
    for (dataset, strategy, p), cell in frame[frame.p.isin(PROSE_P)].groupby(["dataset", "strategy", "p"]):
        for measure, (scale, decimals) in PROSE_MEASURES.items():
            for role in ("clean", "corrupted"):
                for layer in LAYERS:
                    value = scale * cell[f"{measure}_{role}_{layer}"].mean()
                    out[key(dataset, strategy, measure, role, layer, f"p{p:g}")] = (
                        "–" if np.isnan(value) else f"{value:.{decimals}f}")
    return out


def glue_numbers(loaded) -> None:
    """Glue the verdicts' numbers and those the page's prose names."""
    tables.glue(verdict_numbers(claims.table(check_claims(loaded.frame))))
    tables.glue(prose_numbers(loaded.frame))


STUDY = Study(name="features", title="Features", version=1, params=PARAMS, profiles=PROFILES, grids=GRIDS,
              result_fields=RESULT_FIELDS, paper_setup=PAPER_SETUP, claims=check_claims, complete=complete,
              key_params=("dataset", "p", "clean_class", "strategy", "checkpoint", "seed", "epochs"),
              published=PUBLISHED, sections={"results": results, "verdict_numbers": glue_numbers}, rows=rows,
              packable=("clean_class", "strategy", "checkpoint", "seed"))
