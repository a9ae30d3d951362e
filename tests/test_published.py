"""The published results: every record valid and inside a declared grid, the folder small, and one
published MNIST cell re-run at the current revision gives the published numbers."""
import json
import os
from pathlib import Path

import pytest

from hetnoise import grids, records, sweep, verify

PUBLISHED = records.published_dir()


def published_records():
    recs, problems = records.load_records(PUBLISHED)
    return recs, problems


def current_grids():
    """The published grids of each study's current protocol version: (study, grid, its planned cells)."""
    return [(study, grid, sweep.plan(study, grid.profile, PUBLISHED, grid.overrides))
            for study, grid in grids.published() if grid.version is None]


def in_superseded_grid(record: dict) -> bool:
    """Whether a record belongs to a published grid of an earlier protocol version: its study, profile and
    version, with parameters inside the grid's narrowing (such a grid cannot be planned again)."""
    return any(record["study"] == study and record["profile"] == grid.profile and record["protocol"] == grid.version
               and all(record["params"].get(k) in values for k, values in grid.overrides.items())
               for study, grid in grids.published() if grid.version is not None)


def test_every_published_record_is_valid_and_in_a_declared_grid():
    recs, problems = published_records()
    assert not problems
    planned = {cell.run_id: cell for _, _, cells in current_grids() for cell in cells}
    outside = [r["_path"] for r in recs if r["run_id"] not in planned and not in_superseded_grid(r)]
    assert not outside, f"published records outside every published grid of the studies: {outside[:3]}"
    for r in recs:
        assert r["run_id"] not in planned or planned[r["run_id"]].params == r["params"]
    stray = [p for p in PUBLISHED.rglob("*") if p.is_file() and p.suffix not in (".json", ".ipynb", ".md")
             and not (p.parent.name == "rules" and p.suffix == ".csv")]  # verdicts under earlier rules
    assert not stray
    notebooks = [p for p in PUBLISHED.rglob("*.ipynb") if not p.with_suffix(".json").is_file()]
    assert not notebooks, "an executed notebook without its record"


def test_every_published_grid_is_complete():
    """Each published grid of a current protocol holds every cell exactly once (a grid still running is not
    published); a superseded one holds one record per run id and none of another protocol."""
    recs, _ = published_records()
    for _, grid, cells in current_grids():
        planned = {c.run_id for c in cells}
        found = [r["run_id"] for r in recs if r["run_id"] in planned]
        assert len(found) == len(set(found)), f"{grid.title}: a cell published twice"
        missing = planned - set(found)
        assert not missing, f"{grid.title}: {len(missing)} of {len(planned)} cells missing"
    superseded = [r["run_id"] for r in recs if in_superseded_grid(r)]
    assert len(superseded) == len(set(superseded))


def test_published_records_are_rounded_and_one_notebook_stands_for_each_group():
    """What `records.publish` writes: result numbers to `records.DIGITS` significant digits, and at most one
    executed notebook per group of runs a pack could share (`records.notebook_group`)."""
    recs, _ = published_records()
    unrounded = [r["_path"] for r in recs
                 if json.loads(Path(r["_path"]).read_text())["result"] != records.rounded(r["result"])]
    assert not unrounded, f"{len(unrounded)} published records keep more digits than records do: {unrounded[:2]}"
    groups = [records.notebook_group(r) for r in recs if Path(r["_path"]).with_suffix(".ipynb").is_file()]
    assert len(groups) == len(set(groups)), "two published notebooks stand for one group of runs"


def test_published_folder_stays_small():
    size = sum(p.stat().st_size for p in PUBLISHED.rglob("*") if p.is_file())
    assert size < 25e6, f"published/ holds {size / 1e6:.1f} MB; keep it under 25 MB"


@pytest.mark.slow
def test_a_published_mnist_cell_reruns_to_the_published_numbers():
    """`hetnoise verify` on the published MNIST cell at p = 0.9 (or the largest published p) made on this CPU
    model (another model's kernels give other last bits, which training amplifies), with MNIST found through
    HETNOISE_DATA: no difference in what it compares (every result field under the current protocol, the
    training curves for a record of an earlier one)."""
    data = Path(os.environ.get("HETNOISE_DATA") or records.repo_root() / "no-data")
    if not (data / "mnist").is_dir():
        pytest.skip(f"MNIST is not under HETNOISE_DATA ({data}); set it to the folder that holds mnist/")
    here = records.device_name()
    recs = [r for r in published_records()[0] if r["study"] == "multiclass" and r["params"]["dataset"] == "mnist"
            and not r["provenance"].get("cuda_available") and r["provenance"].get("device_name") == here]
    if not recs:
        pytest.skip(f"no published MNIST record made on this CPU model ({here}): convolution kernels, and so the "
                    "last bits of training, differ between CPU models")
    chosen = max(recs, key=lambda r: (r["protocol"], r["params"]["p"] <= 0.9, r["params"]["p"],
                                      -(r["params"]["clean_class"] or 0)))
    outcome = verify.verify(chosen["_path"])
    print(outcome.text())
    assert not outcome.differences, outcome.text()
