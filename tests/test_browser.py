"""Real-browser journeys: the served app in Debian's headless Chromium, driven by Playwright.

Every assertion waits for what it asserts (Playwright's `expect`, `wait_for`): a Streamlit page draws
in steps (text first, data grids and charts later, and a rerun replaces elements), so a count taken
at a fixed moment can see none. Screenshots go to <repo>/screenshots/ (git-ignored) for a person.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, SAP_DE, free_port, wait_for_health

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "screenshots"
DATA: dict[str, Path] = {}  # app url -> its data folder


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash scripts/test installs it)")
    folder = tmp_path_factory.mktemp("browser")
    data, log = folder / "data", folder / "serve.log"
    assert make_demo(DataDir(data), invoices=60_000).ok
    port = free_port()
    # Started as the README starts it (`o2c serve`), so the journeys see what a user gets. Its output
    # goes to a file: a pipe nobody reads would stop the server once it is full.
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "o2c"), "serve", "--port", str(port), "--data", str(data)], cwd=REPO, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_health(url, proc)
        except AssertionError as exc:
            raise RuntimeError(f"the dashboard did not start: {exc}\n{log.read_text()[-2000:]}") from None
        DATA[url] = data
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1500, "height": 1100})
    yield pg
    pg.close()


def open_page(page, url: str, name: str) -> None:
    """Go to a page through the app's navigation, once the router has drawn it.

    Before the entrypoint has run, Streamlit's sidebar briefly lists the files of
    pages/ ("aging", "data"): clicking one of those runs that file without the router.
    """
    page.goto(url)
    page.get_by_role("link", name="Executive overview", exact=True).wait_for(timeout=60_000)
    page.get_by_role("link", name=name, exact=True).click()


def tile_value(page, label: str):
    """The value of the tile with this label (a locator: found again on every retry, across reruns)."""
    return page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first.locator("[data-testid=stMetricValue]")


def tile(page, label: str) -> str:
    value = tile_value(page, label)
    expect(value).to_be_visible(timeout=30_000)
    return value.inner_text()


def wait_change(page, label: str, old: str, timeout: float = 30) -> str:
    """The tile's value once it is no longer `old` (a rerun has redrawn it)."""
    value = tile_value(page, label)
    expect(value).not_to_have_text(old, timeout=timeout * 1000)
    return value.inner_text()


def assert_clean(page) -> None:
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    body = page.locator("body")
    expect(body).not_to_contain_text("Traceback")
    expect(body).not_to_contain_text(re.compile(r"\bnan\b", re.I))


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_overview_follows_as_of_date_and_segment(app_url, page):
    t0 = time.perf_counter()
    page.goto(app_url)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stMetric]').length >= 12 && document.querySelectorAll('[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg').length >= 4",
        timeout=60_000,
    )
    print(f"\noverview settled in {time.perf_counter() - t0:.2f} s")
    assert_clean(page)
    expect(tile_value(page, "AR total")).to_have_text(re.compile(r"^USD \d"))
    expect(tile_value(page, "DSO (standard)")).to_have_text(re.compile(r"^\d+(\.\d)? days$"))
    ar = tile(page, "AR total")
    shot(page, "overview_initial.png")

    # an earlier as-of date: the figures change
    # Streamlit's date input is three spin buttons (year, month, day): type the month.
    month = page.get_by_role("spinbutton", name="month, As-of date")
    month.click()
    month.type("07")
    month.press("Enter")
    page.get_by_role("heading", name="Executive overview").click()  # leaving the field commits the date
    page.get_by_text("As of 31 July 2026").wait_for(timeout=30_000)
    ar_july = wait_change(page, "AR total", ar)
    assert_clean(page)
    shot(page, "overview_asof.png")

    # one segment: the figures change again
    # during a rerun the sidebar can hold the old and the new widget for a moment: wait for one
    expect(page.locator("input[aria-label=Segment]")).to_have_count(1, timeout=30_000)
    page.get_by_role("combobox", name="Segment").click()
    page.get_by_role("option", name="SMB").click()
    page.keyboard.press("Escape")
    wait_change(page, "AR total", ar_july)
    assert_clean(page)
    shot(page, "overview_segment.png")


def test_click_the_top_overdue_customer_on_the_overview_to_its_page(app_url, page):
    from dashboard.metrics.kpis import Engine, overview
    from dashboard.settings import Settings

    eng = Engine.open(DataDir(DATA[app_url]).current(), Settings())
    first = overview(eng).top_overdue["customer_id"][0]
    eng.con.close()

    page.goto(app_url)
    chart = page.locator("[data-testid=stVegaLiteChart]").filter(has_text="Top customers by overdue amount")
    chart.locator("canvas, svg").first.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    # the chart is drawn on a canvas: the largest bar is the top one, under the title, and the widest
    box = chart.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + 52)
    page.get_by_text("Score, factor by factor").wait_for(timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile(rf"^{first} · "))).to_be_visible()
    assert_clean(page)


def test_aging_drill_down(app_url, page):
    open_page(page, app_url, "Aging")
    page.get_by_text("Documents behind a bucket").wait_for(timeout=30_000)
    page.get_by_role("button", name="Download CSV").wait_for(timeout=30_000)
    # the two grids - buckets by segment with their total, and the documents behind them - are drawn
    # after the page's text (they once were not there yet when counted)
    grids = page.locator("[data-testid=stDataFrame]")
    expect(grids).to_have_count(2, timeout=30_000)
    expect(grids.nth(0)).to_contain_text("181+", timeout=30_000)  # the grid text lives in its (hidden) accessible table
    expect(grids.nth(1)).to_contain_text("Days past due", timeout=30_000)
    expect(page.get_by_text(re.compile(r"^[\d,]+ open documents, USD [\d,.]+ in all")).first).to_be_visible()
    assert_clean(page)
    shot(page, "aging.png")


def test_whatif_slider_moves_dso_and_blocked_orders(app_url, page):
    open_page(page, app_url, "What-if studio")
    page.get_by_text("Baseline and scenario").wait_for(timeout=30_000)
    dso, blocked = tile(page, "DSO (scenario)"), tile(page, "Blocked orders")
    slider = page.get_by_role("slider", name="Change in terms (days)")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    wait_change(page, "DSO (scenario)", dso)
    limits = page.get_by_role("slider", name="Change in limits (%)")
    limits.focus()
    limits.press("Home")  # -100 %: every order of a customer with a limit is blocked
    wait_change(page, "Blocked orders", blocked)
    assert_clean(page)
    shot(page, "whatif.png")


def test_exposure_then_click_an_at_risk_customer_to_its_page(app_url, page):
    from dashboard.metrics.kpis import Engine
    from dashboard.risk import scorecard as risk
    from dashboard.settings import Settings

    eng = Engine.open(DataDir(DATA[app_url]).current(), Settings())
    first = risk.at_risk(eng, top=1)["customer_id"][0]
    eng.con.close()

    open_page(page, app_url, "Credit exposure")
    page.get_by_text("Customers by limit used").wait_for(timeout=30_000)
    assert_clean(page)
    shot(page, "exposure.png")

    page.get_by_role("link", name="At-risk customers", exact=True).click()
    page.get_by_text("Backtest AUC").wait_for(timeout=30_000)
    grid = page.locator("[data-testid=stDataFrame]").filter(has_text="Score")
    grid.wait_for(timeout=30_000)
    assert_clean(page)
    shot(page, "at_risk.png")
    # the grid is a canvas: click the selection box of its first row (below the header row)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 18)
    page.get_by_text("Score, factor by factor").wait_for(timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile(rf"^{first} · "))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"customer={first}\b"))
    assert_clean(page)
    shot(page, "customer.png")


def test_find_a_customer_by_name(app_url, page):
    from dashboard.metrics.customer import find
    from dashboard.metrics.kpis import Engine
    from dashboard.settings import Settings

    eng = Engine.open(DataDir(DATA[app_url]).current(), Settings())
    cid, name = find(eng, "a").row(0)[:2]  # any customer: search by a word of its name
    eng.con.close()
    word = name.split()[0]

    open_page(page, app_url, "Customer")
    page.get_by_text("Search for a customer above").wait_for(timeout=30_000)
    box = page.get_by_label("Find a customer (id or name)")
    box.fill(word)
    box.press("Enter")
    page.get_by_text(re.compile(r"match\(es\)|50 matches")).first.wait_for(timeout=30_000)
    page.get_by_text("Score, factor by factor").wait_for(timeout=30_000)
    page.get_by_text("Payment history: days late per paid document").wait_for(timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile(r"^C\d+ · "))).to_contain_text(word)
    assert_clean(page)
    shot(page, "customer_search.png")


def test_upload_check_and_load_an_erp_export(app_url, page, tmp_path):
    """An analyst drops a German SAP export and an fx file, reads the report, fixes the file, loads it.

    Last in this module on purpose: it changes the current snapshot of the shared server.
    """
    bad, good, fx = tmp_path / "bad" / "FBL5N_export.txt", tmp_path / "good" / "FBL5N_export.txt", tmp_path / "fx.csv"
    bad.parent.mkdir()
    good.parent.mkdir()
    bad.write_bytes(SAP_DE.replace("15.03.2026", "32.03.2026").encode("cp1252"))
    good.write_bytes(SAP_DE.encode("cp1252"))
    fx.write_text("currency,rate_to_base\nEUR,1.10\n")

    open_page(page, app_url, "Data")
    page.get_by_text("Extract files").wait_for(timeout=30_000)
    upload = page.locator("[data-testid=stFileUploaderDropzoneInput]")
    upload.set_input_files([str(bad), str(fx)])
    chips = page.locator("[data-testid=stFileChip]")
    expect(chips).to_have_count(2, timeout=30_000)
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_text("The extract cannot be loaded: 1 error(s)").wait_for(timeout=60_000)
    expect(page.locator("[data-testid=stDataFrame]").filter(has_text="What to do")).to_be_visible(timeout=30_000)  # the report, as a table
    shot(page, "data_refused.png")
    expect(page.get_by_role("button", name="Load", exact=True)).to_be_disabled()

    # the corrected export: remove the bad file, add the good one, check again
    for left in (1, 0):  # each removal reruns the page: the next click waits for it to settle
        page.locator("[data-testid=stFileChipDeleteBtn]").first.click()
        expect(chips).to_have_count(left, timeout=30_000)
    # same file name and size as the refused one: only its content differs
    assert good.stat().st_size == bad.stat().st_size
    upload.set_input_files([str(good), str(fx)])
    expect(chips).to_have_count(2, timeout=30_000)
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_text("The extract passes every check").wait_for(timeout=60_000)
    expect(page.locator("body")).to_contain_text("FBL5N_export.txt → sap-fbl5n")
    assert_clean(page)
    shot(page, "data_checked.png")
    before = DataDir(DATA[app_url]).current_id()
    page.get_by_role("button", name="Load", exact=True).click()
    # the next run of the page says which snapshot is now current: the one the data folder points at
    page.get_by_text("is now current").wait_for(timeout=60_000)
    now = DataDir(DATA[app_url]).current_id()
    assert now != before, "the checked extract was not loaded"
    expect(page.get_by_text(f"Snapshot {now} is now current")).to_be_visible()

    # the overview now shows the export: at 2026-04-10 (its latest date) 1,634.30 EUR open x 1.10 = USD 1,797.73
    page.get_by_role("link", name="Executive overview", exact=True).click()
    page.get_by_text("As of 10 April 2026").wait_for(timeout=60_000)
    expect(tile_value(page, "AR total")).to_have_text("USD 1.8k", timeout=30_000)
    from dashboard.metrics.kpis import Engine
    from dashboard.settings import Settings

    data = DataDir(DATA[app_url])
    assert Engine.open(data.current(), Settings()).headline()["ar_total"] == 1797.73
    assert_clean(page)
    shot(page, "data_loaded_overview.png")
