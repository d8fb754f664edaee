"""Defects an outside tester found on the pages, each pinned by a test that failed before its fix."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from tests.fixtures import app_page, deferred_spy, load

pytestmark = pytest.mark.usefixtures("fresh_caches")

T = dt.date(2026, 5, 31)
# 5,100 open invoices over 510 customers: more than the 5,000 documents the Aging page lists and the
# 500 customers the At-risk page lists. Invoice k of customer c is for 10 + k, so a customer's AR is
# 10 x 10 + (0 + ... + 9) = 145 (ten invoices each), and all 5,100 documents add up to 510 x 145 = 73,950.
N_CUSTOMERS, PER_CUSTOMER = 510, 10
BIG = {
    "invoices": "invoice_id,customer_id,invoice_date,due_date,amount,currency\n"
    + "\n".join(f"I{c}_{k},C{c},2026-03-01,2026-03-31,{10 + k},USD" for c in range(N_CUSTOMERS) for k in range(PER_CUSTOMER)),
    "customers": "customer_id,name,segment,credit_limit\n" + "\n".join(f"C{c},Customer {c},SMB,1000" for c in range(N_CUSTOMERS)),
}


@pytest.fixture
def downloads(monkeypatch):
    """Every file a page offers for download: (file name, mimetype, bytes)."""
    seen: list[tuple[str | None, str, bytes]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes):
            seen.append((filename, mimetype, path_or_data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    monkeypatch.setattr(MediaFileManager, "add_deferred", deferred_spy(seen))
    return seen


@pytest.fixture
def big(tmp_path, monkeypatch):
    load(tmp_path, BIG, as_of=T)
    monkeypatch.setenv("O2C_DATA", str(tmp_path / "data"))


def csv_rows(downloads) -> list[list[str]]:
    [body] = [b for _, mime, b in downloads if mime.startswith("text/csv")]
    return list(csv.reader(io.StringIO(body.decode())))


def test_aging_download_holds_every_document_not_only_the_listed_ones(big, downloads):
    at = app_page("pages/aging.py")
    caption = " ".join(c.value for c in at.caption)
    assert "5,100 open documents" in caption and "the 5,000 largest are listed" in caption
    rows = csv_rows(downloads)
    assert len(rows) == 1 + 5100
    i = rows[0].index("Open (USD)")
    assert round(sum(float(r[i]) for r in rows[1:]), 2) == 73950.0  # 510 x 145, the whole AR
    excel = [b for _, mime, b in downloads if "spreadsheet" in mime]
    import polars as pl

    assert pl.read_excel(io.BytesIO(excel[0])).height == 5100


def test_at_risk_download_holds_every_customer(big, downloads):
    at = app_page("pages/at_risk.py")
    assert "510 customers with exposure (the first 500 listed" in " ".join(c.value for c in at.caption)
    rows = csv_rows(downloads)
    assert len(rows) == 1 + 510
    assert len({r[0] for r in rows[1:]}) == 510  # each customer once


SMALL = {
    "invoices": "invoice_id,customer_id,invoice_date,due_date,amount,currency\nA1,C1,2026-03-01,2026-03-31,100,USD\n",
    "customers": "customer_id,name,segment,credit_limit\nC1,Acme,SMB,1000\n",
}


@pytest.fixture
def trail(tmp_path, monkeypatch):
    """A data folder whose audit trail holds a load and a follow-up whose details nest a record with a None."""
    from dashboard.store.snapshots import DataDir

    load(tmp_path, SMALL, as_of=T)
    data = DataDir(tmp_path / "data")
    data.record(
        "customer.followup",
        "customer",
        "C1",
        None,
        None,
        {"after": {"dunning_block_by": None, "dunning_block_reason": "legal"}, "amount": 138894.55, "at": "2026-05-31T10:11:12.5Z"},
    )
    monkeypatch.setenv("O2C_DATA", str(tmp_path / "data"))
    return data


def test_audit_trail_reads_in_words(trail, downloads):
    at = app_page("pages/audit.py")
    grid = next(df for df in at.dataframe if "details" in df.value.columns).value
    follow = grid[grid["event"] == "Follow-up set (resubmission, dunning block)"]
    assert len(follow) == 1, list(grid["event"])
    assert follow["details"].iloc[0] == "after, dunning block by: –; after, dunning block reason: legal; amount: USD 138,894.55; at: 2026-05-31 10:11"
    load_row = grid[grid["event"] == "Extract loaded"]["details"].iloc[0]
    assert re.search(r"files: .*invoices\.csv \(SHA-256 [0-9a-f]{12}…\)", load_row), load_row
    for text in grid["details"]:
        assert not re.search(r"[{}\[\]]|\bNone\b|'", text), text  # no Python dicts, lists or None
    assert not any("." in e and " " not in e for e in grid["event"])  # no "customer.followup"
    box = at.selectbox(key="au_action")
    assert "Follow-up set (resubmission, dunning block)" in box.options and "customer.followup" not in box.options
    box.set_value("customer.followup").run()  # the filter still picks by the stored action
    assert list(next(df for df in at.dataframe if "details" in df.value.columns).value["event"]) == ["Follow-up set (resubmission, dunning block)"]
    rows = csv_rows([d for d in downloads if d[0] == "audit_trail.csv"][-1:])
    head = rows[0]
    assert {"Event", "Details", "Action (code)", "Details (JSON)"} <= set(head)
    row = rows[1]
    assert row[head.index("Action (code)")] == "customer.followup"
    assert json.loads(row[head.index("Details (JSON)")])["after"] == {"dunning_block_by": None, "dunning_block_reason": "legal"}
    assert row[head.index("Details")].startswith("after, dunning block by: –")


def test_top_overdue_tooltip_writes_limit_used_and_headings_as_the_tables_do():
    import polars as pl

    from dashboard.present import charts

    top = pl.DataFrame(
        {
            "customer_id": ["C1"],
            "name": ["Acme"],
            "segment": ["SMB"],
            "ar_overdue": [500.0],
            "exposure": [1062.1],
            "credit_limit": [1000.0],
            "utilization": [1.0621],  # 1,062.10 / 1,000: 106.2% on every table, never "106%"
        }
    )
    spec = charts.top_overdue(top, "USD").to_dict()
    [row] = next(iter(spec["datasets"].values()))
    assert row["limit_used"] == "106.2%"
    titles = [t["title"] for t in spec["encoding"]["tooltip"]]
    assert titles == ["Customer", "Name", "Segment", "Overdue (USD)", "Exposure (USD)", "Limit used"]


def test_customer_page_header_shows_the_dunning_block_set_on_collections(tmp_path, monkeypatch):
    from dashboard.collections import followup
    from dashboard.store.snapshots import DataDir
    from dashboard.workbench import notes
    from dashboard.workbench.identity import User

    eng = load(tmp_path, SMALL, as_of=T)
    store = DataDir(tmp_path / "data").trail()
    followup.set_followup(store, User("carl", "collector", "oidc"), notes.Context(T, eng.snapshot.id), "C1", dunning_block="disputes the price")
    monkeypatch.setenv("O2C_DATA", str(tmp_path / "data"))
    at = app_page("pages/customer.py", customer_id="C1")
    header = next(m.value for m in at.markdown if "Segment" in m.value)
    assert "dunning block: disputes the price (set by carl since " in header


def two_loads(tmp_path, monkeypatch):
    """Two snapshots of SMALL (as of 30 April, then 31 May), loaded by the test's OS user; the later is current."""
    from dashboard.load.ingest import ingest
    from dashboard.settings import Settings
    from dashboard.store.snapshots import DataDir
    from tests.fixtures import write_csvs

    data = DataDir(tmp_path / "data")
    for day in (dt.date(2026, 4, 30), T):
        assert ingest([write_csvs(tmp_path / f"x{day}", SMALL)], data, Settings(), as_of=day).ok
    monkeypatch.setenv("O2C_DATA", str(tmp_path / "data"))
    return data


def test_data_page_snapshots_name_the_user_and_pickers_default_to_the_previous_snapshot(tmp_path, monkeypatch):
    import getpass

    data = two_loads(tmp_path, monkeypatch)
    first, second = [s.id for s in data.list()]
    at = app_page("pages/data.py")
    hist = next(df for df in at.dataframe if "loaded_by" in df.value.columns).value
    assert all(v.startswith(getpass.getuser() + " (") for v in hist["loaded_by"]), list(hist["loaded_by"])  # "root (o2c ingest)"
    box = at.selectbox(key="dp_rollback_id")
    assert box.value == first
    assert box.options[0].startswith(f"{first}: as of 2026-04-30, loaded ")
    assert at.selectbox(key="dp_cmp_a").value == first and at.selectbox(key="dp_cmp_b").value == second
    # after a rollback to the first, comparing still starts from the current one against the one loaded before it
    at.button(key="dp_rollback").click().run()
    assert at.selectbox(key="dp_cmp_b").value == first
    caption = " ".join(c.value for c in at.caption)
    # the folder by its name and where it was chosen, never its path (test_data_page holds the latter)
    assert "Data folder `data` (chosen by `--data` / `O2C_DATA`)" in caption and str(tmp_path) not in caption
    assert any("up to 200 MB a file" in u.label for u in at.get("file_uploader"))  # [limits] upload_file_mb, not Streamlit's 500MB


def test_clean_check_says_no_warnings_rather_than_zero_below(tmp_path, monkeypatch):
    from tests.fixtures import write_csvs

    data = two_loads(tmp_path, monkeypatch)
    write_csvs(data.inbox / "clean", SMALL)
    at = app_page("pages/data.py")
    at.selectbox(key="dp_inbox").set_value("clean").run()
    at.button(key="dp_check").click().run()
    said = " ".join(s.value for s in at.success)
    assert "passes every check" in said and "No warnings." in said and "0 warning(s) below" not in said


def test_columns_are_never_narrower_than_their_headings():
    from pages.tables import fit_heading, heading_px

    # "Master class" is 12 characters: 7.5 x 12 + 30 = 120 px, more than Streamlit's "small" (75 px)
    assert fit_heading("small", "Master class") == 120 == heading_px("Master class")
    assert fit_heading("large", "Why") == "large" and fit_heading(None, "Currency") is None
    assert fit_heading(140, "Value") == 140


def test_at_risk_shows_its_ranking_figure_beside_the_reasons(big):
    import json as _json

    at = app_page("pages/at_risk.py")
    ranked = next(df for df in at.dataframe if "reasons" in df.value.columns)
    order = list(ranked.proto.column_order)
    assert order.index("expected_trouble") == order.index("reasons") + 1
    cfg = _json.loads(ranked.proto.columns)
    assert cfg["master_risk_class"]["width"] >= 120  # "Master class" whole (Streamlit's "small" is 75 px)
