"""The paper's claims, each checked against our records by a test stated before the data, with a
verdict drawn from the data and one sentence saying why when it is not "holds".

Accuracies and mAP are in percentage points. The margin of every test is MARGIN: half the smallest
effect the paper reports as real (the 3.87-point transfer benefit of §5.2), so a change the tests
accept as "no change" is smaller than any effect the paper builds a claim on. "Unaffected" is an
equivalence test on the least-squares slope of the metric against p (change over p = 0 → 1) with a 95 %
percentile bootstrap interval over runs: inside ±MARGIN holds, but a slope whose interval lies wholly
below zero never holds a flatness claim. Every compared cell (one p) needs MIN_RUNS runs; a metric
pinned at 100 % or 0 % in every run cannot show a change ("cannot tell: at ceiling"); a claim whose
premise is absent is "not applicable". The regression study's errors are in degrees: its margin is the
same share of the span of the angles as MARGIN is of 100 % (`regression_margin`), and there a rise whose
interval lies wholly above zero never holds a flatness claim.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hetnoise import paper, settings, stats

MARGIN = round(paper.MTL["benefit_p0"] / 2, 2)  # points: half the smallest effect the paper calls real
MIN_RUNS, MIN_P = 3, 3  # runs in every compared cell; distinct p values for a slope
CEILING = 0.5  # points from 100 % (or 0 %) within which every run lies when the metric is pinned
HOLDS, FAILS, UNDECIDED, TOO_FEW = "holds", "does not hold", "inconclusive", "too few runs"
CEILINGED, NOT_APPLICABLE = "cannot tell: at ceiling", "not applicable"
STAND_IN_NOTE = {"digits": "digits, MNIST stand-in", "fashion-mnist": "Fashion-MNIST, MNIST protocol"}


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
    why: str
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


def _few(part: pd.DataFrame) -> bool:
    """Whether some cell (p value) has fewer than MIN_RUNS runs."""
    return part.empty or part.groupby("p").size().min() < MIN_RUNS


def _pinned(values) -> bool:
    """Every run within CEILING points of 100 % or of 0 %: the metric cannot move."""
    v = np.asarray(values, dtype=float)
    return len(v) > 0 and (bool((v >= 100 - CEILING).all()) or bool((v <= CEILING).all()))


def _flat(study, claim, scope, profile, paper_text, part, metric) -> Verdict:
    """Equivalence test on the slope of `metric` (fraction) against p, as the change over the p range the
    runs cover (p = 0 → 1 for a whole grid; never extrapolated beyond the runs)."""
    x, y = part.p.to_numpy(float), 100 * part[metric].to_numpy(float)
    a, b = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
    test = (f"change over p = {a:g} → {b:g} (least-squares slope), 95 % bootstrap CI over runs, inside "
            f"±{MARGIN:g} points and not wholly below 0")
    v = lambda ours, verdict, why: Verdict(study, claim, scope, profile, paper_text, ours, verdict, why, test, len(part))
    if _few(part) or len(np.unique(x)) < MIN_P:
        return v("–", TOO_FEW, f"needs {MIN_RUNS} runs at each of {MIN_P} or more values of p")
    est, lo, hi = ((b - a) * t for t in stats.bootstrap_slope(x, y))
    ours = _interval(est, lo, hi)
    if _pinned(y):
        return v(ours, CEILINGED, "the metric is 100 % (or 0 %) in every run, so no change could show")
    verdict = equivalence(lo, hi, MARGIN)
    if verdict == HOLDS and hi < 0:
        return v(ours, FAILS, f"a small but real decline: the whole interval is below 0 (inside ±{MARGIN:g})")
    why = {HOLDS: "", FAILS: f"the whole interval lies beyond ±{MARGIN:g} points: a real "
                             f"{'rise' if est > 0 else 'decline'}",
           UNDECIDED: f"the interval straddles ±{MARGIN:g} points: the runs cannot tell"}[verdict]
    return v(ours, verdict, why)


def multiclass(frame: pd.DataFrame) -> list[Verdict]:
    """Clean class unaffected, and corrupted classes holding up to the paper's knee, per data set × strategy."""
    out = []
    if frame.empty:
        return out
    for (profile, dataset, strategy), part in frame.groupby(["profile", "dataset", "strategy"]):
        scope = _scope(dataset, f"strategy {strategy}", stand_in=True)
        out.append(_flat("multi-class", "clean-class accuracy stays flat as the other classes get noisier", scope,
                         profile, "flat for p from 0 to 1 (Fig. 4)", part, "clean_acc"))
        if "clean_precision" in part and part.clean_precision.notna().any():
            out.append(_flat("multi-class", "clean-class precision stays flat too (images of other classes do not "
                                            "flow into it)", scope, profile, "not measured (accuracy only)",
                             part[part.clean_precision.notna()], "clean_precision"))
        knee = paper.knee_for(dataset)
        if knee is None:
            continue
        grid = sorted(q for q in part.p.unique() if 0 < q <= knee + 1e-9)
        test = f"corrupted accuracy at that p minus at p = 0, 95 % bootstrap CI, above −{MARGIN:g} points"
        claim = f"corrupted-class accuracy does not drop off until ≈{100 * knee:.0f} % noise"
        paper_text = f"holds until p ≈ {knee} (§5.1)"
        if not grid:
            out.append(Verdict("multi-class", claim, scope, profile, paper_text, "–", TOO_FEW,
                               f"no run with 0 < p ≤ {knee}", test, len(part)))
            continue
        q = grid[-1]
        a, b = part[part.p == q], part[part.p == 0]
        if _few(pd.concat([a, b])):
            out.append(Verdict("multi-class", claim, scope, profile, paper_text, "–", TOO_FEW,
                               f"needs {MIN_RUNS} runs at p = 0 and at p = {q:g}", test, len(a) + len(b)))
            continue
        est, lo, hi = stats.bootstrap_diff(100 * a.corrupted_acc.to_numpy(float), 100 * b.corrupted_acc.to_numpy(float))
        verdict = at_least(lo, hi, -MARGIN)
        why = {HOLDS: "", FAILS: f"at p = {q:g} the corrupted classes lost more than {MARGIN:g} points",
               UNDECIDED: f"the interval straddles −{MARGIN:g} points"}[verdict]
        out.append(Verdict("multi-class", claim, scope, profile, paper_text, f"at p = {q:g}: {_interval(est, lo, hi)}",
                           verdict, why, test, len(a) + len(b)))
    return out


def mtl(frame: pd.DataFrame) -> list[Verdict]:
    """Transfer benefit (MTL − STL on Task1) at p = 0, its fall with Task2 noise, ≈ 0 at p = 1, and MTL never
    far below STL; the two claims about the benefit need a benefit at p = 0 to be applicable."""
    out = []
    if frame.empty or "mode" not in frame:
        return out
    keys = ["profile", "dataset"] + (["weight_decay"] if "weight_decay" in frame else [])
    for key, part in frame.groupby(keys, dropna=False):
        profile, dataset = key[0], key[1]
        scope = _scope(dataset, *([f"weight decay {key[2]:g}"] if len(key) > 2 else []))
        part = part.assign(task1_acc=100 * part.task1_acc.astype(float))
        m, stl = part[part["mode"] == "mtl"], part[part["mode"] == "stl"]
        t1 = {q: g for q, g in m.groupby("p")}
        p0, p1 = t1.get(0.0, m.iloc[:0]), t1.get(1.0, m.iloc[:0])
        few = min(len(p0), len(p1), len(stl)) < MIN_RUNS
        diff = lambda a, b: stats.matched_diff(a, b, "task1_acc")
        pairing = lambda paired: " (paired by class split and seed)" if paired else ""
        row = lambda claim, paper_text, ours, verdict, why, test, n: Verdict(
            "multi-task", claim, scope, profile, paper_text, ours, verdict, why, test, n)
        est0, lo0, hi0, paired = diff(p0, stl)
        premise = at_least(lo0, hi0, 0.0)
        out.append(row("multi-task learning helps Task1 at p = 0 (the premise)", f"+{paper.MTL['benefit_p0']} points (§5.2)",
                       _interval(est0, lo0, hi0), TOO_FEW if few else premise,
                       f"needs {MIN_RUNS} runs per cell" if few else
                       {HOLDS: "", FAILS: "MTL is below STL at p = 0", UNDECIDED: "the interval includes 0"}[premise],
                       f"MTL − STL on Task1 at p = 0{pairing(paired)}, 95 % bootstrap CI, above 0",
                       len(p0) + len(stl)))
        not_applicable = "no transfer benefit at p = 0 shown, so there is none to shrink"
        est, lo, hi, paired = diff(p0, p1)
        verdict = TOO_FEW if few else NOT_APPLICABLE if premise != HOLDS else at_least(lo, hi, 0.0)
        out.append(row("the transfer benefit shrinks as Task2 gets noisier",
                       f"+{paper.MTL['benefit_p0']} points at p = 0 → {paper.MTL['benefit_p1']:g} at p = 1 (§5.2)",
                       f"benefit at p = 0 minus at p = 1: {_interval(est, lo, hi)}", verdict,
                       {TOO_FEW: f"needs {MIN_RUNS} runs per cell", NOT_APPLICABLE: not_applicable, HOLDS: "",
                        FAILS: "Task1 accuracy is higher at p = 1 than at p = 0",
                        UNDECIDED: "the interval includes 0"}[verdict],
                       f"Task1 accuracy of MTL at p = 0 minus at p = 1{pairing(paired)}, 95 % bootstrap CI, above 0",
                       len(p0) + len(p1)))
        est, lo, hi, paired = diff(p1, stl)
        verdict = TOO_FEW if few else NOT_APPLICABLE if premise != HOLDS else equivalence(lo, hi, MARGIN)
        out.append(row("at p = 1 the transfer benefit is gone (≈ 0)", f"{paper.MTL['benefit_p1']:g} points (§5.2)",
                       _interval(est, lo, hi), verdict,
                       {TOO_FEW: f"needs {MIN_RUNS} runs per cell", NOT_APPLICABLE: not_applicable, HOLDS: "",
                        FAILS: f"MTL − STL at p = 1 lies beyond ±{MARGIN:g} points",
                        UNDECIDED: f"the interval straddles ±{MARGIN:g} points"}[verdict],
                       f"MTL − STL on Task1 at p = 1{pairing(paired)}, 95 % bootstrap CI, inside ±{MARGIN:g} points",
                       len(p1) + len(stl)))
        k2 = settings.DATASETS[dataset] - settings.DATASETS[dataset] // 2  # Task2's classes (mtl.split_tasks)
        blind = (k2 - 1) / k2  # labels independent of the image: each of the k2 classes equally likely
        q = min(t1, key=lambda v: abs(v - blind)) if t1 else 1.0
        if q != 1.0:
            pq = t1[q]
            est, lo, hi, paired = diff(pq, stl)
            few_q = min(len(pq), len(stl)) < MIN_RUNS
            verdict = TOO_FEW if few_q else NOT_APPLICABLE if premise != HOLDS else equivalence(lo, hi, MARGIN)
            out.append(row(f"the transfer benefit is gone where Task2's labels say nothing of the image "
                           f"(p = {k2 - 1}/{k2}; p = {q:g} in the grid)",
                           f"gone at full corruption, where its 50-class labels carry almost none (§5.2)",
                           _interval(est, lo, hi), verdict,
                           {TOO_FEW: f"needs {MIN_RUNS} runs per cell", NOT_APPLICABLE: not_applicable, HOLDS: "",
                            FAILS: f"MTL − STL at p = {q:g} lies beyond ±{MARGIN:g} points",
                            UNDECIDED: f"the interval straddles ±{MARGIN:g} points"}[verdict],
                           f"MTL − STL on Task1 at p = {q:g}{pairing(paired)}, 95 % bootstrap CI, inside "
                           f"±{MARGIN:g} points",
                           len(pq) + len(stl)))
        benefit = stats.transfer_benefit(part)
        per_p = [(r.p, r.benefit, r.low, r.high) for r in benefit.itertuples()]
        verdicts = [at_least(lo, hi, -MARGIN) for _, _, lo, hi in per_p]
        worst = min(per_p, key=lambda t: t[1]) if per_p else None
        too_few = not per_p or _few(m) or len(stl) < MIN_RUNS
        verdict = (TOO_FEW if too_few else FAILS if FAILS in verdicts
                   else HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED)
        out.append(row("MTL Task1 does not fall far below single-task learning at any p",
                       f"STL {paper.MTL['stl_task1']} %; MTL not far below it (Fig. 5, §5.2)",
                       f"lowest at p = {worst[0]:g}: {_interval(*worst[1:])}" if worst else "–", verdict,
                       {TOO_FEW: f"needs {MIN_RUNS} runs per cell", HOLDS: "",
                        FAILS: f"at some p MTL is more than {MARGIN:g} points below STL",
                        UNDECIDED: f"at some p the interval straddles −{MARGIN:g} points"}[verdict],
                       f"MTL − STL on Task1 at every p{pairing(benefit.paired.all() if len(benefit) else False)}, "
                       f"95 % bootstrap CI, above −{MARGIN:g} points",
                       len(m) + len(stl)))
    return out


def multilabel(frame: pd.DataFrame) -> list[Verdict]:
    """The clean label group's mAP is unaffected by noise in the other group, per case, corruption mode and
    (where a profile trains for more than one length) number of epochs."""
    out = []
    if frame.empty:
        return out
    frame = frame.assign(mode=frame["mode"] if "mode" in frame else "swap",
                         epochs=frame["epochs"] if "epochs" in frame else 0)
    lengths = frame.groupby(["profile", "dataset"]).epochs.nunique()
    for (profile, dataset, mode, case, epochs), part in frame.groupby(["profile", "dataset", "mode", "case", "epochs"]):
        ref = paper.MULTILABEL[f"case{int(case)}"]
        extra = [f"{epochs} epochs"] if lengths[(profile, dataset)] > 1 else []
        out.append(_flat("multi-label", "the clean label group's mAP stays flat",
                         _scope(dataset, f"case {case}", mode, *extra), profile,
                         f"flat; corrupted group {ref['map_p0']} → {ref['map_p1']} % (Fig. 6)", part, "map_clean"))
    return out


def regression_margin(max_angle: float) -> float:
    """Degrees: MARGIN's share of the accuracy scale (MARGIN of 100 points) applied to the span of the angles
    (2 × max_angle), so a change the regression tests accept as none is as small, for its scale, as elsewhere."""
    return round(MARGIN / 100 * 2 * max_angle, 2)


def _flat_error(claim, scope, profile, paper_text, part, x_name, metric, margin, span_text) -> Verdict:
    """Equivalence test on the change of an error (root of the MSE `metric`, degrees) over the range of `x_name`:
    the least-squares slope times that range, inside ±margin and not wholly above 0 (errors must not rise)."""
    x, y = part[x_name].to_numpy(float), np.sqrt(part[metric].to_numpy(float))
    test = (f"change over {span_text} (least-squares slope × range), 95 % bootstrap CI over runs, inside "
            f"±{margin:g}° and not wholly above 0")
    v = lambda ours, verdict, why: Verdict("regression", claim, scope, profile, paper_text, ours, verdict, why, test,
                                           len(part))
    if part.empty or part.groupby(x_name).size().min() < MIN_RUNS or len(np.unique(x)) < MIN_P:
        return v("–", TOO_FEW, f"needs {MIN_RUNS} runs at each of {MIN_P} or more values of {x_name}")
    span = float(np.ptp(x))
    est, lo, hi = (span * t for t in stats.bootstrap_slope(x, y))
    ours = _interval(est, lo, hi, "°")
    verdict = equivalence(lo, hi, margin)
    if verdict == HOLDS and lo > 0:
        return v(ours, FAILS, f"a small but real rise: the whole interval is above 0 (inside ±{margin:g}°)")
    why = {HOLDS: "", FAILS: f"the whole interval lies beyond ±{margin:g}°: a real {'rise' if est > 0 else 'fall'}",
           UNDECIDED: f"a real rise (the whole interval is above 0), but the interval straddles +{margin:g}°: the "
                      "runs cannot tell whether it exceeds the margin" if lo > 0 else
                      f"the interval straddles ±{margin:g}°: the runs cannot tell"}[verdict]
    return v(ours, verdict, why)


def regression(frame: pd.DataFrame) -> list[Verdict]:
    """The study the paper proposes (§6): noise in one range of angles raises its error (the premise), and the
    clean range's error, on the whole and next to the corrupted range, does not rise with p (at the σ with
    most p values) nor with σ (at the p with most σ values). Errors are RMSE in degrees."""
    out = []
    if frame.empty:
        return out
    proposal = "proposed, not run (§6): evaluate each range by MSE"
    for (profile, dataset, low, high, max_angle), part in frame.groupby(["profile", "dataset", "low", "high",
                                                                          "max_angle"]):
        margin = regression_margin(max_angle)
        scope = _scope(dataset, f"corrupted {low:g}° to {high:g}° of ±{max_angle:g}°")
        sigma = part.groupby("sigma").p.nunique().idxmax()
        by_p = part[part.sigma == sigma]
        a, b = by_p[by_p.p == by_p.p.max()], by_p[by_p.p == 0]
        test = "corrupted-range RMSE at the largest p minus at p = 0, 95 % bootstrap CI, above 0"
        claim = f"the noise raises the corrupted range's error (the premise; σ = {sigma:g}°)"
        if min(len(a), len(b)) < MIN_RUNS or a.p.max() == 0:
            out.append(Verdict("regression", claim, scope, profile, proposal, "–", TOO_FEW,
                               f"needs {MIN_RUNS} runs at p = 0 and at a larger p", test, len(a) + len(b)))
        else:
            est, lo, hi = stats.bootstrap_diff(np.sqrt(a.mse_corrupted.to_numpy(float)),
                                               np.sqrt(b.mse_corrupted.to_numpy(float)))
            verdict = at_least(lo, hi, 0.0)
            out.append(Verdict("regression", claim, scope, profile, proposal,
                               f"at p = {a.p.max():g}: {_interval(est, lo, hi, '°')}", verdict,
                               {HOLDS: "", FAILS: "the corrupted range's error fell", UNDECIDED: "the interval includes 0"}
                               [verdict], test, len(a) + len(b)))
        for metric, what in (("mse_clean", "the clean range's error"),
                             ("mse_boundary", f"the error of clean angles within {_band(part)}° of the corrupted range")):
            out.append(_flat_error(f"{what} stays flat as p grows (σ = {sigma:g}°)", scope, profile, proposal, by_p,
                                   "p", metric, margin, "p = 0 → 1" if by_p.p.min() == 0 and by_p.p.max() == 1
                                   else "the range of p"))
        q = part.groupby("p").sigma.nunique().idxmax()
        by_sigma = part[part.p == q]
        if by_sigma.sigma.nunique() > 1:
            out.append(_flat_error(f"the clean range's error stays flat as σ grows (p = {q:g})", scope, profile,
                                   proposal, by_sigma, "sigma", "mse_clean", margin,
                                   f"σ = {by_sigma.sigma.min():g} → {by_sigma.sigma.max():g}°"))
    return out


def _band(part: pd.DataFrame) -> str:
    """The boundary band's width in degrees, as recorded."""
    return f"{part['band'].iloc[0]:g}" if "band" in part else "a few"


def evaluate(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim on every slice of the records, as a table; `frames` maps an experiment to its records frame."""
    checks = {"multiclass": multiclass, "mtl": mtl, "multilabel": multilabel, "regression": regression}
    rows = [asdict(v) for name, check in checks.items() for v in check(frames.get(name, pd.DataFrame()))]
    return pd.DataFrame(rows, columns=[f for f in Verdict.__dataclass_fields__])


def from_results(results=None) -> tuple[pd.DataFrame, list[str]]:
    """The claims table from the published records and those under a results folder, and the records
    that could not be read."""
    from hetnoise import records

    frames, problems = {}, []
    for experiment in ("multiclass", "mtl", "multilabel", "regression"):
        recs, bad = records.load_all(experiment, results=results)
        frames[experiment], problems = records.records_frame(recs), problems + bad
    return evaluate(frames), problems


def styled(table: pd.DataFrame):
    """The claims table for the book: verdicts coloured, the reason beside them, the test last."""
    colours = {HOLDS: "#d9f0d3", FAILS: "#f6d5c8", UNDECIDED: "#fdf3c8", TOO_FEW: "#eeeeee", CEILINGED: "#eeeeee",
               NOT_APPLICABLE: "#eeeeee"}
    shown = table.drop(columns=["study"]).rename(columns=str.capitalize)
    return (shown.style.hide(axis="index")
            .map(lambda v: f"background-color: {colours.get(v, '')}", subset=["Verdict"]))
