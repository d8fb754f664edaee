"""The validation report: what is wrong or worth knowing, in a finance analyst's words."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

import polars as pl

# A report names at most this many rows per file, column and rule, then
# counts the rest: a 10M-row extract with one bad column stays readable.
EXAMPLES_PER_RULE = 10
# A value or heading is shown up to this many characters (a 200 MB cell is not repeated in the report),
# and a list of headings up to this many names (a 10,000-column header is summed up).
SHOWN_CHARS = 80
SHOWN_NAMES = 20


def short(text: object, limit: int = SHOWN_CHARS) -> str:
    """The text as the report shows it: cut to `limit` characters, with '…' where it was cut."""
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def names(items: list[str], limit: int = SHOWN_NAMES) -> str:
    """'a, b, c' for a short list; the first `limit` names and how many more for a long one (each name cut to 40 characters)."""
    shown = ", ".join(short(i, 40) for i in items[:limit])
    return shown if len(items) <= limit else f"{shown} ... and {len(items) - limit:,} more ({len(items):,} in all)"


def unreadable_words(suffix: str) -> str:
    """Why a file no reader can open is refused, in the analyst's words (never the reader's own error text)."""
    kind = {".xlsx": "an Excel workbook", ".xlsm": "an Excel workbook", ".parquet": "a Parquet file", ".pq": "a Parquet file"}.get(suffix.lower(), "a CSV file")
    return f"the file cannot be read as {kind}: it may be damaged, cut short or of another kind; export it again"


class IssueJson(TypedDict):
    severity: Literal["error", "warning"]
    file: str
    rule: str
    message: str
    row: int | None
    column: str | None
    value: str | None
    rows: int


class ReportJson(TypedDict):
    """The report as `o2c ingest --json` prints it and report.json keeps it."""

    ok: bool
    errors: int
    warnings: int
    facts: dict[str, Any]
    issues: list[IssueJson]


@dataclass(frozen=True)
class Issue:
    severity: Literal["error", "warning"]
    file: str
    rule: str
    message: str
    row: int | None = None  # as the analyst sees it: CSV line number, or 1-based row of a Parquet file
    column: str | None = None  # the contract's column
    value: str | None = None  # the analyst's own text, cut to SHOWN_CHARS
    rows: int = 1  # how many rows this line stands for ("19,990 more rows break the same rule": 19,990)
    # the column's heading in the analyst's file (an ERP export's own: 'TRX_DATE'), named by line() and frame() beside
    # the contract's column; not a key of the JSON, whose keys scripts rely on (tests/test_store.py holds them)
    heading: str | None = None

    def to_dict(self) -> IssueJson:
        return IssueJson(
            severity=self.severity,
            file=self.file,
            rule=self.rule,
            message=self.message,
            row=self.row,
            column=self.column,
            value=self.value,
            rows=self.rows,
        )

    def _names(self) -> tuple[str | None, str | None]:
        """(the column as the analyst's file names it, the contract's name when that differs)."""
        if self.heading and self.column and self.heading.strip().lower() != self.column:
            return self.heading, self.column
        return self.heading or self.column, None

    def shown_column(self) -> str | None:
        """'TRX_DATE (invoice_date)': the file's own heading, with the contract's name beside it when they differ."""
        name, contract = self._names()
        return f"{name} ({contract})" if contract else name

    def line(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        name, contract = self._names()
        if name:
            where += f", column '{name}'" + (f" ({contract})" if contract else "")
        val = f" (value: {self.value!r})" if self.value is not None else ""
        return f"{self.severity.upper()}: {where}{val}: {self.message}"


@dataclass
class Report:
    issues: list[Issue] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # row counts and other plain facts about the extract
    # (file, contract column) -> the heading it was read from, for the messages of the checks (None: two headings)
    headings: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)
    # (file, heading) -> the rows whose cell there was already reported: a cell that feeds two tables is one error
    _cells: dict[tuple[str, str], pl.Series] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def error_count(self) -> int:
        """Rows (or files) in error, counting those summed up in a "... more rows" line."""
        return sum(i.rows for i in self.errors)

    @property
    def warning_count(self) -> int:
        return sum(i.rows for i in self.warnings)

    def counts(self) -> str:
        """ "20,000 error(s), 1 warning(s)", with how many are named one by one when not all are."""
        more = f" (the first {EXAMPLES_PER_RULE} of each kind named by row, the rest counted)" if any(i.rows > 1 for i in self.issues) else ""
        return f"{self.error_count:,} error(s), {self.warning_count:,} warning(s){more}"

    @property
    def ok(self) -> bool:
        return not self.errors

    def note_heading(self, file: str, column: str, heading: str) -> None:
        """Remember that `column` of `file` was read from `heading` (two different headings: neither is named)."""
        key = (file, column)
        self.headings[key] = heading if self.headings.get(key, heading) == heading else None

    def add(
        self,
        severity: Literal["error", "warning"],
        file: str,
        rule: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        heading: str | None = None,
    ) -> None:
        text = None if value is None else str(value)
        if text is not None and len(text) > SHOWN_CHARS:
            message += f" (the value has {len(text):,} characters; the first {SHOWN_CHARS - 1} are shown)"
            text = short(text)
        if heading is None and column is not None:
            heading = self.headings.get((file, column))
        self.issues.append(Issue(severity, file, rule, message, row, column, text, heading=heading))

    def add_rows(
        self,
        severity: Literal["error", "warning"],
        file: str,
        rule: str,
        message: str,
        bad: pl.DataFrame,
        column: str | None,
        row_offset: int,
        heading: str | None = None,
        once_per_cell: bool = False,
    ) -> None:
        """Report the rows of `bad` (with a `_row` index column and `column`), a few by name, the rest counted.

        once_per_cell: a row whose cell under `heading` was already reported (the same cell feeding another
        table) is left out, so that it is one error, counted once.
        """
        if heading is None and column is not None:
            heading = self.headings.get((file, column))
        if once_per_cell and heading is not None and bad.height:
            key = (file, heading)
            if key in self._cells:
                bad = bad.filter(~pl.col("_row").is_in(self._cells[key].implode()))
                self._cells[key] = pl.concat([self._cells[key], bad["_row"]])
            else:
                self._cells[key] = bad["_row"]
        n = bad.height
        if n == 0:
            return
        shown = bad.head(EXAMPLES_PER_RULE)
        values = shown[column].cast(pl.Utf8).to_list() if column and column in shown.columns else [None] * shown.height
        for r, v in zip(shown["_row"].to_list(), values):
            self.add(severity, file, rule, message, row=r + row_offset, column=column, value=v, heading=heading)
        if n > EXAMPLES_PER_RULE:
            self.issues.append(
                Issue(
                    severity,
                    file,
                    rule,
                    f"{n - EXAMPLES_PER_RULE:,} more rows break the same rule ({n:,} in all): {message}",
                    column=column,
                    rows=n - EXAMPLES_PER_RULE,
                    heading=heading,
                )
            )

    def renamed(self) -> dict[str, str]:
        """Kept name -> where the file came from, for the inputs kept under another name than their own (two inputs
        of one name are kept side by side as "x.csv" and "x (2).csv"; an upload's odd characters become "_")."""
        inputs: dict[str, str] = self.facts.get("inputs", {})
        return {k: v for k, v in inputs.items() if k != Path(v.replace("\\", "/")).name}

    def to_dict(self) -> ReportJson:
        return ReportJson(ok=self.ok, errors=self.error_count, warnings=self.warning_count, facts=self.facts, issues=[i.to_dict() for i in self.issues])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str, allow_nan=False)

    def to_text(self) -> str:
        head = "Extract accepted." if self.ok else "Extract REFUSED: nothing was loaded, the current data is unchanged."
        lines = [head, self.counts() + "."]
        if renamed := self.renamed():
            lines.append("Files kept under another name (two had the same name): " + "; ".join(f"{k} is {v}" for k, v in renamed.items()) + ".")
        lines += [i.line() for i in self.issues]
        return "\n".join(lines)

    def frame(self) -> pl.DataFrame:
        """The report as a table (file, row, column, value, rule, message), errors first; the column as the file names it."""
        rows = [
            {"severity": i.severity, "file": i.file, "row": i.row, "column": i.shown_column()} | {"value": i.value, "rule": i.rule, "message": i.message}
            for i in sorted(self.issues, key=lambda i: i.severity != "error")
        ]
        schema = {"severity": pl.Utf8, "file": pl.Utf8, "row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "rule": pl.Utf8, "message": pl.Utf8}
        return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
