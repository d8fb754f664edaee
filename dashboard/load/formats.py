"""How an export writes its numbers and dates, decided from the evidence in the file itself, never by a guess.

Numbers. Each reader has a strict grammar: en `1,234.56`, de `1.234,56`, ch `1'234.56`, fr `1 234,56`; a
thousands separator is followed by exactly three digits, a decimal separator by any number of them, so the
position of the last separator and the decimals it leaves tell the readers apart (`950.00` and `125.50-` are
not German, `250,00` is not English). A sign is a leading or trailing minus, brackets or a trailing CR, once;
a currency marker (`US$`, `₹`, `CAD`, `EUR`) may stand before or after the number.

A reader is ruled out for a column by a value it cannot read that another reader can (a value no reader
reads is a bad value, reported on its row). One reader left: the column is read with it. None left: the
column mixes formats (contradictory). Several left that read some value differently (`1.500`: 1.5 in en,
1500 in de): nothing in the column decides (ambiguous). Either way the column is refused with the values that
show it, and the analyst declares the format in the layout.

Dates. The same rule, over every date column of a file at once, between the orders of day, month and year
(`%d/%m/%Y` is day first, `%m/%d/%Y` month first): one file is written with one order, so a day above 12 in
any column decides for all of them, and a file whose every day is 12 or less is refused, not read as the
first listed order. Formats of one order (`%d.%m.%Y`, `%d/%m/%Y`) never read one text as two dates, so a
value is read with the first of them that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

# reader -> (thousands separators, decimal separator), and how it writes 1234.56
NUMBER_FORMATS = {"en": (",", "."), "de": (".", ","), "ch": ("'’", "."), "fr": (" \u00a0\u202f", ",")}
NUMBER_EXAMPLES = {"en": "1,234.56", "de": "1.234,56", "ch": "1'234.56", "fr": "1 234,56"}

# Currency markers written beside an amount, and the ISO 4217 codes each can stand for; any three capital
# letters (CAD, EUR) stand for that code. '$' is the dollar or peso of many countries: it contradicts EUR, not CAD.
DOLLARS = frozenset("USD CAD AUD NZD HKD SGD TWD MXN ARS CLP COP UYU DOP CUP BSD BBD BZD BMD BND KYD FJD GYD JMD LRD NAD SBD SRD TTD XCD".split())
MARKERS: dict[str, frozenset[str]] = {
    "US$": frozenset({"USD"}),
    "U$S": frozenset({"USD"}),
    "CA$": frozenset({"CAD"}),
    "C$": frozenset({"CAD"}),
    "AU$": frozenset({"AUD"}),
    "A$": frozenset({"AUD"}),
    "NZ$": frozenset({"NZD"}),
    "HK$": frozenset({"HKD"}),
    "SG$": frozenset({"SGD"}),
    "S$": frozenset({"SGD"}),
    "NT$": frozenset({"TWD"}),
    "MX$": frozenset({"MXN"}),
    "R$": frozenset({"BRL"}),
    "$": DOLLARS,
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₹": frozenset({"INR"}),
    "Rs.": frozenset({"INR", "PKR", "LKR", "NPR"}),
    "Rs": frozenset({"INR", "PKR", "LKR", "NPR"}),
    "₩": frozenset({"KRW"}),
    "₽": frozenset({"RUB"}),
    "₺": frozenset({"TRY"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "฿": frozenset({"THB"}),
    "₱": frozenset({"PHP"}),
    "₦": frozenset({"NGN"}),
    "₴": frozenset({"UAH"}),
    "zł": frozenset({"PLN"}),
    "Kč": frozenset({"CZK"}),
    "Ft": frozenset({"HUF"}),
    "kr.": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "Fr.": frozenset({"CHF"}),
}
_MARK = "|".join(re.escape(m) for m in sorted(MARKERS, key=len, reverse=True)) + "|[A-Z]{3}"


def marker_in(text: pl.Expr) -> pl.Expr:
    """The currency marker written in an amount's text ('CAD 1,000.00': CAD), null where there is none."""
    return text.str.extract(f"({_MARK})", 1)


def marker_words(marker: str) -> str:
    """'CAD', or for a symbol what it can stand for: '$ (a dollar or peso)', '¥ (JPY or CNY)'."""
    codes = marker_codes(marker)
    if codes == frozenset({marker}):
        return marker
    return f"{marker} ({'a dollar or peso' if codes == DOLLARS else ' or '.join(sorted(codes))})"


def marker_codes(marker: str) -> frozenset[str]:
    """The ISO codes a marker can stand for ('$': the dollars; 'CAD': CAD)."""
    return MARKERS.get(marker, frozenset({marker}))


def _pattern(fmt: str) -> str:
    thousands, decimal = NUMBER_FORMATS[fmt]
    t, d = f"[{re.escape(thousands)}]", re.escape(decimal)
    body = rf"(?:[0-9]{{1,3}}(?:{t}[0-9]{{3}})+|[0-9]+)(?:{d}[0-9]+)?|{d}[0-9]+"
    return (
        rf"^\s*(?P<open>\()?\s*(?P<s1>[-+])?\s*(?P<pre>{_MARK})?\s*(?P<s2>[-+])?\s*(?P<body>{body})"
        rf"\s*(?P<t1>-)?\s*(?P<post>{_MARK})?\s*(?P<t2>-|CR|Cr|cr)?\s*(?P<close>\))?\s*$"
    )


def read_numbers(values: pl.Series, fmt: str) -> pl.DataFrame:
    """`value` (Float64, null where the text is not a number as `fmt` writes it) and `marker` (the currency marker, if any)."""
    thousands, decimal = NUMBER_FORMATS[fmt]
    g = values.cast(pl.Utf8).str.extract_groups(_pattern(fmt)).struct.unnest()
    given = lambda c: pl.col(c).is_not_null().cast(pl.Int8)  # noqa: E731
    signs = given("open") + given("s1") + given("s2") + given("t1") + given("t2")
    ok = pl.col("body").is_not_null() & (pl.col("open").is_null() == pl.col("close").is_null()) & (signs <= 1)
    ok = ok & (pl.col("pre").is_null() | pl.col("post").is_null())
    neg = pl.col("open").is_not_null() | pl.col("t1").is_not_null() | pl.col("t2").is_not_null() | (pl.col("s1") == "-").fill_null(False)
    neg = neg | (pl.col("s2") == "-").fill_null(False)
    plain = pl.col("body").str.replace_all(f"[{re.escape(thousands)}]", "").str.replace(decimal, ".", literal=True).cast(pl.Float64, strict=False)
    return g.select(
        value=pl.when(ok).then(pl.when(neg).then(-plain).otherwise(plain)),
        marker=pl.when(ok).then(pl.coalesce("pre", "post")),
    )


def unusable_cells(dtype: pl.DataType) -> str | None:
    """What a Parquet or Excel column holds when it is not one value per cell ('lists (...)'); None when it is."""
    if isinstance(dtype, pl.List | pl.Array):
        return "lists (several values in one cell)"
    if isinstance(dtype, getattr(pl, "Map", pl.Struct)):  # a Map is a list of key-value records (polars 2)
        return "maps (several keys and values in one cell)"
    if isinstance(dtype, pl.Struct):
        return "records (several fields in one cell)"
    if dtype == pl.Binary:
        return "binary data, not text"
    if dtype == pl.Object:
        return "objects"
    return None


# ----------------------------------------------------------------------------- dates


def date_order(fmt: str) -> str:
    """'DMY', 'MDY', 'YMD', ...: the order of day, month and year in a strftime format."""
    where = {
        k: min((fmt.find(c) for c in cs if c in fmt), default=-1)
        for k, cs in (("D", ("%d", "%e", "%-d")), ("M", ("%m", "%b", "%B", "%-m")), ("Y", ("%Y", "%y")))
    }
    return "".join(sorted((k for k in where if where[k] >= 0), key=lambda k: where[k]))


ORDER_WORDS = {"DMY": "day first", "MDY": "month first", "YMD": "year first", "YDM": "year, then day"}


def human_date(fmt: str) -> str:
    """'%d.%m.%Y' -> 'DD.MM.YYYY', as an analyst reads a date format."""
    for code, word in (("%d", "DD"), ("%m", "MM"), ("%Y", "YYYY"), ("%y", "YY"), ("%b", "MON"), ("%B", "MONTH")):
        fmt = fmt.replace(code, word)
    return fmt


def read_dates(values: pl.Series, fmts: Sequence[str]) -> pl.Series:
    """The text as dates: each value by the first of `fmts` that reads it (null where none does). A four-digit year
    (%Y) is read only where the text has four digits in a row: '10-JUL-26' is 2026 by %y, never the year 26."""
    s = values.cast(pl.Utf8).str.strip_chars()
    four = s.str.contains(r"[0-9]{4}")
    reads = [pl.when(four).then(s.str.to_date(f, strict=False)) if "%Y" in f else s.str.to_date(f, strict=False) for f in fmts]
    return pl.select(pl.coalesce(reads)).to_series() if reads else pl.Series([None] * len(s), dtype=pl.Date)


# ----------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Evidence:
    """A value that shows why a format cannot be decided: where it is, its text, what each format reads in it."""

    column: str
    row: int
    value: str
    reads: dict[str, str | None]  # format -> the reading in words (None: this format cannot read it)


@dataclass(frozen=True)
class Decision:
    """The format chosen (a reader, or a date order), or why none can be: 'ambiguous' or 'contradictory'."""

    choice: str | None
    kind: Literal["decided", "ambiguous", "contradictory"] = "decided"
    pair: tuple[str, str] | None = None  # the two formats at odds
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)


def decide(columns: dict[str, pl.DataFrame], candidates: Sequence[str], read) -> Decision:
    """The candidate that reads every value some candidate reads, in every column; see the module's docstring.

    columns: label -> frame of `_row` and `v` (the text); read(series, candidate) -> the readings as a Series
    (null: cannot read), comparable between candidates, and `words(value)` turns one into text.
    """
    if len(candidates) <= 1:
        return Decision(candidates[0] if candidates else None)
    reads = {
        label: df.select("_row", "v")
        .with_columns(**{c: read(df["v"], c) for c in candidates})
        .filter(pl.any_horizontal(pl.col(c).is_not_null() for c in candidates))
        for label, df in columns.items()
    }
    reads = {k: v for k, v in reads.items() if v.height}
    if not reads:
        return Decision(candidates[0])
    unread = {c: sum(df[c].null_count() for df in reads.values()) for c in candidates}
    viable = [c for c in candidates if unread[c] == 0]
    if len(viable) == 1:
        return Decision(viable[0])
    if not viable:  # the reader of most values, and one that reads a value it cannot
        a = min(candidates, key=lambda c: unread[c])
        x = _first(reads, pl.col(a).is_null())
        b = min((c for c in candidates if c != a and x is not None and x[1][c] is not None), key=lambda c: unread[c])
        y = _first(reads, pl.col(b).is_null() & pl.col(a).is_not_null()) or _first(reads, pl.col(b).is_null())
        return Decision(None, "contradictory", (a, b), tuple(_evidence(e, candidates) for e in (y, x) if e is not None))
    a = viable[0]
    for b in viable[1:]:
        differ = [e for label, df in reads.items() for e in ((label, r) for r in df.filter(pl.col(a) != pl.col(b)).head(2).to_dicts())]
        if differ:  # two values that read differently, of one column where it has two (what "every day is 12 or less" looks like)
            first = [e for e in differ if e[0] == differ[0][0]]
            shown = first if len(first) > 1 else differ[:2]
            return Decision(None, "ambiguous", (a, b), tuple(_evidence(e, candidates) for e in shown))
    return Decision(a)


def _first(reads: dict[str, pl.DataFrame], where: pl.Expr) -> tuple[str, dict] | None:
    for label, df in reads.items():
        hit = df.filter(where).head(1).to_dicts()
        if hit:
            return label, hit[0]
    return None


def _evidence(found: tuple[str, dict], candidates: Sequence[str]) -> Evidence:
    label, r = found
    return Evidence(label, r["_row"], r["v"], {c: _words(r[c]) for c in candidates})


def _words(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        return f"{v:.10f}".rstrip("0").rstrip(".")
    return f"{v:%d %B %Y}".lstrip("0")  # a date: '3 February 2026'
