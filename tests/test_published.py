"""The published results: every record valid and inside a declared grid, the folder small, and one
published MNIST cell re-run at the current revision gives the published numbers."""
import json

import pytest

from conftest import ROOT, papermill
from hetnoise import grids, records, sweep

PUBLISHED = records.published_dir()
MNIST = ROOT.parent / "shared" / "data"


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
    stray = [p for p in PUBLISHED.rglob("*") if p.is_file() and p.suffix not in (".json", ".ipynb", ".md")]
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


def test_published_folder_stays_small():
    size = sum(p.stat().st_size for p in PUBLISHED.rglob("*") if p.is_file())
    assert size < 25e6, f"published/ holds {size / 1e6:.1f} MB; keep it under 25 MB"


def val_losses(record: dict) -> list[float]:
    return [epoch["val_loss"] for epoch in record["result"]["history"]["epochs"]]


@pytest.mark.slow
def test_a_published_mnist_cell_reruns_to_the_published_numbers(tmp_path, monkeypatch):
    """The cell at p = 0.9 (or the largest published p) re-executed with the thread count it was made with:
    the same per-class accuracies (to 1e-6) and validation losses (relative 1e-4) on this machine type."""
    recs = [r for r in published_records()[0] if r["study"] == "multiclass" and r["params"]["dataset"] == "mnist"
            and not r["provenance"].get("cuda_available")]
    if not recs:
        pytest.skip("no published MNIST record yet")
    if not (MNIST / "mnist").is_dir():
        pytest.skip(f"MNIST is not at {MNIST / 'mnist'}")
    chosen = max(recs, key=lambda r: (r["params"]["p"] <= 0.9, r["params"]["p"], -r["params"]["clean_class"]))
    threads = str(chosen["provenance"]["torch_threads"])
    for name, value in {"HETNOISE_DATA": str(MNIST), "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}.items():
        monkeypatch.setenv(name, value)
    proc = papermill("multiclass.ipynb", tmp_path / "out.ipynb", cwd=tmp_path, **chosen["params"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    (again,), _ = records.load_records(tmp_path / "results")
    assert again["run_id"] == chosen["run_id"]
    assert again["result"]["per_class_acc"] == pytest.approx(chosen["result"]["per_class_acc"], abs=1e-6)
    assert val_losses(again) == pytest.approx(val_losses(chosen), rel=1e-4)
    print(json.dumps({"run_id": chosen["run_id"], "equal": again["result"]["per_class_acc"] ==
                      chosen["result"]["per_class_acc"]}))
