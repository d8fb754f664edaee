"""What a server rerun must not pay for again (issue 12: the load test's reruns had grown 4-5x slower).

Measured with py-spy on `o2c serve` under bench/load_test.py: most of the server's CPU went to training the
late-payment model, a thread per At-risk visit at a new date (a dozen at once with 20 sessions on two cores),
and the rest of the page reruns' time mostly to the aging and at-risk downloads, whose CSV and Excel bytes were
built on every rerun at a new date or selection. These tests count the work, not the time: training runs one
date at a time and drops what nobody waits for; a rerun builds no download.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from dashboard.load.ingest import ingest
from dashboard.prediction import model
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import MIXED, app_page, no_errors, write_csvs

T = dt.date(2026, 5, 31)


class FakeEngine:
    """Stands for an engine: the scheduler keys its requests by engine (weakly) and date."""

    as_of = T


@pytest.fixture
def counted_training(monkeypatch):
    """model._build replaced by a 0.3 s stand-in that counts the trainings and how many ran at once."""
    seen = {"built": [], "now": 0, "most": 0}
    lock = threading.Lock()

    def build(eng, t):
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        time.sleep(0.3)
        with lock:
            seen["now"] -= 1
            seen["built"].append(t)
        return f"prediction at {t}"

    monkeypatch.setattr(model, "_build", build)
    return seen


def wait_for(cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_training_runs_one_date_at_a_time(counted_training):
    eng = FakeEngine()
    days = [T - dt.timedelta(days=i) for i in range(6)]
    for day in days:  # six visits at six dates, while each page still waits (ready() every 2 s, here at once)
        model.start(eng, day)
    for day in days:
        model.start(eng, day)  # asked again: still one request per date
    wait_for(lambda: all(_polled(eng, day) is not None for day in days))
    assert counted_training["most"] == 1  # never two at once (a thread per request ran them all together)
    assert sorted(counted_training["built"]) == sorted(days)  # each date once
    assert model.ready(eng, days[0]) == f"prediction at {days[0]}"


def _polled(eng, day):
    """What a waiting page's fragment does every 2 s: still wanted, and ready yet?"""
    model.start(eng, day)
    return model.ready(eng, day)


def test_a_request_nobody_waits_for_is_dropped_unless_pinned(counted_training, monkeypatch):
    monkeypatch.setattr(model, "WANTED_S", 0.2)
    eng = FakeEngine()
    pinned, left = T, [T - dt.timedelta(days=i) for i in range(1, 5)]
    model.start(eng, pinned, pin=True)  # warm-up: the snapshot's date
    for day in left:  # pages opened once at these dates and left: nobody asks again
        model.start(eng, day)
    wait_for(lambda: model.ready(eng, pinned) is not None)
    time.sleep(0.6)
    built = list(counted_training["built"])
    # the pinned date is trained first; of the others at most the one started while they were fresh
    assert built[0] == pinned and len(built) <= 2
    assert all(model.ready(eng, day) is None for day in left if day not in built)
    again = next(day for day in left if day not in built)
    wait_for(lambda: _polled(eng, again) is not None)  # opened again: trained then


@pytest.fixture
def small_data(tmp_path, monkeypatch):
    d = tmp_path / "data"
    assert ingest([write_csvs(tmp_path / "x", MIXED)], DataDir(d), Settings(), as_of=T).ok
    monkeypatch.setenv("O2C_DATA", str(d))
    return d


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize("path, keys", [("pages/aging.py", {"dl_csv", "dl_xlsx"}), ("pages/at_risk.py", {"ar_csv", "ar_xlsx"})])
def test_a_rerun_builds_no_download(small_data, monkeypatch, path, keys):
    from dashboard.present import exports

    built = []
    for name in ("to_csv", "to_excel"):
        real = getattr(exports, name)
        monkeypatch.setattr(exports, name, lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k))
    at = app_page(path, as_of=T - dt.timedelta(days=10))  # the page at a date of its own (no cached download)
    no_errors(at)
    buttons = {b.key: b.proto for b in at.get("download_button")}
    assert keys <= set(buttons), buttons.keys()
    for key in keys:  # the bytes are made when the button is clicked (Streamlit calls the page's function then)
        assert buttons[key].deferred_file_id, key
    assert built == []


@pytest.mark.usefixtures("fresh_caches")
def test_a_rerun_opens_no_store_and_takes_no_write_lock(small_data, monkeypatch):
    """Every page run asks the workbench for its decisions' version (the engine is reopened when it moves): that
    must be a read, not a new store, a migration check or SQLite's write lock (BEGIN IMMEDIATE queued every
    session's rerun behind any writer, an ingest's audit entry among them)."""
    import sqlalchemy as sa

    from dashboard.workbench import store as wb

    at = app_page()  # the first run opens (and migrates) the store
    opened, migrated, statements = [], [], []
    monkeypatch.setattr(wb.Store, "__init__", lambda self, *a, _real=wb.Store.__init__, **k: opened.append(a) or _real(self, *a, **k))
    monkeypatch.setattr(wb.Store, "upgrade", lambda self, _real=wb.Store.upgrade: migrated.append(self.url) or _real(self))
    engine = wb.shared_store(wb.store_url(small_data)).engine
    listen = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        for path in ("pages/overview.py", "pages/aging.py", "pages/exposure.py", "pages/whatif.py"):
            at.switch_page(path).run()
            no_errors(at)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert opened == [] and migrated == []
    assert statements, "the decisions' version is read on every run"
    assert not [s for s in statements if "IMMEDIATE" in s.upper()], statements
