"""What the book's pages call: each block of a page (figures and tables of a profile, the "What was run"
box, the verdicts) is one call here, so the pages hold prose and calls and the logic is tested here.
A study's own blocks live in its module (`Study.sections`); this module loads the records, reports those
it could not read, and draws what every study shares."""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown, display

from hetnoise import claims, grids, plots, records, runs, settings, studies, tables


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
    """One block of a study's page, drawn from its records (after naming any that could not be read)."""
    loaded = load(study, results)
    skipped(loaded.problems)
    plots.style()
    studies.get(study).sections[name](loaded)


def evaluate(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim on every slice of the records, as a table; `frames` maps a study to its records frame."""
    return claims.table([v for name, study in studies.ALL.items()
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
    display(claims.styled(table) if not table.empty else Markdown("No verdicts without records."))


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
        display(claims.styled(table.drop(columns=["test"])))
    if not smoke.empty:
        display(Markdown("**Pipeline check.** The same tests on the `smoke` runs (toy data, seconds of training): "
                         "they show that the pipeline computes verdicts, not whether the paper's claims hold."))
        display(claims.styled(smoke.drop(columns=["test"])))


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
    for key in sorted({(r["study"], r["profile"]) for r in recs}):
        group = sorted((r for r in recs if (r["study"], r["profile"]) == key),
                       key=lambda r: (r["params"].get("p", 0), r["run_id"]))
        display(Markdown(runs.group_markdown(group, Path(page_dir or Path.cwd()))))
    combos = runs.versions_table(recs).to_dict("records")
    names = [k for k in combos[0] if k != "runs"]
    display(Markdown("**Library versions and machines**, one column for each combination the runs used.\n\n"
                     + runs.markdown_table([""] + [f"{c['runs']} runs" for c in combos],
                                           [[k] + [str(c[k]) for c in combos] for k in names])))


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


def grid_datasets(study: str, profile: str, model: str) -> list[str]:
    """The data sets the profile's grid trains `model` on (none when the grid does not use that network)."""
    if profile not in studies.get(study).grids:
        return []
    resolved = (settings.resolve(study, {**cell, "profile": profile}) for cell in grids.cells(study, profile))
    return sorted({run["dataset"] for run in resolved if run.get("model", model) == model})


def recipes():
    """Every study, profile and network with its data set and training recipe, as the code uses them: the data
    set is the one the profile's grid trains that network on (the profile's default where the grid does not
    use the network)."""
    rows = []
    for r in settings.recipes_table():
        r = {**r, "dataset": ", ".join(grid_datasets(r["study"], r["profile"], r["model"])) or r["dataset"]}
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
