"""Load SQL from `queries/` and run it with named parameters.

Each file declares its parameters as `$name`; a call must pass exactly
those, so a typo in a page never turns into a silently wrong number.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the caller's connection is used: importing this module loads no DuckDB
    import duckdb


def _query_dir() -> Path:
    """queries/ beside the package in a checkout; inside it in an installed wheel (pyproject force-include)."""
    package = Path(__file__).resolve().parent.parent
    shipped = package / "queries"
    return shipped if shipped.is_dir() else package.parent / "queries"


QUERY_DIR = _query_dir()
_PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


def literal_path(path: Path | str) -> str:
    """A file path as DuckDB's readers take it literally. They read every path as a glob pattern (a data
    folder named `data [1]` would read `data 1`), so each glob character is escaped as a one-character class."""
    return re.sub(r"([\[*?])", r"[\1]", Path(path).as_posix())


@cache
def sql(name: str) -> str:
    return (QUERY_DIR / f"{name}.sql").read_text(encoding="utf-8")


@cache
def named_parameters(name: str) -> frozenset[str]:
    return frozenset(_PARAM.findall(_COMMENT.sub("", sql(name))))


def run(con: duckdb.DuckDBPyConnection, name: str, **params) -> duckdb.DuckDBPyRelation:
    """Run queries/<name>.sql (name like "receivables/aging_at") on a fresh cursor (DuckDB connections are not thread-safe)."""
    expected = named_parameters(name)
    if set(params) != expected:
        missing, extra = expected - set(params), set(params) - expected
        raise TypeError(f"query {name}: missing parameters {sorted(missing)}, unexpected {sorted(extra)}")
    return con.cursor().sql(sql(name), params=params or None)
