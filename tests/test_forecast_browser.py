"""The Cash-in forecast and Provisions pages in a real browser (Debian's headless Chromium, Playwright), each at
the snapshot's date and at an earlier one, on a served demo ledger. Screenshots go to <repo>/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, chromium_page, need_chromium, serving

pytestmark = pytest.mark.browser
SHOTS = REPO / "screenshots"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    need_chromium()
    folder = tmp_path_factory.mktemp("browser-forecast")
    assert make_demo(DataDir(folder / "data"), invoices=20_000).ok
    with serving(folder / "data", folder / "serve.log") as url:
        yield url


@pytest.fixture
def page():
    with chromium_page() as pg:
        yield pg


def tile(page, label: str):
    return page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first.locator("[data-testid=stMetricValue]")


def clean(page) -> None:
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    body = page.locator("body")
    expect(body).not_to_contain_text("Traceback")
    expect(body).not_to_contain_text(re.compile(r"\bnan\b", re.I))
    expect(body).not_to_contain_text("Something went wrong")


def earlier_month(page, heading: str) -> None:
    """Type a month two earlier into the sidebar's date (three spin buttons), and leave the field to commit it."""
    month = page.get_by_role("spinbutton", name="month, As-of date")
    now = int(month.get_attribute("aria-valuenow") or month.inner_text())
    month.click()
    month.type(f"{max(1, now - 2):02d}")
    month.press("Enter")
    page.get_by_role("heading", name=heading).click()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.mark.parametrize(
    ("link", "heading", "value_tile", "charts"),
    [("Cash-in forecast", "Cash-in forecast", "Next 13 weeks", 3), ("Provisions", "Provisions (IFRS 9)", "Allowance", 1)],
)
def test_the_page_at_two_dates(app_url, page, link, heading, value_tile, charts):
    page.goto(app_url)
    page.get_by_role("link", name="Executive overview", exact=True).wait_for(timeout=60_000)
    page.get_by_role("link", name=link, exact=True).click()
    page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
    expect(tile(page, value_tile)).to_have_text(re.compile(r"^-?USD \d"), timeout=60_000)
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(charts, timeout=60_000)
    caption = page.get_by_text(re.compile(r"^As of \d+ \w+ \d{4}")).first
    first = caption.inner_text()
    clean(page)
    shot(page, f"{link.lower().replace(' ', '_')}_now.png")
    earlier_month(page, heading)
    expect(caption).not_to_have_text(first, timeout=60_000)
    expect(tile(page, value_tile)).to_have_text(re.compile(r"^-?USD \d"), timeout=60_000)
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(charts, timeout=60_000)
    clean(page)
    shot(page, f"{link.lower().replace(' ', '_')}_earlier.png")


def test_the_late_payment_prediction_at_two_dates(app_url, page):
    # The At-risk page's prediction section: trained on a thread of its own while the page waits, then the
    # model's and the baseline's AUC and which is shown; at an earlier date, trained again for that date.
    page.goto(app_url)
    page.get_by_role("link", name="Executive overview", exact=True).wait_for(timeout=60_000)
    page.get_by_role("link", name="At-risk customers", exact=True).click()
    page.get_by_role("heading", name="Late-payment prediction").wait_for(timeout=60_000)
    auc = tile(page, "Model AUC (backtest)")
    expect(auc).to_have_text(re.compile(r"^0\.\d{3}$"), timeout=120_000)
    expect(tile(page, "Baseline AUC")).to_have_text(re.compile(r"^0\.\d{3}$"))
    expect(page.get_by_text(re.compile(r"^The model (beats|does not beat) the customer's history"))).to_be_visible()
    listed = page.get_by_text(re.compile(r"^The open invoices at \d+ \w+ \d{4}")).first
    first = listed.inner_text()
    clean(page)
    listed.scroll_into_view_if_needed()
    shot(page, "at_risk_prediction_now.png")
    earlier_month(page, "Late-payment prediction")
    expect(listed).not_to_have_text(first, timeout=120_000)
    expect(auc).to_have_text(re.compile(r"^0\.\d{3}$"), timeout=120_000)
    clean(page)
    listed.scroll_into_view_if_needed()
    shot(page, "at_risk_prediction_earlier.png")
