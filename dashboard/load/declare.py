"""Formats an analyst declares when a file's own values cannot decide them (the Data page's choice).

A check refused because nothing in a column decides its number format (`1.500`: 1.5 or 1,500), or nothing in
a file decides the order of its dates (every day is 12 or less), lists each such column (and each such file's
dates) in the report's facts, `undecided` (layouts.py). `questions(report)` turns them into the choices the
Data page shows, each with two of the file's own values and what each reading makes of them. The analyst's
answers are a `Declared`, given to `ingest(declared=...)`: they hold for that check and that load only (the
load records them in the audit trail, with its intent and its outcome, and in its report), unless they are
kept in the layout used (`save_to_layout`, recorded too), so that the next export of that system loads
without asking. A declared format is not a guess taken on trust: every value must still read with it, and
one that does not is refused on its row.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dashboard.load import formats
from dashboard.load.layouts import BUILTIN_DIR, Layout, LayoutError, parse_layout
from dashboard.load.layouts import resolve as resolve_layout
from dashboard.load.report import Report, short
from dashboard.store.snapshots import DataDir
from dashboard.workbench.identity import User, local_user, require

Kind = Literal["number", "date"]
NUMBER_WORDS = {"en": "point decimal", "de": "comma decimal", "ch": "point decimal, apostrophe thousands", "fr": "comma decimal, space thousands"}


@dataclass(frozen=True)
class Declaration:
    """How one column's numbers (or one file's dates) are written, as the analyst declared it."""

    file: str  # the file's name as the report names it (its kept name)
    kind: Kind
    heading: str | None  # a number column's heading in the export; None for dates (one order for the whole file)
    choice: str  # a number format ('en') or an order of day, month and year ('DMY')
    instead_of: str | None = None  # the reading it rules out ('de', 'MDY'): what keeping it in the layout removes
    layout: str | None = None  # the layout that read the file

    def words(self) -> str:
        """ "'Amount' in x.csv read as 1,234.56 (point decimal)"; "the dates of x.csv read day first"."""
        if self.kind == "number":
            return f"'{short(self.heading, 40)}' in {self.file} read as {number_label(self.choice)}"
        return f"the dates of {self.file} read {formats.ORDER_WORDS.get(self.choice, self.choice)}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "heading": self.heading, "format": self.choice, "instead_of": self.instead_of, "layout": self.layout}


@dataclass(frozen=True)
class Declared:
    """The formats declared for one check and load."""

    items: tuple[Declaration, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.items)

    def numbers(self, file: str) -> dict[str, str]:
        """heading -> number format declared for the columns of `file`."""
        return {d.heading: d.choice for d in self.items if d.file == file and d.kind == "number" and d.heading is not None}

    def order(self, file: str) -> str | None:
        """The order of day, month and year declared for the dates of `file`."""
        return next((d.choice for d in self.items if d.file == file and d.kind == "date"), None)

    def merged(self, other: Declared) -> Declared:
        """These declarations and `other`'s; `other`'s win for the same column."""
        key = lambda d: (d.file, d.kind, d.heading)  # noqa: E731
        mine = {key(d): d for d in self.items}
        mine.update({key(d): d for d in other.items})
        return Declared(tuple(mine.values()))

    def words(self) -> str:
        return "; ".join(d.words() for d in self.items)

    def to_json(self) -> list[dict[str, Any]]:
        return [d.to_json() for d in self.items]

    @staticmethod
    def from_json(items: list[dict[str, Any]] | None) -> Declared:
        return Declared(
            tuple(Declaration(str(i["file"]), i["kind"], i.get("heading"), str(i["format"]), i.get("instead_of"), i.get("layout")) for i in items or [])
        )


def number_label(fmt: str) -> str:
    """'1,234.56 (point decimal)'."""
    return f"{formats.NUMBER_EXAMPLES[fmt]} ({NUMBER_WORDS[fmt]})"


@dataclass(frozen=True)
class Option:
    value: str  # 'en', 'DMY'
    label: str  # "1,234.56 (point decimal): '1.500' is 1.5, '2.250' is 2.25"


@dataclass(frozen=True)
class Question:
    """One choice the analyst is asked to make: how a column's numbers (or a file's dates) are written."""

    file: str
    kind: Kind
    heading: str | None
    headings: tuple[str, ...]  # the columns it decides (a file's date columns)
    layout: str
    options: tuple[Option, Option]

    @property
    def key(self) -> str:
        """Stable across reruns and checks of the same files (a widget's key)."""
        return f"{self.kind}|{self.file}|{self.heading or ''}"

    @property
    def prompt(self) -> str:
        if self.kind == "number":
            return f"How does {self.file} write the numbers of '{short(self.heading, 40)}'?"
        cols = ", ".join(f"'{short(h, 40)}'" for h in self.headings)
        return f"In which order does {self.file} write its dates ({cols})?"

    def declare(self, value: str) -> Declaration:
        other = next(o.value for o in self.options if o.value != value)
        return Declaration(self.file, self.kind, self.heading, value, other, self.layout)


def questions(report: Report) -> list[Question]:
    """What a refused check asks the analyst to declare (the report's facts, `undecided`), one question per column
    (per file for dates), each option with two of the file's own values and what that reading makes of them."""
    out = []
    for u in report.facts.get("undecided", []):
        a, b = u["choices"]
        examples = u["examples"][:2]
        options = tuple(Option(c, _label(u["kind"], c, u["written"][c], examples)) for c in (a, b))
        out.append(Question(u["file"], u["kind"], u["heading"], tuple(u["headings"]), u["layout"], (options[0], options[1])))
    return out


def _label(kind: str, choice: str, written: str, examples: list[dict[str, Any]]) -> str:
    """'1,234.56 (point decimal): '1.500' is 1.5'; 'day first (DD/MM/YYYY): '03/02/2026' is 3 February 2026'."""
    said = [f"'{short(e['value'], 40)}' {'is ' + e['reads'][choice] if e['reads'].get(choice) else 'cannot be read'}" for e in examples]
    head = number_label(choice) if kind == "number" else f"{formats.ORDER_WORDS.get(choice, choice)} ({written})"
    return f"{head}: {', '.join(said)}"


# ----------------------------------------------------------------------------- keeping a declaration in the layout


def save_to_layout(data: DataDir, declared: Declared, user: User | None = None) -> list[Path]:
    """Keep the declared formats in the layouts that read the files: each layout's `number_formats` loses the
    readings ruled out, its `date_formats` the formats of the order ruled out. A built-in layout is copied into
    the data folder's layouts/ first (where it replaces the built-in one by name, as the README says); the
    files changed. Each layout is changed in one transaction with its entry in the audit trail (`layout.saved`).

    LayoutError when a layout cannot hold the declarations (two columns of one layout declared in different
    formats: a layout has one list for all its columns).
    """
    actor = user or local_user()
    require(actor, "credit_analyst", "change a layout")
    changed = []
    for name in dict.fromkeys(d.layout for d in declared.items if d.layout):
        assert name is not None
        lay = resolve_layout(name, data.root)
        mine = [d for d in declared.items if d.layout == name]
        changed.append(_save(data, lay, mine, actor))
    return changed


def _save(data: DataDir, lay: Layout, mine: list[Declaration], actor: User) -> Path:
    from dashboard.workbench import audit

    numbers = [d for d in mine if d.kind == "number"]
    dates = [d for d in mine if d.kind == "date"]
    chosen = {d.choice for d in numbers}
    if len(chosen) > 1:
        raise LayoutError(
            f"the layout '{lay.name}' has one list of number formats for all its columns, and its columns were declared as "
            f"{' and '.join(number_label(c) for c in sorted(chosen))}: the formats were used for this load only"
        )
    orders = {d.choice for d in dates}
    if len(orders) > 1:
        raise LayoutError(f"the layout '{lay.name}' reads files whose dates were declared in different orders: the orders were used for this load only")
    drop_n = {d.instead_of for d in numbers} - chosen
    drop_o = {d.instead_of for d in dates} - orders
    number_formats = [f for f in lay.number_formats if f not in drop_n]
    date_formats = [f for f in lay.date_formats if formats.date_order(f) not in drop_o]
    builtin = lay.path.parent == BUILTIN_DIR
    target = data.root / "layouts" / lay.path.name if builtin else lay.path
    if builtin and target.exists():
        other = parse_layout(target)
        if other.name != lay.name:
            raise LayoutError(f"the data folder's layouts/{target.name} holds the layout '{other.name}', not '{lay.name}': rename one of them")
    text = lay.path.read_text(encoding="utf-8")
    if numbers:
        text = _set_key(text, "number_formats", number_formats)
    if dates:
        text = _set_key(text, "date_formats", date_formats)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.saving")
    tmp.write_text(text, encoding="utf-8")
    try:
        saved = parse_layout(tmp)
        if (list(saved.number_formats), list(saved.date_formats)) != (
            number_formats if numbers else list(lay.number_formats),
            date_formats if dates else list(lay.date_formats),
        ):
            raise LayoutError(f"the layout file {lay.path.name} could not be changed line by line: set number_formats / date_formats there by hand")
        details = {
            "layout": lay.name,
            "file": f"layouts/{target.name}",
            "copied_from_builtin": builtin,
            "number_formats": list(saved.number_formats),
            "date_formats": list(saved.date_formats),
            "was": {"number_formats": list(lay.number_formats), "date_formats": list(lay.date_formats)},
            "declared": [d.to_json() for d in mine],
        }
        with data.trail().begin() as conn:  # the entry and the file together: the file is replaced only if the entry is written
            audit.append(conn, actor, "layout.saved", "layout", lay.name, None, details)
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _set_key(text: str, key: str, values: list[str]) -> str:
    """The layout's text with the top-level `key = [...]` set to `values` (comments and the rest kept as they are)."""
    line = f"{key} = [{', '.join(_toml_string(v) for v in values)}]"
    lines = text.splitlines()
    top = next((i for i, x in enumerate(lines) if x.lstrip().startswith("[")), len(lines))
    for i in range(top):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            end = i
            if "[" in lines[i] and "]" not in lines[i].split("#")[0]:  # an array over several lines
                end = next((j for j in range(i + 1, top) if "]" in lines[j]), i)
            return "\n".join([*lines[:i], line, *lines[end + 1 :]]) + "\n"
    at = next((i + 1 for i in range(top) if re.match(r"\s*name\s*=", lines[i])), 0)
    return "\n".join([*lines[:at], line, *lines[at:]]) + "\n"


def _toml_string(v: str) -> str:
    out = tomllib.loads(f"v = {_quoted(v)}")["v"]
    assert out == v
    return _quoted(v)


def _quoted(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
