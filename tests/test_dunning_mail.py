"""Dunning letters through a real SMTP server on loopback (aiosmtpd): the letter arrives with its PDF,
a server that cannot be reached marks the letter failed, and a resend delivers it once."""

from __future__ import annotations

import datetime as dt
import email
import io
from email import policy as email_policy

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from dashboard.dunning import runs
from dashboard.settings import DunningSettings, MailSettings, Settings
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import DUNNING_LEDGER, DUNNING_T, free_port, load

ANA = User("ana", "credit_analyst", "oidc")
MIA = User("mia", "credit_manager", "oidc")
SETTINGS = Settings(dunning=DunningSettings(interest="statutory", fixed_compensation=40, company={"name": "Nordic Steel AB", "bank": "IBAN SE00 1234"}))


class Inbox:
    """What the server received: (envelope recipients, parsed message)."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email_policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


@pytest.fixture
def issued(tmp_path):
    eng = load(tmp_path, DUNNING_LEDGER, settings=SETTINGS, as_of=dt.date(2024, 10, 31))
    store = Store(f"sqlite:///{tmp_path / 'workbench.sqlite'}")
    w, _ = runs.propose_run(store, ANA, Context(DUNNING_T, eng.snapshot.id), eng)
    runs.issue(store, MIA, eng, int(w.id), None)
    yield store, int(w.id)
    store.dispose()


def mail_to(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, **{"from": "credit@nordic-steel.example"}, timeout_seconds=5)


def test_the_letter_arrives_with_its_pdf(smtp, issued):
    inbox, port = smtp
    store, rid = issued
    assert runs.send_run(store, MIA, rid, mail_to(port)) == {"sent": 2, "failed": 0}  # K1 and K4 have addresses
    got = {to[0]: msg for to, msg in inbox.messages}
    assert sorted(got) == ["k1@example.com", "k4@example.com"]
    msg = got["k1@example.com"]
    assert msg["Subject"] == "Payment reminder: customer K1 (Nordic Steel AB)" and msg["From"] == "credit@nordic-steel.example"
    (pdf,) = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    text = PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text()
    # the spec's check: 10,000 + 100.68 interest + 40.00 compensation = 10,140.68
    for line in (
        "Kappa <b>One</b> & Co",
        "Attn. Ann Lee",
        "Interest: USD 100.68",
        "Fixed compensation: USD 40.00",
        "Total due: USD 10,140.68",
        "by 2024-09-10",
        "IBAN SE00 1234",
    ):
        assert line in text, line
    lt = runs.letters_frame(store, rid).filter(pl.col("customer_id") == "K1").to_dicts()[0]
    assert lt["send_status"] == "sent" and lt["message_id"] == msg["Message-ID"] and lt["attempts"] == 1
    # the PDF sent is the PDF recorded: its hash is the one in the run
    import hashlib

    assert hashlib.sha256(pdf.get_content()).hexdigest() == lt["pdf_sha256"]
    with pytest.raises(Refused, match=f"letter {lt['letter_id']} was sent on .* it is not sent twice"):
        runs.send_letter(store, MIA, lt["letter_id"], mail_to(port))
    k3 = runs.letters_frame(store, rid).filter(pl.col("customer_id") == "K3").to_dicts()[0]
    with pytest.raises(Refused, match="K3 has no e-mail address in the customer master: letter .* is kept for print"):
        runs.send_letter(store, MIA, k3["letter_id"], mail_to(port))


def test_a_failing_server_marks_the_letter_failed_then_a_resend_delivers_it(issued):
    store, rid = issued
    port = free_port()  # nobody listens here yet
    assert runs.send_run(store, MIA, rid, mail_to(port)) == {"sent": 0, "failed": 2}
    k1 = runs.letters_frame(store, rid).filter(pl.col("customer_id") == "K1").to_dicts()[0]
    assert k1["send_status"] == "failed" and k1["message_id"] is None and f"127.0.0.1:{port} failed" in k1["send_error"]
    assert runs.runs_json(store)["runs"][0] | {} == runs.runs_json(store)["runs"][0] | {
        "status": "issued",
        "failed": 2,
        "sent": 0,
        "print": 5,
    }  # K2, K3, S2, S3, S4 have no address
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        with pytest.raises(AccessDenied, match="ana may not send dunning letters"):
            runs.send_letter(store, ANA, k1["letter_id"], mail_to(port))
        assert runs.send_letter(store, MIA, k1["letter_id"], mail_to(port)) == "sent"
    finally:
        ctl.stop()
    assert [to for to, _ in inbox.messages] == [["k1@example.com"]]
    k1 = runs.letters_frame(store, rid).filter(pl.col("customer_id") == "K1").to_dicts()[0]
    assert (k1["send_status"], k1["attempts"], k1["send_error"]) == ("sent", 2, None) and k1["message_id"] == inbox.messages[0][1]["Message-ID"]
    with store.begin() as c:
        assert audit.verify(c) is None
        actions = [e["action"] for e in audit.events(c, object_type="dunning_run")]
    assert actions[:3] == ["dunning.sent", "dunning.failed", "dunning.failed"]
