"""Exports never carry a spreadsheet formula (issue 4, safety): text cells starting with = + - @ are escaped."""

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
