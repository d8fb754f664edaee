"""Layouts: how a system's export maps onto the ledger contract, as data.

A layout is one small TOML file (built in: `dashboard/layouts/`; a team's
own: `<data dir>/layouts/`). It names, for each contract column, the
headings it may have in the export (synonyms, first found wins), the
date formats to try (the one that reads most values of a column is used),
number formats, constants, derived columns (SQL expressions over the
export's headings), which rows to skip (total and blank rows), and which
tables a single file holds. See the README, "Layouts", for a worked example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dashboard.load.contract import TABLES

BUILTIN_DIR = Path(__file__).resolve().parent / "layouts"
# Number formats: (thousands separator, decimal separator)
NUMBER_FORMATS = {"en": (",", "."), "de": (".", ","), "ch": ("'", "."), "fr": (" ", ",")}


class LayoutError(ValueError):
    pass


@dataclass(frozen=True)
class TableMap:
    columns: dict[str, list[str]]  # contract column -> export headings (synonyms)
    constants: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)  # contract column -> SQL expression over headings
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

    def required_headings(self) -> dict[str, list[str]]:
        """For detection: each required invoices column and the headings that can hold it."""
        inv = self.tables["invoices"]
        return {c: inv.columns.get(c, []) for c in TABLES["invoices"].required_columns if c not in inv.derived}

    def missing(self, header: list[str], table: str = "invoices") -> list[str]:
        """Required columns this header lacks (as 'column (one of: ...)'); `table`: what the generic file holds."""
        have = {h.strip().lower() for h in header}
        if self.generic:
            return [c for c in TABLES[table].required_columns if c not in have]
        return [f"{c} (one of: {', '.join(hs)})" for c, hs in self.required_headings().items() if not any(h.lower() in have for h in hs)]


def parse_layout(path: Path) -> Layout:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LayoutError(f"layout file {path}: {exc}") from None
    where = f"layout file {path}"
    if "name" not in raw:
        raise LayoutError(f"{where}: needs a 'name'")
    for nf in raw.get("number_formats", ["en"]):
        if nf not in NUMBER_FORMATS:
            raise LayoutError(f"{where}: number format '{nf}' is not one of {', '.join(NUMBER_FORMATS)}")
    tables = {}
    for tname, spec in raw.get("tables", {}).items():
        if tname not in TABLES:
            raise LayoutError(f"{where}: [tables.{tname}] is not a table of the contract ({', '.join(TABLES)})")
        known = {c.name for c in TABLES[tname].columns}
        cols = {k: [v] if isinstance(v, str) else list(v) for k, v in spec.get("columns", {}).items()}
        for k in [*cols, *spec.get("constants", {}), *spec.get("derived", {})]:
            if k not in known:
                raise LayoutError(f"{where}: '{k}' in [tables.{tname}] is not a column of the {tname} table ({', '.join(sorted(known))})")
        tables[tname] = TableMap(cols, {k: str(v) for k, v in spec.get("constants", {}).items()}, dict(spec.get("derived", {})), spec.get("unique"))
    if not raw.get("generic") and "invoices" not in tables:
        raise LayoutError(f"{where}: needs a [tables.invoices.columns] section")
    return Layout(
        name=raw["name"],
        description=raw.get("description", ""),
        path=Path(path),
        generic=bool(raw.get("generic")),
        date_formats=tuple(raw.get("date_formats", ["%Y-%m-%d"])),
        number_formats=tuple(raw.get("number_formats", ["en"])),
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
    """The one layout whose required headings are all in this header; else say what was expected.
    `table`: the table a file of the generic layout would hold (from its name)."""
    lays = available(data_root)
    fits = [lay for lay in lays.values() if not lay.missing(header, table)]
    specific = [lay for lay in fits if not lay.generic]
    if len(specific) == 1:
        return specific[0]
    if len(specific) > 1:
        raise LayoutError(f"{file}: the header fits several layouts ({', '.join(x.name for x in specific)}); choose one with --layout")
    if fits:
        return fits[0]
    lines = [f"{file}: no layout fits its header. Found columns: {', '.join(h.strip() for h in header)}."]
    for lay in lays.values():
        lines.append(f"  {lay.name}: missing {'; '.join(lay.missing(header, table))}")
    lines.append("Name the layout with --layout, or add a layout file to the data folder's layouts/ (see the README).")
    raise LayoutError("\n".join(lines))


def _find(raw_cols: list[str], headings: list[str]) -> str | None:
    lower = {c.strip().lower(): c for c in raw_cols}
    return next((lower[h.lower()] for h in headings if h.lower() in lower), None)


def normalise_number(col: pl.Expr, fmt: str) -> pl.Expr:
    """Text of a number in an export's format to plain text a float parser reads: '1.234,50-' -> '-1234.50'."""
    thousands, decimal = NUMBER_FORMATS[fmt]
    s = col.cast(pl.Utf8).str.strip_chars().str.replace_all(r"[€$£¥\s]|USD|EUR|GBP", "")
    neg = s.str.contains(r"^\(.*\)$") | s.str.contains(r"-$") | s.str.contains(r"(?i)CR$")
    s = s.str.replace_all(r"[()]", "").str.replace(r"-$", "").str.replace(r"(?i)CR$", "")
    s = s.str.replace_all(thousands if thousands != "." else r"\.", "", literal=thousands != ".")
    if decimal != ".":
        s = s.str.replace(decimal, ".", literal=True)
    return pl.when(neg & ~s.str.starts_with("-")).then("-" + s).otherwise(s)


def _best(values: pl.Series, candidates: list[pl.Expr]) -> int:
    """Index of the candidate parse that reads the most values."""
    df = pl.DataFrame({"v": values})
    counts = df.select([c.is_not_null().sum().alias(str(i)) for i, c in enumerate(candidates)]).row(0)
    return max(range(len(candidates)), key=lambda i: counts[i])


def apply(layout: Layout, raw: pl.DataFrame, report_skip, date_formats: dict[str, str] | None = None) -> dict[str, pl.DataFrame]:
    """The export as contract tables, values as text in contract form (ISO dates, plain decimals).

    `raw` has the export's headings and a `_row` index; rows keep their `_row`
    so every message still points at the analyst's row.
    """
    out: dict[str, pl.DataFrame] = {}
    for tname, tm in layout.tables.items():
        contract = TABLES[tname]
        cols: dict[str, pl.Expr] = {}
        for c, headings in tm.columns.items():
            src = _find(raw.columns, headings)
            if src is not None:
                cols[c] = pl.col(src)
        for c, v in tm.constants.items():
            cols[c] = pl.lit(v)
        for c, expr in tm.derived.items():
            cols[c] = pl.sql_expr(expr)
        df = raw.select("_row", *[e.cast(pl.Utf8).alias(c) for c, e in cols.items()]) if cols else raw.select("_row")
        # Rows that are not data: totals, subtotals, blank separators (no key), or matching a pattern.
        before = df.height
        key = layout.skip_rows_without
        if key and key in df.columns:
            df = df.filter(pl.col(key).str.strip_chars().fill_null("") != "")
        for heading, pattern in layout.skip_rows_matching.items():
            src = _find(raw.columns, [heading])
            if src:
                keep = raw.select("_row", pl.col(src).cast(pl.Utf8).fill_null("").str.contains(pattern).alias("_drop")).filter(~pl.col("_drop"))
                df = df.join(keep.select("_row"), on="_row", how="semi")
        if df.height < before and tname == "invoices":
            report_skip(before - df.height)
        # Dates and numbers in the export's format -> contract form; unreadable values stay as they were,
        # so the contract check reports them with row, column and the analyst's own value.
        fixes = []
        for c in df.columns:
            if c == "_row" or c not in {x.name for x in contract.columns}:
                continue
            ctype = contract.column(c).type
            if ctype == "date" and layout.date_formats != ("%Y-%m-%d",):
                cands = [pl.col("v").str.strip_chars().str.to_date(f, strict=False) for f in layout.date_formats]
                fmt = layout.date_formats[_best(df[c], cands)]
                if date_formats is not None:  # the format this export's dates follow, for the messages about the others
                    date_formats[c] = fmt
                parsed = pl.col(c).str.strip_chars().str.to_date(fmt, strict=False)
                fixes.append(pl.when(parsed.is_not_null()).then(parsed.dt.to_string("%Y-%m-%d")).otherwise(pl.col(c)).alias(c))
            elif ctype in ("decimal", "int") and layout.number_formats != ("en",) or ctype in ("decimal", "int") and not layout.generic:
                cands = [normalise_number(pl.col("v"), f).cast(pl.Float64, strict=False) for f in layout.number_formats]
                fmt = layout.number_formats[_best(df[c], cands)]
                norm = normalise_number(pl.col(c), fmt)
                fixes.append(pl.when(norm.cast(pl.Float64, strict=False).is_not_null()).then(norm).otherwise(pl.col(c)).alias(c))
        df = df.with_columns(fixes)
        if tm.unique and tm.unique in df.columns:
            df = df.filter(pl.col(tm.unique).is_not_null()).unique(tm.unique, keep="first", maintain_order=True)
        out[tname] = df
    return out
