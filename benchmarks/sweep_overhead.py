"""Per-cell overhead of a sweep (papermill + kernel start + imports) and Dask against a plain loop.

Runs the same multi-class smoke cells (1 epoch, one per clean class) four ways: a sequential loop of
`papermill.execute_notebook`, `run_sweep` on a one-worker Dask cluster, on a two-worker cluster, and
on one worker with every cell packed into one notebook execution (`--pack`).
Overhead per cell = wall time per cell − the notebook's own `wall_time_s` (which excludes imports).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import papermill

from hetnoise import grids, records, sweep


def cells(n: int) -> dict:
    return {"p": [0.5], "clean_class": list(range(n)), "strategy": ["exclude"], "epochs": [1]}


def sequential(overrides, results: Path) -> float:
    t = time.perf_counter()
    for c in sweep.plan("multiclass", "smoke", results, overrides):
        c.record.parent.mkdir(parents=True, exist_ok=True)
        papermill.execute_notebook(str(grids.notebook("multiclass")), str(c.executed),
                                   parameters={**c.params, "results_dir": str(results), "run_id": c.run_id},
                                   kernel_name="python3", cwd=str(records.repo_root()), progress_bar=False)
    return time.perf_counter() - t


def inner_seconds(results: Path) -> float:
    recs, _ = records.load_records(results, "multiclass")
    return statistics.mean(r["result"]["wall_time_s"] for r in recs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=int, default=4, help="cells (clean classes 0..N-1), at most 10")
    ap.add_argument("--save", type=Path, metavar="FILE", help="write the figures, with their provenance, to FILE")
    args = ap.parse_args(argv)
    overrides, rows = cells(args.cells), {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in (("sequential papermill", lambda r: sequential(overrides, r)),
                          ("dask, 1 worker", lambda r: sweep.run_sweep("multiclass", "smoke", r, overrides,
                                                                       workers=1, progress=False).seconds),
                          ("dask, 2 workers", lambda r: sweep.run_sweep("multiclass", "smoke", r, overrides,
                                                                        workers=2, progress=False).seconds),
                          (f"dask, 1 worker, pack {args.cells}", lambda r: sweep.run_sweep(
                              "multiclass", "smoke", r, overrides, workers=1, progress=False,
                              pack=args.cells).seconds)):
            results = Path(tmp) / name.replace(" ", "_").replace(",", "")
            total = run(results)
            inner = inner_seconds(results)
            rows[name] = {"cells": args.cells, "total_s": round(total, 2), "per_cell_s": round(total / args.cells, 2),
                          "notebook_compute_s": round(inner, 2),
                          "overhead_per_cell_s": round(total / args.cells - inner, 2)}
            print(f"{name:22s} total {total:6.1f} s  per cell {total / args.cells:5.2f} s  "
                  f"(notebook compute {inner:4.2f} s)")
    summary = {"device": records.device_name(), "cpu_count": os.cpu_count(), "runs": rows,
               "provenance": records.provenance("multiclass")}
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        records.atomic_write_text(args.save, json.dumps(summary, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    main()
