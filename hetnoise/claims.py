"""The rules every claim is checked by: a test stated before the data, a verdict drawn from the data and
one sentence saying why when it is not "holds". Each study module states its own claims with these.

Accuracies and mAP are in percentage points. The margin of every test is MARGIN: half the smallest
effect the paper reports as real (the 3.87-point transfer benefit of its §5.2), so a change the tests
accept as "no change" is smaller than any effect the paper builds a claim on.

Units: a seed (with its split) repeats a cell independently; the clean classes of one seed share its
initial weights, batch order and noise draw, so they are averaged within it. Intervals are Student-t
intervals over units (`stats.t_interval`); every compared cell needs MIN_UNITS units. Where the design
pairs two cells (the same clean class and seed at two p, a multi-task run and its single-task partner)
the difference is taken within each pair.

One equivalence rule for every "unchanged" claim: it holds when the whole interval lies inside
±margin, does not hold when the whole interval lies outside, and is inconclusive otherwise; a real
change inside the margin (an interval inside ±margin that excludes 0) holds, and its reason says so in
words. A metric pinned at 100 % or 0 % in every run cannot show a change ("cannot tell: at ceiling");
a claim whose premise is absent is "not applicable". The rules page lists every claim's rule and its
history.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hetnoise import stats

SMALLEST_PAPER_EFFECT = 3.87  # points: the transfer benefit of the paper's §5.2, the smallest effect it calls real
MARGIN = round(SMALLEST_PAPER_EFFECT / 2, 2)
MIN_RUNS, MIN_P = stats.MIN_UNITS, 3  # units (seeds) in every compared cell; distinct p values for a slope
UNITS = ("seed",)  # what repeats a cell independently, unless a study says otherwise
CEILING = 0.5  # points from 100 % (or 0 %) within which every run lies when the metric is pinned
HOLDS, FAILS, UNDECIDED, TOO_FEW = "holds", "does not hold", "inconclusive", "too few runs"
CEILINGED, NOT_APPLICABLE = "cannot tell: at ceiling", "not applicable"
PAPER_CLAIM, PREMISE, EXTENSION = "paper claim", "premise", "extension"  # what a verdict checks (Verdict.kind)
COLOURS = {HOLDS: "#d9f0d3", FAILS: "#f6d5c8", UNDECIDED: "#fdf3c8", TOO_FEW: "#eeeeee", CEILINGED: "#eeeeee",
           NOT_APPLICABLE: "#eeeeee"}


@dataclass
class Verdict:
    """One claim checked on one slice of the records. `kind` says whether it checks a claim of the paper
    (PAPER_CLAIM), one of its premises (PREMISE) or something the paper never did (EXTENSION: a data set or a
    noise mode it never used there); left empty, `report.kind_of` infers it from the claim and the paper's value."""
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
    kind: str = ""


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


def signed(value: float) -> str:
    """A signed number to one decimal, never "-0.0"."""
    return f"{round(value, 1) + 0.0:+.1f}"


def interval(est: float, lo: float, hi: float, unit: str = "points") -> str:
    """"+1.2 [+0.3, +2.0] points", or "–" when there is no estimate."""
    if np.isnan(est):
        return "–"
    ci = "" if np.isnan(lo) else f" [{signed(lo)}, {signed(hi)}]"
    return f"{signed(est)}{ci} {unit}"


def scope(dataset: str, *rest: str) -> str:
    """The slice of the records a verdict covers, in words."""
    return ", ".join([dataset, *rest])


def few(part: pd.DataFrame, units: tuple[str, ...] = UNITS) -> bool:
    """Whether some cell (p value) has fewer than MIN_RUNS units."""
    return part.empty or part.drop_duplicates(["p", *units]).groupby("p").size().min() < MIN_RUNS


RECIPE = ("model", "epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "augment")


def slices(frame: pd.DataFrame, keys: list[str]):
    """The claims' slices: rows grouped by `keys` and every recipe field the frame holds, so runs of another
    recipe are never pooled. Yields (key values, recipe note, rows); the note names the recipe where one
    profile and data set hold several."""
    recipe = [c for c in RECIPE if c in frame]
    frame = frame.assign(**{c: frame[c].astype(str) for c in recipe})
    several = frame.groupby(["profile", "dataset"])[recipe].nunique().max(axis=1) > 1 if recipe else None
    for values, part in frame.groupby(keys + recipe, dropna=False):
        head = dict(zip(keys + recipe, values))
        note = ""
        if recipe and several[(head["profile"], head["dataset"])]:
            note = "recipe " + ", ".join(f"{c.replace('_', ' ')} {head[c]}" for c in recipe)
        yield tuple(head[k] for k in keys), note, part


def run_count(*parts: pd.DataFrame) -> int:
    """Distinct runs behind some rows (a run that stands for several cells counts once)."""
    frame = pd.concat(parts) if parts else pd.DataFrame()
    return int(frame.run_id.nunique()) if "run_id" in frame else len(frame)


def unit_word(units: tuple[str, ...]) -> str:
    """The units of an interval, in words."""
    return "seeds" if tuple(units) == ("seed",) else " × ".join(u.replace("_", " ") for u in units) + " pairs"


def real_change(est: float, lo: float, hi: float, margin: float, unit: str = "points") -> str:
    """Words for a change whose interval lies inside ±margin: flat, and real when it excludes 0."""
    if lo > 0 or hi < 0:
        return (f"flat within ±{margin:g} {unit}; a small real {'rise' if est > 0 else 'decline'} of "
                f"{abs(est):.1f} {unit}")
    return ""


def pinned(values) -> bool:
    """Every run within CEILING points of 100 % or of 0 %: the metric cannot move."""
    values = np.asarray(values, dtype=float)
    return len(values) > 0 and (bool((values >= 100 - CEILING).all()) or bool((values <= CEILING).all()))


def flat(study, claim, scope_text, profile, paper_text, part, metric, units: tuple[str, ...] = UNITS) -> Verdict:
    """Equivalence test on the change of `metric` (fraction) over the p range the runs cover (p = 0 → 1 for
    a whole grid; never extrapolated beyond the runs): the least-squares slope within each unit times that
    range, its mean and t interval over units."""
    x = part.p.to_numpy(float)
    first, last = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
    test = (f"change over p = {first:g} → {last:g} (least-squares slope within each of the "
            f"{unit_word(units)}), 95 % t interval over them, inside ±{MARGIN:g} points")

    def verdict_of(ours: str, verdict: str, why: str) -> Verdict:
        return Verdict(study, claim, scope_text, profile, paper_text, ours, verdict, why, test, run_count(part))

    if few(part, units) or len(np.unique(x)) < MIN_P:
        return verdict_of("–", TOO_FEW, f"needs {MIN_RUNS} {unit_word(units)} at each of {MIN_P} or more values of p")
    percent = part.assign(percent=100 * part[metric].astype(float))
    est, lo, hi = stats.t_interval(stats.unit_change(percent, "percent", units))
    ours = interval(est, lo, hi)
    if pinned(percent.percent):
        return verdict_of(ours, CEILINGED, "the metric is 100 % (or 0 %) in every run, so no change could show")
    verdict = equivalence(lo, hi, MARGIN)
    why = {HOLDS: real_change(est, lo, hi, MARGIN),
           FAILS: f"the whole interval lies beyond ±{MARGIN:g} points: a real {'rise' if est > 0 else 'decline'}",
           UNDECIDED: f"the interval straddles ±{MARGIN:g} points: the runs cannot tell",
           TOO_FEW: f"needs {MIN_RUNS} {unit_word(units)}"}[verdict]
    return verdict_of(ours, verdict, why)


def table(verdicts: list[Verdict]) -> pd.DataFrame:
    """Verdicts as a table, one row each (no rows: the columns alone)."""
    return pd.DataFrame([asdict(v) for v in verdicts], columns=list(Verdict.__dataclass_fields__))


def styled(table: pd.DataFrame):
    """A claims table for the book: verdicts coloured, the reason beside them, the test last."""
    shown = table.drop(columns=["study"]).rename(columns=str.capitalize)
    return (shown.style.hide(axis="index")
            .map(lambda value: f"background-color: {COLOURS.get(value, '')}", subset=["Verdict"]))
