"""A credit manager's dunning run in a real browser (Debian's chromium, Playwright) against the served app
(`o2c serve`, local mode: the operator acts as admin): propose, remove one customer with a reason,
issue, and the letters arrive at a real SMTP server on loopback."""

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from dashboard.load.ingest import ingest
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import DUNNING_LEDGER, DUNNING_T, REPO, app_idle, chromium_page, free_port, need_chromium, serving, write_csvs

pytestmark = pytest.mark.browser


class Inbox:
    def __init__(self):
        self.to: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.to += envelope.rcpt_tos
        return "250 OK"


@pytest.fixture
def served(tmp_path):
    need_chromium()
    inbox, smtp_port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    ctl.start()
    data = DataDir(tmp_path / "data")
    data.root.mkdir(parents=True)
    (data.root / "settings.toml").write_text(
        f'[dunning]\ninterest = "statutory"\nfixed_compensation = 40\n[mail]\nhost = "127.0.0.1"\nport = {smtp_port}\nfrom = "credit@example.com"\n',
        encoding="utf-8",
    )
    assert ingest([write_csvs(tmp_path / "x", DUNNING_LEDGER)], data, load_settings(data.root), as_of=DUNNING_T).ok
    try:
        with serving(data.root, tmp_path / "serve.log") as url:
            yield url, inbox
    finally:
        ctl.stop()


def test_a_credit_managers_dunning_run(served):
    url, inbox = served
    with chromium_page() as page:
        page.goto(url)
        page.get_by_role("link", name="Executive overview", exact=True).wait_for(timeout=60_000)
        page.get_by_role("link", name="Dunning", exact=True).click()
        page.get_by_role("button", name="Propose a run at 2024-08-31").click()
        expect(page.get_by_text("Run 1 proposed")).to_be_visible(timeout=30_000)
        # K1 10,140.68 + K2 10,282.33 + K3 6,112.49 + K4 11,184.37 + S2, S3, S4 each 800 + 8.05 + 40 = 40,264.02
        expect(page.get_by_text("7 letter(s), USD 40,264.02")).to_be_visible(timeout=30_000)
        box = page.get_by_role("combobox", name="Customer")
        expect(box).to_be_visible(timeout=30_000)
        box.click()
        page.keyboard.type("K2")
        page.keyboard.press("Enter")
        expect(page.get_by_role("combobox", name="Customer")).to_have_value("K2", timeout=30_000)
        app_idle(page)  # the rerun for the customer picked draws the form again: type the reason after it
        page.get_by_label("Reason", exact=True).fill("in talks with their CFO")
        page.get_by_label("Reason", exact=True).press("Enter")
        app_idle(page)
        expect(page.get_by_label("Reason", exact=True)).to_have_value("in talks with their CFO")
        page.get_by_role("button", name="Remove").click()
        expect(page.get_by_text("Removed the letter to K2 from run 1.")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Issue the run").click()
        expect(page.get_by_text("Run 1 issued: 6 letter(s), 2 sent, 0 failed")).to_be_visible(timeout=60_000)
        assert sorted(inbox.to) == ["k1@example.com", "k4@example.com"]
        expect(page.locator("[data-testid=stException]")).to_have_count(0)
        shots = REPO / "screenshots"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "dunning_issued.png"), full_page=True)
