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


# What makes a test file a store test (tests/conftest.py STORE_TESTS, run again on PostgreSQL by CI): each names one
# way a test reaches the workbench store.
STORE_USE = {
    "a store fixture or URL": r"workbench_store|workbench_url|STORE_BACKENDS|postgres_schema|O2C_DB_URL|O2C_TEST_POSTGRES_URL",
    "opens the store": r"\.trail\(\)|\bStore\(|open_store|shared_store|read_audit\(",
    "the workbench's core": r"\bdashboard\.workbench\b",
    "a core module that writes the store": (
        r"\bdashboard\.(collections\.(followup|promises)|decisions\.(apply|holds|limits|reviews)|disputes\.cases|dunning\.(cli|effectiveness|history|runs))\b"
        r"|from dashboard\.(collections|decisions|disputes|dunning) import [^\n]*\b(followup|promises|apply|holds|limits|reviews|cases|cli|effectiveness|history|runs)\b"
    ),
    "a served app": r"\bserving(_signed_in)?\(|\"serve\", \"--port\"",
    "a page that writes, in AppTest": r"pages/(collections|customer|credit|data|disputes|dunning|whatif|audit)\.py",
    "a command on the store": (
        r"\(\[\s*\"(rollback|audit|db|notes|contacts|customers|promises|worklist|dunning|disputes|limits|holds)\","
        r"|\"(notes|contacts|customers|promises)\", \"(add|set)\""
    ),
}


def store_use(text: str) -> str | None:
    """How a test file's source reaches the store (STORE_USE), or None."""
    import re

    return next((f"{why} ({m.group(0)})" for why, rx in STORE_USE.items() if (m := re.search(rx, text))), None)


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_every_file_that_uses_the_store_is_a_store_test(path):
    from tests.conftest import STORE_TESTS

    why = store_use(path.read_text(encoding="utf-8"))
    if why and path.name != Path(__file__).name:  # this file spells the patterns, it does not use the store
        assert path.name in STORE_TESTS, f"{path.name} uses the workbench store ({why}): add it to STORE_TESTS in tests/conftest.py"


def test_the_store_test_list_names_only_files_that_exist_and_use_the_store():
    from tests.conftest import STORE_TESTS

    assert store_use('main(["customers", "set", "--customer", "C1"])') and store_use("with data.trail().begin() as c:")
    assert store_use('tables["customers"] + "C9,Nine"') is None  # a ledger's table is not the store
    for name in sorted(STORE_TESTS):
        assert (TESTS / name).exists(), f"STORE_TESTS names {name}, which does not exist"
        assert store_use((TESTS / name).read_text(encoding="utf-8")), f"STORE_TESTS names {name}, which does not use the store"
