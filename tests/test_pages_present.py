"""Presentation on the pages: headings from the one registry, finance formats, no code names, no
null/None/nan, no "+0" arrows, and ledger text shown as text (never rendered as markdown).

Every page is walked through AppTest on a small ledger whose customer names and segment are
markdown (a link, an image, bold, underscores, HTML); the ledger is this file's own.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import string
from pathlib import Path

import polars as pl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from dashboard.load.ingest import ingest
from dashboard.present import charts
from dashboard.present.formatting import delta, signed_count, signed_days, signed_money, signed_pts
from dashboard.present.labels import column, label
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from pages.tables import WORD_JOINER, config, plain
from tests.fixtures import deferred_spy

APP = str(Path(__file__).resolve().parent.parent / "app.py")
T = dt.date(2026, 5, 31)
LINK = "[click](http://evil)"
IMAGE = "![t](http://host/pixel.png)"
NAME = f"{LINK} {IMAGE} **bold**"
SEGMENT = "_Key_ accounts"
# C1: the markdown name, under its limit; C2: over its limit (100) at the prior month-end and at T,
# so "Customers over limit" does not change (the tile shows no arrow); C3: known only by an order.
LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,currency,paid_date,disputed
A0,C1,2026-01-01,2026-01-31,400,USD,2026-02-10,no
A1,C1,2026-03-01,2026-03-31,500.10,USD,,no
A2,C1,2026-05-10,2026-06-09,200,USD,,yes
B0,C2,2026-02-01,2026-03-03,150,USD,2026-03-20,no
B1,C2,2026-03-15,2026-04-14,300.3,USD,,no
""",
    "orders": """
order_id,customer_id,order_date,amount,currency
O1,C1,2026-05-25,120,USD
O2,C3,2026-05-26,80,USD
""",
    "customers": f"""
customer_id,name,segment,credit_limit
C1,{NAME},{SEGMENT},1000
C2,Beta <b>Corp</b>,SMB,100
""",
}
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")
PAGES = [None, "pages/aging.py", "pages/exposure.py", "pages/at_risk.py", "pages/customer.py", "pages/data.py", "pages/collections.py", "pages/dunning.py"]
pytestmark = pytest.mark.usefixtures("fresh_caches")


def write(folder: Path, tables: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    res = ingest([write(tmp_path / "x", LEDGER)], DataDir(d), Settings(), as_of=T)
    assert res.ok, res.report.to_text()
    broken = dict(LEDGER, invoices=LEDGER["invoices"].replace("B1,C2,2026-03-15", "B1,C2,15.03.2026"))
    write(d / "inbox" / "broken", broken)
    (d / "inbox" / "**empty**_[x](evil.md)").mkdir()  # a folder with no extract in it, named in markdown
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


@pytest.fixture
def downloads(monkeypatch):
    """Every file a page offers for download in this test: (file name, mimetype, bytes)."""
    seen: list[tuple[str | None, str, bytes]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes):
            seen.append((filename, mimetype, path_or_data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    monkeypatch.setattr(MediaFileManager, "add_deferred", deferred_spy(seen))
    return seen


def open_page(path: str | None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    if path:
        at.switch_page(path).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def check_the_report(at: AppTest) -> AppTest:
    at.selectbox(key="dp_inbox").set_value("broken").run()
    at.button(key="dp_check").click().run()
    assert not at.exception, at.exception
    return at


def headings(df) -> dict[str, str | None]:
    """The heading each visible column of a st.dataframe shows (None: no heading configured, the raw name shows)."""
    cfg = json.loads(df.proto.columns) if df.proto.columns else {}
    order = list(df.proto.column_order) or list(df.value.columns)
    shown = [c for c in order if not cfg.get(c, {}).get("hidden")]
    return {c: cfg.get(c, {}).get("label") for c in shown}


def texts(at: AppTest) -> list[str]:
    parts = [e.value for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error)]
    parts += [m.value for m in at.metric] + [m.label for m in at.metric] + [m.delta for m in at.metric if m.delta]
    return [str(p) for p in parts]


# ----------------------------------------------------------------------------------------------- pages


@pytest.mark.parametrize("path", PAGES)
def test_every_table_of_every_page_has_word_headings(data, path):
    at = open_page(path, customer_id="C1")
    if path == "pages/data.py":
        at = check_the_report(at)
    assert at.dataframe or at.table, "every page shows a table"
    for df in at.dataframe:
        for name, heading in headings(df).items():
            assert heading, f"{path}: column {name} has no heading of its own"
            assert not SNAKE.search(heading), f"{path}: column {name} is headed {heading!r}"
            assert heading == label(name.removesuffix("__pct"), "USD") or name in ("before", "after", "change", "files"), (path, name, heading)
    for table in at.table:
        assert not [c for c in table.value.columns if SNAKE.search(str(c))], (path, list(table.value.columns))


@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_null_none_or_nan(data, path):
    at = open_page(path, customer_id="C1")
    if path == "pages/data.py":
        at = check_the_report(at)
    shown = "\n".join(texts(at))
    assert not re.search(r"\b(null|None|nan|NaN)\b", shown), shown
    for df in at.dataframe:
        assert df.proto.placeholder == "–"  # a missing value is a dash


@pytest.mark.parametrize(("path", "n"), [("pages/aging.py", 2), ("pages/at_risk.py", 2)])
def test_csv_and_excel_exports_have_word_headings_and_cents(data, downloads, path, n):
    open_page(path)
    csvs = [b for name, mime, b in downloads if mime.startswith("text/csv")]
    assert len([1 for _, mime, _ in downloads if "csv" in mime or "spreadsheet" in mime]) == n
    for body in csvs:
        rows = list(csv.reader(io.StringIO(body.decode())))
        assert rows and not [h for h in rows[0] if SNAKE.search(h)], rows[0]
        assert "Open (USD)" in rows[0] or "Exposure (USD)" in rows[0]
        for row in rows[1:]:
            for heading, cell in zip(rows[0], row):
                if "(USD)" in heading and cell:
                    assert re.fullmatch(r"-?\d+(\.\d{1,2})?", cell), (heading, cell)  # to the cent, no 500.10000000000002


def test_aging_page_names_buckets_as_a_reader_does(data):
    at = open_page("pages/aging.py")
    table = headings(at.dataframe[0])
    assert list(table.values()) == ["Segment", "Not due", "1-30", "31-60", "61-90", "91-180", "181+", "Total (USD)"]
    assert at.selectbox(key="aging_bucket").options == ["All buckets", "Not due", "1-30", "31-60", "61-90", "91-180", "181+"]
    # the drill-down shows the open amount and how late it is right after the document
    docs = list(headings(at.dataframe[1]))
    assert docs[:3] == ["invoice_id", "open_amount_base", "days_past_due"]
    assert "bucket" not in docs


def test_columns_a_decision_rests_on_come_first_and_are_wide(data):
    at = open_page("pages/at_risk.py")
    ranked = next(df for df in at.dataframe if "reasons" in df.value.columns)
    order = list(headings(ranked))
    assert order.index("reasons") <= 2
    why = json.loads(ranked.proto.columns)["reasons"]
    assert why["width"] >= 250 and ranked.proto.row_height > 64  # wide, and wrapped over lines
    at = open_page("pages/exposure.py")
    watch = next(df for df in at.dataframe if "headroom" in df.value.columns)
    assert list(headings(watch)).index("utilization__pct") <= 2  # Limit used
    by = next(df for df in at.dataframe if "customers_with_limit" in df.value.columns)
    assert "ar_overdue" in headings(by) and headings(by)["ar_overdue"] == "Overdue (USD)"


def test_numbers_are_formatted_for_finance_in_the_tables(data):
    at = open_page("pages/exposure.py")
    by = next(df for df in at.dataframe if "customers_with_limit" in df.value.columns)
    cfg = json.loads(by.proto.columns)
    assert cfg["ar_overdue"]["type_config"] == {"type": "number", "format": "accounting"}  # 6,172,158.51
    # 52.4%: shares shown from a copy in percent as "%.1f%%", one decimal like the tiles (Streamlit's
    # "percent" writes 192.57% beside 191.8%); the share itself stays in the data, hidden
    assert cfg["utilization"] is None or cfg["utilization"].get("hidden")
    assert cfg["utilization__pct"]["label"] == "Limit used" and cfg["utilization__pct"]["type_config"]["format"] == "%.1f%%"
    assert list(headings(by))[3] == "utilization__pct"
    shown = {k: None if v != v else round(v, 6) for k, v in zip(by.value["segment"], by.value["utilization__pct"])}  # NaN: missing
    # (500.10 + 200 + 120) / 1000, 300.30 / 100; C3 (an order, no limit) is not 0 % used: a dash
    assert shown == {"_Key_ accounts": 82.01, "SMB": 300.3, "Unassigned": None}
    assert cfg["customers"]["type_config"]["format"] == "localized"  # 1,191


def test_a_change_that_reads_as_zero_shows_no_arrow(data):
    at = open_page(None)
    tile = next(m for m in at.metric if m.label == "Customers over limit")
    assert tile.value == "1" and not tile.delta  # C2 over its limit at 30 April and at 31 May: no "+0"
    assert all(re.search(r"[1-9]", m.delta) for m in at.metric if m.delta)


def test_ledger_text_is_shown_as_text_on_the_customer_page(data):
    at = open_page("pages/customer.py", customer_id="C1")
    assert at.subheader[0].value == f"C1 · {plain(NAME)}"
    assert plain(LINK) == "\\[click\\]\\(http\\:\u2060\\/\\/evil\\)" and plain(LINK) in at.subheader[0].value
    assert f"Segment **{plain(SEGMENT)}**" in at.markdown[0].value
    assert not [t for t in texts(at) if LINK in t or IMAGE in t or "**bold**" in t]  # never unescaped
    # the search shows the names as they are in its (plain-text) options
    at.text_input(key="cust_search").input("click").run()
    assert not at.exception
    assert at.selectbox(key="cust_pick").options == [f"C1 · {NAME} ({SEGMENT})"]
    at.text_input(key="cust_search").input("**nobody**").run()
    assert r"\*\*nobody\*\*" in at.warning[0].value


def test_the_customer_url_parameter_is_shown_as_text(data):
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["customer"] = "[x](http://evil)"
    at.run()
    at.switch_page("pages/customer.py").run()
    assert not at.exception
    assert at.error[0].value == f"There is no customer '{plain('[x](http://evil)')}' in this snapshot."
    assert plain("[x](http://evil)").startswith(r"\[x\]\(http")


def test_the_data_page_quotes_folder_names_as_text(data):
    at = check_the_report(open_page("pages/data.py"))
    report = next(df for df in at.dataframe if "message" in df.value.columns)
    assert list(headings(report))[:2] == ["severity", "message"]
    at.selectbox(key="dp_inbox").set_value("**empty**_[x](evil.md)").run()
    at.button(key="dp_check").click().run()
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert plain("**empty**_[x](evil.md)") in message and "**empty**" not in message


def test_no_caption_points_at_the_spec_files(data):
    for path in PAGES:
        at = open_page(path, customer_id="C1")
        shown = "\n".join(texts(at) + [str(m.help) for m in at.metric] + [str(e.proto) for e in at.expander])
        assert not re.search(r"\.md\b|shared/spec", shown), path


# ----------------------------------------------------------------------------------------------- core


def test_delta_shows_no_arrow_for_a_change_that_reads_as_zero():
    assert delta(1, 1, signed_count) is None  # the red "up +0"
    assert delta(0.13801, 0.13799, signed_pts) is None  # +0.0 pts
    assert delta(60.41, 60.44, signed_days) is None  # -0.03 days reads +0.0
    assert delta(1000.4, 1000.0, lambda x: signed_money(x, "USD")) is None  # +USD 0
    assert delta(1000.0, 1000.4, lambda x: signed_money(x, "USD")) is None  # -USD 0
    assert delta(None, 3, signed_count) is None and delta(3, None, signed_count) is None
    assert delta(29, 28, signed_count) == "+1"
    assert delta(0.139, 0.138, signed_pts) == "+0.1 pts"
    assert delta(2_655_600, 0, lambda x: signed_money(x, "USD")) == "+USD 2.7m"
    assert delta(8.3, 8.8, signed_days) == "-0.5 days"


@pytest.mark.parametrize(
    "text",
    [
        "[click](http://evil)",
        "![t](http://host/pixel.png)",
        "**bold** and __bold__ and *it* _it_",
        "`code` ~~gone~~ # heading | a | b |",
        "<b>html</b> <img src=x onerror=alert(1)> &amp; $x^2$ \\*",
        "1. not a list",
        "- nor this",
        "> nor a quote",
        "http://bare.example.com www.example.com a@b.co",
        ":red[coloured] :material/home:",
    ],
)
def test_plain_text_renders_as_itself(text):
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    out = md.render(plain(text)).strip()
    assert out.startswith("<p>") and out.endswith("</p>") and out.count("<") == 2, out  # one paragraph, no other tag
    assert html.unescape(out[3:-4]).replace(WORD_JOINER, "") == text


def test_plain_escapes_every_markdown_character_and_says_none_as_n_a():
    for ch in "[]()!*_`#<>|~$\\":
        assert plain(ch) == "\\" + ch
    assert plain("Acme GmbH") == "Acme GmbH" and plain(None) == "n/a"
    assert plain("a\nb") == "a b" and plain("a_b\nc", lines=True) == "a\\_b  \nc"
    assert all(plain(c).replace(WORD_JOINER, "") == "\\" + c for c in string.punctuation)
    # GitHub-flavoured markdown links bare addresses after reading the escapes: an invisible word joiner breaks them
    assert plain("www.x.com") == "www\u2060\\.x\\.com" and plain("a@b.co") == "a\u2060\\@b\\.co"


def test_the_registry_heads_aging_buckets_and_formats_by_kind():
    assert [column(n).label for n in ("not_due", "1_30", "181_plus")] == ["Not due", "1-30", "181+"]
    assert column("1_30").kind == "money"
    df = pl.DataFrame({"ar_overdue": [6172158.5117], "utilization": [1.9257], "customers": [1191], "row": ["6"], "reasons": ["x"]})
    cfg = config(df, "USD")
    assert (cfg["ar_overdue"]["label"], cfg["ar_overdue"]["type_config"]["format"]) == ("Overdue (USD)", "accounting")
    assert cfg["utilization"]["type_config"]["format"] == "percent"  # without show(): Streamlit's own
    with_copy = config(df.with_columns(utilization__pct=pl.col("utilization") * 100), "USD")  # as show() passes it
    assert with_copy["utilization"] is None and with_copy["utilization__pct"]["type_config"]["format"] == "%.1f%%"
    assert cfg["ar_overdue"]["type_config"].get("step") is None  # a step would truncate the cents, not round them
    assert cfg["row"]["type_config"]["type"] == "text"  # already written as text by the page
    assert cfg["reasons"]["width"] == "large"


def test_plotly_charts_read_money_like_the_tiles():
    pivot = pl.DataFrame({"segment": ["<b>SMB</b>", "Retail"], "A": [13_300_000.0, 185_000.0], "B": [0.0, 1_234.5]})
    trace = charts.exposure_heatmap(pivot, "USD").data[0]
    assert [list(r) for r in trace.text] == [["13.3m", "0"], ["185.0k", "1.2k"]]
    assert trace.customdata[0][0] == "USD 13,300,000.00"
    assert list(trace.colorbar.ticktext) == ["0", "5m", "10m"]
    assert trace.y[0] == "&lt;b&gt;SMB&lt;/b&gt;"  # Plotly would read the tags as markup
    bins = pl.DataFrame({"band": ["0-20%", "no limit"], "customers": [1191, 3], "exposure": [6172158.5117, 0.0]})
    bars = charts.utilisation_bars(bins, "USD").data[0]
    assert list(bars.customdata) == ["USD 6.2m", "USD 0"] and "%{y:,}" in bars.hovertemplate
    gauge = charts.utilisation_gauge(1.9257).data[0]
    assert gauge.number.valueformat == ".1f"  # 192.6%, like every share


def test_short_chart_axes_read_as_whole_customers_and_dates():
    bins = pl.DataFrame({"band": ["0-20%", "80-100%", "no limit"], "customers": [0, 1, 1], "exposure": [0.0, 820.1, 80.0]})
    assert charts.utilisation_bars(bins, "USD").layout.yaxis.dtick == 1  # 0, 1: never 0, 0, 1, 1
    paid = pl.DataFrame({"invoice_id": ["A0"], "paid_date": [dt.date(2026, 2, 10)], "days_late": [10], "amount_base": [400.0]})
    axis = charts.payment_history(paid).layout.xaxis
    assert (axis.tickformat, axis.dtick) == ("%b %Y", "M1") and list(axis.range) == [dt.date(2025, 12, 27), dt.date(2026, 3, 27)]  # not milliseconds
