"""What every page shares: the engine of the current snapshot, the sidebar
selection, and every Streamlit cache of the app (in one place)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard.metrics import as_of as as_of_rule
from dashboard.metrics.kpis import Engine, Filters, overview
from dashboard.metrics.open_items import NothingOpen, nothing_open
from dashboard.settings import Settings, SettingsError, load_settings
from dashboard.store.snapshots import DataDir, default_data_dir
from dashboard.workbench.identity import User
from dashboard.workbench.store import Store

PAGES = Path(__file__).resolve().parent  # page files are named by absolute path: the app runs from a checkout or a wheel


def data_dir() -> DataDir:
    return DataDir(default_data_dir())


@st.cache_resource(show_spinner="Opening the current snapshot...", max_entries=2)
def _engine(snapshot_id: str, limits_key: str) -> Engine:
    """One engine per snapshot and state of the team's decisions: an approved limit or an open dispute case is in every figure at once."""
    from dashboard.decisions.apply import NO_DECISIONS, apply_workbench

    data = data_dir()
    eng = Engine.open(data.get(snapshot_id), load_settings(data.root), in_memory=True)
    if limits_key != NO_DECISIONS:
        apply_workbench(eng, data.trail())
    return eng


# The limit decisions' state the cached figures were computed with (one server process, many sessions):
# when it moves, every cached figure is dropped, since exposure, the scores and the what-if baseline
# all read the limits.
_seen = {"limits": ""}


def settings() -> Settings:
    """The data folder's settings; a file that cannot be used is explained and the run stops."""
    try:
        return load_settings(data_dir().root)
    except SettingsError as exc:
        st.error(f"The settings file cannot be used:\n\n{exc}", icon=":material/error:")
        st.stop()


def engine() -> Engine:
    """The engine of the current snapshot; on first start, creates the demo ledger."""
    data = data_dir()
    settings()
    if data.current_id() is None:
        from dashboard.load.demo import make_demo

        bar = st.progress(0.0, text="No data yet: creating the demo ledger (about 10 seconds, once)...")
        res = make_demo(data, progress=lambda f, msg: bar.progress(min(f, 1.0), text=f"Creating the demo ledger: {msg}"))
        bar.empty()
        if not res.ok:
            st.error("The demo ledger could not be created:\n\n" + res.report.to_text())
            st.stop()
    from dashboard.decisions.apply import workbench_version

    key = workbench_version(data.trail())
    if key != _seen["limits"]:
        _seen["limits"] = key
        st.cache_data.clear()
        cached_baseline.clear()  # a cache_resource keyed by snapshot and date: it would keep the old limits and orders' decisions
    return _engine(data.current_id(), key)


# Cached functions take the engine as `_eng` (not hashed: the snapshot id
# is the key) and draw nothing, so a cache hit replays no elements.
@st.cache_data(show_spinner=False, max_entries=16)
def dimensions(snapshot_id: str, _eng: Engine) -> dict[str, list[str]]:
    return _eng.dimensions()


# The selection (as-of date and filters) lives in session state under these names, which no widget
# uses as its key: Streamlit drops a widget's value when a script run does not draw it, and a run
# started by st.switch_page (a click on a chart or a row opening a customer) starts the next page
# with no widget values at all, so a date kept only in the widget went back to the snapshot's.
# Each sidebar widget has a key of its own, set from the selection before it is drawn and copied
# back by its on_change: the selection survives page switches and whatever Streamlit keeps.
SELECTION = {"as_of": "sb_as_of", "f_segments": "sb_segments", "f_regions": "sb_regions", "f_currencies": "sb_currencies"}


def _keep(name: str) -> None:
    value = st.session_state.get(SELECTION[name])
    if name == "as_of" and not isinstance(value, dt.date):
        return  # a cleared date field keeps the date it had
    st.session_state[name] = value


def set_as_of(day: dt.date) -> None:
    """Change the sidebar's as-of date (from a button's on_click: before the sidebar is drawn)."""
    st.session_state["as_of"] = day


def sidebar(eng: Engine) -> None:
    dims = dimensions(eng.snapshot.id, eng)
    s = st.session_state
    first = eng.first_day
    # A new snapshot resets the date only when the old one falls outside its range,
    # and drops filter values it does not have.
    picked = s.get("as_of")
    if not as_of_rule.allowed(first, eng.as_of, picked):
        s["as_of"] = eng.as_of
    for name, dim in (("f_segments", "segments"), ("f_regions", "regions"), ("f_currencies", "currencies")):
        s[name] = [v for v in (s.get(name) or []) if v in dims[dim]]
    for name, widget in SELECTION.items():
        s[widget] = s[name]
    with st.sidebar:
        st.markdown("### Selection")
        st.date_input(
            "As-of date",
            min_value=first,
            max_value=as_of_rule.latest(eng.as_of),  # the rule `o2c --as-of` follows too
            key="sb_as_of",
            on_change=_keep,
            args=("as_of",),
            format="YYYY-MM-DD",
            help="The date the figures describe. Defaults to the snapshot's as-of date; kept when you open another page or a customer.",
        )
        st.multiselect("Segment", dims["segments"], key="sb_segments", on_change=_keep, args=("f_segments",), placeholder="All segments")
        st.multiselect("Region", dims["regions"], key="sb_regions", on_change=_keep, args=("f_regions",), placeholder="All regions")
        st.multiselect(
            "Currency of origin",
            dims["currencies"],
            key="sb_currencies",
            on_change=_keep,
            args=("f_currencies",),
            placeholder="All currencies",
            help="Receivables figures count the documents and orders in these currencies. Limit figures pick the customers "
            "with something open in them and count each one's exposure in every currency (a credit limit covers them all).",
        )
        st.caption(f"Snapshot `{eng.snapshot.id}`, as of {eng.as_of:%d %b %Y}, base currency {eng.settings.base_currency}.")


def as_of(eng: Engine) -> dt.date:
    picked = st.session_state.get("as_of")
    return picked if as_of_rule.allowed(eng.first_day, eng.as_of, picked) and isinstance(picked, dt.date) else eng.as_of


def filters() -> Filters:
    s = st.session_state
    return Filters(tuple(s.get("f_segments") or ()), tuple(s.get("f_regions") or ()), tuple(s.get("f_currencies") or ()))


def currency_note(f: Filters, receivables: bool = False) -> str | None:
    """What a currency-of-origin filter means on a page (the same rule everywhere, said the same way)."""
    if not f.currencies:
        return None
    cur = ", ".join(f.currencies)
    customers = (
        f"the customers with a document or an order open in {cur}, each measured against its credit limit with its "
        "exposure in every currency, since a credit limit covers all of a customer's currencies"
    )
    if receivables:
        return (
            f"Currency of origin {cur}: AR, overdue, DSO, collection, days to pay, disputed AR, exposure and the top-10 share "
            f"count {cur} documents and orders only. Customers over limit counts {customers}."
        )
    return f"Currency of origin {cur}: {customers}."


@st.cache_data(show_spinner=False, max_entries=32)
def cached_nothing_open(snapshot_id: str, t: dt.date, f: Filters, _eng: Engine) -> NothingOpen | None:
    return nothing_open(_eng, t, f)


def nothing_open_notice(eng: Engine, t: dt.date, f: Filters) -> None:
    """Say so when nothing of the selection is open at T (every figure is then 0), with a button
    to the latest date that has open items."""
    why = cached_nothing_open(eng.snapshot.id, t, f, eng)
    if why is None:
        return
    st.warning(why.message, icon=":material/event_busy:")
    if why.latest_open is not None and why.latest_open != t:
        st.button(f"Switch to {why.latest_open:%d %B %Y}", key="to_latest_open", on_click=set_as_of, args=(why.latest_open,), icon=":material/event:")


@st.cache_data(show_spinner=False, max_entries=64)
def cached_overview(snapshot_id: str, t: dt.date, f: Filters, _eng: Engine):
    return overview(_eng, t, f)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_documents(snapshot_id: str, t: dt.date, f: Filters, bucket: int, _eng: Engine, every: bool = False):
    """The documents behind a bucket, largest first: the 5,000 largest for the screen, every one (every=True) for a download."""
    return _eng.documents(t, f, bucket, limit=None if every else 5000)


@st.cache_data(show_spinner="Preparing the download...", max_entries=16)
def cached_export(snapshot_id: str, key: tuple, kind: str, sheet: str, _frame: pl.DataFrame | Callable[[], pl.DataFrame], currency: str) -> bytes:
    """A table's CSV or Excel bytes, once per snapshot and selection (key): writing Excel costs about 0.3 ms a row,
    too much to repeat on every rerun of a page that offers every row of its selection for download. _frame may be
    a function that builds the table, called only on a cache miss (every row of a long list costs to gather)."""
    from dashboard.present.exports import to_csv, to_excel

    frame = _frame() if callable(_frame) else _frame
    return to_csv(frame, currency) if kind == "csv" else to_excel(frame, sheet, currency)


def deferred_export(
    snapshot_id: str, key: tuple, kind: str, sheet: str, frame: pl.DataFrame | Callable[[], pl.DataFrame], currency: str
) -> Callable[[], bytes]:
    """A download button's data, made when the button is clicked (Streamlit calls it then), never on a rerun: the
    bytes were built on every rerun at a new date or selection (an Excel of the aging page's documents: 0.1-0.5 s
    each, the largest single cost of the load test's reruns) for a download few ever make. Cached as cached_export."""
    return lambda: cached_export(snapshot_id, key, kind, sheet, frame, currency)


@st.cache_resource(show_spinner="Computing the per-customer baseline...", max_entries=8)
def cached_baseline(snapshot_id: str, t: dt.date, _eng: Engine):
    """The what-if baseline, once per snapshot and as-of date (a lever change then costs milliseconds)."""
    from dashboard.whatif.model import baseline

    return baseline(_eng, t)


def warm() -> None:
    """Fill the caches the first page reads (engine, dimensions, today's overview and its charts)
    before the server accepts its first visitor, so that visit costs what every later one does.

    Called by `o2c serve` outside any script run: Streamlit's caches are process-wide, the same
    ones the pages then hit.
    """
    from dashboard.present import charts

    data = data_dir()
    if data.current_id() is None:
        return
    from dashboard.decisions.apply import workbench_version

    key = workbench_version(data.trail())
    _seen["limits"] = key
    eng = _engine(data.current_id(), key)
    dimensions(eng.snapshot.id, eng)
    ov = cached_overview(eng.snapshot.id, eng.as_of, Filters(), eng)
    # Altair loads and checks against its Vega-Lite schema on the first chart of the process.
    charts.dso_trend(ov.trend).to_dict()
    # The late-payment model at the snapshot's date, on a thread of its own: ready before most first visits
    # to the At-risk or Customer page.
    from dashboard.prediction import model

    model.start(eng, eng.as_of, pin=True)
    # The forecast's backtest points of the last two years of as-of dates, in the background (forecast/backtest.py):
    # a new date on the Cash-in forecast page then costs the forecast alone.
    from dashboard.forecast import backtest

    backtest.start_prepare(eng)


def user() -> User | None:
    """The acting user (pages/identity.py); None while oidc mode waits for a sign-in."""
    from pages import identity

    return identity.current_user(settings())


def user_name() -> str:
    """Who is acting, for records that take a name (a signed-in user, else the server's account)."""
    u = user()
    return u.name if u is not None else "unknown"


def store() -> Store:
    """The workbench store of this data folder (SQLite there, or the team's PostgreSQL), migrated on first use."""
    settings()  # a broken settings file is explained on the page, not raised
    return data_dir().trail()


@st.cache_data(show_spinner="Comparing the snapshots...", max_entries=8)
def cached_compare(before: str, after: str) -> dict:
    from dashboard.metrics.compare import compare_snapshots

    data = data_dir()
    settings = load_settings(data.root)
    a, b = Engine.open(data.get(before), settings), Engine.open(data.get(after), settings)
    try:
        return compare_snapshots(a, b)
    finally:
        a.con.close()
        b.con.close()


@st.cache_data(show_spinner="Scoring the customers...", max_entries=16)
def cached_scores(snapshot_id: str, t: dt.date, f: Filters, _eng: Engine):
    """The risk scorecard of every customer in the selection (risk.md), once per snapshot, date and selection."""
    from dashboard.risk import scorecard as risk

    return risk.scores(_eng, t, f)


@st.cache_data(show_spinner="Measuring the score's skill on the ledger's own history...", max_entries=8)
def cached_backtest(snapshot_id: str, t: dt.date, _eng: Engine):
    from dashboard.risk import scorecard as risk

    return risk.backtest(_eng, t)


def open_customer(customer_id: str) -> None:
    """Go to the customer page for this customer (from any table in the app)."""
    st.session_state["customer_id"] = customer_id
    st.switch_page(PAGES / "customer.py")


def _selection(event) -> Mapping:
    """The selection of a chart's or table's event: a dict (Streamlit's state is one, with attribute access too)."""
    sel = event.get("selection") if isinstance(event, Mapping) else getattr(event, "selection", None)
    return sel or {}


def picked_row(event, frame, column: str = "customer_id"):
    """The value of `column` in the row a user clicked in a st.dataframe(on_select="rerun"), if any."""
    rows = _selection(event).get("rows") or []
    return frame[column][rows[0]] if rows else None


def picked_point(event, selection: str, field: str):
    """The `field` of the mark a user clicked in an st.altair_chart(on_select="rerun") point selection, if any."""
    points = _selection(event).get(selection) or []
    return points[0].get(field) if points else None


def page_failed(exc: Exception) -> None:
    """A page raised: the visitor sees a short message with an error id, the server log the traceback
    (never source lines or server paths in the browser; .streamlit/config.toml hides Streamlit's own too)."""
    import logging
    import secrets

    error_id = secrets.token_hex(4).upper()
    logging.getLogger("o2c").error("page error %s", error_id, exc_info=exc)
    st.error(
        f"Something went wrong on this page (error id {error_id}). The details are in the server's log. "
        "Try another date or page; if it happens again, give your administrator the error id.",
        icon=":material/error:",
    )


# --- the forecast and provisions pages (pages/forecast.py, pages/provisions.py) ---------------------------------


@st.cache_data(show_spinner="Forecasting the cash-in...", max_entries=16)
def cached_forecast(snapshot_id: str, t: dt.date, f: Filters, _eng: Engine):
    from dashboard.forecast.cashin import forecast

    return forecast(_eng, t, f)


@st.cache_data(show_spinner="Measuring the forecast against this ledger's own history...", max_entries=16)
def cached_forecast_backtest(snapshot_id: str, t: dt.date, f: Filters, _eng: Engine):
    from dashboard.forecast.backtest import backtest

    return backtest(_eng, t, f)


@st.cache_data(show_spinner="Deriving the loss rates from the ledger's history...", max_entries=16)
def cached_provisions(snapshot_id: str, t: dt.date, f: Filters, _eng: Engine, overlays_key: str = "", _overlay_rows: pl.DataFrame | None = None):
    """overlays_key: changes whenever an overlay is drafted or decided (provisions/overlay.py store_version)."""
    from dashboard.provisions.matrix import matrix

    return matrix(_eng, t, f, overlay_rows=_overlay_rows)


def prediction_or_wait(eng: Engine, t: dt.date):
    """The late-payment prediction at T once trained; until then None, with a note that it is being trained
    (on a thread of its own: the rest of the page is drawn at once) and a rerun of the page when it is ready."""
    from dashboard.prediction import model

    p = model.ready(eng, t)
    if p is None:
        model.start(eng, t)
        _wait_for_prediction(eng, t)
    return p


@st.fragment(run_every="2s")
def _wait_for_prediction(eng: Engine, t: dt.date) -> None:
    from dashboard.prediction import model

    model.start(eng, t)  # still wanted (a request nobody asks about is dropped unstarted: dashboard/prediction/model.py)
    if model.ready(eng, t) is not None:
        st.rerun()
    st.info(
        f"The late-payment model is being trained on this ledger's own history up to {t:%d %b %Y} and measured against "
        "the customers' payment records; this section fills in when it is done (about once per date).",
        icon=":material/hourglass_top:",
    )
