"""Shared fixtures: one small set of real smoke runs that the notebook and book tests read."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BOOK_FIXTURES = {"smoke_results", "built_book", "empty_book"}
BUILD_BOOK = [str(BIN / "jupyter-book"), "build", "book", "-W", "--keep-going", "--path-output"]  # warnings fail


def _book_fixtures(item) -> set[str]:
    """Which of the background-made fixtures a test reads."""
    return BOOK_FIXTURES & set(getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config, items):
    """The tests that read the smoke sweep or the built books run last: those are made in the background
    meanwhile (`Background`), beside the other tests, which mostly keep one core busy."""
    items.sort(key=lambda item: bool(_book_fixtures(item)))


class Background:
    """The smoke sweep, then the book from its records beside the book without records, run in a thread of
    their own from the end of collection, so the two cores are busy while other tests run."""

    def __init__(self, base: Path, wanted: set[str]):
        self.base, self.wanted, self.procs, self.outcome = base, wanted, [], {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _start(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        log = self.base / f"{name}.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def _finish(self, name: str, proc: subprocess.Popen, out):
        try:
            code = proc.wait(timeout=900)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        self.outcome[name] = (out, code, (self.base / f"{name}.log").read_text())

    def _run(self):
        results = Path(os.environ.get("HETNOISE_TEST_RESULTS") or self.base / "results")
        if "HETNOISE_TEST_RESULTS" in os.environ:
            self.outcome["sweep"] = (results, 0, "")
        elif self.wanted & {"smoke_results", "built_book"}:
            sweep = self._start("sweep", [str(BIN / "hetnoise"), "sweep", "all", "--profile", "smoke", "--results",
                                          str(results), "--set", "epochs=2", "--workers", "2", "--pack", "4"],
                                {"PYTHONUNBUFFERED": "1"})
            self._finish("sweep", sweep, results)
        books = []
        if "built_book" in self.wanted and self.outcome.get("sweep", (0, 1))[1] == 0:
            books.append(("book", self._start("book", BUILD_BOOK + [str(self.base / "book")],
                                              {"HETNOISE_RESULTS": str(results)}), self.base / "book"))
        if "empty_book" in self.wanted:
            none = str(self.base / "none")
            books.append(("empty-book", self._start("empty-book", BUILD_BOOK + [str(self.base / "empty-book")],
                                                    {"HETNOISE_RESULTS": none, "HETNOISE_PUBLISHED": none}),
                          self.base / "empty-book"))
        for name, proc, out in books:
            self._finish(name, proc, out / "_build" / "html")

    def get(self, name: str):
        """(output, exit code, log) of one step, waiting for it; a step never started says why."""
        self.thread.join(timeout=1800)
        if name not in self.outcome:
            sweep = self.outcome.get("sweep")
            raise RuntimeError(f"{name} was not built: the smoke sweep exited {sweep[1]}:\n{sweep[2][-3000:]}"
                               if sweep else f"{name} was not asked for at collection")
        return self.outcome[name]

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def pytest_collection_finish(session):
    """Start the background steps that the selected tests read."""
    wanted = set().union(*map(_book_fixtures, session.items))
    if wanted and not session.config.option.collectonly:
        base = Path(tempfile.mkdtemp(prefix="hetnoise-tests-"))
        session.config.stash[BACKGROUND] = Background(base, wanted)


def pytest_sessionfinish(session):
    background = session.config.stash.get(BACKGROUND, None)
    if background is not None:
        background.stop()
        shutil.rmtree(background.base, ignore_errors=True)


BACKGROUND = pytest.StashKey[Background]()


def papermill(notebook: str, out: Path, cwd: Path = ROOT, **params) -> subprocess.CompletedProcess:
    """Run a notebook through the papermill command line, as a user would."""
    args = [str(BIN / "papermill"), str(ROOT / "notebooks" / notebook), str(out), "--no-progress-bar"]
    for k, v in params.items():
        args += ["-y", f"{k}: {json.dumps(v)}"] if isinstance(v, (list, dict)) else ["-p", k, str(v)]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def smoke_results(request) -> Path:
    """A results folder filled by a real smoke sweep at toy scale (every study whose notebook exists);
    HETNOISE_TEST_RESULTS names an existing one to reuse instead, when iterating on the book."""
    results, code, log = request.config.stash[BACKGROUND].get("sweep")
    assert code == 0, log[-6000:]
    return results


@pytest.fixture(scope="session")
def empty_book(request):
    """The book built with no records at all (none local, none published), as a function returning (html folder,
    exit code, log)."""
    return lambda: request.config.stash[BACKGROUND].get("empty-book")


@pytest.fixture(scope="session")
def built_book(request, smoke_results):
    """`jupyter-book build book -W` (warnings are errors) from the smoke records: (html folder, log)."""
    html, code, log = request.config.stash[BACKGROUND].get("book")
    assert code == 0, log[-8000:]
    return html, log
