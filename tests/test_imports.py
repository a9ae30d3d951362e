"""The package's modules import one another without a cycle (imports inside functions count too), and the data
registry can be read without importing torch, so that the settings stay light."""
import ast
import subprocess
import sys

from conftest import ROOT

PACKAGE = ROOT / "hetnoise"


def imports(path) -> set[str]:
    """The hetnoise modules a source file imports, at any depth of its syntax tree."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "hetnoise":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hetnoise."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("hetnoise.")}
    return found - {path.stem}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` as a path that returns to its start, or [] when there is none."""
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return []
        path.append(module)
        for dependency in sorted(graph.get(module, ())):
            if found := visit(dependency):
                return found
        path.pop()
        done.add(module)
        return []

    for module in sorted(graph):
        if found := visit(module):
            return found
    return []


def test_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def graph() -> dict[str, set[str]]:
    """Each module of the package → the package modules it imports."""
    return {path.stem: imports(path) for path in PACKAGE.glob("*.py")}


def test_data_modules_stand_on_data_alone():
    modules = graph()
    assert modules["mosaics"] == {"data"} and modules["coco"] == {"data"} and modules["data"] == set()


def test_no_import_cycle_in_the_package():
    modules = graph()
    assert cycle(modules) == [], " -> ".join(cycle(modules))


def test_registry_reads_without_torch():
    code = "import sys; from hetnoise import data; data.names(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
