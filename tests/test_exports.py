"""Exports never carry a spreadsheet formula (issue 4, safety): text cells starting with = + - @ are escaped."""

import datetime as dt
import io

import polars as pl

from dashboard.present.exports import to_csv, to_excel

NASTY = pl.DataFrame(
    {
        "customer_id": ['=HYPERLINK("http://x","click")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "Acme"],
        "amount": [-120.5, 1.0, 2.0, 3.0, 4.0, 5.0],
    }
)


def test_csv_export_escapes_formula_text_and_keeps_numbers():
    lines = to_csv(NASTY).decode().splitlines()
    cells = [line.rsplit(",", 1)[0] for line in lines[1:]]
    assert all(c.lstrip('"').startswith("'") for c in cells[:5]), cells
    assert cells[5] == "Acme"
    assert lines[1].endswith(",-120.5")  # a negative number stays a number


def test_excel_export_has_no_formula_cells():
    import zipfile

    data = to_excel(NASTY)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
    assert "<f>" not in sheet  # no formula anywhere in the sheet
    back = pl.read_excel(io.BytesIO(data), engine="calamine")
    assert back["customer_id"].to_list()[:4] == ['\'=HYPERLINK("http://x","click")', "'+1+2", "'-2+3", "'@SUM(A1)"]
    assert back["amount"].to_list()[0] == -120.5
    assert "HYPERLINK" in strings


def _sheet_xml(book: bytes, n: int = 1) -> tuple[str, str]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(book)) as z:
        return z.read(f"xl/worksheets/sheet{n}.xml").decode(), z.read("xl/styles.xml").decode()


def _widths(sheet: str) -> list[float]:
    import re

    # one <col> can stand for a run of columns of the same width (min..max)
    runs = re.findall(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', sheet)
    return [float(w) for lo, hi, w in runs for _ in range(int(lo), int(hi) + 1)]


def _format_of(sheet: str, styles: str, cell: str) -> str:
    """The number format Excel applies to a cell (its style's numFmt)."""
    import re

    style = int(re.search(rf'<c r="{cell}" s="(\d+)"', sheet).group(1))  # type: ignore[union-attr]
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S).group(1)  # type: ignore[union-attr]
    fmt_id = re.findall(r'<xf numFmtId="(\d+)"', xfs)[style]
    return dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))[fmt_id]


def test_excel_writes_a_share_as_a_percent_and_money_to_the_cent():
    # "Limit used" 1.0621 is shown as 106.2% on the pages: the workbook holds 1.0621 formatted 0.0% (reads 106.2%),
    # never #,##0.00 (reads 1.06); exposure 1,234,567.891 is rounded to the cent and formatted with separators.
    df = pl.DataFrame({"customer_id": ["C1", "C2"], "utilization": [1.0621, None], "exposure": [1234567.891, -5.0]})
    book = to_excel(df, "x", "USD")
    back = pl.read_excel(io.BytesIO(book), engine="calamine")
    assert back.columns == ["Customer", "Limit used", "Exposure (USD)"]
    assert back["Limit used"].to_list()[0] == 1.0621 and back["Exposure (USD)"].to_list() == [1234567.89, -5.0]
    sheet, styles = _sheet_xml(book)
    assert _format_of(sheet, styles, "B2") == "0.0%"
    assert _format_of(sheet, styles, "C2").startswith("#,##0.00")


def test_excel_columns_are_wide_enough_for_their_headings():
    # "Blocked orders, scenario (USD)" is 30 characters: its column holds at least 30 + the filter arrow's 3
    # characters at ~7 px each (Excel's width unit is one character); short values do not make it narrower.
    df = pl.DataFrame({"segment": ["SMB"], "blocked_value_scenario": [1.0], "customer_id": ["C" * 100]})
    widths = _widths(_sheet_xml(to_excel(df, "x", "USD"))[0])
    assert widths[1] >= 30 + 3
    assert widths[0] >= len("Segment") + 3
    assert widths[2] <= 62  # a long value is capped, not a column across the screen


def test_whatif_by_segment_sheet_shows_whole_headings(tmp_path):
    from dashboard.whatif import export
    from dashboard.whatif import model as S
    from dashboard.whatif.tables import SEGMENT_COLUMNS
    from tests.fixtures import WHATIF_LEDGER, WHATIF_WIDE, load

    class Snap:
        id = "SNAP-1"
        manifest = {"as_of": "2026-03-31", "source_files": [{"name": "invoices.csv", "sha256": "ab"}]}

    class Eng:
        snapshot = Snap()

    res = S.run(S.baseline(load(tmp_path, WHATIF_LEDGER), dt.date(2026, 3, 31)), S.parse_scenario(WHATIF_WIDE))
    book = export.export_excel(export.export_record(Eng(), S.parse_scenario(WHATIF_WIDE), res), res, "USD")  # type: ignore[arg-type]
    widths = _widths(_sheet_xml(book, 2)[0])  # sheet 2: By segment
    headings = [c.words("USD") for c in SEGMENT_COLUMNS]
    assert "Blocked orders, scenario (USD)" in headings
    assert all(w >= len(h) for w, h in zip(widths, headings, strict=True)), list(zip(widths, headings))
