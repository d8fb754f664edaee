"""The validation report: what is wrong or worth knowing, in a finance analyst's words."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

import polars as pl

# A report names at most this many rows per file, column and rule, then
# counts the rest: a 10M-row extract with one bad column stays readable.
EXAMPLES_PER_RULE = 10


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
    column: str | None = None
    value: str | None = None
    rows: int = 1  # how many rows this line stands for ("19,990 more rows break the same rule": 19,990)

    def to_dict(self) -> IssueJson:
        return IssueJson(
            severity=self.severity, file=self.file, rule=self.rule, message=self.message, row=self.row, column=self.column, value=self.value, rows=self.rows
        )

    def line(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        val = f" (value: {self.value!r})" if self.value is not None else ""
        return f"{self.severity.upper()}: {where}{val}: {self.message}"


@dataclass
class Report:
    issues: list[Issue] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # row counts and other plain facts about the extract

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

    def add(
        self,
        severity: Literal["error", "warning"],
        file: str,
        rule: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.issues.append(Issue(severity, file, rule, message, row, column, None if value is None else str(value)))

    def add_rows(
        self,
        severity: Literal["error", "warning"],
        file: str,
        rule: str,
        message: str,
        bad: pl.DataFrame,
        column: str | None,
        row_offset: int,
    ) -> None:
        """Report the rows of `bad` (with a `_row` index column and `column`), a few by name, the rest counted."""
        n = bad.height
        if n == 0:
            return
        shown = bad.head(EXAMPLES_PER_RULE)
        values = shown[column].cast(pl.Utf8).to_list() if column and column in shown.columns else [None] * shown.height
        for r, v in zip(shown["_row"].to_list(), values):
            self.add(severity, file, rule, message, row=r + row_offset, column=column, value=v)
        if n > EXAMPLES_PER_RULE:
            self.issues.append(
                Issue(
                    severity,
                    file,
                    rule,
                    f"{n - EXAMPLES_PER_RULE:,} more rows break the same rule ({n:,} in all): {message}",
                    column=column,
                    rows=n - EXAMPLES_PER_RULE,
                )
            )

    def to_dict(self) -> ReportJson:
        return ReportJson(ok=self.ok, errors=self.error_count, warnings=self.warning_count, facts=self.facts, issues=[i.to_dict() for i in self.issues])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_text(self) -> str:
        head = "Extract accepted." if self.ok else "Extract REFUSED: nothing was loaded, the current data is unchanged."
        lines = [head, self.counts() + "."]
        lines += [i.line() for i in self.issues]
        return "\n".join(lines)

    def frame(self) -> pl.DataFrame:
        """The report as a table (file, row, column, value, rule, message), errors first."""
        rows = [asdict(i) for i in sorted(self.issues, key=lambda i: i.severity != "error")]
        schema = {"severity": pl.Utf8, "file": pl.Utf8, "row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "rule": pl.Utf8, "message": pl.Utf8}
        return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
