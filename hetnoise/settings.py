"""Turning what a user, a notebook or the sweep gives into the complete, canonical, validated parameter
set a run records (`resolve`), and its identity (`run_id`: the parameters hashed with the study's version,
so one run has one identity everywhere). What each study accepts is declared in its own module.

Where the paper is silent (optimiser, learning rate, schedule, epochs of §4.2/§4.3, augmentation) the
recipes of the profiles are our choices; the book's Reproduce page lists them.
"""
from __future__ import annotations

import ast
import hashlib
import json
import math
import numbers
from dataclasses import asdict, fields

from hetnoise import studies
from hetnoise.spec import Param, Recipe


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
    spec = studies.get(study).params[name]
    if value is None and (spec.default is None or spec.optional):
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
    declared = studies.get(study)
    spec = declared.params
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ValueError(f"{study}: unknown parameter {unknown[0]!r}; the parameters are {', '.join(spec)}")
    given = {**given, "profile": profile_name(study, given["profile"])} if given.get("profile") else given
    values = {name: check_value(study, name, given.get(name, s.default)) for name, s in spec.items()}
    profile = declared.profiles[values["profile"]]
    values["dataset"] = values["dataset"] or profile.dataset
    if declared.complete is not None:
        declared.complete(values)
    model = values.get("model") or next(iter(profile.recipes))
    if "model" in values:
        values["model"] = model
    if model not in profile.recipes:
        raise ValueError(f"{study}: profile {values['profile']!r} has no recipe for model {model!r}; "
                         f"choose model from {sorted(profile.recipes)}")
    for f in fields(Recipe):
        if values[f.name] is None:
            values[f.name] = getattr(profile.recipes[model], f.name)
    for name, value in profile.defaults.items():
        if values.get(name) is None:
            values[name] = value
    if "pack" in values:
        values["pack"] = [_pack_entry(study, values, entry) for entry in values["pack"]]
    rid = run_id(study, values)
    if values["run_id"] and values["run_id"] != rid:
        raise ValueError(f"{study}: run_id={values['run_id']!r} does not match these parameters (their id is {rid}); "
                         "leave run_id empty to have it computed")
    values["run_id"] = rid
    return values


def _pack_entry(study: str, main: dict, entry) -> dict:
    free = studies.get(study).packable
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
    names = {k for k in studies.get(study).params if k in namespace} | _literal_names(namespace.get("In") or [])
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
    """The parameters that define what a run computes (those of `params` marked identity, less a value
    its parameter declares `unnamed`)."""
    spec = studies.get(study).params
    return {k: x for k, x in params.items() if k in spec and spec[k].identity and x not in spec[k].unnamed}


def profile_name(study: str, name: str) -> str:
    """A profile's name now, given its name now or an earlier one (`Study.renamed`)."""
    return studies.get(study).renamed.get(name, name)


def earlier_names(study: str, name: str) -> list[str]:
    """The names a profile had before its name now (none when it was never renamed)."""
    return [old for old, new in studies.get(study).renamed.items() if new == name]


def run_id(study: str, params: dict, protocol: int | None = None) -> str:
    """16 hex digits: sha256 of the study, its protocol version and the identity parameters (a renamed
    profile under its first name, so that its runs keep their ids)."""
    ident = identity(study, params)
    if "profile" in ident and earlier_names(study, ident["profile"]):
        ident["profile"] = earlier_names(study, ident["profile"])[0]
    blob = json.dumps({"study": study, "protocol": studies.get(study).version if protocol is None else protocol,
                       "params": ident}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def recipes_table() -> list[dict]:
    """Every study, profile and network with its data set, width, image size and recipe: the Reproduce page's table."""
    return [{"study": study.name, "profile": name, "model": model, "dataset": prof.dataset,
             "width": prof.defaults.get("width", 1.0), "image size": prof.defaults.get("image_size") or None,
             **asdict(r)}
            for study in studies.ALL.values() for name, prof in study.profiles.items()
            for model, r in prof.recipes.items()]

