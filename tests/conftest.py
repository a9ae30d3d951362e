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


BUILD_BOOK = [str(BIN / "jupyter-book"), "build", "book", "-W", "--keep-going", "--path-output"]  # warnings fail


@pytest.fixture(scope="session")
def empty_book(request, tmp_path_factory):
    """The book built with no records at all (none local, none published), as a function returning (html folder,
    exit code, log). When a test asks for it, the build starts in the background as soon as `built_book` starts
    its own, so the two share the two cores (a book build keeps about one busy)."""
    out = tmp_path_factory.mktemp("empty-book")
    log = out / "build.log"
    env = {**os.environ, "HETNOISE_RESULTS": str(out / "none"), "HETNOISE_PUBLISHED": str(out / "none")}
    wanted = any("empty_book" in getattr(item, "fixturenames", ()) for item in request.session.items)
    started: list[subprocess.Popen] = []

    def start():
        if wanted and not started:
            with log.open("w") as sink:
                started.append(subprocess.Popen(BUILD_BOOK + [str(out)], cwd=ROOT, env=env, stdout=sink,
                                                stderr=subprocess.STDOUT))

    def result():
        start()
        code = started[0].wait(timeout=900)
        return out / "_build" / "html", code, log.read_text()

    result.start = start
    yield result
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def built_book(smoke_results, empty_book, tmp_path_factory):
    """`jupyter-book build book -W` (warnings are errors) from the smoke records: (html folder, log)."""
    out = tmp_path_factory.mktemp("book")
    empty_book.start()
    proc = subprocess.run(BUILD_BOOK + [str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HETNOISE_RESULTS": str(smoke_results)})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out / "_build" / "html", proc.stdout + proc.stderr
