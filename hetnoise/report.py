"""What the book's pages call: each block of a page (figures and tables of a profile, the "What was run"
box, the verdicts) is one call here, so the pages hold prose and calls and the logic is tested here.
A study's own blocks live in its module (`Study.sections`); this module loads the records, reports those
it could not read, and draws what every study shares."""
from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import replace
from functools import partial

import pandas as pd
from IPython.display import HTML, Markdown, display

from hetnoise import claims, grids, plots, records, runs, settings, studies, tables
from hetnoise.spec import Study


def load(study: str, results=None) -> tables.Loaded:
    """The published records of a study and those of the results folder ($HETNOISE_RESULTS)."""
    recs, problems = records.load_all(studies.get(study).name, results=results)
    recs = as_rows(study, recs)
    return tables.Loaded(recs, tables.frame(recs), problems)


def as_rows(study: str, recs: list[dict]) -> list[dict]:
    """A study's records as its page and claims read them (`Study.rows`)."""
    rows = studies.get(study).rows
    return rows(recs) if rows else recs


def skipped(problems: list[str]) -> None:
    """Name the record files that could not be read, so a reader knows the page left them out."""
    if problems:
        display(Markdown("**Records skipped because they could not be read:**\n\n"
                         + "\n".join(f"- `{p}`" for p in problems)))


def section(study: str, name: str, results=None) -> None:
    """One block of a study's page, drawn from its records (after naming any that could not be read); its
    figures are numbered after those of the page's earlier blocks (`plots.page`)."""
    loaded = load(study, results)
    skipped(loaded.problems)
    plots.style()
    plots.page(study, links=partial(runs.figure_links, study))
    studies.get(study).sections[name](loaded)


def evaluate(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim on every slice of the records, as a table; `frames` maps a study to its records frame."""
    return claims.table([replace(v, kind=kind_of(study, v)) for name, study in studies.ALL.items()
                         for v in study.claims(frames.get(name, pd.DataFrame()))])


def from_results(results=None) -> tuple[pd.DataFrame, list[str]]:
    """The claims table from the published records and those under a results folder, and the records
    that could not be read."""
    frames, problems = {}, []
    for name in studies.ALL:
        recs, bad = records.load_all(name, results=results)
        frames[name], problems = tables.frame(as_rows(name, recs)), problems + bad
    return evaluate(frames), problems


def verdicts(study: str, results=None) -> pd.DataFrame:
    """A study's verdicts on its records."""
    return evaluate({study: load(study, results).frame})


def show_verdicts(table: pd.DataFrame) -> None:
    """A verdicts table, coloured, or a line saying there is none."""
    shown = table.drop(columns=["kind"], errors="ignore")
    display(claims.styled(shown) if not table.empty else Markdown("No verdicts without records."))


def runs_so_far() -> None:
    """The intro's table of what has been run: runs per study, scale, profile, data set, source, epochs, device."""
    recs, _ = records.load_all()
    rows = [{"study": r["study"], "profile": r["profile"], "data set": r["params"].get("dataset"),
             "records": r.get("_source", "local"), "epochs": r["params"].get("epochs"),
             "device": r["provenance"].get("device_name", ""),
             "scale": "pipeline check" if r["profile"] == "smoke" else "real data"} for r in recs]
    if not rows:
        display(Markdown("Nothing yet."))
        return
    summary = (pd.DataFrame(rows).groupby(["study", "scale", "profile", "data set", "records", "epochs", "device"])
               .size().reset_index(name="runs").sort_values(["study", "scale"], ascending=[True, False]))
    display(summary.style.hide(axis="index"))


def verdict_counts(table: pd.DataFrame) -> dict[str, object]:
    """What the intro says of a verdicts table: checks, runs, each verdict's count, profiles, margin, minimum runs."""
    counts = table.verdict.value_counts() if not table.empty else {}
    undecidable = (claims.TOO_FEW, claims.CEILINGED, claims.NOT_APPLICABLE)
    return {"n_checks": len(table), "n_runs": int(table.runs.sum()) if not table.empty else 0,
            "n_holds": int(counts.get(claims.HOLDS, 0)), "n_fails": int(counts.get(claims.FAILS, 0)),
            "n_undecided": int(counts.get(claims.UNDECIDED, 0)),
            "n_too_few": int(sum(counts.get(k, 0) for k in undecidable)),
            "profiles": ", ".join(sorted(table.profile.unique())) if not table.empty else "none",
            "margin": f"{claims.MARGIN:g}", "min_runs": str(claims.MIN_RUNS)}


def split_smoke(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(real-data verdicts, pipeline-check verdicts): `smoke` runs are never evidence."""
    if table.empty:
        return table, table
    return table[table.profile != "smoke"], table[table.profile == "smoke"]


def all_verdicts(table: pd.DataFrame, smoke: pd.DataFrame, problems: list[str]) -> None:
    """The intro's verdicts: real data first, the pipeline check apart; each test's wording is on its
    study's page, so these tables leave it out to stay readable at page width."""
    skipped(problems)
    if table.empty:
        display(Markdown("No real-data records yet: see [Reproduce](reproduce.md) for the sweeps."))
    else:
        display(claims.styled(table.drop(columns=["test", "kind"], errors="ignore")))
    if not smoke.empty:
        display(Markdown("**Pipeline check.** The same tests on the `smoke` runs (toy data, seconds of training): "
                         "they show that the pipeline computes verdicts, not whether the paper's claims hold."))
        display(claims.styled(smoke.drop(columns=["test", "kind"], errors="ignore")))


# The intro's summary: one line per claim of the paper; premises and extensions counted and shown apart.
PAPER_CLAIM, PREMISE, EXTENSION = claims.PAPER_CLAIM, claims.PREMISE, claims.EXTENSION
NO_PAPER_VALUE = re.compile(r"\bnot (measured|run)\b")  # the paper's value says it has none
MIXED = "mixed"
UNDECIDABLE = (claims.TOO_FEW, claims.CEILINGED, claims.NOT_APPLICABLE)
LINE_COLOURS = {**claims.COLOURS, MIXED: "#e4dcf0"}
SUMMARY_STYLE = """<style>
table.claims-summary { width: 100%; table-layout: fixed; border-collapse: collapse; margin: 0.5em 0; }
table.claims-summary th, table.claims-summary td { vertical-align: top; text-align: left; overflow-wrap: anywhere;
  padding: 0.3em 0.45em; border-bottom: 1px solid #ddd; }
table.claims-summary col.claim { width: 30%; } table.claims-summary col.paper { width: 21%; }
table.claims-summary col.ours { width: 32%; } table.claims-summary col.verdict { width: 17%; }
.claims-key { font-size: 0.85em; }
table.claims-summary .study { font-weight: 600; } table.claims-summary small { display: block; color: #555; }
table.claims-summary ul { margin: 0; padding-left: 1em; }
@media (max-width: 720px) {
  table.claims-summary, table.claims-summary tbody, table.claims-summary tr, table.claims-summary td { display: block; }
  table.claims-summary colgroup, table.claims-summary thead { display: none; }
  table.claims-summary tr { border-bottom: 2px solid #bbb; margin-bottom: 0.6em; }
  table.claims-summary td { border: none; }
  table.claims-summary td::before { content: attr(data-label); display: block; font-size: 0.8em; color: #555; }
}
</style>"""


def kind_of(study: Study, verdict: claims.Verdict) -> str:
    """What a verdict checks: its own `kind` when the study set one (an extension on a data set or noise mode the
    paper never used there); else an extension when the paper ran no such study (its setup lists no runs) or gives
    no value ("not measured", "not run"); else a premise when the claim says so; else a claim."""
    if verdict.kind:
        return verdict.kind
    never = study.paper_setup.get("runs", "").startswith("none") or NO_PAPER_VALUE.search(verdict.paper)
    return EXTENSION if never else PREMISE if "premise" in verdict.claim else PAPER_CLAIM


def overall(verdicts: list[str]) -> tuple[str, str]:
    """A claim's verdict over its slices and, when they differ, each verdict's count: the verdict every slice that
    decides shares (slices that cannot decide say nothing), "mixed" when they differ, else why none decides."""
    counts = Counter(verdicts)
    detail = "slices: " + " · ".join(f"{n} {v}" for v, n in counts.items()) if len(counts) > 1 else ""
    decided = [v for v in counts if v not in UNDECIDABLE]
    if len(decided) > 1:
        return MIXED, detail
    return (decided or [counts.most_common(1)[0][0]])[0], detail


def readings(part: pd.DataFrame, with_verdicts: bool) -> list[str]:
    """Our reading on each slice of one claim ("scope: reading"); the slices without one are gathered in a line
    that names their data sets and why."""
    read, blank = part[part.ours != "–"], part[part.ours == "–"]
    lines = [f"{scope}: {ours}" + (f" ({verdict})" if with_verdicts else "")
             for scope, ours, verdict in zip(read.scope, read.ours, read.verdict)]
    if len(blank):
        where = blank.scope.iloc[0] if len(blank) == 1 else (
            f"{', '.join(dict.fromkeys(s.split(', ')[0] for s in blank.scope))} ({len(blank)} slices)")
        why = "; ".join(dict.fromkeys(w for w in blank.why if w))
        lines.append(f"{where}: no reading, {' / '.join(dict.fromkeys(blank.verdict))}" + (f" ({why})" if why else ""))
    return lines


LINE_COLUMNS = ["kind", "study", "claim", "paper", "ours", "verdict", "detail", "tests", "slices"]


def claim_lines(table: pd.DataFrame) -> pd.DataFrame:
    """One line per claim (kind, study and wording) of a verdicts table, in its order: the paper's values, our
    reading on each slice, the verdict over the slices and the tests they used."""
    rows = []
    for (kind, study, claim), part in table.groupby(["kind", "study", "claim"], sort=False):
        verdict, detail = overall(part.verdict.tolist())
        rows.append({"kind": kind, "study": study, "claim": claim, "paper": "; ".join(dict.fromkeys(part.paper)),
                     "ours": readings(part, bool(detail)), "verdict": verdict, "detail": detail,
                     "tests": list(dict.fromkeys(part.test)), "slices": len(part)})
    return pd.DataFrame(rows, columns=LINE_COLUMNS)


def summary_counts(table: pd.DataFrame) -> dict[str, int]:
    """Lines of the summary per kind, and the paper's claims per verdict over their slices."""
    lines = claim_lines(table)
    ours = lines[lines.kind == PAPER_CLAIM].verdict
    return {"n_claims": len(ours), "n_claim_slices": int(lines[lines.kind == PAPER_CLAIM].slices.sum()),
            **{f"claims {v}": int((ours == v).sum()) for v in (claims.HOLDS, claims.FAILS, MIXED, claims.UNDECIDED)},
            "claims undecidable": int(ours.isin(UNDECIDABLE).sum()),
            "n_premises": int((lines.kind == PREMISE).sum()), "n_extensions": int((lines.kind == EXTENSION).sum())}


COUNT_WORDS = {claims.HOLDS: ("holds", "hold"), claims.FAILS: ("does not hold", "do not hold"),
               MIXED: ("is mixed (its slices disagree)", "are mixed (their slices disagree)"),
               claims.UNDECIDED: ("is inconclusive", "are inconclusive"),
               claims.TOO_FEW: ("has too few runs to decide", "have too few runs to decide"),
               claims.CEILINGED: ("cannot tell (at ceiling)", "cannot tell (at ceiling)"),
               claims.NOT_APPLICABLE: ("is not applicable", "are not applicable")}


def counted(lines: pd.DataFrame, short: bool = False) -> str:
    """"2 hold, 1 is mixed" (short: "2 holds, 1 mixed"): the verdicts of some summary lines in a fixed order,
    none that is absent."""
    counts = lines.verdict.value_counts()
    return ", ".join(f"{counts[v]} {v if short else words[int(counts[v] != 1)]}"
                     for v, words in COUNT_WORDS.items() if counts.get(v, 0))


def summary_html(lines: pd.DataFrame, key: str) -> str:
    """The summary table (claim, paper's value, our readings, verdict) and, once below it, the key of its tests;
    the rows stack into cards on a narrow screen so the verdict stays in view."""
    tests = list(dict.fromkeys(t for ts in lines.tests for t in ts))
    head = "".join(f"<th>{h}</th>" for h in ("claim", "paper", "ours (data set, slice: reading)", "verdict"))
    body = "".join(line_html(line, tests, key) for line in lines.itertuples())
    notes = "".join(f'<li id="{key}-{i + 1}">{html.escape(t)}</li>' for i, t in enumerate(tests))
    cols = "".join(f'<col class="{c}">' for c in ("claim", "paper", "ours", "verdict"))
    return (f'<table class="claims-summary"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table><p class="claims-key"><small>Tests (the numbers after each claim; '
            f'margin {claims.MARGIN:g} points, t intervals at 95 %):</small></p><ol class="claims-key">{notes}</ol>')


def line_html(line, tests: list[str], key: str) -> str:
    """One row of the summary table, each cell labelled for the stacked narrow-screen layout."""
    marks = ", ".join(f'<a href="#{key}-{tests.index(t) + 1}">{tests.index(t) + 1}</a>' for t in line.tests)
    ours = "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in line.ours) + "</ul>"
    detail = f"<small>{html.escape(line.detail)}</small>" if line.detail else ""
    return (f'<tr><td data-label="claim"><span class="study">{html.escape(line.study)}</span>: '
            f'{html.escape(line.claim)} <sup>{marks}</sup></td>'
            f'<td data-label="paper">{html.escape(line.paper)}</td><td data-label="ours">{ours}</td>'
            f'<td class="verdict" data-label="verdict" style="background-color: {LINE_COLOURS.get(line.verdict, "")}">'
            f'<strong>{html.escape(line.verdict)}</strong>{detail}</td></tr>')


def summary(table: pd.DataFrame) -> None:
    """The intro's first table: a count of the paper's claims by verdict, then one line per claim."""
    lines = claim_lines(table)
    ours = lines[lines.kind == PAPER_CLAIM]
    if ours.empty:
        display(Markdown("No real-data verdict on a claim of the paper yet: see [Reproduce](reproduce.md)."))
        return
    display(Markdown(f"**{len(ours)} claims of the paper** checked on {int(ours.slices.sum())} slices of our "
                     f"real-data runs: {counted(ours)}."))
    display(HTML(SUMMARY_STYLE + summary_html(ours, "summary-test")))


def apart(table: pd.DataFrame) -> None:
    """Premises and extensions, counted and shown apart from the paper's claims, folded."""
    lines = claim_lines(table)
    parts = [(f"{len(part)} {name}", part) for kind, name in ((PREMISE, "premises"), (EXTENSION, "extensions"))
             for part in [lines[lines.kind == kind]] if len(part)]
    if not parts:
        return
    head = " · ".join(f"{name}: {counted(part, short=True)}" for name, part in parts)
    body = "".join(f"<p><strong>{name.capitalize()}</strong></p>" + summary_html(part, f"{name.split()[1]}-test")
                   for name, part in parts)
    display(HTML(f"{SUMMARY_STYLE}<details class='claims-apart'><summary>Counted apart from the claims: {head}"
                 f"</summary>{body}</details>"))


KIND_TITLES = {PAPER_CLAIM: "Claims of the paper", PREMISE: "Premises of the paper's claims",
               EXTENSION: "Extensions the paper never made"}


def every_check(table: pd.DataFrame, smoke: pd.DataFrame, problems: list[str]) -> None:
    """The intro's fold of every check, one slice a row: a table per kind (claims, premises, extensions), then the
    pipeline check in a fold of its own; the tests' wording is on each study's page."""
    skipped(problems)
    if table.empty:
        display(Markdown("No real-data records yet: see [Reproduce](reproduce.md) for the sweeps."))
    else:
        parts = [f"<p><strong>{title}</strong>: {len(part)} checks</p>"
                 + claims.styled(part.drop(columns=["test", "kind"])).to_html()
                 for kind, title in KIND_TITLES.items() for part in [table[table.kind == kind]] if len(part)]
        display(HTML(f"<details class='every-check'><summary>Every check on the real-data records: {len(table)} "
                     f"rows</summary>{''.join(parts)}</details>"))
    if not smoke.empty:
        display(HTML("<details class='every-check'><summary>Pipeline check: the same tests on the <code>smoke</code> "
                     "runs (toy data, seconds of training), which show that the pipeline computes verdicts, not "
                     "whether the paper's claims hold</summary>"
                     + claims.styled(smoke.drop(columns=["test", "kind"], errors="ignore")).to_html() + "</details>"))


def executed_notebooks() -> None:
    """One executed notebook per study, inline: the run its page draws from."""
    from IPython.display import HTML

    recs, _ = records.load_all()
    for name, study in studies.ALL.items():
        run = runs.representative(recs, name)
        if run is None:
            display(Markdown(f"**{study.title}**: no executed notebook yet; `hetnoise sweep {name}` keeps one "
                             "beside each record."))
            continue
        params = ", ".join(f"{k.replace('_', ' ')} = {run['params'][k]}"
                           for k in study.key_params if k in run["params"])
        revision = (run["provenance"].get("git_revision") or "unknown")[:10]
        display(Markdown(f"**{study.title}**, profile `{run['profile']}`, run `{run['run_id']}`, {run['_source']} "
                         f"record executed at revision `{revision}`: {params}."))
        display(HTML(f'<div class="executed-notebook" data-source="{run["_source"]}">'
                     f'{runs.notebook_html(runs.notebook_of(run))}</div>'))


def provenance_totals() -> dict[str, object]:
    """Readable records, how many kept their executed notebook, and their wall time in hours."""
    table = runs.runs_table(records.load_all()[0])
    return {"n_records": len(table), "n_notebooks": int(table.notebook.ne("–").sum()) if len(table) else 0,
            "wall_hours": float(table["wall time (s)"].sum() / 3600) if len(table) else 0.0}


def provenance(page_dir=None) -> None:
    """Per study and profile, a line of what its runs share and a table of what differs (each run linked to
    its executed notebook); then the library versions and machines, one column per combination."""
    from pathlib import Path

    recs, problems = records.load_all()
    skipped(problems)
    if not recs:
        display(Markdown("No records yet: run `hetnoise sweep all --profile smoke` and rebuild the book."))
        return
    for name, study in studies.ALL.items():
        mine = [r for r in recs if r["study"] == name]
        if mine:
            display(Markdown(study_provenance(study, mine, Path(page_dir or Path.cwd()))))
    combos = runs.versions_table(recs).to_dict("records")
    names = [k for k in combos[0] if k != "runs"]
    display(Markdown("**Library versions and machines**, one column for each combination the runs used.\n\n"
                     + runs.markdown_table([""] + [f"{c['runs']} runs" for c in combos],
                                           [[k] + [str(c[k]) for c in combos] for k in names])))


def study_provenance(study: Study, recs: list, page_dir) -> str:
    """One study's runs folded (a `<details>` titled with their count and profiles, as wide as the page): inside,
    per profile, a line of what its runs share and a table of what differs."""
    profiles = sorted({r["profile"] for r in recs})
    groups = [runs.group_markdown(sorted((r for r in recs if r["profile"] == profile),
                                         key=lambda r: (r["params"].get("p", 0), r["run_id"])), page_dir)
              for profile in profiles]
    title = f"{study.title}: {len(recs)} runs, profile{'s' if len(profiles) > 1 else ''} {', '.join(profiles)}"
    return (f"<details class=\"provenance-study\">\n<summary><strong>{title}</strong></summary>\n\n"
            + "\n\n".join(groups) + "\n\n</details>")


def expected_times() -> None:
    """Measured seconds per run and what each profile's whole grid takes at that pace."""
    timing = runs.expected_time(records.load_all()[0])
    if timing.empty:
        display(Markdown("No records yet: run `hetnoise sweep all --profile smoke` and rebuild the book."))
        return
    display(timing.style.hide(axis="index")
            .format({"seconds per run": "{:.0f}", "hours for the grid": "{:.1f}", "runs in the grid": "{:.0f}"},
                    na_rep="–"))


def rate(value: float) -> str:
    """A rate as people write it: 0.1, 0.001, 5e-4."""
    text = f"{value:g}" if value >= 1e-3 or value == 0 else f"{value:.0e}"
    return text.replace("e-0", "e-")


OPTIMISERS = {"adam": "AdamW", "sgd": "SGD, Nesterov"}


def grid_values(study: str, profile: str, model: str, key: str) -> list:
    """The values of `key` (a data set, a number of epochs) in the cells of the profile's grid that train `model`
    (none when the profile has no grid or the grid does not use that network)."""
    if profile not in studies.get(study).grids:
        return []
    resolved = (settings.resolve(study, {**cell, "profile": profile}) for cell in grids.cells(study, profile))
    return sorted({run[key] for run in resolved if run.get("model", model) == model and key in run})


def recipes():
    """Every study, profile and network with its data set and training recipe, as the code uses them: the data
    set and the epochs are those the profile's grid trains that network with (the profile's own where the grid
    does not use the network), so a grid that varies the epochs shows each."""
    rows = []
    for r in settings.recipes_table():
        study, profile, model = r["study"], r["profile"], r["model"]
        r = {**r, "dataset": ", ".join(grid_values(study, profile, model, "dataset")) or r["dataset"],
             "epochs": ", ".join(map(str, grid_values(study, profile, model, "epochs"))) or str(r["epochs"])}
        network = r["model"] + (f" ×{r['width']:g}" if r["width"] != 1 else "") + (
            f", {r['image size']:.0f} px" if pd.notna(r["image size"]) else "")
        rows.append({"study": r["study"], "profile": r["profile"], "data set": r["dataset"], "network": network,
                     "epochs": r["epochs"], "batch": r["batch_size"],
                     "optimiser": f"{OPTIMISERS.get(r['optimizer'], r['optimizer'])}, "
                                  f"lr {rate(r['lr'])}, {r['schedule']}",
                     "weight decay": rate(r["weight_decay"]), "crop + flip": "yes" if r["augment"] else "no"})
    return pd.DataFrame(rows).style.hide(axis="index")


def earlier_verdicts(commit: str) -> None:
    """The verdicts the rules in force before `commit` gave on the published records (kept as a table in
    published/rules/ when the rule changed), folded: claim, scope, what the runs showed, verdict, reason."""
    path = records.published_dir() / "rules" / f"verdicts-before-{commit}.csv"
    if not path.is_file():
        display(Markdown(f"No table of the verdicts before `{commit}` is kept (`{path.name}`)."))
        return
    table = pd.read_csv(path, keep_default_na=False)
    shown = table[[c for c in ("study", "claim", "scope", "ours", "verdict", "why") if c in table]]
    html = claims.styled(shown).to_html()
    display(Markdown(f"<details><summary>{len(table)} verdicts under the rules before <code>{commit}</code>"
                     f"</summary>\n\n{html}\n\n</details>"))
