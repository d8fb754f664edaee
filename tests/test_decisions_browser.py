"""A limit decision in a real browser, in oidc mode against a local OpenID Connect provider (oidc-provider-mock
on loopback): an analyst with a manager's role requests a limit, cannot approve her own request, a second
manager approves it, and the held orders on the Credit decisions page and the customer's limit, headroom and
utilisation on the Credit exposure page change with the new effective limit."""

from __future__ import annotations

import re

import pytest

from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from tests.fixtures import DECISIONS_LEDGER, DECISIONS_T, REPO, app_idle, need_chromium, oidc_provider, serving_signed_in, write_csvs

pytestmark = [pytest.mark.browser, pytest.mark.module_store]  # the tests read what the module's server wrote
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def provider():
    with oidc_provider({"anna@example.com": ["analysts", "credit-leads"], "mona@example.com": ["credit-leads"]}) as url:
        yield url


@pytest.fixture(scope="module")
def app(provider, tmp_path_factory):
    need_chromium()
    root = tmp_path_factory.mktemp("decisions")
    data = DataDir(root / "data")
    assert ingest([write_csvs(root / "x", DECISIONS_LEDGER)], data, Settings(), as_of=DECISIONS_T).ok
    (data.root / "settings.toml").write_text('[access]\nroles = { "analysts" = "credit_analyst", "credit-leads" = "credit_manager" }\n')
    with serving_signed_in(data.root, provider, root / "serve.log") as url:
        yield url, data


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        pg = context.new_page()
        try:
            yield pg
        except BaseException:
            raise
        finally:
            # what the page showed last, to look at when a step fails (screenshots/ is not committed)
            pg.screenshot(path=str(REPO / "screenshots" / "decisions-last.png"), full_page=True)
            browser.close()


def sign_in(page, url: str, who: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(who)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text(f"Signed in as {who}")).to_be_visible(timeout=30_000)


def sign_out(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/oauth2/end_session"), timeout=30_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)


def credit_page(page):
    from playwright.sync_api import expect

    page.locator('[data-testid="stSidebarNav"] a', has_text="Credit decisions").click()
    expect(page.get_by_role("heading", name="Credit decisions")).to_be_visible(timeout=30_000)


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=re.compile(label)).click()
    page.get_by_role("option", name=option, exact=True).click()


def exposure(page):
    """The Credit exposure page: its tiles and its "Over or near the limit" grid (L1 and L3 are over their limits)."""
    from playwright.sync_api import expect

    page.locator('[data-testid="stSidebarNav"] a', has_text="Credit exposure").click()
    expect(page.get_by_role("heading", name="Credit exposure")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile(r"Over or near the limit"))).to_be_visible(timeout=30_000)
    app_idle(page)
    tile = lambda name: page.locator("[data-testid=stMetric]", has_text=name).locator("[data-testid=stMetricValue]")  # noqa: E731
    watch = page.locator("[data-testid=stDataFrame]").last
    watch.scroll_into_view_if_needed()  # the grid draws (and fills its accessible table) once it is in view
    return tile, watch


def held_orders(page):
    """The Held orders tab's grid (its text lives in the grid's hidden accessible table)."""
    page.get_by_role("tab", name="Held orders").click()
    return page.get_by_role("tabpanel", name="Held orders").locator("[data-testid=stDataFrame]").first


def test_an_analyst_requests_cannot_self_approve_and_a_manager_approves(page, app):
    from playwright.sync_api import expect

    url, data = app
    sign_in(page, url, "anna@example.com")
    credit_page(page)
    choose(page, "Request a limit for", "L1")
    page.get_by_label("Limit (USD)").fill("22000")
    page.get_by_label("Reason").first.fill("order book doubled")
    page.get_by_role("button", name="Request").click()
    expect(page.get_by_text("Limit requested for L1")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Requests").click()
    choose(page, "Decide on request", "1")
    page.get_by_role("tab", name="Requests").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("nobody approves their own")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(REPO / "screenshots" / "decisions-own-request-refused.png"))
    sign_out(page)

    sign_in(page, url, "mona@example.com")
    # before: L1 exposure 24,250 (AR 18,250 + orders 6,000) against its master limit of 10,000: headroom -14,250,
    # 242.5 % used; the limits of L1 and L3 add up to 11,000, their exposure 26,250 uses 238.6 % of them
    tile, watch = exposure(page)
    expect(tile("Credit limits")).to_have_text("USD 11.0k", timeout=30_000)
    expect(tile("Limit used")).to_have_text("238.6%")
    # the grid's accessible table holds the raw values of a row side by side: limit used (in %), status, exposure,
    # credit limit, headroom
    expect(watch).to_contain_text(re.compile(r"L1Lima Steel242\.4\d*over limit24250" + "10000" + "-14250A"))
    page.screenshot(path=str(REPO / "screenshots" / "decisions-exposure-before.png"), full_page=True)
    credit_page(page)
    expect(held_orders(page)).to_contain_text("O1", timeout=30_000)  # master limit 10,000 < AR 18,250: every order of L1 is held
    page.get_by_role("tab", name="Requests").click()
    choose(page, "Decide on request", "1")
    page.get_by_role("tab", name="Requests").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Request 1 approved")).to_be_visible(timeout=30_000)
    # 22,000 - 18,250 = 3,750 of headroom: O1 (2,000) is released by the rule, O2 and O3 stay held
    grid = held_orders(page)
    expect(grid).to_contain_text("O2", timeout=30_000)
    expect(grid).to_contain_text("O3")
    expect(grid).not_to_contain_text("O1")
    page.screenshot(path=str(REPO / "screenshots" / "decisions-approved-holds.png"))
    # after: the exposure page measures L1 against the approved 22,000 (the engine reopened with the decision):
    # headroom 22,000 - 24,250 = -2,250, 110.2 % used; limits 23,000, limit used 26,250 / 23,000 = 114.1 %
    tile, watch = exposure(page)
    expect(tile("Credit limits")).to_have_text("USD 23.0k", timeout=30_000)
    expect(tile("Limit used")).to_have_text("114.1%")
    expect(watch).to_contain_text(re.compile(r"L1Lima Steel110\.22\d*over limit24250" + "22000" + "-2250A"))
    expect(watch).not_to_contain_text("10000")
    page.screenshot(path=str(REPO / "screenshots" / "decisions-exposure-after.png"), full_page=True)
    with data.trail().begin() as conn:
        assert audit.verify(conn) is None
        assert [(e["action"], e["user"]) for e in audit.events(conn, object_type="limit_request")] == [
            ("limit.approve", "mona@example.com"),
            ("limit.request", "anna@example.com"),
        ]
