"""The study registry: every study declares what generic code needs, and generic modules name no study
(tests/test_imports.py checks that the package has no import cycle)."""
import ast
import re
from pathlib import Path

import pytest

from hetnoise import grids, settings, spec, studies

PACKAGE = Path(__file__).resolve().parents[1] / "hetnoise"
ROOT = PACKAGE.parent


@pytest.mark.parametrize("name", list(studies.ALL))
def test_each_study_declares_itself_completely(name):
    study = studies.get(name)
    assert study.name == name and study.version >= 1 and study.title
    assert (PACKAGE / f"{name}.py").is_file(), "a study lives in hetnoise/<name>.py"
    assert (ROOT / "notebooks" / f"{name}.py").is_file() and (ROOT / "book" / f"{name}.md").is_file()
    assert set(study.grids) <= set(study.profiles) and "smoke" in study.grids
    assert {"profile", "dataset", "p", "seed", "run_id", "results_dir"} <= set(study.params)
    assert set(study.key_params) <= set(study.params) and set(study.packable) <= set(study.params)
    assert {"data", "network", "training", "grid", "runs"} <= set(study.paper_setup)
    for grid in study.published:
        assert isinstance(grid, spec.Grid) and grid.profile in study.grids
    for profile in study.profiles:
        run = settings.resolve(name, {"profile": profile})
        assert run["run_id"] == settings.run_id(name, run)
        assert all(value is not None for value in run.values()), f"{name}/{profile}: a parameter left None"
    assert callable(study.claims) and study.claims.__module__ == f"hetnoise.{name}"


def test_unknown_study_is_named_with_the_choices():
    with pytest.raises(ValueError, match="study 'nope' is unknown; choose one of multiclass"):
        studies.get("nope")
    with pytest.raises(ValueError, match="unknown"):
        grids.cells("nope", "smoke")


def test_generic_modules_name_no_study():
    """Only a study's own module and the registry say a study's name in code (docstrings and comments may
    cite the paper's studies in words)."""
    names = set(studies.ALL)
    own = names | {"studies"}
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in own:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                words = set(re.findall(r"[a-z]+", node.value))
                found += [f"{path.name}:{node.lineno}: {node.value!r}" for _ in words & names]
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imported = ({a.name.split(".")[-1] for a in node.names}
                            | {(getattr(node, "module", "") or "").split(".")[-1]})
                found += [f"{path.name}:{node.lineno}: imports {n}" for n in imported & names]
    assert not found, "\n".join(found)


def test_book_pages_hold_prose_and_calls():
    """No page defines a function or a lambda (the noise-models page keeps its illustrations): what a page
    shows is computed in a module, where tests reach it."""
    for page in sorted((ROOT / "book").glob("*.md")):
        if page.stem == "noise":
            continue
        cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", page.read_text(), flags=re.S)
        code = "\n".join(cells)
        assert not re.search(r"^\s*def |lambda\b", code, flags=re.M), f"{page.name} defines a function"
