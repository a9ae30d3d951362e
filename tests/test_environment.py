"""Set-up files agree: environment.yml installs the package pyproject.toml describes, on its Python."""
import tomllib

import yaml

from conftest import ROOT


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "python=3.11" in conda and "pip" in conda
    assert set(conda) == {"python=3.11", "pip"}, "list requirements in pyproject.toml, not environment.yml"
    assert pip == ["-e .[dev]"]
    assert project["requires-python"] == ">=3.11"  # tomllib, used here, is 3.11+
    names = {d.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip() for d in project["dependencies"]}
    for needed in ("torch", "torchvision", "papermill", "jupytext", "jupyter-book", "matplotlib", "pycocotools"):
        assert needed in names
    assert any(d.startswith("jupyter-book") and "<2" in d for d in project["dependencies"])
    assert "dev" in project["optional-dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
