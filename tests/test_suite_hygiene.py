"""The tests stand on their own: no test module imports another one (shared ledgers and helpers live
in tests/fixtures.py, the oracle in tests/oracle.py), nothing edits sys.path, nothing imports bench/."""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SHARED_MODULES = {"tests.fixtures", "tests.oracle", "tests.conftest"}


def imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):  # every import, also those inside functions
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom):  # `from .x import y` inside tests/ is tests.x
            names.append("tests." + (node.module or "") if node.level == 1 else "." * node.level + (node.module or ""))
    return names


def sys_path_edits(tree: ast.AST) -> list[int]:
    """Lines that change sys.path: sys.path.insert/append/extend/..., or assign to it."""
    lines = []
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            target = next((t for t in targets if isinstance(t, ast.Attribute)), None)
        if isinstance(target, ast.Attribute) and target.attr == "path" and isinstance(target.value, ast.Name) and target.value.id == "sys":
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")), ids=lambda p: p.name)
def test_no_test_module_imports_another_or_edits_sys_path(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [m for m in imported_modules(tree) if m.startswith(("tests.", ".")) and m not in SHARED_MODULES]
    assert not bad, f"{path.name} imports {bad}: shared ledgers and helpers belong in tests/fixtures.py"
    bench = [m for m in imported_modules(tree) if m.split(".")[0] in ("bench", "pandas_baseline", "run")]
    assert not bench, f"{path.name} imports the benchmark's code {bench}"
    assert not sys_path_edits(tree), f"{path.name} edits sys.path on line(s) {sys_path_edits(tree)}"
