"""Signing in for real: the served app against a local OpenID Connect provider (oidc-provider-mock on
loopback), two users with different roles, what each sees and may do, and signing out."""

from __future__ import annotations

import re

import pytest

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, need_chromium, oidc_provider, serving_signed_in

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def provider():
    with oidc_provider({"carla@example.com": ["ar-team"], "max@example.com": ["credit-leads"], "nora@example.com": ["marketing"]}) as url:
        yield url


@pytest.fixture(scope="module")
def app(provider, tmp_path_factory):
    need_chromium()
    root = tmp_path_factory.mktemp("login")
    data = root / "data"
    assert make_demo(DataDir(data), invoices=20_000).ok
    (data / "settings.toml").write_text('[access]\nroles = { "ar-team" = "collector", "credit-leads" = "credit_manager" }\n')
    with serving_signed_in(data, provider, root / "serve.log") as url:
        yield url


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context.new_page()
        browser.close()


def sign_in(page, app: str, who: str) -> None:
    from playwright.sync_api import expect

    page.goto(app)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(who)  # the provider's own sign-in form
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text(f"Signed in as {who}")).to_be_visible(timeout=30_000)


def nav_labels(page) -> list[str]:
    # each link reads "<icon name>\n\n<title>": the title is its last line
    return [t.strip().splitlines()[-1] for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def test_a_collector_and_a_credit_manager_see_what_their_roles_allow(page, app):
    from playwright.sync_api import expect

    page.goto(app)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Executive overview")).to_have_count(0)  # nothing before signing in

    sign_in(page, app, "carla@example.com")
    expect(page.get_by_text("Signed in as carla@example.com (collector)")).to_be_visible()
    expect(page.get_by_role("heading", name="Executive overview")).to_be_visible(timeout=30_000)
    labels = nav_labels(page)
    assert "Executive overview" in labels and "Customer" in labels
    assert "Data" not in labels and "Audit trail" not in labels  # loading needs a credit analyst, the audit trail a manager
    page.screenshot(path=str(REPO / "screenshots" / "login-collector.png"))
    page.get_by_role("button", name="Sign out").click()
    # Streamlit ends the session at the provider too (its end_session endpoint), which confirms and sends us back
    expect(page).to_have_url(re.compile(r"/oauth2/end_session"), timeout=30_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    page.goto(app)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)

    sign_in(page, app, "max@example.com")
    expect(page.get_by_text("Signed in as max@example.com (credit manager)")).to_be_visible()
    labels = nav_labels(page)
    assert "Data" in labels and "Audit trail" in labels
    page.locator('[data-testid="stSidebarNav"] a', has_text="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(REPO / "screenshots" / "login-manager-audit.png"))


def test_a_user_without_a_role_sees_no_data(page, app):
    from playwright.sync_api import expect

    sign_in_page = page
    sign_in_page.goto(app)
    sign_in_page.get_by_role("button", name="Sign in").click()
    sign_in_page.get_by_placeholder("sub").fill("nora@example.com")
    sign_in_page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="No access")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("nora@example.com")).to_be_visible()
    expect(page.get_by_text("AR total")).to_have_count(0)
    assert "Executive overview" not in nav_labels(page)
