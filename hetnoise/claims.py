"""The paper's claims, each checked against our records by a stated test with a verdict drawn from the data.

Accuracies and mAP are in percentage points. "Unaffected" is an equivalence test: the least-squares
slope of the metric against p, with a 95 % bootstrap interval over runs, must lie inside ±SLOPE_MARGIN
(points over the whole range p = 0 → 1). A claim that the records cannot decide says so.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hetnoise import paper, stats

SLOPE_MARGIN = 5.0    # points over p = 0 → 1 that still count as "unaffected"
HOLD_MARGIN = 5.0     # points of corrupted-class accuracy lost by the knee that still count as "holds"
BENEFIT_MARGIN = 2.0  # points of MTL − STL on Task1 that count as "≈ 0" or "not far below"
MIN_RUNS, MIN_P = 4, 3  # a slope needs at least this many runs at this many distinct p
HOLDS, FAILS, UNDECIDED, TOO_FEW = "holds", "does not hold", "inconclusive", "not enough runs"
STAND_IN_NOTE = {"digits": "digits, MNIST stand-in", "fashion-mnist": "Fashion-MNIST, MNIST stand-in"}


@dataclass
class Verdict:
    """One claim checked on one slice of the records."""
    study: str
    claim: str
    scope: str
    profile: str
    paper: str
    ours: str
    verdict: str
    test: str
    runs: int


def equivalence(lo: float, hi: float, margin: float) -> str:
    """Inside ±margin: holds; entirely outside: does not hold; straddling a bound: inconclusive."""
    if np.isnan(lo) or np.isnan(hi):
        return TOO_FEW
    if -margin <= lo and hi <= margin:
        return HOLDS
    if hi < -margin or lo > margin:
        return FAILS
    return UNDECIDED


def at_least(lo: float, hi: float, bound: float) -> str:
    """Whole interval above `bound`: holds; whole interval below: does not hold."""
    if np.isnan(lo) or np.isnan(hi):
        return TOO_FEW
    return HOLDS if lo > bound else FAILS if hi < bound else UNDECIDED


def _interval(est: float, lo: float, hi: float, unit: str = "points") -> str:
    if np.isnan(est):
        return "–"
    show = lambda v: f"{round(v, 1) + 0.0:+.1f}"  # + 0.0: no "-0.0"
    ci = "" if np.isnan(lo) else f" [{show(lo)}, {show(hi)}]"
    return f"{show(est)}{ci} {unit}"


def _scope(dataset: str, *rest: str, stand_in: bool = False) -> str:
    return ", ".join([STAND_IN_NOTE.get(dataset, dataset) if stand_in else dataset, *rest])


def _flat(study, claim, scope, profile, paper_text, part, metric) -> Verdict:
    """Equivalence test on the slope of `metric` (fraction) against p."""
    x, y = part.p.to_numpy(float), 100 * part[metric].to_numpy(float)
    test = f"slope over p = 0 → 1, 95 % bootstrap CI over runs, inside ±{SLOPE_MARGIN:g} points"
    if len(part) < MIN_RUNS or len(np.unique(x)) < MIN_P:
        return Verdict(study, claim, scope, profile, paper_text, "–", TOO_FEW, test, len(part))
    est, lo, hi = stats.bootstrap_slope(x, y)
    return Verdict(study, claim, scope, profile, paper_text, _interval(est, lo, hi),
                   equivalence(lo, hi, SLOPE_MARGIN), test, len(part))


def multiclass(frame: pd.DataFrame) -> list[Verdict]:
    """Clean class unaffected, and corrupted classes holding up to the paper's knee, per data set × strategy."""
    out = []
    if frame.empty:
        return out
    for (profile, dataset, strategy), part in frame.groupby(["profile", "dataset", "strategy"]):
        scope = _scope(dataset, f"strategy {strategy}", stand_in=True)
        out.append(_flat("multi-class", "clean-class accuracy is unaffected by noise in the other classes", scope,
                         profile, "flat for p from 0 to 1 (Fig. 4)", part, "clean_acc"))
        knee = paper.knee_for(dataset)
        if knee is None:
            continue
        grid = sorted(q for q in part.p.unique() if 0 < q <= knee + 1e-9)
        test = f"corrupted accuracy at that p minus at p = 0, 95 % bootstrap CI, above −{HOLD_MARGIN:g} points"
        claim = f"corrupted-class accuracy holds up to ≈{100 * knee:.0f} % noise"
        if not grid:
            out.append(Verdict("multi-class", claim, scope, profile, f"holds until p ≈ {knee}", "no run with "
                               f"0 < p ≤ {knee}", TOO_FEW, test, len(part)))
            continue
        q = grid[-1]
        a, b = part[part.p == q], part[part.p == 0]
        est, lo, hi = stats.bootstrap_diff(100 * a.corrupted_acc.to_numpy(float), 100 * b.corrupted_acc.to_numpy(float))
        out.append(Verdict("multi-class", claim, scope, profile, f"holds until p ≈ {knee} (§5.1)",
                           f"at p = {q:g}: {_interval(est, lo, hi)}", at_least(lo, hi, -HOLD_MARGIN), test,
                           len(a) + len(b)))
    return out


def mtl(frame: pd.DataFrame) -> list[Verdict]:
    """Transfer benefit (MTL − STL on Task1) shrinks with Task2 noise, is ≈ 0 at p = 1, is never far below 0."""
    out = []
    if frame.empty or "mode" not in frame:
        return out
    keys = ["profile", "dataset"] + (["weight_decay"] if "weight_decay" in frame else [])
    for key, part in frame.groupby(keys, dropna=False):
        profile, dataset = key[0], key[1]
        scope = _scope(dataset, *([f"weight decay {key[2]:g}"] if len(key) > 2 else []))
        m, stl = part[part["mode"] == "mtl"], 100 * part[part["mode"] == "stl"].task1_acc.to_numpy(float)
        t1 = {q: 100 * g.task1_acc.to_numpy(float) for q, g in m.groupby("p")}
        p0, p1 = t1.get(0.0, np.array([])), t1.get(1.0, np.array([]))
        est, lo, hi = stats.bootstrap_diff(p0, p1)
        out.append(Verdict("multi-task", "the transfer benefit shrinks as Task2 gets noisier", scope, profile,
                           f"+{paper.MTL['benefit_p0']} points at p = 0 → {paper.MTL['benefit_p1']:g} at p = 1 (§5.2)",
                           f"benefit at p = 0 minus at p = 1: {_interval(est, lo, hi)}", at_least(lo, hi, 0.0),
                           "Task1 accuracy of MTL at p = 0 minus at p = 1, 95 % bootstrap CI, above 0",
                           len(p0) + len(p1)))
        est, lo, hi = stats.bootstrap_diff(p1, stl)
        out.append(Verdict("multi-task", "at p = 1 the transfer benefit is ≈ 0", scope, profile,
                           f"{paper.MTL['benefit_p1']:g} points (§5.2)", _interval(est, lo, hi),
                           equivalence(lo, hi, BENEFIT_MARGIN),
                           f"MTL − STL on Task1 at p = 1, 95 % bootstrap CI, inside ±{BENEFIT_MARGIN:g} points",
                           len(p1) + len(stl)))
        per_p = [(r.p, 100 * r.benefit, 100 * r.low, 100 * r.high) for r in stats.transfer_benefit(part).itertuples()]
        verdicts = [at_least(lo, hi, -BENEFIT_MARGIN) for _, _, lo, hi in per_p]
        worst = min(per_p, key=lambda t: t[1]) if per_p else None
        verdict = (TOO_FEW if not per_p or TOO_FEW in verdicts else FAILS if FAILS in verdicts
                   else HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED)
        out.append(Verdict("multi-task", "MTL Task1 never falls far below single-task learning", scope, profile,
                           f"STL {paper.MTL['stl_task1']} %, MTL ≥ STL at every p (Fig. 5)",
                           f"lowest at p = {worst[0]:g}: {_interval(*worst[1:])}" if worst else "–", verdict,
                           f"MTL − STL on Task1 at every p, 95 % bootstrap CI, above −{BENEFIT_MARGIN:g} points",
                           len(m) + len(stl)))
    return out


def multilabel(frame: pd.DataFrame) -> list[Verdict]:
    """The clean label group's mAP is unaffected by noise in the other group, per case."""
    out = []
    if frame.empty:
        return out
    for (profile, dataset, case), part in frame.groupby(["profile", "dataset", "case"]):
        ref = paper.MULTILABEL[f"case{int(case)}"]
        out.append(_flat("multi-label", "the clean label group's mAP is unaffected", _scope(dataset, f"case {case}"),
                         profile, f"flat; corrupted group {ref['map_p0']} → {ref['map_p1']} % (Fig. 6)", part,
                         "map_clean"))
    return out


def evaluate(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim on every slice of the records, as a table; `frames` maps an experiment to its records frame."""
    checks = {"multiclass": multiclass, "mtl": mtl, "multilabel": multilabel}
    rows = [asdict(v) for name, check in checks.items() for v in check(frames.get(name, pd.DataFrame()))]
    return pd.DataFrame(rows, columns=[f for f in Verdict.__dataclass_fields__])


def from_results(results=None) -> tuple[pd.DataFrame, list[str]]:
    """The claims table from the published records and those under a results folder, and the records
    that could not be read."""
    from hetnoise import records

    frames, problems = {}, []
    for experiment in ("multiclass", "mtl", "multilabel"):
        recs, bad = records.load_all(experiment, results=results)
        frames[experiment], problems = records.records_frame(recs), problems + bad
    return evaluate(frames), problems


def styled(table: pd.DataFrame):
    """The claims table for the book: verdicts coloured, the test in the last column."""
    colours = {HOLDS: "#d9f0d3", FAILS: "#f6d5c8", UNDECIDED: "#fdf3c8", TOO_FEW: "#eeeeee"}
    shown = table.drop(columns=["study"]).rename(columns=str.capitalize)
    return (shown.style.hide(axis="index")
            .map(lambda v: f"background-color: {colours.get(v, '')}", subset=["Verdict"]))
