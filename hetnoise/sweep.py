"""Run a profile's grid through papermill on Dask: one task per cell, resumable, nothing lost.

Each execution writes into a hidden staging folder; then every finished cell gets its executed notebook
and, last, its record, each by an atomic rename: a record never exists without its notebook. A cell
whose record exists is skipped, so a killed sweep redoes only what is missing; each cell is claimed by a
lock that dies with its process, so two sweeps into one folder never train the same cell.
A failing cell keeps its executed notebook and traceback beside an error record and never stops the
others. `pack=K` lets one notebook execution train up to K cells that differ only in the parameters of
its study's `packable` (for example clean class, strategy and seed), sharing start-up and data.
On a cluster started elsewhere (for example on SLURM with dask-jobqueue)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, memory="32GB", job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=4)
    print(cluster.scheduler_address)   # then: hetnoise sweep mtl --profile paper --scheduler ADDRESS
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
import traceback
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hetnoise import grids, records, settings, studies


@dataclass
class Cell:
    study: str
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
    unpacked: list[str] = field(default_factory=list)  # packs whose one execution failed: why, for each
    seconds: float = 0.0

    def merge(self, other: "Summary") -> None:
        self.done += other.done
        self.skipped += other.skipped
        self.failed += other.failed
        self.unpacked += other.unpacked
        self.seconds += other.seconds

    def text(self) -> str:
        lines = [f"{len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed "
                 f"in {self.seconds:.0f} s"]
        lines += [f"  failed: {p}" for p in self.failed]
        lines += [f"  run one at a time: {why}" for why in self.unpacked]
        return "\n".join(lines)


def plan(study: str, profile: str, results: str | os.PathLike, overrides: dict | None = None) -> list[Cell]:
    """The cells of a sweep, each resolved and validated (`settings.resolve`: a bad value stops here,
    before anything starts) with its identity parameters, run id and record path."""
    out, seen = [], set()
    profile = settings.profile_name(study, profile)
    for cell in grids.cells(study, profile, overrides):
        run = settings.resolve(study, cell)
        rid = run["run_id"]
        if rid not in seen:  # cells that name a parameter the run does not depend on are one run
            seen.add(rid)
            out.append(Cell(study, profile, settings.identity(study, run), rid, record_path(results, study, profile,
                                                                                           rid)))
    return out


def record_path(results, study: str, profile: str, rid: str) -> Path:
    """Where a cell's record is: in the profile's folder, or in the folder of its earlier name when a run made
    before the rename lies there (so that it counts as done)."""
    paths = [records.record_path(results, study, name, rid)
             for name in (profile, *settings.earlier_names(study, profile))]
    return next((path for path in paths if path.is_file()), paths[0])


def packs(cells: list[Cell], size: int = 1) -> list[list[Cell]]:
    """The cells in groups of at most `size` that one notebook execution can train together: same
    study and same parameters except its `packable` ones (one group per cell otherwise)."""
    free = studies.get(cells[0].study).packable if cells else ()
    if size <= 1 or not free:
        return [[c] for c in cells]
    groups: dict[str, list[Cell]] = {}
    for c in cells:
        key = json.dumps({k: v for k, v in c.params.items() if k not in free}, sort_keys=True, default=str)
        groups.setdefault(key, []).append(c)
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


def run_pack(cells: list[Cell], notebook: str, results: str, retries: int = 1, threads: int = 0,
             batched: bool = False) -> list[tuple[str, str]]:
    """Execute the notebook once for a pack of cells with papermill (on a Dask worker): the first cell's
    parameters, the others as `pack`. One ("done" | "failed" | "skipped", path) per cell. Each cell is
    claimed first (`claim`): one that another live sweep holds, or that is done by now, is skipped. When a
    pack fails, its missing cells are run again one at a time (an ("unpacked", why) entry says why), so one bad
    cell cannot fail the others; a single cell is retried `retries` times and then gets an error record beside
    its executed notebook."""
    if threads:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 (dask/distributed#8143); under it torch's CPU training
    # runs ~3× slower, so the kernels do without it.
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    device = ""  # the worker's own GPU (start_client makes it the only one it sees), else the CPU
    with ExitStack() as stack:
        mine = [c for c in cells if stack.enter_context(claim(c)) and not c.done()]
        out = [("skipped", str(c.record)) for c in cells if c not in mine]
        if len(mine) > 1:
            error = _execute(mine, notebook, results, device, batched=batched)
            missing = [c for c in mine if not c.done()]
            why = [("unpacked", f"{len(missing)} of the pack {mine[0].run_id}… ({_last_line(error)})")] * bool(missing)
            return out + why + [("done", str(c.record)) for c in mine if c not in missing] + [
                result for c in missing for result in _run_one(c, notebook, results, device, retries)]
        return out + [result for c in mine for result in _run_one(c, notebook, results, device, retries)]


def _run_one(cell: Cell, notebook: str, results: str, device: str, retries: int) -> list[tuple[str, str]]:
    """One claimed cell, retried; an error record with the traceback when every attempt failed."""
    for attempt in range(retries + 1):
        error = _execute([cell], notebook, results, device, keep_failed=attempt == retries)
        if not error:
            return [("done", str(cell.record))]
    kept = cell.record.with_suffix(".error.ipynb")
    records.atomic_write_text(cell.error, json.dumps(
        {"study": cell.study, "profile": cell.profile, "run_id": cell.run_id, "params": cell.params,
         "attempts": retries + 1, "notebook": str(kept) if kept.exists() else None, "traceback": error,
         "provenance": records.provenance()}, indent=1))
    return [("failed", str(cell.error))]


@contextmanager
def claim(cell: Cell):
    """Hold an exclusive lock on a cell while it runs, so two sweeps into one folder never train it twice;
    yields False when another process holds it. The lock (`flock`) dies with its process, so a killed
    sweep holds nothing; its partial files are removed by the next claim."""
    cell.record.parent.mkdir(parents=True, exist_ok=True)
    path = cell.record.with_name(f".{cell.run_id}.claim")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        yield False
        return
    try:
        for stale in cell.record.parent.glob(f".{cell.run_id}.*"):
            if stale != path:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
        yield True
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _execute(cells: list[Cell], notebook: str, results: str, device: str, keep_failed: bool = False,
             batched: bool = False) -> str:
    """One papermill execution for `cells`, writing into a hidden staging folder; then each cell whose valid
    record it wrote gets its executed notebook (and any arrays) first and its record last, each by an atomic
    rename, so a record never exists without its notebook. The kernel's stderr goes to a log, not the
    terminal. Returns the error ("" when every cell is done); with `keep_failed`, the executed notebook of
    a failure is kept beside the first missing cell as `.error.ipynb`."""
    import papermill

    first = cells[0]
    stage = first.record.with_name(f".{first.run_id}.{os.getpid()}.staging")
    stage.mkdir(parents=True, exist_ok=True)
    executed = stage / "executed.ipynb"
    params = {**first.params, "results_dir": str(stage), "run_id": first.run_id, "device": device}
    if len(cells) > 1:
        free = studies.get(first.study).packable
        params["pack"] = [{**{k: c.params[k] for k in free if k in c.params}, "run_id": c.run_id} for c in cells[1:]]
        if "batched" in studies.get(first.study).params:
            params["batched"] = batched
    error = ""
    sockets = Path(tempfile.mkdtemp(prefix="hetnoise-kernel-"))  # short: a Unix socket's path has ~100 characters
    try:
        papermill.execute_notebook(notebook, str(executed), parameters=params, kernel_name="python3",
                                   cwd=str(records.repo_root()), progress_bar=False, log_output=False,
                                   kernel_manager_class=_logged_kernel_manager(),
                                   config=_kernel_config(stage / "kernel.log", sockets / "ipc"))
    except Exception as e:  # reported by the caller; the sweep goes on with other cells
        error = "".join(traceback.format_exception(e))[-20000:]
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    for c in cells:
        staged = records.record_path(stage, c.study, c.profile, c.run_id)
        try:
            records.read_record(staged)
        except ValueError:
            continue
        _copy_atomic(executed, c.executed)
        for extra in staged.parent.glob(f"{c.run_id}.*"):
            if extra != staged:
                os.replace(extra, c.record.with_name(extra.name))
        os.replace(staged, c.record)
        c.error.unlink(missing_ok=True)
    missing = [c for c in cells if not c.done()]
    if missing:
        error = error or f"the notebook wrote no valid record of {', '.join(c.run_id for c in missing)}"
        if keep_failed:
            _copy_atomic(executed, missing[0].record.with_suffix(".error.ipynb"))
    shutil.rmtree(stage, ignore_errors=True)
    return error


def _kernel_config(log: Path, sockets: Path):
    """The configuration of a task's kernel: its standard error goes to `log`, and it talks over Unix sockets
    named `sockets`-1 to -5 (IPC), not TCP ports: kernels started at once by other workers or programs cannot
    pick the same port (a heartbeat that lost that race left papermill waiting forever after the last cell)."""
    from traitlets.config import Config

    return Config({"LoggedKernelManager": {"stderr_path": str(log), "transport": "ipc", "ip": str(sockets)}})


def _logged_kernel_manager():
    """A kernel manager whose kernel writes its standard error (C-level warnings included) to its task's
    `stderr_path` instead of the worker's terminal."""
    from jupyter_client import AsyncKernelManager
    from traitlets import Unicode

    class LoggedKernelManager(AsyncKernelManager):
        stderr_path = Unicode("", config=True)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if not self.stderr_path:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(self.stderr_path, "ab") as log:
                return await super()._async_launch_kernel(kernel_cmd, **kw, stderr=log)

    return LoggedKernelManager


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy `source` to `target` under a temporary name, then rename: `target` is whole or absent."""
    if not source.exists():
        return
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    shutil.copyfile(source, part)
    os.replace(part, target)


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


def start_client(workers: int | None = None, scheduler: str | None = None):
    """A Dask client: on `scheduler` when given, else a local cluster with one worker per GPU (or
    `workers` CPU workers). Worker i of a GPU cluster sees only GPU i (its nanny sets CUDA_VISIBLE_DEVICES)
    and offers one `GPU` resource."""
    from distributed import Client, LocalCluster, Nanny, Scheduler, SpecCluster

    if scheduler:
        return Client(scheduler), None, 0
    gpus = gpu_count()
    n = workers or gpus or 1
    threads = max(1, (os.cpu_count() or 1) // n)
    if not gpus:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
        return Client(cluster), cluster, threads
    spec = {i: {"cls": Nanny, "options": {"nthreads": 1, "resources": {"GPU": 1}, "silence_logs": 40,
                                          "env": {"CUDA_VISIBLE_DEVICES": str(i % gpus)}}} for i in range(n)}
    cluster = SpecCluster(workers=spec, scheduler={"cls": Scheduler, "options": {"dashboard_address": None}},
                          silence_logs=40)
    return Client(cluster), cluster, threads


def run_sweep(study: str, profile: str, results: str | os.PathLike = "results", overrides: dict | None = None,
              workers: int | None = None, scheduler: str | None = None, retries: int = 1, dry_run: bool = False,
              progress: bool = True, notebook: Path | None = None, pack: int = 1, batched: bool = False,
              log=print) -> Summary:
    """Run every missing cell of a study's profile; see the module docstring."""
    from tqdm.auto import tqdm

    notebook = Path(notebook or grids.notebook(study))
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} does not exist; run `jupytext --to ipynb {notebook.with_suffix('.py')}`")
    results = Path(results).resolve()
    t0, summary = time.perf_counter(), Summary()
    cells = plan(study, profile, results, overrides)
    todo = [c for c in cells if not c.done()]
    for c in todo:
        if c.record.exists():  # a record this version cannot read is never overwritten
            raise ValueError(f"{c.record} exists but cannot be used ({_problem(c.record)}); move it out of "
                             f"{c.record.parent} or delete it, then run the sweep again")
    summary.skipped = [str(c.record) for c in cells if c not in todo]
    if pack < 1:
        raise ValueError(f"pack={pack}: pack at least one cell per notebook execution")
    groups = packs(todo, pack)
    if dry_run:
        for c in cells:
            log(f"{'done' if c not in todo else 'todo'}  {c.run_id}  {json.dumps(c.params)}")
        log(f"{len(todo)} of {len(cells)} cells to run in {len(groups)} notebook executions")
        return summary
    if not todo:
        return summary
    client, cluster, threads = start_client(workers, scheduler)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        from distributed import as_completed

        futures = {client.submit(run_pack, g, str(notebook), str(results), retries, threads, batched, pure=False,
                                 key=f"{study}-{profile}-{g[0].run_id}-{len(g)}"): g for g in groups}
        bar = tqdm(total=len(todo), desc=f"{study}/{profile}", disable=not progress, unit="cell")
        for fut in as_completed(futures):
            try:
                outcome = fut.result()
            except Exception as e:  # a lost worker: report it as a failure of the pack's cells
                outcome = [("failed", f"{fut.key} ({c.run_id}): {type(e).__name__}: {e}") for c in futures[fut]]
            for status, path in outcome:
                {"done": summary.done, "skipped": summary.skipped, "failed": summary.failed,
                 "unpacked": summary.unpacked}[status].append(path)
            bar.update(sum(status != "unpacked" for status, _ in outcome))
        bar.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
        client.close()
        if cluster is not None:
            cluster.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _problem(path: Path) -> str:
    try:
        records.read_record(path)
        return "valid"
    except ValueError as e:
        return str(e).split(": ", 1)[-1]


def failed_cells(results: str | os.PathLike) -> list[Path]:
    """The error records under `results` whose cell has no valid record (yet)."""
    out = []
    for path in sorted(Path(results).glob("*/*/*.error.json")):
        try:
            records.read_record(path.with_name(path.name.replace(".error.json", ".json")))
        except ValueError:
            out.append(path)
    return out


def last_error_line(error_record: Path) -> str:
    """The last line of a failed cell's traceback (the exception and its message)."""
    try:
        return _last_line(json.loads(error_record.read_text()).get("traceback", ""))
    except (OSError, ValueError, AttributeError):
        return "unreadable error record"


def _last_line(traceback_text: str) -> str:
    lines = [ln.strip() for ln in traceback_text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no traceback recorded"


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")
