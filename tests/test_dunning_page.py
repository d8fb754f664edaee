"""The Dunning page through AppTest: a credit manager proposes a run, removes a customer with a reason,
issues it and the letters reach a real SMTP server; the letter is previewed with ledger text as text and its
PDF offered; an analyst proposes but cannot issue; a collector has no such page."""

from __future__ import annotations

import email
import json
import re
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from streamlit.testing.v1 import AppTest

from dashboard.load.ingest import ingest
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir
from dashboard.workbench import audit
from dashboard.workbench.identity import User
from tests.fixtures import DUNNING_LEDGER, DUNNING_T, REPO, free_port, no_errors, write_csvs

pytestmark = pytest.mark.usefixtures("fresh_caches")


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


@pytest.fixture
def data(tmp_path, monkeypatch, smtp):
    d = DataDir(tmp_path / "data")
    d.root.mkdir(parents=True)
    (d.root / "settings.toml").write_text(
        f'[dunning]\ninterest = "statutory"\nfixed_compensation = 40\n[dunning.company]\nname = "Nordic Steel AB"\n'
        f'[mail]\nhost = "127.0.0.1"\nport = {smtp[1]}\nfrom = "credit@nordic-steel.example"\n',
        encoding="utf-8",
    )
    # the snapshot as of the run's date: the page's business date is the sidebar's as-of date
    assert ingest([write_csvs(tmp_path / "x", DUNNING_LEDGER)], d, load_settings(d.root), as_of=DUNNING_T).ok
    monkeypatch.setenv("O2C_DATA", str(d.root))
    return d


def as_user(monkeypatch, user: User) -> None:
    from pages import identity

    monkeypatch.setattr(identity, "current_user", lambda settings: user)


def dunning_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/dunning.py").run()
    no_errors(at)
    return at


def frame(at: AppTest, column: str):
    [g] = [d for d in at.dataframe if column in d.value.columns and "send_status" in d.value.columns]
    return g.value


def test_a_credit_manager_proposes_reviews_issues_and_the_letters_are_sent(data, smtp, monkeypatch):
    inbox, _ = smtp
    as_user(monkeypatch, User("mia", "credit_manager", "oidc"))
    at = dunning_page()
    assert any("No dunning run yet" in i.value for i in at.info)
    at.button(key="du_propose").click().run()
    no_errors(at)
    assert any("Run 1 proposed" in s.value for s in at.success)
    letters = frame(at, "customer_id")
    # the spec's check on K1: 10,000 + 100.68 + 40 = 10,140.68
    k1 = letters[letters["customer_id"] == "K1"].iloc[0]
    assert (k1["interest"], k1["compensation"], k1["total"]) == (100.68, 40.0, 10140.68)
    assert sorted(letters["customer_id"]) == ["K1", "K2", "K3", "K4", "S2", "S3", "S4"]

    at.selectbox(key="du_rm_customer").set_value("K2")
    at.text_input(key="du_rm_reason").input("in talks with their CFO")
    at.button(key="du_remove").click().run()
    no_errors(at)
    assert "K2" not in list(frame(at, "customer_id")["customer_id"])
    at.button(key="du_issue").click().run()
    no_errors(at)
    assert any("Run 1 issued: 6 letter(s), 2 sent, 0 failed" in s.value for s in at.success), [s.value for s in at.success]
    assert sorted(m["To"] for m in inbox.messages) == ["k1@example.com", "k4@example.com"]
    # The letter's preview: the ledger's "Kappa <b>One</b> & Co" is text, not markup; the PDF is offered.
    box = at.selectbox(key="du_letter")
    box.select_index(next(i for i, text in enumerate(box.options) if text.startswith("K1 "))).run()
    no_errors(at)
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "Kappa &lt;b&gt;One&lt;/b&gt; &amp; Co" in html and "<b>One</b>" not in html
    assert "Total due: USD 10,140.68" in html
    assert at.get("download_button"), "no PDF download"
    # every table's headings come from the registry: words with the currency, never a column's name
    for df in at.dataframe:
        cfg = json.loads(df.proto.columns) if df.proto.columns else {}
        shown = [c for c in df.value.columns if not cfg.get(c, {}).get("hidden")]
        labels = [cfg.get(c, {}).get("label") for c in shown]
        assert all(lb and not re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", lb) for lb in labels), labels
    [letters_grid] = [d for d in at.dataframe if "send_status" in d.value.columns]
    cfg = json.loads(letters_grid.proto.columns)
    assert (cfg["total"]["label"], cfg["interest"]["label"], cfg["send_status"]["label"]) == ("Total (USD)", "Interest (USD)", "Sent")
    with data.trail().begin() as c:
        assert audit.verify(c) is None
        actions = [(e["action"], e["user"]) for e in audit.events(c, object_type="dunning_run")]
    assert actions[-3:] == [("dunning.issue", "mia"), ("dunning.remove", "mia"), ("dunning.propose", "mia")]


def test_an_analyst_proposes_but_cannot_issue_and_a_collector_has_no_dunning_page(data, monkeypatch):
    as_user(monkeypatch, User("ana", "credit_analyst", "oidc"))
    at = dunning_page()
    at.button(key="du_propose").click().run()
    no_errors(at)
    assert not [b for b in at.button if b.key == "du_issue"]
    assert any("A credit manager issues the run." in c.value for c in at.caption)
    as_user(monkeypatch, User("carl", "collector", "oidc"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    no_errors(at)
    # the page is not in a collector's navigation at all (app.py lists it for credit_analyst and up)
    with pytest.raises(ValueError, match=r"Could not find a navigation page for .*dunning.py"):
        at.switch_page("pages/dunning.py")
