"""The rules every claim is checked by: a test stated before the data, a verdict drawn from the data and
one sentence saying why when it is not "holds". Each study module states its own claims with these.

Accuracies and mAP are in percentage points. The margin of every test is MARGIN: half the smallest
effect the paper reports as real (the 3.87-point transfer benefit of its §5.2), so a change the tests
accept as "no change" is smaller than any effect the paper builds a claim on. "Unaffected" is an
equivalence test on the least-squares slope of the metric against p (change over p = 0 → 1) with a 95 %
percentile bootstrap interval over runs: inside ±MARGIN holds, but a slope whose interval lies wholly
below zero never holds a flatness claim. Every compared cell (one p) needs MIN_RUNS runs; a metric
pinned at 100 % or 0 % in every run cannot show a change ("cannot tell: at ceiling"); a claim whose
premise is absent is "not applicable".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hetnoise import stats

SMALLEST_PAPER_EFFECT = 3.87  # points: the transfer benefit of the paper's §5.2, the smallest effect it calls real
MARGIN = round(SMALLEST_PAPER_EFFECT / 2, 2)
MIN_RUNS, MIN_P = 3, 3  # runs in every compared cell; distinct p values for a slope
CEILING = 0.5  # points from 100 % (or 0 %) within which every run lies when the metric is pinned
HOLDS, FAILS, UNDECIDED, TOO_FEW = "holds", "does not hold", "inconclusive", "too few runs"
CEILINGED, NOT_APPLICABLE = "cannot tell: at ceiling", "not applicable"
COLOURS = {HOLDS: "#d9f0d3", FAILS: "#f6d5c8", UNDECIDED: "#fdf3c8", TOO_FEW: "#eeeeee", CEILINGED: "#eeeeee",
           NOT_APPLICABLE: "#eeeeee"}


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


def few(part: pd.DataFrame) -> bool:
    """Whether some cell (p value) has fewer than MIN_RUNS runs."""
    return part.empty or part.groupby("p").size().min() < MIN_RUNS


def pinned(values) -> bool:
    """Every run within CEILING points of 100 % or of 0 %: the metric cannot move."""
    values = np.asarray(values, dtype=float)
    return len(values) > 0 and (bool((values >= 100 - CEILING).all()) or bool((values <= CEILING).all()))


def flat(study, claim, scope_text, profile, paper_text, part, metric) -> Verdict:
    """Equivalence test on the slope of `metric` (fraction) against p, as the change over the p range the
    runs cover (p = 0 → 1 for a whole grid; never extrapolated beyond the runs)."""
    x, y = part.p.to_numpy(float), 100 * part[metric].to_numpy(float)
    first, last = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
    test = (f"change over p = {first:g} → {last:g} (least-squares slope), 95 % bootstrap CI over runs, inside "
            f"±{MARGIN:g} points and not wholly below 0")

    def verdict_of(ours: str, verdict: str, why: str) -> Verdict:
        return Verdict(study, claim, scope_text, profile, paper_text, ours, verdict, why, test, len(part))

    if few(part) or len(np.unique(x)) < MIN_P:
        return verdict_of("–", TOO_FEW, f"needs {MIN_RUNS} runs at each of {MIN_P} or more values of p")
    est, lo, hi = ((last - first) * t for t in stats.bootstrap_slope(x, y))
    ours = interval(est, lo, hi)
    if pinned(y):
        return verdict_of(ours, CEILINGED, "the metric is 100 % (or 0 %) in every run, so no change could show")
    verdict = equivalence(lo, hi, MARGIN)
    if verdict == HOLDS and hi < 0:
        return verdict_of(ours, FAILS, f"a small but real decline: the whole interval is below 0 (inside ±{MARGIN:g})")
    why = {HOLDS: "", FAILS: f"the whole interval lies beyond ±{MARGIN:g} points: a real "
                             f"{'rise' if est > 0 else 'decline'}",
           UNDECIDED: f"the interval straddles ±{MARGIN:g} points: the runs cannot tell"}[verdict]
    return verdict_of(ours, verdict, why)


def table(verdicts: list[Verdict]) -> pd.DataFrame:
    """Verdicts as a table, one row each (no rows: the columns alone)."""
    return pd.DataFrame([asdict(v) for v in verdicts], columns=list(Verdict.__dataclass_fields__))


def styled(table: pd.DataFrame):
    """A claims table for the book: verdicts coloured, the reason beside them, the test last."""
    shown = table.drop(columns=["study"]).rename(columns=str.capitalize)
    return (shown.style.hide(axis="index")
            .map(lambda value: f"background-color: {COLOURS.get(value, '')}", subset=["Verdict"]))
