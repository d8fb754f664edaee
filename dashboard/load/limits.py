"""What one input may be, checked before anything expands it (README, "Odd and hostile files").

A hostile or broken file must be refused at the cost of reading it, never at the cost of what it
expands to: a 266 KB workbook can unpack to gigabytes, a CSV without a line break is one 200 MB
"line" a reader holds whole. So the checks here only stream: a spreadsheet's zip directory and its
sheet in 1 MB pieces, a CSV's bytes in 1 MB pieces (a quick look for a break in every block of
half a limit; only a file that fails it has its line and value lengths counted, with numpy), an
upload's size before it is written. Each refusal names the limit and the value that broke it.

The defaults are fixed here, except the upload limits, which a team sets in `[limits]` of
settings.toml (dashboard/settings.py): how much a browser may send is a server's decision.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dashboard.load.report import EXAMPLES_PER_RULE, Report, short

CSV_LINE_CHARS = 1_048_576  # a line of a CSV: 1 MiB (a 16,384-column header of 60-character headings fits)
CSV_FIELD_CHARS = 32_767  # one value of a CSV: Excel's own limit for a cell
XLSX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024  # everything a workbook unpacks to: 500 MiB
XLSX_ROWS = 1_048_576  # rows of the sheet read: Excel's own maximum
# cells of the sheet read: a workbook is parsed whole in memory (about 80 bytes a cell measured, 10.5M cells
# took 830 MB), so 5M cells (500,000 rows of 10 columns) keeps one under half a gigabyte; larger ledgers
# come as CSV or Parquet, which are read in a stream
XLSX_CELLS = 5_000_000
CHUNK = 1 << 20  # bytes read at a time by every check here


@dataclass(frozen=True)
class Problem:
    """One reason an input is refused, for the report: the rule, the words, and where."""

    rule: str
    message: str
    row: int | None = None
    heading: str | None = None
    value: str | None = None
    column_index: int | None = None  # of a spreadsheet cell (0: column A), named by its heading once known


@dataclass
class InputRefused(Exception):
    """An input refused before it was read as a table; every problem found in the one pass."""

    problems: list[Problem] = field(default_factory=list)
    sized: bool = False  # the input is within every size limit (only its content is refused)

    def name_columns(self, headings: list[str]) -> None:
        """Name each refused cell's column by the sheet's heading."""
        self.problems = [
            replace(p, heading=headings[p.column_index]) if p.column_index is not None and p.column_index < len(headings) else p for p in self.problems
        ]

    def __str__(self) -> str:
        return "; ".join(p.message for p in self.problems)

    def add_to(self, report: Report, file: str) -> None:
        for p in self.problems:
            report.add("error", file, p.rule, p.message, row=p.row, value=p.value, heading=p.heading)


def mb(n: int) -> str:
    return f"{n / 1_048_576:,.1f} MB"


# ----------------------------------------------------------------------------- CSV lines and fields


_FIELD_BLOCK = (CSV_FIELD_CHARS + 1) // 2  # 16,384
_LINE_BLOCK = (CSV_LINE_CHARS + 1) // 2  # 524,288


def within(piece: bytes, sep: bytes) -> bool:
    """True when no value or line in `piece` (one read of CHUNK bytes at a multiple of CHUNK) can be over the
    limits: every aligned block of half a limit holds a break. A run without a break longer than a limit always
    covers a whole such block, so False only says "measure this file exactly" (LineMeter), at the cost of a
    few hundred searches a megabyte (each stops at the first break it finds) instead of one pass over each byte.
    """
    for i in range(0, len(piece), _FIELD_BLOCK):
        if piece.find(sep, i, i + _FIELD_BLOCK) < 0 and piece.find(b"\n", i, i + _FIELD_BLOCK) < 0 and len(piece) - i >= _FIELD_BLOCK:
            return False
    return all(piece.find(b"\n", i, i + _LINE_BLOCK) >= 0 for i in range(0, len(piece) - _LINE_BLOCK + 1, _LINE_BLOCK))


class QuoteLook:
    """Whether some quoted stretch (from a quote to the next one, quotes paired in order) is longer than a value
    may be: a value inside quotes can hold line breaks and delimiters, which `within` counts as breaks, so a
    200 MB value in quotes would pass it. Vectorised over the quotes of each piece; pieces without a quote
    cost one count. A suspect file is measured exactly by `quoted_problems`."""

    def __init__(self) -> None:
        self.offset = 0
        self.open: int | None = None  # offset of a quote not yet paired
        self.suspect = False

    def feed(self, piece: bytes) -> None:
        if not self.suspect and (self.open is not None or b'"' in piece):
            q = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == 34) + self.offset
            if self.open is not None:
                q = np.concatenate(([self.open], q))
            pairs = q[: len(q) // 2 * 2].reshape(-1, 2)
            self.suspect = bool(pairs.size and (pairs[:, 1] - pairs[:, 0] > CSV_FIELD_CHARS).any())
            self.open = int(q[-1]) if len(q) % 2 else None
            if self.open is not None and self.offset + len(piece) - self.open > CSV_FIELD_CHARS:
                self.suspect = True
        self.offset += len(piece)


def quoted_problems(path: Path, encoding: str, sep: str, headings: list[str]) -> list[Problem]:
    """The values longer than CSV_FIELD_CHARS as a CSV reader reads them (quotes honoured: a quoted value spans
    lines and delimiters), by the line their record starts on. Python's csv reader holds at most 131,072
    characters of a value (its default limit, left as it is): beyond that it stops, and the value is named
    as longer than that. Only for a file QuoteLook suspects: one pass in Python, about 1 s per 100 MB."""
    import csv

    out: list[Problem] = []
    more = 0
    with open(path, encoding="utf-8-sig" if encoding == "utf8" else "cp1252", errors="backslashreplace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        while True:
            first = reader.line_num + 1
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error:  # a value beyond the reader's own limit: the rest of the file cannot be read
                out.append(
                    Problem(
                        "value too long",
                        f"a value of more than 131,072 characters (its quotes open on line {first:,}) is longer than a value may be ({CSV_FIELD_CHARS:,} characters, as in Excel): the export is damaged or this is not a ledger export; the file was not read",
                        row=first,
                    )
                )
                break
            for i in (i for i, v in enumerate(rec) if len(v) > CSV_FIELD_CHARS):
                if len(out) >= EXAMPLES_PER_RULE:
                    more += 1
                    continue
                out.append(
                    Problem(
                        "value too long",
                        f"a value of {len(rec[i]):,} characters is longer than a value may be ({CSV_FIELD_CHARS:,} characters, as in Excel): "
                        f"the export is damaged or this is not a ledger export; the file was not read (the value has {len(rec[i]):,} characters; the first 79 are shown)",
                        row=first,
                        heading=headings[i] if first > 1 and i < len(headings) else None,
                        value=rec[i][:79] + "…",
                    )
                )
    if more:
        out.append(Problem("value too long", f"{more:,} more values longer than {CSV_FIELD_CHARS:,} characters"))
    return out


class LineMeter:
    """Line and field lengths of a delimited text, fed in pieces; the over-long ones by line and offset.

    Lengths are counted in bytes between line breaks and between delimiters, quotes ignored: a quoted value
    that holds a delimiter is counted in pieces, so a value is never taken for longer than it is (a value
    inside quotes is held to the limit by QuoteLook and quoted_problems). Vectorised: numpy finds the breaks
    of each piece; only the over-long values and lines (the first few of each) are looked at one by one.
    """

    def __init__(self, sep: str) -> None:
        self.sep = ord(sep)
        self.offset = 0  # bytes seen
        self.lines = 0  # line breaks seen
        self.line_start = 0  # offset where the current line starts
        self.field_start = 0  # offset where the current value starts
        self.fields: list[list[int]] = []  # [line number, line start, value start, length] of the first over-long values
        self.field_count = 0  # over-long values in all
        self.long_lines: list[tuple[int, int, int]] = []  # (line number, line start, length), lines not long because of a named value
        self.line_count = 0

    def feed(self, chunk: bytes) -> None:
        a = np.frombuffer(chunk, dtype=np.uint8)
        is_nl = a == 10
        nl = np.flatnonzero(is_nl) + self.offset
        ends = np.flatnonzero(is_nl | (a == self.sep)) + self.offset
        if ends.size:
            starts = np.concatenate(([self.field_start], ends[:-1] + 1))
            lengths = ends - starts
            self._long_fields(starts, lengths, nl)
            self.field_start = int(ends[-1]) + 1
        end = self.offset + len(chunk)
        if end - self.field_start > CSV_FIELD_CHARS:  # still open: named now, its length updated as it goes on
            self._long_fields(np.array([self.field_start]), np.array([end - self.field_start]), nl)
        if nl.size:
            line_starts = np.concatenate(([self.line_start], nl[:-1] + 1))
            lengths = nl - line_starts
            for i in np.flatnonzero(lengths > CSV_LINE_CHARS):
                self._long_line(self.lines + int(i) + 1, int(line_starts[i]), int(lengths[i]))
            self.lines += int(nl.size)
            self.line_start = int(nl[-1]) + 1
        self.offset = end

    def _long_fields(self, starts: np.ndarray, lengths: np.ndarray, nl: np.ndarray) -> None:
        long = np.flatnonzero(lengths > CSV_FIELD_CHARS)
        if not long.size:
            return
        if self.fields and self.fields[-1][2] == int(starts[long[0]]):  # the value left open at the end of the last piece
            self.fields[-1][3] = int(lengths[long[0]])
            long = long[1:]
        self.field_count += int(long.size)
        for i in long[: max(0, EXAMPLES_PER_RULE - len(self.fields))]:
            start = int(starts[i])
            before = int(np.searchsorted(nl, start))  # line breaks of this piece before the value
            line_start = int(nl[before - 1]) + 1 if before else self.line_start
            self.fields.append([self.lines + before + 1, line_start, start, int(lengths[i])])

    def _long_line(self, line: int, start: int, length: int) -> None:
        if any(f[1] == start for f in self.fields):
            return  # that line is long because of a value already named: one problem, told once
        if len(self.long_lines) < EXAMPLES_PER_RULE:
            self.long_lines.append((line, start, length))
        self.line_count += 1

    def finish(self) -> None:
        """The last line, when the file does not end with a line break."""
        if self.offset - self.line_start > CSV_LINE_CHARS:
            self._long_line(self.lines + 1, self.line_start, self.offset - self.line_start)

    @property
    def ok(self) -> bool:
        return not self.field_count and not self.line_count

    def problems(self, path: Path, headings: list[str]) -> list[Problem]:
        """The over-long values and lines, named by line, heading and the first characters of their text."""
        out = []
        for line, line_start, start, length in self.fields:
            heading = _heading_at(path, line_start, start, self.sep, headings) if line > 1 else None
            out.append(
                Problem(
                    "value too long",
                    f"a value of {length:,} characters is longer than a value may be ({CSV_FIELD_CHARS:,} characters, as in Excel): "
                    "the export is damaged or this is not a ledger export; the file was not read "
                    f"(the value has {length:,} characters; the first 79 are shown)",
                    row=line,
                    heading=heading,
                    value=_text_at(path, start, 79) + "…",
                )
            )
        if self.field_count > len(self.fields):
            out.append(Problem("value too long", f"{self.field_count - len(self.fields):,} more values longer than {CSV_FIELD_CHARS:,} characters"))
        for line, start, length in self.long_lines:
            out.append(
                Problem(
                    "line too long",
                    f"a line of {length:,} characters is longer than a line may be ({CSV_LINE_CHARS:,} characters): "
                    "the file lacks line breaks where they belong, or is not a ledger export; the file was not read",
                    row=line,
                    value=_text_at(path, start, 79) + "…",
                )
            )
        if self.line_count > len(self.long_lines):
            out.append(Problem("line too long", f"{self.line_count - len(self.long_lines):,} more lines longer than {CSV_LINE_CHARS:,} characters"))
        return out


def _text_at(path: Path, start: int, n: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(n * 4).decode("utf-8", errors="backslashreplace")[:n]  # an odd byte shown as \xNN, never replaced


def _heading_at(path: Path, line_start: int, start: int, sep: int, headings: list[str]) -> str | None:
    """The heading of the value at `start`: the delimiters before it on its line, counted a piece at a time."""
    k = 0
    with open(path, "rb") as fh:
        fh.seek(line_start)
        left = start - line_start
        while left > 0 and (piece := fh.read(min(CHUNK, left))):
            k += piece.count(bytes([sep]))
            left -= len(piece)
    return headings[k] if k < len(headings) else None


# ----------------------------------------------------------------------------- spreadsheets

_DIMENSION = re.compile(rb'<dimension ref="[A-Z]*[0-9]*:?[A-Z]*([0-9]+)"')
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_VALUE = re.compile(rb"<v>[^<]+</v>|<is>", re.S)
_FORMULA = re.compile(rb"<f[ >/]")


def check_xlsx(path: Path) -> None:
    """Refuse a workbook (InputRefused) that unpacks beyond XLSX_UNCOMPRESSED_BYTES, whose sheet has more than
    XLSX_ROWS rows, or whose sheet holds a formula without a saved value; before any cell is parsed.

    The zip directory gives each part's unpacked size; the sheet (and its strings) is then unpacked a piece
    at a time and its bytes counted, so a directory that lies is caught too (zip checks each part's CRC at its
    declared end). The first sheet is the one read (read.py).
    """
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise InputRefused([Problem("unreadable file", "the file is not an Excel workbook (.xlsx) or it is damaged: save it again from Excel")]) from None
    with z:
        total = sum(i.file_size for i in z.infolist())
        if total > XLSX_UNCOMPRESSED_BYTES:
            raise InputRefused(
                [
                    Problem(
                        "workbook too large",
                        f"the workbook unpacks to {mb(total)}, more than a workbook may ({mb(XLSX_UNCOMPRESSED_BYTES)}); "
                        f"it is {mb(path.stat().st_size)} on disk: save the ledger as CSV, or split it",
                    )
                ]
            )
        sheet = _first_sheet(z)
        if sheet is None:
            raise InputRefused([Problem("unreadable file", "the workbook has no sheet: save it again from Excel")])
        try:
            if "xl/sharedStrings.xml" in z.namelist():
                _drain(z, "xl/sharedStrings.xml")
            _check_sheet(z, sheet)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            raise InputRefused(
                [Problem("unreadable file", "the workbook is damaged (a part of it does not unpack to what its directory says): save it again from Excel")]
            ) from None


def _first_sheet(z: zipfile.ZipFile) -> str | None:
    """The part name of the workbook's first sheet (the workbook's order, through its relationships)."""
    try:
        book = z.read("xl/workbook.xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    first = re.search(rb'<sheet\b[^>]*\br:id="([^"]+)"', book)
    if not first:
        return None
    rel = re.search(rb'<Relationship\b[^>]*\bId="' + re.escape(first.group(1)) + rb'"[^>]*\bTarget="([^"]+)"', rels) or re.search(
        rb'<Relationship\b[^>]*\bTarget="([^"]+)"[^>]*\bId="' + re.escape(first.group(1)) + rb'"', rels
    )
    if not rel:
        return None
    target = rel.group(1).decode()
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _drain(z: zipfile.ZipFile, name: str) -> int:
    n = 0
    with z.open(name) as fh:
        while piece := fh.read(CHUNK):
            n += len(piece)
    return n


def _check_sheet(z: zipfile.ZipFile, name: str) -> None:
    """Count the sheet's rows and find its formula cells without a saved value, a piece at a time.

    A formula's saved value is its `<v>`: a cell with a formula and no (or an empty) `<v>` was written by a
    program that left the computing to Excel (openpyxl does), and a reader would take it for 0 or empty.
    (A program that writes a placeholder value, as xlsxwriter writes 0, cannot be told from a saved 0.)
    """
    rows, cells, more = 0, 0, 0
    formulas: list[Problem] = []

    def scan(body: bytes) -> None:
        nonlocal rows, cells, more
        rows += body.count(b"<row ") + body.count(b"<row>")
        if rows > XLSX_ROWS:
            raise InputRefused([_too_many_rows(rows, "counted")])
        cells += body.count(b"<c ") + body.count(b"<c>") + body.count(b"<c/>")
        if cells > XLSX_CELLS:
            raise InputRefused(
                [
                    Problem(
                        "sheet too large",
                        f"the sheet has more than {XLSX_CELLS:,} cells (counted before reading it), more than a workbook may hold here: "
                        "a workbook is read whole into memory; save the ledger as CSV, which is read in a stream",
                    )
                ]
            )
        if not _FORMULA.search(body):
            return
        for cell in _CELL.finditer(body):
            inner = cell.group(2) or b""
            if _FORMULA.search(inner) and not _VALUE.search(inner):
                if len(formulas) < EXAMPLES_PER_RULE:
                    formulas.append(_formula(cell.group(1), inner))
                else:
                    more += 1

    tail = b""
    with z.open(name) as fh:
        first = True
        while piece := fh.read(CHUNK):
            text = tail + piece
            if first and (m := _DIMENSION.search(text[:4096])) and int(m.group(1)) > XLSX_ROWS:
                raise InputRefused([_too_many_rows(int(m.group(1)), "dimension")])
            first = False
            # cut after the last whole cell: a cell (its formula and value) is never split between two pieces
            cut = text.rfind(b"</c>")
            cut = cut + 4 if cut >= 0 else (len(text) if len(text) > 4 * CHUNK else 0)
            scan(text[:cut])
            tail = text[cut:]
    scan(tail)
    if more:
        formulas.append(Problem("formula without a value", f"{more:,} more cells hold a formula without a saved value"))
    if formulas:
        raise InputRefused(formulas, sized=True)


def _too_many_rows(n: int, how: str) -> Problem:
    said = f"{n:,} rows (its size says)" if how == "dimension" else f"more than {XLSX_ROWS:,} rows (counted before reading it)"
    return Problem("sheet too large", f"the sheet has {said}, more than a sheet may ({XLSX_ROWS:,}, as in Excel): save the ledger as CSV")


def _formula(attrs: bytes, inner: bytes) -> Problem:
    ref = _REF.search(attrs)
    col, row = (ref.group(1).decode(), int(ref.group(2))) if ref else ("?", None)
    index = 0
    for ch in col if ref else "":
        index = index * 26 + ord(ch) - 64
    f = re.search(rb"<f[^>]*>(.*?)</f>", inner, re.S)
    shown = "=" + f.group(1).decode("utf-8", "replace") if f else "a shared formula"
    return Problem(
        "formula without a value",
        f"row {row}, column {col}: a formula without a saved value: open the file in Excel and save it",
        row=row,
        value=short(shown),
        column_index=index - 1 if ref else None,
    )


# ----------------------------------------------------------------------------- Parquet

PARQUET_FOOTER_BYTES = 16 * 1024 * 1024  # the file's description (schema, row groups, statistics): 16 MiB
PARQUET_COLUMNS = 16_384  # as many as Excel has
PARQUET_ROW_GROUP_BYTES = 256 * 1024 * 1024  # one row group, unpacked, as its footer says: 256 MiB
PARQUET_ROW_GROUP_CELLS = 16_777_216  # rows x columns of one row group: 2^24 (1,048,576 rows of 16 columns, pyarrow's default row-group length)
PARQUET_FREE_CELLS = 50_000_000  # beyond this many cells a file must hold at least a byte on disk a cell (PARQUET_CELL_BYTES)
PARQUET_CELL_BYTES = 1
PARQUET_VALUE_BYTES = CSV_FIELD_CHARS  # one text value: Excel's limit for a cell, as for a CSV


def check_parquet(path: Path) -> None:
    """Refuse a Parquet file (InputRefused) that would expand beyond its limits, before any of its values is read.

    Reads the footer's length (the file's last 8 bytes), then the footer (pyarrow, nothing else), and holds
    it to the limits above: how many columns, how large each row group unpacks to and how many cells it
    holds, how many cells the file holds for its size (a file of repeated values, run-length encoded, holds
    300 million cells in a megabyte and expands to gigabytes). Columns whose kind of value no reader here
    can hold are refused by name. Then the text columns are read in a stream (one row group at a time, each
    within the limits) for a value longer than PARQUET_VALUE_BYTES, named by row and column, cut to 80 characters.
    """
    import pyarrow.parquet as pq

    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, size - 8))
        tail = fh.read(8)
    if size < 12 or head != b"PAR1" or tail[4:] != b"PAR1":
        raise InputRefused([Problem("unreadable file", "the file is not a Parquet file or it is cut short: export it again")])
    footer = int.from_bytes(tail[:4], "little")
    if footer > size - 12:
        raise InputRefused([Problem("unreadable file", "the file is damaged or cut short (its description is longer than the file): export it again")])
    if footer > PARQUET_FOOTER_BYTES:
        raise InputRefused(
            [
                Problem(
                    "file too large",
                    f"the file's description (schema and row groups) is {footer:,} bytes, more than a Parquet file's may be "
                    f"({PARQUET_FOOTER_BYTES:,} bytes, {mb(PARQUET_FOOTER_BYTES)}); the file was not read",
                )
            ]
        )
    try:
        md = pq.read_metadata(path)
        schema = md.schema.to_arrow_schema()
    except Exception:  # the reader's own words are jargon to an analyst
        raise InputRefused([Problem("unreadable file", "the file cannot be read as a Parquet file: it may be damaged or cut short; export it again")]) from None
    if md.num_columns > PARQUET_COLUMNS:
        raise InputRefused(
            [
                Problem(
                    "too many columns",
                    f"the file has {md.num_columns:,} columns, more than a file may have ({PARQUET_COLUMNS:,}, as in Excel); the file was not read",
                )
            ]
        )
    problems: list[Problem] = []
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        cells = rg.num_rows * max(rg.num_columns, 1)
        if rg.total_byte_size > PARQUET_ROW_GROUP_BYTES:
            problems.append(
                Problem(
                    "row group too large",
                    f"row group {i + 1:,} of the file ({rg.num_rows:,} rows) unpacks to {mb(rg.total_byte_size)}, more than a row group may "
                    f"({mb(PARQUET_ROW_GROUP_BYTES)}); the file was not read: write it again with smaller row groups (e.g. 100,000 rows)",
                )
            )
        elif cells > PARQUET_ROW_GROUP_CELLS:
            problems.append(
                Problem(
                    "row group too large",
                    f"row group {i + 1:,} of the file holds {rg.num_rows:,} rows of {rg.num_columns:,} columns ({cells:,} cells), more than a "
                    f"row group may ({PARQUET_ROW_GROUP_CELLS:,} cells); the file was not read: write it again with smaller row groups (e.g. 100,000 rows)",
                )
            )
        if len(problems) >= EXAMPLES_PER_RULE:
            break
    if problems:
        raise InputRefused(problems)
    cells = md.num_rows * max(md.num_columns, 1)
    if cells > PARQUET_FREE_CELLS and size < cells * PARQUET_CELL_BYTES:
        raise InputRefused(
            [
                Problem(
                    "file too large",
                    f"the file holds {md.num_rows:,} rows of {md.num_columns:,} columns ({cells:,} cells) in {size:,} bytes, less than a byte a cell: "
                    "only a file of repeated values is written so small, and it would expand to far more than it is; the file was not read",
                )
            ]
        )
    odd = [(f.name, w) for f in schema if (w := _unreadable_kind(f.type))]
    if odd:
        raise InputRefused(
            [
                Problem(
                    "unreadable column", f"the column '{short(name, 40)}' holds {w}, which a ledger cannot hold: export it as text or a number", heading=name
                )
                for name, w in odd[:EXAMPLES_PER_RULE]
            ]
        )
    texts = [f.name for f in schema if _is_text(f.type)]
    if texts:
        _long_parquet_values(path, texts)


def _is_text(t: object) -> bool:
    """A text column, also one written as a dictionary of texts (read as categories)."""
    import pyarrow as pa

    assert isinstance(t, pa.DataType)
    if pa.types.is_dictionary(t):
        return _is_text(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view"


def _unreadable_kind(t: object) -> str | None:
    """What a Parquet column holds, in words, when no reader here can hold that kind of value (None: one can);
    decided from the type alone (asking polars to try would let it panic and print on the terminal)."""
    import pyarrow as pa

    assert isinstance(t, pa.DataType)
    if pa.types.is_decimal(t) and t.precision > 38:
        return f"decimal numbers of {t.precision} digits (at most 38 can be read)"
    if pa.types.is_union(t):
        return "values of several kinds in one column (a union)"
    if isinstance(t, pa.ExtensionType):
        return f"values of a kind of its own ({t.extension_name})"
    for i in range(t.num_fields):  # inside lists, maps and records
        if (w := _unreadable_kind(t.field(i).type)) is not None:
            return w
    return None


def _long_parquet_values(path: Path, texts: list[str]) -> None:
    """Refuse a text value longer than PARQUET_VALUE_BYTES: the text columns in a stream, their values' lengths only;
    the rows of the first few such values are read again, each value cut to 79 characters."""
    import polars as pl

    lf = pl.scan_parquet(path, glob=False)
    longest = lf.select(pl.col(c).cast(pl.Utf8).str.len_bytes().max().alias(c) for c in texts).collect(engine="streaming").row(0, named=True)
    over = [c for c in texts if (longest[c] or 0) > PARQUET_VALUE_BYTES]
    if not over:
        return
    problems = []
    for c in over:
        rows = (
            lf.with_row_index("_row")
            .filter(pl.col(c).cast(pl.Utf8).str.len_bytes() > PARQUET_VALUE_BYTES)
            .select("_row", pl.col(c).cast(pl.Utf8).str.len_chars().alias("n"), pl.col(c).cast(pl.Utf8).str.slice(0, 79).alias("v"))
            .head(EXAMPLES_PER_RULE)
            .collect(engine="streaming")
        )
        for r, n, v in rows.iter_rows():
            problems.append(
                Problem(
                    "value too long",
                    f"a value of {n:,} characters is longer than a value may be ({PARQUET_VALUE_BYTES:,} characters, as in Excel): "
                    "the export is damaged or this is not a ledger export; the file was not read",
                    row=r + 1,
                    heading=c,
                    value=v + "…",
                )
            )
    raise InputRefused(problems)


# ----------------------------------------------------------------------------- uploads


def check_uploads(sizes: list[tuple[str, int]], file_mb: int, total_mb: int) -> None:
    """Refuse (InputRefused) uploads beyond the per-file or total limit, before any is written."""
    problems = [
        Problem("upload too large", f"{name} is {mb(size)}, more than a file may be ({file_mb:,} MB, [limits] upload_file_mb)")
        for name, size in sizes
        if size > file_mb * 1_048_576
    ]
    total = sum(s for _, s in sizes)
    if total > total_mb * 1_048_576:
        problems.append(
            Problem("upload too large", f"the files are {mb(total)} together, more than an upload may be ({total_mb:,} MB, [limits] upload_total_mb)")
        )
    if problems:
        raise InputRefused(problems)
