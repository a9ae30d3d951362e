"""The settings table: one validation for notebooks, sweep and CLI, canonical parameters, one run identity."""
import json

import jupytext
import pytest

from conftest import ROOT
from hetnoise import grids, report, settings, spec, studies, sweep

BAD = [  # study, given, words the one-line message must hold
    ("multiclass", {"p": 1.5}, "p=1.5 is not allowed; it must be a number in [0, 1]"),
    ("multiclass", {"p": "abc"}, "p='abc' is not allowed"),
    ("multiclass", {"p": True}, "p=True is not allowed"),
    ("multiclass", {"p": float("nan")}, "p=nan is not allowed"),
    ("multiclass", {"bogus": 1}, "unknown parameter 'bogus'"),
    ("multiclass", {"clean_class": 10}, "clean_class=10 is not a class of mnist; it must be an integer in 0..9"),
    ("multiclass", {"clean_class": 2.5}, "clean_class=2.5 is not allowed; it must be an integer ≥ 0"),
    ("multiclass", {"dataset": "foo"}, "dataset='foo' is not allowed; it must be one of"),
    ("multiclass", {"strategy": "foo"}, "strategy='foo' is not allowed; it must be one of ['exclude', 'include']"),
    ("multiclass", {"epochs": "abc"}, "epochs='abc' is not allowed; it must be an integer ≥ 1"),
    ("multiclass", {"epochs": 0}, "epochs=0 is not allowed"),
    ("multiclass", {"seed": -1}, "seed=-1 is not allowed; it must be an integer ≥ 0"),
    ("multiclass", {"augment": 0}, "augment=0 is not allowed; it must be true or false"),
    ("multiclass", {"profile": "smok"}, "profile='smok' is not allowed; it must be one of"),
    ("multiclass", {"pack": [{"lr": 0.1}]}, "may only set clean_class, strategy, seed and run_id"),
    ("multiclass", {"pack": [{"clean_class": 11}]}, "clean_class=11 is not a class of mnist"),
    ("multiclass", {"run_id": "0123456789abcdef"}, "does not match these parameters"),
    ("mtl", {"mode": "both"}, "mode='both' is not allowed"),
    ("mtl", {"width": 0}, "width=0.0 is not allowed"),
    ("multilabel", {"case": 3}, "case=3 is not allowed; it must be one of [1, 2]"),
    ("multilabel", {"dataset": "mnist"}, "dataset='mnist' is not allowed"),
]


@pytest.mark.parametrize("study, given, message", BAD, ids=[f"{s}-{list(g)[0]}" for s, g, _ in BAD])
def test_bad_parameters_are_rejected_with_one_clear_line(study, given, message):
    with pytest.raises(ValueError) as e:
        settings.resolve(study, given)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_resolve_fills_the_profile_and_keeps_falsy_overrides():
    run = settings.resolve("multiclass", {"profile": "paper", "dataset": "cifar10", "p": 1})
    assert run["model"] == "resnet18" and run["epochs"] == 200 and run["augment"] is True and run["p"] == 1.0
    off = settings.resolve("multiclass", {"profile": "paper", "dataset": "cifar10", "augment": False,
                                          "weight_decay": 0.0})
    assert off["augment"] is False and off["weight_decay"] == 0.0  # not silently the recipe's True and 5e-4
    assert spec.recipe(off).augment is False
    assert settings.resolve("multiclass", {"dataset": "cifar100", "clean_class": 50})["clean_class"] == 50
    assert settings.resolve("multilabel", {"profile": "smoke"})["image_size"] == 64


def test_run_id_depends_on_what_is_computed_and_the_protocol_only():
    base = settings.resolve("multiclass", {"profile": "smoke", "p": 0.5})
    same = settings.resolve("multiclass", {"p": 0.50, "profile": "smoke", "device": "cuda:1", "results_dir": "/x",
                                           "batched": True, "epochs": 10, "model": "lenet5"})
    assert base["run_id"] == same["run_id"]
    assert settings.resolve("multiclass", {"profile": "smoke", "p": 0.6})["run_id"] != base["run_id"]
    assert settings.resolve("multiclass", {"profile": "smoke", "p": 0.5, "lr": 1e-3})["run_id"] != base["run_id"]
    assert settings.run_id("multiclass", base, protocol=studies.get("multiclass").version + 1) != base["run_id"]
    # pinned: these parameters have this id on any machine; a change here orphans every published record
    assert settings.run_id("multiclass", settings.resolve(
        "multiclass", {"profile": "paper", "p": 0.9, "clean_class": 3}), protocol=1) == "0ef9604104c3fe43"


def test_the_sweep_and_a_papermill_run_agree_on_the_id():
    """The sweep resolves its cell; the notebook resolves the parameters papermill gives it: one id."""
    (cell,) = sweep.plan("multiclass", "smoke", "/r", {"p": [0.6], "clean_class": [3], "strategy": ["include"],
                                                       "seed": [1]})
    by_hand = settings.resolve("multiclass", {"profile": "smoke", "p": 0.6, "clean_class": 3, "strategy": "include",
                                              "seed": 1})
    assert cell.run_id == by_hand["run_id"] == settings.resolve("multiclass", {**cell.params})["run_id"]


def test_every_grid_cell_resolves():
    for study in studies.ALL:
        for profile in grids.profiles(study):
            assert set(grids.profiles(study)) <= set(studies.get(study).profiles)
            ids = [c.run_id for c in sweep.plan(study, profile, "/r")]
            assert len(ids) == len(set(ids)), f"{study}/{profile} has two cells with one id"


@pytest.mark.parametrize("study", sorted(studies.ALL))
def test_notebook_parameters_cell_lists_exactly_the_settings(study):
    nb = jupytext.read(ROOT / "notebooks" / f"{study}.py")
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    names = [line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line.split("#")[0]]
    assert sorted(names) == sorted(studies.get(study).params), f"notebooks/{study}.py and its study's PARAMS differ"


def test_from_namespace_sees_papermills_injected_names():
    params_cell = 'p = 0.8\nprofile = "smoke"\npack = []'
    injected = 'p = 0.9\nbogus = 1'
    namespace = {"In": ["", params_cell, injected, "run = settings.from_namespace(\"multiclass\", globals())"],
                 "p": 0.9, "profile": "smoke", "pack": [], "bogus": 1, "json": json}
    with pytest.raises(ValueError, match="unknown parameter 'bogus'"):
        settings.from_namespace("multiclass", namespace)
    del namespace["bogus"]
    namespace["In"][2] = "p = 0.9"
    namespace["run"] = {"not": "a parameter"}  # the notebook's own later names do not count
    assert settings.from_namespace("multiclass", namespace)["p"] == 0.9


def test_the_recipes_table_shows_the_epochs_each_grid_trains():
    rows = report.recipes().data.set_index(["study", "profile"])
    assert rows.loc[("multilabel", "real-pilot"), "epochs"] == "2, 4, 8, 16"
    assert rows.loc[("multilabel", "real"), "epochs"] == str(studies.get("multilabel").profiles["real"]
                                                             .recipes["resnet18"].epochs)
    assert rows.loc[("multiclass", "fashion"), "data set"] == "fashion-mnist"
