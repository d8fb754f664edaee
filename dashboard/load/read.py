"""Reading an extract's files: which files, which table each holds, and their text as a lazy frame.

Nothing here judges a value (parse.py does); this only finds the files, decides a CSV's
encoding (on the whole file) and delimiter, holds each input to its limits (limits.py) before a
reader expands it, and says where a CSV the parser cannot read breaks.

Paths are literal everywhere: `invoices [1].csv` is that file, never a pattern that matches
`invoices 1.csv` (the readers' glob expansion is off), and only regular files are read: a link, a
pipe or a device is refused by name before it is opened.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import re
import stat
import unicodedata
import warnings
from pathlib import Path

import polars as pl

from dashboard.load.limits import CHUNK, InputRefused, LineMeter, Problem, QuoteLook, check_parquet, check_xlsx, quoted_problems, within

PARQUET = {".parquet", ".pq"}
EXCEL = {".xlsx", ".xlsm"}
READABLE = {".csv", ".txt", ".tsv"} | PARQUET | EXCEL  # .csv, .txt and .tsv are read as delimited text
# File stems that name each table (generic layout): "invoices.csv", "AR_invoices_2026.parquet", ...
TABLE_WORDS = {
    "invoices": ("invoice", "document", "open_item", "ledger", "receivable"),
    "payments": ("payment", "receipt", "cash"),
    "customers": ("customer", "master", "debtor"),
    "orders": ("order",),
    "fx": ("fx", "rate", "exchange", "currenc"),
}


class IngestUsageError(ValueError):
    """The call itself is wrong (no such file, nothing readable): exit code 2."""


def expand(paths: list[Path]) -> list[Path]:
    """The files to read: each file given, and the readable files of each folder given (sorted, none hidden).

    Anything that is not a regular file (a link, a pipe, a device, a socket), given or in a folder given, is
    refused (IngestUsageError naming each) without being opened: a link in an extract folder could copy any
    file of the server into the kept extract and quote it in the report. Sub-folders of a folder are not read.
    """
    files: list[Path] = []
    odd: list[str] = []
    for p in map(Path, paths):
        kind = _kind(p)
        if kind == "folder":
            for f in sorted(p.iterdir()):
                if f.name.startswith("."):
                    continue
                k = _kind(f)
                if k == "file" and f.suffix.lower() in READABLE:
                    files.append(f)
                elif k not in ("file", "folder"):
                    odd.append(f"{f}: {k}")
        elif kind == "file":
            files.append(p)
        elif kind == "missing":
            raise IngestUsageError(f"{p}: no such file or folder")
        else:
            odd.append(f"{p}: {kind}")
    if odd:
        raise IngestUsageError(
            "only regular files are read, and these are not (nothing was read or kept): "
            + "; ".join(odd)
            + ". Copy the files themselves into the extract folder"
        )
    if not files:
        raise IngestUsageError(f"no CSV or Parquet file found in {', '.join(map(str, paths))}")
    return files


def _kind(p: Path) -> str:
    """'file', 'folder', 'missing', or what else the path is, in words; links are never followed."""
    try:
        mode = os.lstat(p).st_mode
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "a symbolic link (links are not followed)"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


# What a saved file name may not hold: control and format characters (line breaks, NUL, a right-to-left
# override that would show "fdp.csv" as "csv.pdf"), the characters Windows refuses in a name (so the data
# folder can be copied there) and the shell's separator ";". Letters with accents, spaces, brackets, &, '
# and # are a file's name as its owner wrote it ("Fälligkeit [1] #&'.csv") and are kept.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff<>:\"|?*;]")


def safe_file_name(name: str) -> str:
    """An uploaded file's name as a plain file name: never a path, never hidden, no control characters."""
    # NFC: a browser on macOS sends "é" as e + a combining accent; the name is kept as one letter
    base = Path(unicodedata.normalize("NFC", name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip().lstrip(".").rstrip(". ")  # Windows drops a trailing dot or space
    return base or "upload"


def table_from_name(f: Path, lone: bool) -> str | None:
    """The table a file's name says it holds ("AR_invoices_2026.csv": invoices); a lone file is the invoices."""
    stem = f.stem.lower()
    found = [t for t, words in TABLE_WORDS.items() if any(w in stem for w in words)]
    if len(found) == 1:
        return found[0]
    return "invoices" if lone else None


def sniff_csv(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a text export: UTF-8 (with or without BOM) or Windows-1252; , ; tab or |.

    The delimiter is the one the header line uses most. The encoding is decided on the whole file, in the same
    streaming pass that holds its lines and values to their limits: UTF-8 when every byte reads as UTF-8;
    Windows-1252 when some do not and nothing in the file is written in UTF-8; anything else (a file that
    mixes the two, bytes Windows-1252 does not define) is refused at its line (InputRefused), never read
    with a replacement character.
    """
    with open(path, "rb") as fh:
        head = fh.read(CHUNK)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputRefused([Problem("unsupported encoding", "the file is saved as Unicode text (UTF-16): save it again as CSV UTF-8 (comma delimited)")])
    first = (_text(head[: head.find(b"\n") if b"\n" in head else None]).lstrip("\ufeff").splitlines() or [""])[0]
    sep = max([",", ";", "\t", "|"], key=first.count)
    return _scan(path, sep, first), sep


def _text(header: bytes) -> str:
    """The header line as text, for its delimiter and the headings named in messages (UTF-8, else Windows-1252)."""
    try:
        return header.decode("utf-8")
    except UnicodeDecodeError:
        return header.decode("cp1252", errors="replace")


# A character that UTF-8 writes in two to four bytes; bytes that Windows-1252 does not define.
_UTF8_CHAR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def _scan(path: Path, sep: str, header: str) -> str:
    """The whole file's encoding ('utf8' or 'cp1252'), its lines and values held to limits.py's; see sniff_csv.

    One pass decides the encoding and looks for a piece that may hold an over-long value or line
    (limits.within: cheap); only a file with such a piece is measured exactly, in a second pass (LineMeter).
    """
    bad = utf8_char = undefined = None  # offsets: a byte UTF-8 does not allow, a UTF-8 character, a byte 1252 lacks
    carry = tail = b""
    fits = True
    base = 0
    quotes = QuoteLook()
    with open(path, "rb") as fh:
        while piece := fh.read(CHUNK):
            fits = fits and within(piece, sep.encode())
            quotes.feed(piece)
            if not carry and piece.isascii():  # most pieces of most exports: nothing to decide in them
                base, tail = base + len(piece), piece[-3:]
                continue
            if bad is None:
                data = carry + piece
                try:
                    data.decode("utf-8")
                    carry = b""
                except UnicodeDecodeError as exc:
                    if exc.reason == "unexpected end of data":  # a character cut by the piece's end: read on
                        carry = data[exc.start :]
                    else:
                        bad = base - len(carry) + exc.start
            if utf8_char is None and (m := _UTF8_CHAR.search(tail + piece)):
                utf8_char = base - len(tail) + m.start()
            if undefined is None and (m := _NOT_CP1252.search(piece)):
                undefined = base + m.start()
            base, tail = base + len(piece), piece[-3:]
    if bad is None and carry:
        bad = base - len(carry)  # the file ends in the middle of a character
    if not fits:
        meter = LineMeter(sep)
        with open(path, "rb") as fh:
            while piece := fh.read(CHUNK):
                meter.feed(piece)
        meter.finish()
        if not meter.ok:
            raise InputRefused(meter.problems(path, _headings(header, sep)))
    if bad is None or (utf8_char is None and undefined is None):
        encoding = "utf8" if bad is None else "cp1252"
        if quotes.suspect and (problems := quoted_problems(path, encoding, sep, _headings(header, sep))):
            raise InputRefused(problems)
        return encoding
    line, shown, hexed = _where(path, bad)
    if utf8_char is not None:
        other, text, _ = _where(path, utf8_char)
        message = (
            f"line {line:,} has the byte(s) {hexed}, which are not UTF-8, but line {other:,} is written in UTF-8 "
            f"({_utf8_example(path, utf8_char)}): the file mixes two encodings, and reading it either way would change "
            "some characters (Café would become Caf? or CafÃ©). Save the export again as CSV UTF-8"
        )
    else:
        message = (
            f"line {line:,} has the byte(s) {hexed}, which are neither UTF-8 nor Windows-1252 text: the file is damaged "
            "or in another encoding. Save the export again as CSV UTF-8"
        )
    raise InputRefused([Problem("unreadable characters", message, row=line, value=shown)])


def _headings(header: str, sep: str) -> list[str]:
    """The header line's headings, for messages (a header with an over-long heading: split plainly)."""
    try:
        return next(csv.reader([header], delimiter=sep), [])
    except csv.Error:
        return header.split(sep)


def _where(path: Path, offset: int) -> tuple[int, str, str]:
    """(line number, the text around `offset` with odd bytes as \\xNN, the bytes at `offset` in hex)."""
    line, start = 1, 0
    with open(path, "rb") as fh:
        pos = 0
        while pos < offset and (piece := fh.read(min(CHUNK, offset - pos))):
            line += piece.count(b"\n")
            if (k := piece.rfind(b"\n")) >= 0:
                start = pos + k + 1
            pos += len(piece)
        fh.seek(max(start, offset - 40))
        around = fh.read(80).split(b"\n")[0]
        fh.seek(offset)
        at = fh.read(4)
    odd = at[: next((i for i, b in enumerate(at) if b < 0x80), len(at))] or at[:1]  # the run of non-ASCII bytes there
    return line, around.decode("utf-8", errors="backslashreplace"), " ".join(f"{b:02X}" for b in odd)


def _utf8_example(path: Path, offset: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(offset)
        m = _UTF8_CHAR.match(fh.read(4))
    return f"'{m.group().decode()}' as {' '.join(f'{b:02X}' for b in m.group())}" if m else "a character"


def read_raw(path: Path) -> tuple[pl.LazyFrame, int]:
    """The file as a lazy frame (CSV columns as text) and the offset from row index to the row an analyst sees.

    Lazy, so that a large CSV or Parquet file is parsed and checked in a stream:
    its text form is never held in memory whole.
    """
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        check_parquet(path)  # its footer held to the limits before any value is read (limits.py)
        return pl.scan_parquet(path, glob=False), 1
    if suffix in EXCEL:
        # Cached cell values only: no formula in the workbook is ever evaluated, and one without a saved
        # value is refused (limits.check_xlsx), as is a workbook that would unpack beyond its limits.
        try:
            check_xlsx(path)
        except InputRefused as exc:
            if exc.sized:  # within every size limit: the headings can be read to name the refused cells
                exc.name_columns(_excel_headings(path))
            raise
        return read_excel_cells(path).lazy(), 2
    enc, sep = sniff_csv(path)
    if enc == "utf8":  # every byte was read as UTF-8 by sniff_csv: nothing is replaced
        lf = pl.scan_csv(path, infer_schema=False, separator=sep, encoding="utf8", glob=False)
    else:
        lf = pl.read_csv(path.read_bytes().decode("cp1252").encode("utf-8"), infer_schema=False, separator=sep).lazy()
    names = lf.collect_schema().names()
    lf = lf.rename({c: c.lstrip("\ufeff") for c in names if c.startswith("\ufeff")})
    # CSV row i (0-based, after the header) is line i + 2 of the file, as a spreadsheet shows it.
    return lf, 2


# The text calamine gives a date cell in a column it reads as text (a column mixing date cells with typed text):
# "2026-01-15 00:00:00". A typed text cell never has this exact form by accident of a spreadsheet's display.
EXCEL_DATE_CELL = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"

# fastexcel logs through Python's logging ("Could not determine dtype for column 5, falling back to string" for an
# empty column); with no handler configured Python prints it on stderr, where it breaks `--json` error output and
# means nothing to an analyst. What it describes (a column read as text) is judged and reported by parse.py.
logging.getLogger("fastexcel").addHandler(logging.NullHandler())
logging.getLogger("fastexcel").propagate = False


def read_excel_cells(path: Path) -> pl.DataFrame:
    """The first sheet, each column typed from ALL its cells (a date column stays a date column however many
    rows it has; a text cell below the reader's usual sample of 100 rows is never turned into an empty cell).

    In a column that mixes date cells with text, a date cell arrives as "YYYY-MM-DD HH:MM:SS" (EXCEL_DATE_CELL) and
    is kept so: a date cell, told apart from a date typed as text (which a layout reads with its declared formats,
    refusing "2026-01-15" typed in a dd.mm.yyyy export); parse.py takes its date (and says so of a time of day).
    """
    with warnings.catch_warnings():  # a library's warning is no message for the analyst (see above)
        warnings.simplefilter("ignore")
        return pl.read_excel(path, engine="calamine", infer_schema_length=None)


def _excel_headings(path: Path) -> list[str]:
    """The first sheet's headings; read only after check_xlsx found its sizes within limits."""
    import fastexcel

    try:
        return [c.name for c in fastexcel.read_excel(str(path)).load_sheet(0, n_rows=0).available_columns()]
    except Exception:  # the headings only name a cell in a message: without them it is named by its letter
        return []


def csv_problem(path: Path) -> tuple[int, int, int, str] | None:
    """(line, fields, header fields, text) of the first record of a CSV whose field count is not the
    header's: where an unclosed quote or a stray delimiter breaks the file. Only on the error path."""
    enc, sep = sniff_csv(path)
    encoding = "utf-8-sig" if enc == "utf8" else "cp1252"
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        line = reader.line_num + 1
        for rec in reader:
            if rec and len(rec) != len(header):
                fields = len(rec)
                break
            line = reader.line_num + 1
        else:
            return None
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        text = next(itertools.islice(fh, line - 1, None), "")  # the line as the analyst's editor shows it
    return line, fields, len(header), text.strip()[:80]
