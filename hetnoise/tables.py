"""The pieces a page's blocks are built from that need no registry: a study's records as `Loaded`, a mean
with its interval, the size of a grid, the seeds and p a set of runs covers, and the "What was run" box
beside the paper's setup. Study modules draw their blocks with these; `report` loads the records and hands
them over."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hetnoise import stats


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
        return Loaded(keep, frame(keep), self.problems)


def frame(records: list[dict]) -> pd.DataFrame:
    """A flat table: one row per run, parameters and scalar results as columns."""
    rows = []
    for r in records:
        row = {"study": r["study"], "protocol": r.get("protocol"), "run_id": r["run_id"], **r["params"],
               "profile": r["profile"]}
        row.update({k: v for k, v in r["result"].items() if isinstance(v, (int, float, str, bool)) or v is None})
        row["device_name"] = r["provenance"].get("device_name")
        row["git_revision"] = r["provenance"].get("git_revision")
        row["source"] = r.get("_source", "local")
        rows.append(row)
    return pd.DataFrame(rows)


def coverage(frame: pd.DataFrame, grid_p=None) -> str:
    """Which seeds a set of runs holds and at which p, in words ("seeds 0–1 at every p", "seed 0 at every p,
    seed 1 at p ≤ 0.8 and part of p = 0.9"): the page says what its numbers stand on while a grid fills. A
    seed holds part of a p when it has fewer runs there than the fullest seed; "every p" is every p of the
    grid (`grid_p`; by default every p the runs hold)."""
    if frame.empty:
        return "–"
    every = sorted(set(frame.p.unique()) | set(grid_p or []))
    size = frame.groupby(["seed", "p"]).size()
    full = size.groupby(level="p").max()
    groups: dict[tuple, list[int]] = {}
    for seed, sizes in size.groupby(level="seed"):
        ps = sizes.index.get_level_values("p")
        whole = tuple(p for p, n in zip(ps, sizes) if n == full[p])
        groups.setdefault((whole, tuple(p for p in ps if p not in whole)), []).append(int(seed))

    def seeds(found):
        return (f"seed {found[0]}" if len(found) == 1 else f"seeds {found[0]}–{found[-1]}"
                if found == list(range(found[0], found[-1] + 1)) else "seeds " + ", ".join(map(str, found)))

    def where(ps):
        prefix = len(ps) > 1 and list(ps) == every[:len(ps)]
        return ("at every p" if list(ps) == every else f"at p ≤ {ps[-1]:g}" if prefix
                else "at p = " + ", ".join(f"{x:g}" for x in ps))

    def text(whole, part):
        return " and ".join(([where(whole)] if whole else [])
                            + ([f"part of p = {', '.join(f'{x:g}' for x in part)}"] if part else []))
    parts = sorted(groups.items(), key=lambda item: (-len(item[0][0]), item[1]))
    return ", ".join(f"{seeds(found)} {text(*ps)}" for ps, found in parts)


def glue(values: dict) -> None:
    """Name values for a page's prose (myst_nb's glue), without showing them."""
    from myst_nb import glue as name_value

    for name, value in values.items():
        name_value(name, value, display=False)


def expand(blocks: list[dict], profile: str, overrides: dict | None = None) -> list[dict]:
    """Every cell of a grid's blocks as notebook parameters (each block's Cartesian product, duplicates
    once); `overrides` replaces or adds an axis in every block."""
    out, seen = [], set()
    for block in blocks:
        axes = {**block, **{k: list(v) for k, v in (overrides or {}).items()}}
        for values in itertools.product(*axes.values()):
            cell = {"profile": profile, **dict(zip(axes, values))}
            key = tuple(sorted((k, repr(v)) for k, v in cell.items()))
            if key not in seen:
                seen.add(key)
                out.append(cell)
    return out


def grid_size(grids: dict[str, list[dict]], profile: str, **narrow) -> int | None:
    """Cells of a profile's grid, or of those whose parameters equal every value given (None when none)."""
    cells = expand(grids[profile], profile) if profile in grids else []
    return sum(all(c.get(k) == v for k, v in narrow.items()) for c in cells) or None


def mean_interval(values, scale: float = 100) -> str:
    """"86.9 [84.2, 89.6]": the mean (× scale) with its 95 % t interval over runs; "–" when empty."""
    if len(values) == 0:
        return "–"
    est, lo, hi = stats.t_interval(scale * np.asarray(values, dtype=float))
    return f"{est:.1f}" + (f" [{lo:.1f}, {hi:.1f}]" if not np.isnan(lo) else "")


def what_was_run(records: list[dict], grid_size: int | None = None) -> dict[str, str]:
    """The facts of a set of runs: data, network, training, grid, runs, device, wall time, and the source
    and revisions of the records."""
    records = list({r.get("run_id", i): r for i, r in enumerate(records)}.values())  # a run read as several rows once
    if not records:
        return {}
    params, first = [r["params"] for r in records], records[0]
    res = first["result"]

    def values(key):
        found = sorted({p[key] for p in params if key in p})
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in found)

    grid = [f"p ∈ {{{values('p')}}}"] + [f"{name} {values(key)}" for key, name in (
        ("sigma", "σ (degrees)"), ("clean_class", "clean classes"), ("strategy", "strategies"), ("case", "cases"),
        ("mode", "modes"), ("split_seed", "splits"), ("seed", "seeds")) if key in first["params"]]
    walls = [float(r["result"].get("wall_time_s") or 0.0) for r in records]
    revisions = sorted({(r["provenance"].get("git_revision") or "unknown")[:10] for r in records})
    devices = sorted({r["provenance"].get("device_name") or r["result"].get("device", "") for r in records})
    return {
        "data": f"{values('dataset')}: {res.get('n_train', '?'):,} training, {res.get('n_val', '?'):,} validation, "
                f"{res.get('n_test', '?'):,} test images" if "n_train" in res else values("dataset"),
        "network": f"{values('model') or 'resnet18'}, {res.get('n_params', 0):,} parameters",
        "training": f"{values('epochs')} epochs at batch {values('batch_size')}, {values('optimizer')} "
                    f"(learning rate {values('lr')}, weight decay {values('weight_decay')}, {values('schedule')}); "
                    "checkpoint of the lowest validation loss",
        "grid": "; ".join(grid),
        "runs": f"{len(records)}" + (f" of the grid's {grid_size}" if grid_size else ""),
        "device": ", ".join(devices),
        "wall time": f"{sum(walls) / 3600:.1f} h in all, {sum(walls) / len(walls):.0f} s per run",
        "records": f"{', '.join(sorted({r.get('_source', 'local') for r in records}))}; revision "
                   f"{', '.join(revisions)}",
    }


def box(records: list[dict], paper_setup: dict[str, str], profile: str, size: int | None = None,
        paper_label: str = "paper", **facts):
    """The "What was run" table: the facts of these runs (`facts` replace or add rows) beside the paper's
    setup, which a pipeline check (`smoke`) does not claim to follow."""
    ours = {**what_was_run(records, size), **facts}
    theirs = paper_setup if profile != "smoke" else {}
    rows = [{"": k, "these runs": v, **({paper_label: theirs.get(k, "")} if theirs else {})} for k, v in ours.items()]
    return pd.DataFrame(rows).style.hide(axis="index")
