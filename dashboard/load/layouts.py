"""Layouts: how a system's export maps onto the ledger contract, as data.

A layout is one small TOML file (built in: `dashboard/load/layouts/`; a team's own: `<data dir>/layouts/`).
It names, for each contract column of the tables it maps, the headings it may have in the export (synonyms,
first found wins), the date and number formats the export may use (formats.py decides which one a file uses,
from evidence, or refuses it), constants, derived columns (an expression over the export's headings, checked
to read nothing but them: see `check_derived`), which rows to skip (total and blank rows), and which of
the contract's tables it maps: any of them, one (a payments-only register) or several from one file.

A file takes from a layout the tables whose required columns it has; a layout fits a file when the file has
one of them (a `unique` table, such as the customers taken from an invoice file, only comes along). So an
extract can combine files of several layouts, and contract-format files, each detected by its own headings.
See the README, "Layouts".
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from dashboard.load import formats
from dashboard.load.contract import TABLES
from dashboard.load.read import EXCEL_DATE_CELL
from dashboard.load.report import Report, names, short

BUILTIN_DIR = Path(__file__).resolve().parent / "layouts"
NUMBER_FORMATS = formats.NUMBER_FORMATS

# What a derived column may call: the export's own headings, constants, CASE, COALESCE, CAST, comparisons, and
# these scalar functions (text, dates, arithmetic). Nothing that reads a file, a setting, the clock or a table.
DERIVED_FUNCTIONS = frozenset(
    # operators: arithmetic, text concatenation, LIKE / ILIKE / GLOB
    "+ - * / // % ^ ** || ~~ !~~ ~~* !~~* ~~~ "
    # text
    "upper lower ucase lcase trim ltrim rtrim substr substring left right length concat concat_ws replace "
    "regexp_replace regexp_extract regexp_matches regexp_full_match starts_with ends_with contains strpos instr "
    "position lpad rpad split_part reverse prefix suffix "
    # dates
    "strptime try_strptime strftime date_part datepart year month day make_date date_trunc datetrunc last_day "
    "date_diff datediff date_add to_days to_months to_years "
    # numbers and conditions
    "abs round floor ceil ceiling trunc sign greatest least nullif if".split()
)
DERIVED_OPERATORS = frozenset("OPERATOR_NOT OPERATOR_IS_NULL OPERATOR_IS_NOT_NULL COMPARE_IN COMPARE_NOT_IN OPERATOR_COALESCE OPERATOR_NULLIF".split())
DERIVED_CLASSES = frozenset("COLUMN_REF CONSTANT FUNCTION OPERATOR CASE CAST COMPARISON CONJUNCTION BETWEEN TYPE".split())
# How an undecided format is declared besides the layout: the Data page asks after the check (declare.py).
ON_THE_PAGE = "; or declare it on the Data page, which asks after the check (for that load, or kept in the layout)"
# A row without its key is not data (totals, subtotals, blank separators): the words for the warning.
KEY_WORDS = {"invoice_id": "a document number", "payment_id": "a payment number", "customer_id": "a customer number", "order_id": "an order number"}


class LayoutError(ValueError):
    pass


@dataclass(frozen=True)
class Derived:
    expr: str  # an SQL expression over the export's headings (DuckDB's dialect), checked by check_derived
    headings: tuple[str, ...]  # the headings it reads


@dataclass(frozen=True)
class TableMap:
    columns: dict[str, list[str]]  # contract column -> export headings (synonyms)
    constants: dict[str, str] = field(default_factory=dict)
    derived: dict[str, Derived] = field(default_factory=dict)  # contract column -> expression over headings
    unique: str | None = None  # keep the first row per value of this contract column


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    path: Path
    generic: bool = False
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    number_formats: tuple[str, ...] = ("en",)
    skip_rows_without: str | None = None
    skip_rows_matching: dict[str, str] = field(default_factory=dict)  # heading -> regex of rows to drop
    tables: dict[str, TableMap] = field(default_factory=dict)

    @property
    def primary(self) -> list[str]:
        """The tables a file is detected by (a `unique` table only comes along with them)."""
        return [t for t, tm in self.tables.items() if not tm.unique] or list(self.tables)

    def lacks(self, header: list[str], table: str) -> list[str]:
        """The required columns of `table` this header cannot give, as 'column (one of: ...)'."""
        have = {h.strip().lower() for h in header}
        tm, out = self.tables[table], []
        for c in TABLES[table].required_columns:
            if c in tm.derived:
                gone = [h for h in tm.derived[c].headings if h.lower() not in have]
                if gone:
                    out.append(f"{c} (computed from: {', '.join(gone)})")
            elif c not in tm.constants and not any(h.strip().lower() in have for h in tm.columns.get(c, [])):
                out.append(f"{c} (one of: {', '.join(tm.columns.get(c, [])) or 'no heading named in the layout'})")
        return out

    def holds(self, header: list[str]) -> list[str]:
        """The tables of this layout a file with this header holds: those whose every required column it has."""
        return [t for t in self.tables if not self.lacks(header, t)]

    def fits(self, header: list[str], table: str = "invoices") -> bool:
        """`table`: what a file of the generic layout would hold (from its name)."""
        if self.generic:
            return not self.missing(header, table)
        return any(t in self.primary for t in self.holds(header))

    def missing(self, header: list[str], table: str = "invoices") -> list[str]:
        """What this header lacks for the layout (its detected-by tables: '<table>: ' before each when several)."""
        if self.generic:
            have = {h.strip().lower() for h in header}
            return [c for c in TABLES[table].required_columns if c not in have]
        several = len(self.primary) > 1
        return [f"{t}: {m}" if several else m for t in self.primary for m in self.lacks(header, t)]


def check_derived(expr: str, where: str) -> tuple[str, ...]:
    """The headings a derived expression reads; LayoutError when it is anything but one scalar expression over
    headings, constants and DERIVED_FUNCTIONS (a subquery, a table function such as read_csv, a file, a setting)."""
    with _connection() as con:  # only parsed (DuckDB's own parser, its tree as JSON), never run here
        tree = json.loads(con.execute("select json_serialize_sql('SELECT ' || $e)", {"e": str(expr)}).fetchall()[0][0])
    one = f"{where}: '{short(expr)}' must be one expression over the export's headings (no FROM, WHERE, ';' or a second column)"
    if tree.get("error"):
        if "Only SELECT" in str(tree.get("error_message")):  # a second statement that is not a query (COPY, SET, ...)
            raise LayoutError(one)
        raise LayoutError(f"{where}: '{short(expr)}' is not an expression a layout can use: {tree.get('error_message', 'it cannot be read')}")
    stmts = tree.get("statements", [])
    node = stmts[0].get("node", {}) if len(stmts) == 1 else {}
    extra = [k for k in ("where_clause", "having", "qualify", "sample") if node.get(k)] + [k for k in ("group_expressions", "modifiers") if node.get(k)]
    if (
        len(stmts) != 1
        or node.get("type") != "SELECT_NODE"
        or node.get("from_table", {}).get("type") != "EMPTY"
        or node.get("cte_map", {}).get("map")
        or extra
        or len(node.get("select_list", [])) != 1
    ):
        raise LayoutError(one)
    headings: list[str] = []
    _walk(node["select_list"][0], where, headings)
    return tuple(dict.fromkeys(headings))


def _connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can open no file, load no extension and change no setting of its own."""
    return duckdb.connect(config={"enable_external_access": False, "autoload_known_extensions": False, "autoinstall_known_extensions": False})


def _walk(n: object, where: str, headings: list[str]) -> None:
    if isinstance(n, list):
        for x in n:
            _walk(x, where, headings)
        return
    if not isinstance(n, dict):
        return
    cls, typ = n.get("class"), n.get("type")
    allowed = f"the export's headings, constants, CASE, COALESCE, CAST and {', '.join(sorted(f for f in DERIVED_FUNCTIONS if f.isalpha() or '_' in f))}"
    if cls is not None:
        if cls not in DERIVED_CLASSES or (cls == "OPERATOR" and typ not in DERIVED_OPERATORS):
            what = {"SUBQUERY": "a subquery", "WINDOW": "a window function", "STAR": "'*'", "PARAMETER": "a parameter", "LAMBDA": "a lambda"}.get(
                cls, cls.lower()
            )
            raise LayoutError(f"{where}: uses {what}, which a derived column may not; it may use {allowed}")
        if cls == "FUNCTION":
            fn = ".".join(str(x) for x in (n.get("catalog"), n.get("schema"), str(n.get("function_name", "")).lower()) if x)
            if fn not in DERIVED_FUNCTIONS or n.get("distinct") or n.get("filter") or n.get("order_bys", {}).get("orders"):
                raise LayoutError(f"{where}: calls {fn}(), which a derived column may not; it may use {allowed}")
        if cls == "COLUMN_REF":
            parts = n.get("column_names", [])
            if len(parts) != 1:
                raise LayoutError(f"{where}: '{'.'.join(parts)}' names a table; a derived column reads the export's own headings only")
            headings.append(parts[0])
    for k, v in n.items():
        if k not in ("query_location", "query_location_length"):
            _walk(v, where, headings)


def parse_layout(path: Path) -> Layout:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LayoutError(f"layout file {path}: {exc}") from None
    where = f"layout file {path}"
    if "name" not in raw:
        raise LayoutError(f"{where}: needs a 'name'")
    where = f"layout '{raw['name']}' ({path})"
    number_formats = [raw["number_formats"]] if isinstance(raw.get("number_formats"), str) else list(raw.get("number_formats", ["en"]))
    for nf in number_formats:
        if nf not in NUMBER_FORMATS:
            raise LayoutError(f"{where}: number format '{nf}' is not one of {', '.join(NUMBER_FORMATS)}")
    date_formats = [raw["date_formats"]] if isinstance(raw.get("date_formats"), str) else list(raw.get("date_formats", ["%Y-%m-%d"]))
    for df in date_formats:
        if sorted(formats.date_order(str(df))) != ["D", "M", "Y"]:
            raise LayoutError(f"{where}: date format '{df}' needs a day, a month and a year (e.g. %d.%m.%Y)")
    tables = {}
    for tname, spec in raw.get("tables", {}).items():
        if tname not in TABLES:
            raise LayoutError(f"{where}: [tables.{tname}] is not a table of the contract ({', '.join(TABLES)})")
        known = {c.name for c in TABLES[tname].columns}
        cols = {k: [v] if isinstance(v, str) else list(v) for k, v in spec.get("columns", {}).items()}
        for k in [*cols, *spec.get("constants", {}), *spec.get("derived", {})]:
            if k not in known:
                raise LayoutError(f"{where}: '{k}' in [tables.{tname}] is not a column of the {tname} table ({', '.join(sorted(known))})")
        derived = {k: Derived(str(e), check_derived(str(e), f"{where}, [tables.{tname}.derived] {k}")) for k, e in spec.get("derived", {}).items()}
        unique = spec.get("unique")
        if unique is not None and unique not in known:
            raise LayoutError(f"{where}: unique = '{unique}' in [tables.{tname}] is not a column of the {tname} table")
        tables[tname] = TableMap(cols, {k: str(v) for k, v in spec.get("constants", {}).items()}, derived, unique)
    if not raw.get("generic") and not tables:
        raise LayoutError(f"{where}: maps no table; add a section such as [tables.invoices.columns] or [tables.payments.columns]")
    return Layout(
        name=raw["name"],
        description=raw.get("description", ""),
        path=Path(path),
        generic=bool(raw.get("generic")),
        date_formats=tuple(date_formats),
        number_formats=tuple(number_formats),
        skip_rows_without=raw.get("skip_rows_without"),
        skip_rows_matching=dict(raw.get("skip_rows_matching", {})),
        tables=tables,
    )


def available(data_root: Path | None = None) -> dict[str, Layout]:
    """Built-in layouts, then the team's own (a team layout may replace a built-in one by name)."""
    out: dict[str, Layout] = {}
    dirs = [BUILTIN_DIR] + ([Path(data_root) / "layouts"] if data_root else [])
    for d in dirs:
        for p in sorted(d.glob("*.toml")) if d.exists() else []:
            lay = parse_layout(p)
            out[lay.name] = lay
    return out


def resolve(name_or_file: str, data_root: Path | None = None) -> Layout:
    p = Path(name_or_file)
    if p.suffix == ".toml" and p.exists():
        return parse_layout(p)
    lays = available(data_root)
    if name_or_file not in lays:
        raise LayoutError(f"unknown layout '{name_or_file}': the layouts available are {', '.join(lays)} (or give a .toml file)")
    return lays[name_or_file]


def detect(header: list[str], file: str, data_root: Path | None = None, table: str = "invoices") -> Layout:
    """The one layout this header fits (it has every column of one of the layout's tables); else say what was expected.
    `table`: the table a file of the generic layout would hold (from its name)."""
    lays = available(data_root)
    fits = [lay for lay in lays.values() if lay.fits(header, table)]
    specific = [lay for lay in fits if not lay.generic]
    if len(specific) == 1:
        return specific[0]
    if len(specific) > 1:
        raise LayoutError(f"{file}: the header fits several layouts ({', '.join(x.name for x in specific)}); choose one with --layout")
    if fits:
        return fits[0]
    lines = [f"{file}: no layout fits its header. Found columns: {names([h.strip() for h in header])}."]
    for lay in lays.values():
        lines.append(f"  {lay.name}: missing {'; '.join(lay.missing(header, table))}")
    lines.append("Name the layout with --layout, or add a layout file to the data folder's layouts/ (see the README).")
    raise LayoutError("\n".join(lines))


def _find(raw_cols: list[str], headings: list[str]) -> str | None:
    lower = {c.strip().lower(): c for c in raw_cols}
    return next((lower[h.strip().lower()] for h in headings if h.strip().lower() in lower), None)


# ----------------------------------------------------------------------------- reading a file with a layout


@dataclass(frozen=True)
class ColumnNote:
    """Where a contract column of a file came from, for the report: the export's heading, how its values are written."""

    heading: str | None  # the export's heading (a derived column: the headings it reads); None: the layout's constant
    hint: str | None = None  # the words for a value that does not read, in the export's own format
    decided: bool = True  # False: how the column is written could not be decided (reported once): no value is judged


@dataclass
class Part:
    """One contract table taken from a file: its values (contract column names, the file's `_row` kept) and, when a
    layout took it from an ERP export, where each column came from (None: a file in the contract's own format)."""

    frame: pl.DataFrame | pl.LazyFrame
    notes: dict[str, ColumnNote] | None = None


def read_tables(
    layout: Layout,
    raw: pl.DataFrame,
    file: str,
    report: Report,
    offset: int,
    numbers: dict[str, str] | None = None,
    order: str | None = None,
) -> dict[str, Part]:
    """The contract tables this file holds under `layout`, values in contract form as text (ISO dates, plain numbers).

    `raw` has the export's headings and a `_row` index; `offset` turns it into the row the analyst sees. A value
    that does not read is left as it was, so parse.py names its row, column and the analyst's own text; a column
    whose format cannot be decided is reported here, once, and left out of the row-by-row judgement (and listed in
    the report's facts, `undecided`, for the Data page to offer the choice: declare.py).

    numbers, order: what the analyst declared for this file and this load only (declare.py): heading -> number
    format, and the order of day, month and year of its dates ('DMY'); a declared column is read with that format.
    """
    header = [c for c in raw.columns if c != "_row"]
    held = layout.holds(header)
    if not any(t in layout.primary for t in held):
        report.add(
            "error",
            file,
            "missing column",
            f"the layout '{layout.name}' reads {' or '.join(layout.primary)} from a file like this one, and this file lacks "
            f"{'; '.join(layout.missing(header))}; found: {names(header)}",
        )
        return {}
    maps = {t: _sources(layout, t, header) for t in held}
    used = sorted({h for m in maps.values() for s in m.values() for h in s.reads})
    broken = [(h, w) for h in used if (w := formats.unusable_cells(raw.schema[h]))]
    for h, w in broken:
        report.add("error", file, "unreadable column", f"the column holds {w}, not one value per cell: export it with plain values", heading=h)
    if broken:
        return {}
    cells = raw.select("_row", *used)
    failed = _derive(cells, layout, maps, file, report, offset)
    cells = _skip_rows(cells, layout, maps, file, report)
    text = {s.label: s for m in maps.values() for s in m.values() if s.label not in failed and cells.schema[s.label] == pl.Utf8}
    kinds = {s.label: TABLES[t].column(c).type for t, m in maps.items() for c, s in m.items()}
    # label -> its values in contract form, their note, and the amounts' currency markers (the text where one is written)
    unreads: dict[str, pl.Series] = {}
    read: dict[str, tuple[pl.Series, ColumnNote, pl.Series | None]] = _dates(
        cells, layout, {k: s for k, s in text.items() if kinds[k] == "date"}, file, report, offset, order, unreads
    )
    for k, s in text.items():
        if kinds[k] in ("decimal", "int"):
            read[k] = _numbers(cells, layout, s, file, report, offset, (numbers or {}).get(s.heading or s.label))
    out: dict[str, Part] = {}
    for t, m in maps.items():
        cols: list[pl.Series] = [cells["_row"]]
        notes: dict[str, ColumnNote] = {}
        for c, s in m.items():
            series, notes[c], marks = read.get(s.label) or (cells[s.label], ColumnNote(s.heading, decided=s.label not in failed), None)
            cols.append(series.alias(c))
            if marks is not None:
                cols.append(marks.alias(f"_marker_{c}"))
            if s.label in unreads:
                cols.append(unreads[s.label].alias(f"_unread_{c}"))
        df = pl.DataFrame(cols)
        tm = layout.tables[t]
        if tm.unique and tm.unique in df.columns:
            df = df.filter(pl.col(tm.unique).is_not_null()).unique(tm.unique, keep="first", maintain_order=True)
        out[t] = Part(df, notes)
    return out


@dataclass(frozen=True)
class _Source:
    """Where one contract column's values come from in the file."""

    label: str  # the column of `cells` that holds its values: the heading, shared by the tables one heading feeds
    column: str  # the contract column it gives
    heading: str | None  # as the report names it
    reads: tuple[str, ...] = ()  # the file's headings it reads
    expr: str | None = None  # a derived column's expression
    constant: str | None = None


def _sources(layout: Layout, table: str, header: list[str]) -> dict[str, _Source]:
    tm, out = layout.tables[table], {}
    for c, headings in tm.columns.items():
        if (h := _find(header, headings)) is not None:
            out[c] = _Source(h, c, h, (h,))
    for c, v in tm.constants.items():
        out[c] = _Source(f"constant:{table}.{c}", c, None, constant=v)
    for c, d in tm.derived.items():
        found = [_find(header, [h]) for h in d.headings]
        if all(found):  # like a heading the file does not have: the column is absent
            out[c] = _Source(f"derived:{table}.{c}", c, ", ".join(d.headings) or None, tuple(f for f in found if f), d.expr)
    return out


def _derive(cells: pl.DataFrame, layout: Layout, maps: dict[str, dict[str, _Source]], file: str, report: Report, offset: int) -> set[str]:
    """Add the constants and the derived columns to `cells` (in place); the labels of those that failed on this file.

    Each expression was checked when the layout was read (check_derived); it runs on a DuckDB connection that
    can open no file either, over the headings it reads, renamed as the expression spells them.
    """
    failed: set[str] = set()
    for t, m in maps.items():
        for c, s in m.items():
            if s.constant is not None:
                cells.insert_column(cells.width, pl.repeat(s.constant, cells.height, dtype=pl.Utf8, eager=True).alias(s.label))
            if s.expr is None:
                continue
            d = layout.tables[t].derived[c]
            con = _connection()
            try:
                con.register("export", cells.select("_row", *[pl.col(actual).alias(h) for h, actual in zip(d.headings, s.reads)]))
                got = con.sql(f'SELECT ({d.expr}\n) AS "v" FROM export ORDER BY _row').pl()["v"]
            except duckdb.Error as exc:
                failed.add(s.label)
                m_ = re.search(r"[Cc]ould not convert string '(.*?)' to (\w+)", str(exc))
                why = f"the value '{short(m_.group(1))}' cannot be converted to {m_.group(2)}" if m_ else "it cannot be computed for every row"
                report.add(
                    "error",
                    file,
                    "layout cannot compute",
                    f"the layout '{layout.name}' computes {c} as {short(d.expr)}, and on this file {why}: use TRY_CAST or "
                    "try_strptime, so that a value that does not convert stays empty and is named on its row",
                    column=c,
                    heading=s.heading,
                )
                got = pl.repeat(None, cells.height, dtype=pl.Utf8, eager=True)
            finally:
                con.close()
            cells.insert_column(cells.width, got.alias(s.label))
    return failed


def _skip_rows(cells: pl.DataFrame, layout: Layout, maps: dict[str, dict[str, _Source]], file: str, report: Report) -> pl.DataFrame:
    """The rows that are data: those with a value in `skip_rows_without` (totals, subtotals and blank separators
    have none) and not matching `skip_rows_matching`; the others skipped, for every table of the file at once."""
    keep = pl.lit(True)
    key = layout.skip_rows_without
    src = next((m[key] for m in maps.values() if key in m), None) if key else None
    if src is not None:
        keep = keep & (pl.col(src.label).cast(pl.Utf8).str.strip_chars().fill_null("") != "")
    for heading, pattern in layout.skip_rows_matching.items():
        if (h := _find([c for c in cells.columns if c != "_row"], [heading])) is not None:
            keep = keep & ~pl.col(h).cast(pl.Utf8).fill_null("").str.contains(pattern)
    kept = cells.filter(keep)
    if kept.height < cells.height:
        what = KEY_WORDS.get(key or "", f"a value in {key}") if src is not None else "what the layout skips"
        report.add("warning", file, "rows skipped", f"{cells.height - kept.height:,} row(s) without {what} (totals, subtotals or blank lines) were skipped")
    return kept


def _texts(cells: pl.DataFrame, s: _Source) -> pl.DataFrame:
    """`_row` and `v`: the source's non-empty values, as text."""
    v = pl.col(s.label).cast(pl.Utf8).str.strip_chars()
    return cells.select("_row", v.alias("v")).filter(pl.col("v").is_not_null() & (pl.col("v") != ""))


def _dates(
    cells: pl.DataFrame,
    layout: Layout,
    dates: dict[str, _Source],
    file: str,
    report: Report,
    offset: int,
    declared: str | None = None,
    unreads: dict[str, pl.Series] | None = None,
) -> dict[str, tuple[pl.Series, ColumnNote, pl.Series | None]]:
    """The date columns of the file read with one order of day, month and year (formats.py), as ISO text;
    `declared`: the order the analyst declared for this file (one of the layout's), which is then the only one."""
    if not dates:
        return {}
    unreads = {} if unreads is None else unreads  # label -> the rows whose text the formats do not read (filled here)
    orders: dict[str, list[str]] = {}
    for f in layout.date_formats:
        orders.setdefault(formats.date_order(f), []).append(f)
    if declared in orders:
        orders = {declared: orders[declared]}
    texts = {s.heading or k: _texts(cells, s) for k, s in dates.items()}
    dec = formats.decide(texts, list(orders), lambda v, o: formats.read_dates(v, orders[o]))
    out: dict[str, tuple[pl.Series, ColumnNote, pl.Series | None]] = {}
    if dec.choice is None:
        _unclear_dates(dec, orders, layout, {s.heading or k: s.column for k, s in dates.items()}, file, report, offset)
        return {k: (cells[s.label], ColumnNote(s.heading, decided=False), None) for k, s in dates.items()}
    fmts = orders[dec.choice]
    for k, s in dates.items():
        v = cells[s.label].cast(pl.Utf8)
        read = formats.read_dates(v, fmts)
        shown = texts[s.heading or k]
        best = max(fmts, key=lambda f: shown["v"].str.to_date(f, strict=False).is_not_null().sum())
        iso = pl.select(pl.when(read.is_not_null()).then(read.dt.to_string("%Y-%m-%d")).otherwise(v)).to_series()
        # A text the formats do not read is refused at its cell, even one parse.py would read as ISO ("2026-02-03"
        # typed into a dd.mm.yyyy export); a workbook's date cell (read.EXCEL_DATE_CELL) is a date whatever the formats.
        text = v.str.strip_chars()
        unread = pl.select((text.is_not_null() & (text != "") & read.is_null() & ~text.str.contains(EXCEL_DATE_CELL)).fill_null(False)).to_series()
        out[k] = (iso, ColumnNote(s.heading, f"is not a valid date (this export writes {formats.human_date(best)})"), None)
        if unread.any():
            unreads[k] = unread
    return out


def _unclear_dates(
    dec: formats.Decision, orders: dict[str, list[str]], layout: Layout, columns: dict[str, str], file: str, report: Report, offset: int
) -> None:
    assert dec.pair is not None
    a, b = dec.pair
    # each order by the format of it that reads the values shown (the file's own separators)
    fmt = {o: next((f for f in orders[o] for e in dec.evidence if formats.read_dates(pl.Series([e.value]), [f])[0] is not None), orders[o][0]) for o in (a, b)}
    say = lambda o: f"{formats.ORDER_WORDS.get(o, o)} ({formats.human_date(fmt[o])})"  # noqa: E731
    declare = f'declare the order in the layout: date_formats = ["{fmt[a]}"] for {say(a)} or ["{fmt[b]}"] for {say(b)}{_where(layout)}' + ON_THE_PAGE
    ev = dec.evidence
    if dec.kind == "ambiguous":
        shown = " and ".join(f"'{short(e.value, 40)}' (row {e.row + offset}: {e.reads[a]} or {e.reads[b]})" for e in ev)
        words = f"nothing in this file decides whether its dates are {say(a)} or {say(b)}: every day is 12 or less. '{short(ev[0].column, 40)}' has {shown}. Please {declare}"
    else:
        x, y = ev[0], ev[-1]
        words = (
            f"this file's dates are written in two orders: '{short(x.value, 40)}' in '{short(x.column, 40)}' (row {x.row + offset}) reads only {say(a)}, "
            f"'{short(y.value, 40)}' in '{short(y.column, 40)}' (row {y.row + offset}) only {say(b)}. Correct the export, or {declare}"
        )
    report.add("error", file, "date order unclear", words, row=ev[0].row + offset, column=columns.get(ev[0].column), value=ev[0].value, heading=ev[0].column)
    _undecided(report, file, "date", None, list(columns), layout, dec, offset, {o: formats.human_date(fmt[o]) for o in (a, b)})


def _numbers(
    cells: pl.DataFrame, layout: Layout, s: _Source, file: str, report: Report, offset: int, declared: str | None = None
) -> tuple[pl.Series, ColumnNote, pl.Series | None]:
    """One number column read with the one reader its values allow (formats.py), as plain text, and its currency
    markers (the analyst's text where one is written, for checks.py; None where none is). `declared`: the format
    the analyst declared for this column (any reader: the analyst knows the export), which is then the only one."""
    candidates = [declared] if declared in NUMBER_FORMATS else list(layout.number_formats)
    dec = formats.decide({s.heading or s.label: _texts(cells, s)}, candidates, lambda v, f: formats.read_numbers(v, f)["value"])
    if dec.choice is None:
        _unclear_numbers(dec, layout, s, file, report, offset)
        return cells[s.label], ColumnNote(s.heading, decided=False), None
    v = cells[s.label].cast(pl.Utf8)
    got = formats.read_numbers(v, dec.choice)
    plain = pl.select(pl.when(got["value"].is_not_null()).then(got["value"].cast(pl.Utf8)).otherwise(v)).to_series()
    marks = pl.select(pl.when(got["marker"].is_not_null()).then(v)).to_series() if got["marker"].is_not_null().any() else None
    return plain, ColumnNote(s.heading, _number_hint(dec.choice, got, v)), marks


def _number_hint(fmt: str, got: pl.DataFrame, values: pl.Series) -> str:
    """'is not a number as this export writes them (e.g. $1,234.56 ...)': with the column's own currency marker."""
    example = formats.NUMBER_EXAMPLES[fmt]
    markers = got["marker"]
    if markers.is_not_null().sum() * 2 > got["value"].is_not_null().sum():  # most values it reads carry one: the example does too
        m = markers.drop_nulls().mode().sort()[0]
        first = values.filter(markers == m)[0].strip().lstrip("(-+ ")
        example = (f"{m} {example}" if m.isalpha() else f"{m}{example}") if first.startswith(m) else f"{example} {m}"
    return f"is not a number as this export writes them (e.g. {example}; a minus sign, a trailing minus, CR or brackets for a credit)"


def _unclear_numbers(dec: formats.Decision, layout: Layout, s: _Source, file: str, report: Report, offset: int) -> None:
    assert dec.pair is not None
    a, b = dec.pair
    say = lambda f: f"{f} ({formats.NUMBER_EXAMPLES[f]})"  # noqa: E731
    declare = f'number_formats = ["{a}"] for {say(a)} or ["{b}"] for {say(b)}{_where(layout)}' + ON_THE_PAGE
    first = dec.evidence[0]
    if dec.kind == "ambiguous":
        words = (
            f"this column can be read two ways and no value in it decides: '{short(first.value, 40)}' is {first.reads[a]} as {say(a)} "
            f"and {first.reads[b]} as {say(b)}. Declare the format in the layout: {declare}"
        )
    else:
        other = dec.evidence[-1]
        words = (
            f"this column mixes number formats: '{short(first.value, 40)}' (row {first.row + offset}) reads only as {say(a)}, "
            f"'{short(other.value, 40)}' (row {other.row + offset}) only as {say(b)}. Correct the export, or declare the format "
            f"it is written in, so that the other values are named row by row: {declare}"
        )
    report.add("error", file, "number format unclear", words, row=first.row + offset, column=s.column, value=first.value, heading=s.heading)
    _undecided(report, file, "number", s.heading or s.label, [s.heading or s.label], layout, dec, offset, {f: formats.NUMBER_EXAMPLES[f] for f in (a, b)})


def _undecided(
    report: Report, file: str, kind: str, heading: str | None, headings: list[str], layout: Layout, dec: formats.Decision, offset: int, written: dict[str, str]
) -> None:
    """List a column (a number) or a file's dates whose format the values cannot decide in the report's facts, with
    the two formats at odds and the values that show it: what the Data page offers the analyst to declare (declare.py)."""
    assert dec.pair is not None
    report.facts.setdefault("undecided", []).append(
        {
            "file": file,
            "kind": kind,
            "heading": heading,
            "headings": headings,
            "layout": layout.name,
            "how": dec.kind,
            "choices": list(dec.pair),
            "written": written,
            "examples": [{"value": e.value, "row": e.row + offset, "heading": e.column, "reads": {c: e.reads.get(c) for c in dec.pair}} for e in dec.evidence],
        }
    )


def _where(layout: Layout) -> str:
    """Where the analyst declares a format: the layout's own file, or for a built-in one a copy in the data folder."""
    if layout.path.parent == BUILTIN_DIR:
        return f" (the layout '{layout.name}' is built in: copy {layout.path.name} from dashboard/load/layouts/ into the data folder's layouts/, where it replaces the built-in one, and change that line there)"
    return f" (in {layout.path.name})"
