"""Run records: one JSON file per run, written atomically, with the run's identity and provenance.

A record lives at `<results>/<experiment>/<profile>/<run_id>.json`; its `run_id` is a stable hash of
the experiment, the parameters that define the run and the notebook's source, so the same cell gives
the same file name on any machine and a changed notebook gives new runs.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = 1
# Parameters that say where or how a run executes, not what it computes: excluded from its identity.
NOT_IDENTITY = {"results_dir", "device", "run_id", "data_root", "coco_root", "download", "save_scores"}
# Environment variables that change how fast or on what a run executes, kept in its provenance.
ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_", "CUDA_VISIBLE_DEVICES")
REQUIRED = {"schema": int, "experiment": str, "profile": str, "run_id": str, "params": dict, "result": dict,
            "provenance": dict, "complete": bool}


def repo_root() -> Path:
    """The repository this package was installed from (the folder holding `notebooks/`)."""
    return Path(__file__).resolve().parents[1]


def results_dir() -> Path:
    """Where records are read and written by default: $HETNOISE_RESULTS, else `<repo>/results`."""
    return Path(os.environ.get("HETNOISE_RESULTS") or repo_root() / "results")


def _canonical(value):
    """JSON-ready form of numpy scalars/arrays, paths and tuples; NaN and infinities become None."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a record")


def notebook_source(experiment: str) -> str | None:
    """The `.py` source of an experiment's notebook, or None outside a source checkout."""
    path = repo_root() / "notebooks" / f"{experiment}.py"
    return path.read_text() if path.is_file() else None


def run_id(experiment: str, params: dict, notebook: str | None = None) -> str:
    """Stable 16-hex identity of a run: experiment, defining parameters and notebook source."""
    ident = {k: v for k, v in _canonical(params).items() if k not in NOT_IDENTITY}
    ident = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) and k == "p" else v)
             for k, v in ident.items()}
    source = notebook if notebook is not None else notebook_source(experiment)
    blob = json.dumps({"experiment": experiment, "params": ident,
                       "notebook": hashlib.sha256(source.encode()).hexdigest() if source else None},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


identity = run_id  # the same function, for code where a `run_id` argument shadows the name


def record_path(results: str | os.PathLike, experiment: str, profile: str, rid: str) -> Path:
    return Path(results) / experiment / profile / f"{rid}.json"


def git_revision() -> str:
    """The repository's commit, with `-dirty` when tracked files differ; `unknown` outside git."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                             timeout=10)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def device_name() -> str:
    """The CUDA device's name, else the CPU model."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict:
    """Where and with what a run was made: host, hardware, library versions, git revision, time."""
    try:
        import torch

        cuda, threads = torch.cuda.is_available(), torch.get_num_threads()
    except Exception:
        cuda, threads = False, None
    return {
        "hostname": socket.gethostname(), "platform": platform.platform(), "python": platform.python_version(),
        "device_name": device_name(), "cuda_available": cuda, "cpu_count": os.cpu_count(), "torch_threads": threads,
        "environment": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ},
        "versions": {m: _version(m) for m in ("hetnoise", "torch", "torchvision", "numpy", "papermill",
                                              "scikit-learn")},
        "git_revision": git_revision(), "timestamp_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that it either holds all of `text` or does not exist: temp file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_run(results: str | os.PathLike, experiment: str, params: dict, result: dict, run_id: str = "") -> Path:
    """Validate and write a run's record; return its path."""
    if "profile" not in params:
        raise ValueError("params must include 'profile'")
    rid = run_id or identity(experiment, params)
    record = {"schema": SCHEMA, "experiment": experiment, "profile": str(params["profile"]), "run_id": rid,
              "params": _canonical(params), "result": _canonical(result), "provenance": provenance(),
              "complete": True}
    problem = validate(record)
    if problem:
        raise ValueError(f"record of {experiment}/{rid} is invalid: {problem}")
    path = record_path(results, experiment, record["profile"], rid)
    atomic_write_text(path, json.dumps(record, indent=1, allow_nan=False))
    return path


def validate(record) -> str | None:
    """What is wrong with a record, or None when it is a complete record of the current schema."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key, typ in REQUIRED.items():
        if key not in record:
            return f"missing key {key!r}"
        if not isinstance(record[key], typ):
            return f"{key!r} should be {typ.__name__}, found {type(record[key]).__name__}"
    if record["schema"] != SCHEMA:
        return f"schema {record['schema']} is not {SCHEMA}"
    if record["complete"] is not True:
        return "run not marked complete"
    if record["params"].get("profile") != record["profile"]:
        return "params.profile differs from profile"
    return None


def read_record(path: Path) -> dict:
    """Read and validate one record; ValueError naming the file when it is unreadable or invalid."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: unreadable record ({type(e).__name__}: {e})") from e
    problem = validate(record)
    if problem:
        raise ValueError(f"{path}: {problem}")
    return record


def load_records(results: str | os.PathLike | None = None, experiment: str | None = None,
                 profile: str | None = None) -> tuple[list[dict], list[str]]:
    """All valid records under `results` (optionally of one experiment / profile) and the problems found."""
    base = Path(results) if results is not None else results_dir()
    pattern = f"{experiment or '*'}/{profile or '*'}/*.json"
    records, problems = [], []
    for path in sorted(base.glob(pattern)):
        if path.name.endswith(".error.json"):
            continue
        try:
            rec = read_record(path)
        except ValueError as e:
            problems.append(str(e))
            continue
        rec["_path"] = str(path)
        records.append(rec)
    return records, problems


def records_frame(records: list[dict]):
    """A flat pandas table: one row per run, parameters and scalar results as columns."""
    import pandas as pd

    rows = []
    for r in records:
        row = {"experiment": r["experiment"], "run_id": r["run_id"], **r["params"], "profile": r["profile"]}
        row.update({k: v for k, v in r["result"].items() if isinstance(v, (int, float, str, bool)) or v is None})
        row["device_name"] = r["provenance"].get("device_name")
        row["git_revision"] = r["provenance"].get("git_revision")
        rows.append(row)
    return pd.DataFrame(rows)
