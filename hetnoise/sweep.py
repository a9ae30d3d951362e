"""Run a profile's grid through papermill on Dask: one task per cell, resumable, nothing lost.

Each cell's notebook writes its record atomically; the executed notebook is renamed beside it only
when complete. A cell whose record exists is skipped, so a killed sweep redoes only what is missing.
A failing cell keeps its executed notebook and traceback beside an error record and never stops the
others. On a cluster started elsewhere (for example on SLURM with dask-jobqueue)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, memory="32GB", job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=4)
    print(cluster.scheduler_address)   # then: hetnoise sweep mtl --profile paper --scheduler ADDRESS
"""
from __future__ import annotations

import json
import os
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from hetnoise import profiles, records


@dataclass
class Cell:
    experiment: str
    profile: str
    params: dict
    run_id: str
    record: Path

    @property
    def executed(self) -> Path:
        return self.record.with_suffix(".ipynb")

    @property
    def error(self) -> Path:
        return self.record.with_suffix(".error.json")

    def done(self) -> bool:
        try:
            records.read_record(self.record)
            return True
        except ValueError:
            return False


@dataclass
class Summary:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)   # paths of the error records
    seconds: float = 0.0

    def merge(self, other: "Summary") -> None:
        self.done += other.done
        self.skipped += other.skipped
        self.failed += other.failed
        self.seconds += other.seconds

    def text(self) -> str:
        lines = [f"{len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed "
                 f"in {self.seconds:.0f} s"]
        lines += [f"  failed: {p}" for p in self.failed]
        return "\n".join(lines)


def plan(experiment: str, profile: str, results: str | os.PathLike, overrides: dict | None = None,
         notebook: Path | None = None) -> list[Cell]:
    """The cells of a sweep, each with its run identity and record path."""
    source = (notebook.with_suffix(".py").read_text() if notebook and notebook.with_suffix(".py").is_file()
              else None)
    out = []
    for params in profiles.cells(experiment, profile, overrides):
        rid = records.run_id(experiment, params, notebook=source)
        out.append(Cell(experiment, profile, params, rid, records.record_path(results, experiment, profile, rid)))
    return out


def run_cell(cell: Cell, notebook: str, results: str, device: str = "", retries: int = 1,
             threads: int = 0) -> tuple[str, str]:
    """Execute one cell's notebook with papermill (on a Dask worker); ("done" | "failed", path)."""
    import papermill

    if threads:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    if not device:
        device = _worker_device()
    cell.record.parent.mkdir(parents=True, exist_ok=True)
    tmp = cell.record.with_name(f".{cell.run_id}.{os.getpid()}.running.ipynb")
    params = {**cell.params, "results_dir": str(results), "run_id": cell.run_id, "device": device}
    error = ""
    for attempt in range(1, retries + 2):
        try:
            papermill.execute_notebook(notebook, str(tmp), parameters=params, kernel_name="python3",
                                       cwd=str(records.repo_root()), progress_bar=False, log_output=False)
            records.read_record(cell.record)  # the notebook must have written a valid record
            os.replace(tmp, cell.executed)
            cell.error.unlink(missing_ok=True)
            return "done", str(cell.record)
        except Exception as e:  # kept and reported below; the sweep goes on with other cells
            error = "".join(traceback.format_exception(e))[-20000:]
    kept = cell.record.with_suffix(".error.ipynb")
    if tmp.exists():
        os.replace(tmp, kept)
    records.atomic_write_text(cell.error, json.dumps(
        {"experiment": cell.experiment, "profile": cell.profile, "run_id": cell.run_id, "params": cell.params,
         "attempts": retries + 1, "notebook": str(kept) if kept.exists() else None, "traceback": error,
         "provenance": records.provenance()}, indent=1))
    return "failed", str(cell.error)


def _worker_device() -> str:
    """`cuda:i` for the i-th worker of a local multi-GPU cluster (name set at start), else automatic."""
    try:
        from distributed import get_worker

        name = str(get_worker().name)
        return os.environ.get(f"HETNOISE_DEVICE_{name}", "")
    except (ImportError, ValueError):
        return ""


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


def start_client(workers: int | None = None, scheduler: str | None = None):
    """A Dask client: on `scheduler` when given, else a local cluster with one worker per GPU (or
    `workers` CPU workers)."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None, 0
    gpus = gpu_count()
    n = workers or gpus or 1
    for i in range(n):  # pin worker i to GPU i (workers are named 0..n-1)
        if gpus:
            os.environ[f"HETNOISE_DEVICE_{i}"] = f"cuda:{i % gpus}"
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    threads = 0 if gpus else max(1, (os.cpu_count() or 1) // n)
    return Client(cluster), cluster, threads


def run_sweep(experiment: str, profile: str, results: str | os.PathLike = "results", overrides: dict | None = None,
              workers: int | None = None, scheduler: str | None = None, retries: int = 1, dry_run: bool = False,
              progress: bool = True, notebook: Path | None = None, log=print) -> Summary:
    """Run every missing cell of an experiment's profile; see the module docstring."""
    from tqdm.auto import tqdm

    notebook = Path(notebook or profiles.notebook(experiment))
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} does not exist; run `jupytext --to ipynb {notebook.with_suffix('.py')}`")
    results = Path(results).resolve()
    t0, summary = time.perf_counter(), Summary()
    cells = plan(experiment, profile, results, overrides, notebook)
    todo = [c for c in cells if not c.done()]
    summary.skipped = [str(c.record) for c in cells if c not in todo]
    if dry_run:
        for c in cells:
            log(f"{'done' if c not in todo else 'todo'}  {c.run_id}  {json.dumps(c.params)}")
        return summary
    if not todo:
        return summary
    client, cluster, threads = start_client(workers, scheduler)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        from distributed import as_completed

        futures = [client.submit(run_cell, c, str(notebook), str(results), "", retries, threads, pure=False,
                                 key=f"{experiment}-{profile}-{c.run_id}") for c in todo]
        bar = tqdm(total=len(futures), desc=f"{experiment}/{profile}", disable=not progress, unit="cell")
        for fut in as_completed(futures):
            try:
                status, path = fut.result()
            except Exception as e:  # a lost worker: report it as a failure of that cell
                status, path = "failed", f"{fut.key}: {type(e).__name__}: {e}"
            (summary.done if status == "done" else summary.failed).append(path)
            bar.update()
        bar.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
        client.close()
        if cluster is not None:
            cluster.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")
