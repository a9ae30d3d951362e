"""What the book's pages call: each block of a page (figures and tables of a profile, the "What was run"
box, the verdicts) is one call here, so the pages hold prose and calls and the logic is tested here.
A study's own blocks live in its module (`Study.sections`); this module loads the records, reports those
it could not read, and draws what every study shares."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hetnoise import claims, grids, plots, records, runs, stats, studies


@dataclass
class Loaded:
    """A study's readable records, as records and as a flat table, and the files that could not be read."""
    records: list[dict]
    frame: pd.DataFrame
    problems: list[str]

    def of(self, **params) -> "Loaded":
        """The records whose profile or parameters equal every value given."""
        keep = [r for r in self.records
                if all((r["profile"] if k == "profile" else r["params"].get(k)) == v for k, v in params.items())]
        return Loaded(keep, records.records_frame(keep), self.problems)


def load(study: str, results=None) -> Loaded:
    """The published records of a study and those of the results folder ($HETNOISE_RESULTS)."""
    recs, problems = records.load_all(studies.get(study).name, results=results)
    return Loaded(recs, records.records_frame(recs), problems)


def skipped(problems: list[str]) -> None:
    """Name the record files that could not be read, so a reader knows the page left them out."""
    if problems:
        display(Markdown("**Records skipped because they could not be read:**\n\n"
                         + "\n".join(f"- `{p}`" for p in problems)))


def section(study: str, name: str, results=None) -> None:
    """One block of a study's page, drawn from its records (after naming any that could not be read)."""
    loaded = load(study, results)
    skipped(loaded.problems)
    plots.style()
    studies.get(study).sections[name](loaded)


def mean_interval(values, scale: float = 100) -> str:
    """"86.9 [84.2, 89.6]": the mean (× scale) with its 95 % bootstrap interval over runs; "–" when empty."""
    if len(values) == 0:
        return "–"
    est, lo, hi = stats.bootstrap_mean(scale * np.asarray(values, dtype=float))
    return f"{est:.1f}" + (f" [{lo:.1f}, {hi:.1f}]" if not np.isnan(lo) else "")


def grid_size(study: str, profile: str, **narrow) -> int | None:
    """Cells of a profile's grid, or of those whose parameters equal every value given (None when none)."""
    cells = grids.cells(study, profile) if profile in studies.get(study).grids else []
    return sum(all(c.get(k) == v for k, v in narrow.items()) for c in cells) or None


def what_was_run(study: str, recs: list[dict], profile: str, size: int | None = None, **facts):
    """The "What was run" table: the facts of these runs (`facts` replace or add rows) beside the paper's
    protocol, which a pipeline check (`smoke`) does not claim to follow."""
    ours = {**runs.what_was_run(recs, size), **facts}
    theirs = studies.get(study).paper_setup if profile != "smoke" else {}
    rows = [{"": k, "these runs": v, **({"paper": theirs.get(k, "")} if theirs else {})} for k, v in ours.items()]
    return pd.DataFrame(rows).style.hide(axis="index")


def evaluate(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim on every slice of the records, as a table; `frames` maps a study to its records frame."""
    rows = [asdict(v) for name, study in studies.ALL.items()
            for v in study.claims(frames.get(name, pd.DataFrame()))]
    return pd.DataFrame(rows, columns=list(claims.Verdict.__dataclass_fields__))


def from_results(results=None) -> tuple[pd.DataFrame, list[str]]:
    """The claims table from the published records and those under a results folder, and the records
    that could not be read."""
    frames, problems = {}, []
    for name in studies.ALL:
        recs, bad = records.load_all(name, results=results)
        frames[name], problems = records.records_frame(recs), problems + bad
    return evaluate(frames), problems


def verdicts(study: str, results=None) -> pd.DataFrame:
    """A study's verdicts on its records."""
    return evaluate({study: load(study, results).frame})


def show_verdicts(table: pd.DataFrame) -> None:
    """A verdicts table, coloured, or a line saying there is none."""
    display(claims.styled(table) if not table.empty else Markdown("No verdicts without records."))
