"""Run records: one JSON file per run, written atomically, with the run's identity and provenance.

A record lives at `<results>/<study>/<profile>/<run_id>.json`. Its `params` are the run's canonical
identity parameters (`settings.resolve`), and its `run_id` is `settings.run_id` of them under the study's
protocol version, which the record keeps: any record's id can be recomputed from the record alone. The
git revision and notebook hash are provenance, not identity. Records of schema 2 (which called the study
"experiment") are read as schema 3.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import socket
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hetnoise import settings, studies

SCHEMA = 3
# Environment variables that change how fast or on what a run executes, kept in its provenance.
ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_", "CUDA_VISIBLE_DEVICES")
# Significant digits a record keeps of each result number: the networks compute in float32, which carries
# about seven; more digits are float32 rounding error printed in decimal.
DIGITS = 7
REQUIRED = {"schema": int, "study": str, "protocol": int, "profile": str, "run_id": str, "params": dict,
            "result": dict, "provenance": dict, "complete": bool}
def repo_root() -> Path:
    """The repository this package was installed from (the folder holding `notebooks/`)."""
    return Path(__file__).resolve().parents[1]


def published_dir() -> Path:
    """The published results: records of the project's own runs, tracked in the repository
    ($HETNOISE_PUBLISHED names another folder, e.g. an empty one to build the book from local runs only)."""
    return Path(os.environ.get("HETNOISE_PUBLISHED") or repo_root() / "published")


def results_dir() -> Path:
    """Where records are read and written by default: $HETNOISE_RESULTS, else `<repo>/results`."""
    return Path(os.environ.get("HETNOISE_RESULTS") or repo_root() / "results")


def _canonical(value, digits: int | None = None):
    """JSON-ready form of numpy scalars/arrays, paths and tuples; NaN and infinities become None; floats
    to `digits` significant digits when given."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _canonical(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v, digits) for v in value]
    if isinstance(value, float):
        return (value if digits is None else float(f"{value:.{digits}g}")) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a record")


def notebook_digest(study: str) -> str | None:
    """sha256 of a study's notebook source (provenance), or None outside a source checkout."""
    path = repo_root() / "notebooks" / f"{study}.py"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def rounded(result):
    """A result as records keep it: JSON-ready, each number to `DIGITS` significant digits."""
    return _canonical(result, DIGITS)


def record_path(results: str | os.PathLike, study: str, profile: str, rid: str) -> Path:
    return Path(results) / study / profile / f"{rid}.json"


def git_revision() -> str:
    """The repository's commit, with `-dirty` when tracked files differ, `unknown` outside git. A copy of a
    checkout sent to another machine names its revision in $HETNOISE_GIT_REVISION, which wins: the copy
    may sit inside some other repository."""
    fallback = "unknown"
    if os.environ.get("HETNOISE_GIT_REVISION"):
        return os.environ["HETNOISE_GIT_REVISION"]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                             timeout=10)
        if rev.returncode != 0:
            return fallback
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return fallback


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


def provenance(study: str | None = None) -> dict:
    """Where and with what a run was made: host, hardware, library versions, git revision, notebook
    digest, time."""
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
        "git_revision": git_revision(), "notebook_sha256": notebook_digest(study) if study else None,
        "timestamp_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _atomic_write(path: Path, write) -> None:
    """Write a file so that it either holds all its content or does not exist: temp file, fsync, rename;
    readable by all like any file the user writes (mode 0644 under the usual umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """`text` to `path`, atomically."""
    _atomic_write(Path(path), lambda f: f.write(text.encode()))


def save_arrays(path: Path, **arrays) -> Path:
    """Compressed numpy arrays to `path` (.npz), atomically."""
    import numpy as np

    _atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))
    return Path(path)


def dumps(record: dict) -> str:
    """A record as JSON text: indented, with each list of plain values on one line (per-epoch and per-class
    figures would otherwise take a line per number)."""
    text = json.dumps(record, indent=1, allow_nan=False)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)


def save_tensors(path: Path, tensors: dict) -> Path:
    """A dict of tensors (a model's weights) to `path` with `torch.save`, atomically."""
    import torch

    _atomic_write(Path(path), lambda f: torch.save(tensors, f))
    return Path(path)


def save_run(results: str | os.PathLike, study: str, params: dict, result: dict) -> Path:
    """Validate and write a run's record from its resolved parameters (`settings.resolve`); return its path."""
    ident = settings.identity(study, _canonical(params))
    rid = settings.run_id(study, ident)
    if params.get("run_id") and params["run_id"] != rid:
        raise ValueError(f"run_id {params['run_id']!r} does not match the parameters of this run ({rid})")
    record = {"schema": SCHEMA, "study": study, "protocol": studies.get(study).version,
              "profile": str(params["profile"]), "run_id": rid, "params": ident, "result": rounded(result),
              "provenance": provenance(study), "complete": True}
    problem = validate(record)
    if problem:
        raise ValueError(f"record of {study}/{rid} is invalid: {problem}")
    path = record_path(results, study, record["profile"], rid)
    atomic_write_text(path, dumps(record))
    return path


def validate(record, path: Path | None = None) -> str | None:
    """What is wrong with a record (structure, identity, the result fields the book reads, its place in
    the results folder), or None when it is a complete record of the current schema."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("schema") != SCHEMA:
        return f"schema {record.get('schema')!r} is not {SCHEMA} (written by another version of hetnoise)"
    for key, typ in REQUIRED.items():
        if key not in record:
            return f"missing key {key!r}"
        if not isinstance(record[key], typ) or isinstance(record[key], bool) and typ is not bool:
            return f"{key!r} should be {typ.__name__}, found {type(record[key]).__name__}"
    if record["complete"] is not True:
        return "run not marked complete"
    study = record["study"]
    if study not in studies.ALL:
        return f"study {study!r} is unknown"
    if record["params"].get("profile") != record["profile"]:
        return "params.profile differs from profile"
    if record["run_id"] != settings.run_id(study, record["params"], record["protocol"]):
        return f"run_id {record['run_id']} is not the id of its params"
    for name, (typ, low, high) in studies.get(study).result_fields.items():
        value = record["result"].get(name)
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) if typ is float else
              isinstance(value, typ) and not isinstance(value, bool))
        if not ok or (low is not None and value < low) or (high is not None and value > high):
            return f"result.{name} = {value!r} is not {typ.__name__} in [{low}, {high}]"
    if path is not None:
        path = Path(path)
        if path.stem != record["run_id"]:
            return f"file name {path.name} is not its run_id {record['run_id']}.json"
        folders = [record["profile"], *settings.earlier_names(study, record["profile"])]
        if path.parent.parent.name != study or path.parent.name not in folders:
            return f"lies in {path.parent.parent.name}/{path.parent.name}, not in {study}/{record['profile']}"
    return None


def upgrade(record):
    """A record of an earlier schema in the current one, where the change was a rename (schema 2 called
    the study "experiment"; a profile's earlier name becomes its name now); anything else is returned as it
    is, for `validate` to judge."""
    if isinstance(record, dict) and record.get("schema") == 2 and "experiment" in record and "study" not in record:
        record = {("study" if k == "experiment" else k): v for k, v in record.items()}
        record["schema"] = SCHEMA
    if (isinstance(record, dict) and record.get("study") in studies.ALL and isinstance(record.get("params"), dict)
            and record.get("profile") in studies.get(record["study"]).renamed):
        name = settings.profile_name(record["study"], record["profile"])
        record = {**record, "profile": name, "params": {**record["params"], "profile": name}}
    return record


def read_record(path: Path) -> dict:
    """Read and validate one record; ValueError naming the file when it is unreadable or invalid."""
    try:
        record = upgrade(json.loads(Path(path).read_text()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: unreadable record ({type(e).__name__}: {e})") from e
    problem = validate(record, path)
    if problem:
        raise ValueError(f"{path}: {problem}")
    return record


def load_records(results: str | os.PathLike | None = None, study: str | None = None,
                 profile: str | None = None) -> tuple[list[dict], list[str]]:
    """All valid records under `results` (optionally of one study / profile) and the problems found."""
    base = Path(results) if results is not None else results_dir()
    folders = [profile, *settings.earlier_names(study, profile)] if study and profile else [profile or "*"]
    records, problems = [], []
    for path in sorted(p for folder in folders for p in base.glob(f"{study or '*'}/{folder}/*.json")):
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


def load_all(study: str | None = None, profile: str | None = None,
             results: str | os.PathLike | None = None) -> tuple[list[dict], list[str]]:
    """What the book reads: the published records and those of the user's results folder (default
    `results_dir()`), each tagged with its `_source`; a run found in both is taken once, as published."""
    out, problems, seen = [], [], set()
    for source, base in (("published", published_dir()), ("local", Path(results) if results else results_dir())):
        recs, bad = load_records(base, study, profile) if base.is_dir() else ([], [])
        problems += bad
        for r in recs:
            if r["run_id"] not in seen:
                seen.add(r["run_id"])
                out.append({**r, "_source": source})
    return out, problems


def has_figures(notebook: dict) -> bool:
    """Whether an executed notebook holds a drawn figure."""
    return any(key.startswith("image/") for cell in notebook.get("cells", []) for out in cell.get("outputs", [])
               for key in out.get("data", {}))


def without_figures(notebook: dict) -> dict:
    """The notebook with each drawn figure replaced by a line naming it (its alt text): a published copy
    keeps every printed line and table while its figures, drawn again from the records on the book's
    pages, would take three quarters of its size."""
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []):
            if any(key.startswith("image/") for key in out.get("data", {})):
                alt = out.get("metadata", {}).get("image/png", {}).get("alt") or "a figure"
                out["data"], out["metadata"] = {"text/plain": f"[figure left out of the published copy: {alt}]"}, {}
    return notebook


def shown_in_full(folder: Path) -> bool:
    """Whether a published folder already holds a notebook with its figures."""
    return any(has_figures(json.loads(path.read_text())) for path in folder.glob("*.ipynb"))


def executed_for(notebook: dict) -> str | None:
    """The run id a sweep gave the execution that wrote this notebook (its injected parameters), or None: a
    pack's members keep a copy of the execution that ran the first of them."""
    for cell in notebook.get("cells", []):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell.get("source", ""))
            found = re.search(r"^run_id = ['\"](\w*)['\"]", source, re.M)
            return found.group(1) if found else None
    return None


def publish_notebook(source: Path, dest: Path, whole: bool) -> bool:
    """Copy an executed notebook into a published folder, whole or without its figures; whether the copy
    now shows figures (one notebook per profile is shown in full)."""
    notebook = json.loads(source.read_text())
    atomic_write_text(dest, json.dumps(notebook if whole else without_figures(notebook), indent=1))
    return whole and has_figures(notebook)


def notebook_group(record: dict) -> str:
    """The runs one published notebook stands for: same study, protocol and parameters except those a pack
    may vary (clean class, strategy, seed...); such notebooks differ only in numbers their records hold."""
    free = studies.get(record["study"]).packable
    return json.dumps([record["study"], record["protocol"], {k: v for k, v in record["params"].items()
                                                             if k not in free}], sort_keys=True, default=str)


def published_form(record: dict) -> dict:
    """A record as the published folder keeps it: its result numbers `rounded` (records written before
    rounding keep more digits than their float32 figures carry)."""
    return {**{k: v for k, v in record.items() if not k.startswith("_")}, "result": rounded(record["result"])}


def publish(results: str | os.PathLike, study: str, profile: str, to: str | os.PathLike | None = None) -> int:
    """Copy the valid records of `results/study/profile` into the published folder (`published_form`),
    with one executed notebook per `notebook_group`: that of the first run of an execution (a pack's
    notebook shows that one) and of the first replicate (seed and split seed 0); the others differ only in
    numbers the records hold, and would swell the repository. One notebook per profile keeps its figures
    (`publish_notebook`). Returns the number of records copied; records already published are left as
    they are."""
    target = Path(to) if to else published_dir()
    if not Path(results).is_dir():
        raise ValueError(f"--results {results}: no such folder; name the folder the sweep wrote into")
    recs, problems = load_records(results, study, profile)
    if problems:
        raise ValueError(f"{len(problems)} records under {results} cannot be published: {problems[0]}")
    folder = record_path(target, study, profile, "x").parent
    copied, shown = 0, shown_in_full(folder)
    have = {notebook_group(read_record(p.with_suffix(".json"))) for p in folder.glob("*.ipynb")
            if p.with_suffix(".json").is_file()}
    for r in recs:
        dest = record_path(target, study, profile, r["run_id"])
        if dest.exists():
            continue
        notebook = Path(r["_path"]).with_suffix(".ipynb")
        first = r["params"].get("seed", 0) == 0 and r["params"].get("split_seed", 0) == 0
        if (r["result"].get("pack_index", 0) == 0 and first and notebook_group(r) not in have and notebook.is_file()
                and executed_for(json.loads(notebook.read_text())) in (None, "", r["run_id"])):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shown = publish_notebook(notebook, dest.with_suffix(".ipynb"), whole=not shown) or shown
            have.add(notebook_group(r))
        atomic_write_text(dest, dumps(published_form(r)))
        copied += 1
    return copied
