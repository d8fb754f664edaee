"""The README documents what a user can set, run, load and read (as datasette tests its docs): every
setting, every command and option of `o2c`, every table and column of an extract, every KPI and every
key of `o2c kpis --json`. Each list is read from the code at test time, so a new setting, command or
figure fails here until the README explains it; and the README names no command, setting, file or
spec document that is not there."""

import argparse
import json
import re

import pytest
from pydantic import BaseModel

from dashboard.cli import main, parser
from dashboard.load.contract import TABLES
from dashboard.load.ingest import ingest
from dashboard.metrics import kpis
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import MIXED, REPO, write_csvs

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text under the README heading `title` (any level), up to the next heading of that level or above."""
    m = re.search(rf"^(#+) {re.escape(title)}\s*$", README, re.M)
    assert m, f"the README has no section '{title}'"
    level = len(m.group(1))
    end = re.search(rf"^#{{1,{level}}} ", README[m.end() :], re.M)
    return README[m.end() : m.end() + end.start()] if end else README[m.end() :]


def first_column(text: str) -> list[str]:
    """The first cell of each row of the markdown tables in text (the header and rule rows too)."""
    return [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("|")]


# ------------------------------------------------------------------------------------- settings


def setting_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key of the settings file: a field of a nested model is a key of its [table]."""
    out = []
    for name, f in model.model_fields.items():
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            out += setting_paths(f.annotation, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def as_written(path: tuple[str, ...]) -> str:
    """How the settings table names a key: `base_currency`, `[risk] weights`."""
    return f"`{path[0]}`" if len(path) == 1 else f"`[{'.'.join(path[:-1])}] {path[-1]}`"


def toml(value) -> str | None:
    """A default as a settings file would write it (None: not a simple value)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    return None


def default_of(path: tuple[str, ...]):
    model = Settings
    for name in path[:-1]:
        model = model.model_fields[name].annotation
    f = model.model_fields[path[-1]]
    return f.get_default(call_default_factory=True)


def rows(text: str) -> dict[str, str]:
    """Table rows of text by their first cell."""
    lines = [r for r in text.splitlines() if r.startswith("|")]
    return dict(zip(first_column(text), lines))


def settings_rows() -> dict[str, str]:
    return rows(section("Settings"))


@pytest.mark.parametrize("path", setting_paths(Settings), ids=".".join)
def test_every_setting_is_in_the_settings_table_with_its_default(path):
    row = settings_rows().get(as_written(path))
    assert row, f"setting {as_written(path)} is not in the README's Settings table"
    want = toml(default_of(path))
    if want is not None:
        assert f"`{want}`" in row, f"the Settings table does not give {as_written(path)}'s default {want}"


def test_the_settings_table_names_only_real_settings():
    real = {as_written(p) for p in setting_paths(Settings)}
    named = {c for c in settings_rows() if c.startswith("`")}
    assert named and named <= real, f"not settings: {sorted(named - real)}"


# ------------------------------------------------------------------------------------ commands

COMMON = [s for a in parser()._actions for s in a.option_strings if s.startswith("--") and s != "--help"]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def entries() -> dict[str, str]:
    """Each `o2c ...` line of the README's command block with the lines that continue it, by its command."""
    out: dict[str, str] = {}
    current = None
    for line in section("Command line").splitlines():
        m = re.match(r"\s+o2c ([\w-]+)", line)
        if m:
            current = m.group(1)
            out[current] = out.get(current, "") + line + "\n"
        elif current and line.startswith("      "):
            out[current] += line + "\n"
        else:
            current = None
    return out


@pytest.mark.parametrize("name", list(subcommands()))
def test_every_command_and_its_options_are_in_the_readme(name):
    sp = subcommands()[name]
    entry = entries().get(name)
    assert entry, f"'o2c {name}' is not listed in the README's command line section"
    for a in sp._actions:
        own = [s for s in a.option_strings if s.startswith("--") and s not in COMMON and s != "--help"]
        for opt in own:
            assert opt in entry, f"'o2c {name} {opt}' is not documented"
        if not a.option_strings and a.choices:  # a fixed word after the command: `o2c audit verify`
            for word in a.choices:
                assert f"o2c {name} {word}" in section("Command line"), f"'o2c {name} {word}' is not documented"


def test_the_common_options_are_documented_and_no_command_is_made_up():
    (common,) = re.findall(r"^Common options.*?(?:\n\n|\Z)", section("Command line"), re.S | re.M)
    for opt in COMMON:
        assert f"`{opt}" in common, f"the common option {opt} is not in the README's 'Common options'"
    made_up = set(entries()) - set(subcommands())
    assert not made_up, f"the README lists commands o2c does not have: {sorted(made_up)}"


# -------------------------------------------------------------------------------- the extract


@pytest.mark.parametrize("table", list(TABLES))
def test_every_table_and_column_of_an_extract_is_documented(table):
    by_table = {c.strip("`* ").split(" ")[0].strip("`*"): line for c, line in rows(section("Loading your own extract")).items() if c}
    row = by_table.get(table)
    assert row, f"table {table} is not in the README's table of an extract"
    for col in TABLES[table].columns:
        assert f"`{col.name}`" in row, f"column {table}.{col.name} is not documented"


# ------------------------------------------------------------------------------------- figures


def registry() -> dict:
    """The KPI registry as the module exposes it now: key -> words, or key -> (label, words)."""
    return dict(kpis.FORMULAS)


def label_of(entry) -> str | None:
    if isinstance(entry, dict):
        return entry.get("label")
    return getattr(entry, "label", None)


def figure_rows() -> dict[str, list[str]]:
    """The figures table: each key named in a row's first cell -> that row's cells."""
    out = {}
    for line in section("What each figure means").splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for key in re.findall(r"`(\w+)`", cells[0]):
                out[key] = cells
    return out


@pytest.mark.parametrize("key", list(registry()))
def test_every_kpi_of_the_registry_is_explained(key):
    label = label_of(registry()[key])
    labels = {cells[1] for cells in figure_rows().values()}
    assert key in figure_rows() or label in labels, f"KPI {key} ({label}) has no row in 'What each figure means'"


def test_every_key_of_the_headline_json_is_explained(ledger):
    h = ledger(MIXED).headline()
    rows = figure_rows()
    assert not sorted(set(h) - set(rows)), f"keys of `o2c kpis --json` without a row: {sorted(set(h) - set(rows))}"
    for part in ("by_segment", "aging"):
        inner = h[part][0] if isinstance(h[part], list) else h[part]
        missing = sorted(k for k in inner if f"`{k}`" not in rows[part][2])
        assert not missing, f"keys of {part} not explained in its row: {missing}"


# ------------------------------------------------------------------------- what the README points at


def test_links_and_paths_in_the_readme_exist_in_the_repository():
    links = re.findall(r"\]\(([^)#\s]+)\)", README)
    # the code's own files (data/... is the data folder a user has, not a file of the repository)
    paths = re.findall(r"`((?:dashboard|pages|queries|bench|scripts|tests)/[^`\s]*)`", README)
    assert links and paths
    for target in links:
        if re.match(r"\w+://", target):
            continue
        found = (REPO / target).resolve()
        assert found.is_relative_to(REPO) and found.exists(), f"the README points at {target}, which is not in the repository"
    for p in paths:
        assert list(REPO.glob(p.rstrip("/"))), f"the README names {p}, which is not in the repository"


def test_the_readme_sends_nobody_to_documents_they_do_not_have():
    assert "../shared" not in README
    for doc in set(re.findall(r"[\w.-]+\.md\b", README)):
        assert doc == "README.md" or list(REPO.rglob(doc)), f"the README refers to {doc}, which a user does not have"


def test_the_data_path_names_every_part_of_the_core():
    text = section("How the data flows")
    parts = sorted(p.parent.name for p in (REPO / "dashboard").glob("*/__init__.py"))
    assert parts, "no subpackages in dashboard/"
    for name in parts:
        assert f"dashboard/{name}/" in text, f"dashboard/{name}/ is missing from the data path"
    for other in ("queries/", "pages/", "o2c"):
        assert other in text


def test_the_two_commands_are_there():
    two = section("Two commands (fresh clone, only Python 3.11+ needed)")
    for script in ("serve", "test"):
        assert f"bash scripts/{script}" in two
        f = REPO / "scripts" / script
        assert f.is_file() and f.stat().st_mode & 0o111, f"scripts/{script} is missing or not executable"
    assert "scripts/test" in (REPO / ".ci" / "run").read_text()
    assert "o2c serve" in (REPO / "scripts" / "serve").read_text()


def test_the_readme_scenario_runs_as_written(tmp_path, capsys):
    (example,) = re.findall(r"```json\n(.*?)```", section("Command line"), re.S)
    scenario = tmp_path / "scenario.json"
    scenario.write_text(example)
    data = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", MIXED)], DataDir(data), Settings()).ok
    assert main(["whatif", "--scenario", str(scenario), "--json", "--data", str(data)]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "baseline",
        "scenario",
        "delta_ar",
        "projected_dso",
        "cash_released",
        "discount_cost_per_year",
        "financing_effect_per_year",
        "net_effect_per_year",
        "by_segment",
    ):
        assert key in out and f"`{key}`" in section("Command line"), key
