"""A deep link as the very first visit to a freshly started server (a bookmark, a link in a mail).

Streamlit decides once per process whether the app is an old-style multipage app: the first session
that starts sets PagesManager.uses_pages_directory to "does <main script's folder>/pages exist?", and
only st.navigation sets it back to False. While it is True the script runner does not run app.py but
its own page list of pages/*.py, so a first visit to /exposure ran pages/exposure.py without the router,
st.navigation never ran, and every session saw the folder's files as pages until a restart. Each test
starts a server of its own, so that its first visit is the server's first.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.load.demo import make_demo
from dashboard.store.snapshots import DataDir
from tests.fixtures import REPO, free_port, wait_for_health

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update"]
# The router's pages for the local operator (administrator), in its order (app.py).
NAV = [
    "Executive overview",
    "Aging",
    "Credit exposure",
    "At-risk customers",
    "Customer",
    "Cash-in forecast",
    "Provisions",
    "What-if studio",
    "Collections",
    "Dunning",
    "Disputes",
    "Credit decisions",
    "Data",
    "Audit trail",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash scripts/test installs it)")
    folder = tmp_path_factory.mktemp("deeplink") / "data"
    assert make_demo(DataDir(folder), invoices=3_000).ok
    return folder


@pytest.fixture
def fresh_server(data, tmp_path):
    """A server that nobody has visited yet, started as the README starts it."""
    port, log = free_port(), tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "o2c"), "serve", "--port", str(port), "--data", str(data)], cwd=REPO, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_health(url, proc)
        except AssertionError as exc:
            raise RuntimeError(f"the dashboard did not start: {exc}\n{log.read_text()[-2000:]}") from None
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def nav(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] a')
    expect(links.first).to_be_visible(timeout=60_000)
    # each link reads "<icon name>\n\n<title>": the title is its last line
    return [t.strip().splitlines()[-1] for t in links.all_inner_texts()]


def router_drawn(page) -> None:
    """The router ran: its sidebar (the as-of date, who is acting) and its page list, not the folder's files."""
    expect(page.get_by_text("Local mode: no login", exact=False)).to_be_visible(timeout=60_000)
    expect(page.get_by_role("link", name="Executive overview", exact=True)).to_be_visible(timeout=60_000)
    assert nav(page) == NAV


@pytest.mark.parametrize(
    ("path", "heading", "then"),
    [
        ("/exposure", "Credit exposure", None),
        ("/customer?customer=C000001", "Customer", re.compile(r"^C000001 · ")),
    ],
    ids=["exposure", "customer"],
)
def test_a_deep_link_as_the_first_visit_draws_that_page_with_the_apps_navigation(fresh_server, browser, path, heading, then):
    first = browser.new_page(viewport={"width": 1400, "height": 900})
    first.goto(fresh_server + path)
    expect(first.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
    router_drawn(first)
    if then is not None:  # the customer of the link, not the search box's empty state
        expect(first.get_by_role("heading", name=then)).to_be_visible(timeout=60_000)
    expect(first.locator("[data-testid=stException]")).to_have_count(0)
    # The process must not have switched to the folder's pages: a second visitor at / gets the router too.
    second = browser.new_page(viewport={"width": 1400, "height": 900})
    second.goto(fresh_server)
    expect(second.get_by_role("heading", name="Executive overview", exact=True)).to_be_visible(timeout=60_000)
    router_drawn(second)
    assert "/exposure" not in second.url and "/customer" not in second.url
