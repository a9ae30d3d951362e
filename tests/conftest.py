"""Shared fixtures: one small set of real smoke runs that the notebook and book tests read."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def papermill(notebook: str, out: Path, cwd: Path = ROOT, **params) -> subprocess.CompletedProcess:
    """Run a notebook through the papermill command line, as a user would."""
    args = [str(BIN / "papermill"), str(ROOT / "notebooks" / notebook), str(out), "--no-progress-bar"]
    for k, v in params.items():
        args += ["-y", f"{k}: {json.dumps(v)}"] if isinstance(v, (list, dict)) else ["-p", k, str(v)]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory) -> Path:
    """A results folder filled by a real smoke sweep at toy scale (every study whose notebook exists);
    HETNOISE_TEST_RESULTS names an existing one to reuse instead, when iterating on the book."""
    if os.environ.get("HETNOISE_TEST_RESULTS"):
        return Path(os.environ["HETNOISE_TEST_RESULTS"])
    results = tmp_path_factory.mktemp("results")
    cmd = [str(BIN / "hetnoise"), "sweep", "all", "--profile", "smoke", "--results", str(results),
           "--set", "epochs=2", "--workers", "2", "--pack", "4"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return results


@pytest.fixture(scope="session")
def built_book(smoke_results, tmp_path_factory):
    """`jupyter-book build book -W` (warnings are errors) from the smoke records: (html folder, log)."""
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run([str(BIN / "jupyter-book"), "build", "book", "-W", "--keep-going",
                           "--path-output", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HETNOISE_RESULTS": str(smoke_results)})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out / "_build" / "html", proc.stdout + proc.stderr
