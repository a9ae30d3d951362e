"""Tables of the runs behind the book: who ran what, where, how long, and their executed notebooks."""
from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from hetnoise import grids, settings, studies
from hetnoise.records import has_figures
from hetnoise.spec import RECIPE_PARAMS


def key_params(study: str) -> tuple[str, ...]:
    """The parameters that name a run of a study in a table; the rest are in the record."""
    return studies.get(study).key_params


def notebook_of(record: dict) -> Path | None:
    """The executed notebook the sweep kept beside a record, if any."""
    path = Path(record.get("_path", "")).with_suffix(".ipynb")
    return path if record.get("_path") and path.is_file() else None


def runs_table(records: list[dict]) -> pd.DataFrame:
    """One row per run: study, profile, key parameters, device, wall time, revision, versions, notebook."""
    rows = []
    for r in records:
        prov, res, nb = r["provenance"], r["result"], notebook_of(r)
        params = ", ".join(f"{k}={r['params'][k]}" for k in key_params(r["study"]) if k in r["params"])
        rows.append({"study": r["study"], "profile": r["profile"], "run": r["run_id"], "parameters": params,
                     "device": prov.get("device_name") or res.get("device", ""),
                     "wall time (s)": float(res.get("wall_time_s") or 0.0),
                     "git revision": (prov.get("git_revision") or "")[:10],
                     "when (UTC)": (prov.get("timestamp_utc") or "")[:16].replace("T", " "),
                     "notebook": str(nb) if nb else "–"})
    columns = ["study", "profile", "run", "parameters", "device", "wall time (s)", "git revision",
               "when (UTC)", "notebook"]
    return pd.DataFrame(rows, columns=columns)


def anchor(study: str, profile: str) -> str:
    """The id of one study's and profile's runs table on the provenance page: the target of its figures' links."""
    return f"runs-{study}-{profile}"


NARROWED = ("dataset", "seed")  # axes a figure's command narrows to the runs' values when the grid has more


def sweep_command(study: str, profile: str, frame: pd.DataFrame) -> str:
    """The sweep that makes the runs of `frame` (one profile's): the profile's grid with each recipe parameter the
    runs set to a value the grid does not use (an earlier recipe's epochs) set as they did, and narrowed to the
    runs' data set and seeds where the grid has more."""
    resolved = [settings.resolve(study, {**cell, "profile": profile}) for cell in grids.cells(study, profile)]
    parts = [f"hetnoise sweep {study} --profile {profile}"]
    for key in (k for k in (*NARROWED, *RECIPE_PARAMS) if k in frame):
        ours, grid = set(frame[key].dropna().tolist()), {run.get(key) for run in resolved} - {None}
        if ours and (not ours <= grid or (key in NARROWED and ours < grid)):
            values = sorted(ours)
            if key == "seed":
                parts.append("--seeds " + " ".join(str(int(v)) for v in values))
            elif len(values) > 1:
                parts.append(f"--set '{key}={json.dumps(values)}'")
            else:
                value = f"{values[0]:g}" if isinstance(values[0], float) else values[0]
                parts.append(f"--set {key}={value}")
    return " ".join(parts)


def figure_links(study: str, frame: pd.DataFrame) -> str:
    """What a figure's caption says of its runs, for each profile of `frame`: a link to that profile's runs table
    on the provenance page (each run linked there to its executed notebook) and the sweep that makes them."""
    if "profile" not in frame:
        return ""
    links = [f'<a href="provenance.html#{anchor(study, profile)}">the {profile} runs</a>, made by '
             f"<code>{html.escape(sweep_command(study, profile, part))}</code>"
             for profile, part in frame.groupby("profile") if profile in studies.get(study).grids]
    return " Runs: " + "; ".join(links) + "." if links else ""


def versions_table(records: list[dict]) -> pd.DataFrame:
    """How many runs used each combination of machine, device and library versions."""
    rows = []
    for r in records:
        prov = r["provenance"]
        rows.append({"host": prov.get("hostname", ""), "device": prov.get("device_name", ""),
                     "python": prov.get("python", ""), **{k: v or "" for k, v in (prov.get("versions") or {}).items()}})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.groupby(list(frame.columns), dropna=False).size().reset_index(name="runs")


def representative(records: list[dict], study: str) -> dict | None:
    """The run of a study shown in full: one with its notebook kept, with its figures (a published copy may
    have left them out), of the newest protocol, at the largest p not above 0.9, and the first run of its
    execution (a packed notebook's figures show that one)."""
    kept = [r for r in records if r["study"] == study and notebook_of(r)]
    if not kept:
        return None
    return max(kept, key=lambda r: (has_figures(json.loads(notebook_of(r).read_text())), r.get("protocol", 1),
                                    float(r["params"].get("p", 0)) <= 0.9, float(r["params"].get("p", 0)),
                                    r["result"].get("pack_index", 0) == 0, r["run_id"]))


def notebook_html(path: Path) -> str:
    """An executed notebook as an HTML fragment (inputs, outputs and figures inline), for a book page."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")
    body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
    return body


def expected_time(records: list[dict]) -> pd.DataFrame:
    """Measured wall time per run, by study, profile, data set, device and epochs, and what the runs of the
    profile's grid with that data set and those epochs take at that pace on one device (runs one after
    another, papermill start-up included). A data set or number of epochs with no measured run gets no row:
    nothing is priced at another data set's pace."""
    rows = [{"study": r["study"], "profile": r["profile"], "data set": r["params"].get("dataset"),
             "device": r["provenance"].get("device_name") or r["result"].get("device", ""),
             "epochs": r["params"].get("epochs"), "wall_s": float(r["result"].get("wall_time_s") or 0.0)}
            for r in records]
    frame = pd.DataFrame(rows, columns=["study", "profile", "data set", "device", "epochs", "wall_s"])
    if frame.empty:
        return frame
    keys = ["study", "profile", "data set", "device", "epochs"]
    out = frame.groupby(keys, dropna=False).wall_s.agg(["count", "mean"])
    out = out.reset_index().rename(columns={"count": "runs measured", "mean": "seconds per run"})
    planned = Counter()
    for s, p in set(zip(out.study, out.profile)):
        if p in studies.get(s).grids:
            resolved = (settings.resolve(s, {**cell, "profile": p}) for cell in grids.cells(s, p))
            planned.update((s, p, run["dataset"], run["epochs"]) for run in resolved)
    out["runs in the grid"] = [planned.get(key) for key in zip(out.study, out.profile, out["data set"], out.epochs)]
    out["hours for the grid"] = out["seconds per run"] * out["runs in the grid"] / 3600
    return out


def markdown_table(header, rows) -> str:
    """A Markdown table from a header and rows of strings."""
    return "\n".join(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
                     + ["| " + " | ".join(row) + " |" for row in rows])


def run_link(record: dict, page_dir: Path) -> str:
    """The run id, as a download link (relative to the page) to its executed notebook when the sweep kept one."""
    nb = notebook_of(record)
    return f"{{download}}`{record['run_id']} <{os.path.relpath(nb, page_dir)}>`" if nb else record["run_id"]


def cell_text(value) -> str:
    """A table cell as text: "–" for a missing value (a p = 0 run names no clean class)."""
    return "–" if value is None or (isinstance(value, float) and value != value) else str(value)


def short_device(name: str) -> str:
    """A device's name as a narrow table cell: "Intel(R) Xeon(R) Processor" reads "Intel Xeon" (the machines
    table keeps the whole name)."""
    return " ".join(re.sub(r"\((R|TM|tm)\)|\b(Processor|CPU)\b", " ", name).split())


def group_markdown(group: list[dict], page_dir: Path) -> str:
    """The runs of one study and profile: a line of what they share, then a table of what differs (the time
    each run was made stays in its record and notebook: a table of two machines and seeds must fit the page)."""
    keys = key_params(group[0]["study"])
    rows = pd.DataFrame([{"run": run_link(r, page_dir), **{k.replace("_", " "): r["params"].get(k) for k in keys},
                          "device": short_device(r["provenance"].get("device_name") or r["result"].get("device", "")),
                          "wall time (s)": f"{float(r['result'].get('wall_time_s') or 0):.0f}",
                          "revision": (r["provenance"].get("git_revision") or "")[:7]}
                         for r in group]).dropna(axis=1, how="all")
    same = [c for c in rows.columns if c != "run" and rows[c].nunique() == 1]
    shared = ", ".join(f"{c} `{rows[c].iloc[0]}`" for c in same)
    rows = rows.drop(columns=same).map(cell_text)
    head = (f'<div id="{anchor(group[0]["study"], group[0]["profile"])}"></div>\n\n'
            f"**{studies.get(group[0]['study']).title}, profile `{group[0]['profile']}`**: {len(group)} runs")
    return head + (f"; all with {shared}" if shared else "") + ".\n\n" + markdown_table(rows.columns, rows.values)
