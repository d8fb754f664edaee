"""Dunning by hand (dunning.md): interest, compensation, fees, levels, skipped reasons, review and issue,
on SQLite and, when O2C_TEST_POSTGRES_URL is set, on PostgreSQL.

Statutory interest with the default ECB table: 2024 H1 4.50 + 8 = 12.50 %, 2024 H2 4.25 + 8 = 12.25 %.
Levels (default): 1 from 7 days, 2 from 21, 3 from 45 (fee 15); grace 3 days, minimum 50, interval 14."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from dashboard.collections import followup
from dashboard.collections import promises as P
from dashboard.dunning import history, policy, runs
from dashboard.dunning.proposal import propose
from dashboard.settings import DunningSettings, ReferenceRate, Settings
from dashboard.workbench import audit
from dashboard.workbench.errors import Refused
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from dashboard.workbench.store import Store
from tests.fixtures import DUNNING_LEDGER, DUNNING_T, STORE_BACKENDS, load, workbench_store

T = DUNNING_T  # 2024-08-31
ANA = User("ana", "credit_analyst", "oidc")
MIA = User("mia", "credit_manager", "oidc")
CARL = User("carl", "collector", "oidc")
SETTINGS = Settings(dunning=DunningSettings(interest="statutory", fixed_compensation=40))


@pytest.fixture(params=STORE_BACKENDS)
def store(request, tmp_path):
    """A store of its own: a SQLite file, or a fresh schema on the PostgreSQL server (dropped after)."""
    yield from workbench_store(request.param, tmp_path)


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    # One snapshot as of 2024-10-31; the runs are made at earlier business dates (cli.md "Business date").
    return load(tmp_path_factory.mktemp("dunning"), DUNNING_LEDGER, settings=SETTINGS, as_of=dt.date(2024, 10, 31))


def letter(p, customer_id: str) -> dict:
    (row,) = p.letters.filter(pl.col("customer_id") == customer_id).to_dicts()
    return row


def items(p, customer_id: str) -> dict[str, dict]:
    return {r["invoice_id"]: r for r in p.items.filter(pl.col("customer_id") == customer_id).to_dicts()}


def ctx(eng, day: dt.date) -> Context:
    return Context(day, eng.snapshot.id)


# ------------------------------------------------------------------------------------ interest


def test_the_spec_check_10000_at_12_25_percent_for_30_days(store, eng):
    p = propose(eng, store, T)
    # A1: 10,000 due 2024-08-01, days 2 Aug .. 31 Aug = 30, at 4.25 + 8 = 12.25 %:
    # 10,000 x 0.1225 x 30 / 365 = 100.6849 -> 100.68; compensation 40.00 (first letter); level 1 fee 0.
    # dpd 30 would be level 2 (>= 21), but a first letter starts at level 1 (one step per run).
    assert items(p, "K1")["A1"] | {} == items(p, "K1")["A1"] | {
        "open": 10000.0,
        "dpd": 30,
        "level": 1,
        "accrued": 100.68,
        "interest": 100.68,
        "compensation": 40.0,
    }
    assert letter(p, "K1") == {
        "customer_id": "K1",
        "level": 1,
        "open": 10000.0,
        "interest": 100.68,
        "compensation": 40.0,
        "fee": 0.0,
        "total": 10140.68,  # 10,000 + 100.68 + 40
        "deadline": dt.date(2024, 9, 10),  # T + 10
    }


def test_a_rate_change_on_1_july_inside_the_period(store, eng):
    # R1: 10,000 due 2024-06-20. 21..30 June = 10 days at 4.50 + 8 = 12.50 %: 10,000 x 0.125 x 10 / 365 = 34.2466;
    # 1 July..31 August = 62 days at 12.25 %: 10,000 x 0.1225 x 62 / 365 = 208.0822; sum 242.3288 -> 242.33.
    assert items(propose(eng, store, T), "K2")["R1"]["interest"] == 242.33
    # at 10 July: 10 days at 12.50 % (34.2466) + 10 days at 12.25 % (33.5616) = 67.8082 -> 67.81
    assert items(propose(eng, store, dt.date(2024, 7, 10)), "K2")["R1"]["interest"] == 67.81


def test_a_partial_payment_inside_the_period(store, eng):
    # P1: 10,000 due 2024-08-01, 4,000 paid on 11 August (open 6,000 at the end of that day):
    # 2..10 Aug = 9 days x 10,000: 10,000 x 0.1225 x 9 / 365 = 30.2055; 11..31 Aug = 21 days x 6,000: 42.2877;
    # sum 72.4932 -> 72.49; the letter: 6,000 open + 72.49 + 40 compensation = 6,112.49.
    p = propose(eng, store, T)
    assert items(p, "K3")["P1"]["open"] == 6000.0 and items(p, "K3")["P1"]["interest"] == 72.49
    assert letter(p, "K3")["total"] == 6112.49


def test_the_rate_of_a_half_year_is_the_one_in_force_on_its_first_day():
    # A rate set on 12 June applies from 1 July (Directive 2011/7/EU art. 2(7)); before the table: refused.
    pol = DunningSettings(
        interest="statutory",
        reference_rates=(ReferenceRate(**{"from": dt.date(2024, 1, 1), "rate": 4.5}), ReferenceRate(**{"from": dt.date(2024, 6, 12), "rate": 4.25})),
    )
    p = policy.rate_periods(pol, dt.date(2024, 6, 21), dt.date(2024, 7, 10))
    assert (p.starts, p.ends, p.rates) == ([dt.date(2024, 1, 1), dt.date(2024, 7, 1)], [dt.date(2024, 6, 30), dt.date(2024, 7, 10)], [12.5, 12.25])
    with pytest.raises(Refused, match=r"reference rate in force on 2023-07-01.*starts on 2024-01-01"):
        policy.rate_periods(pol, dt.date(2023, 12, 1), dt.date(2024, 7, 10))
    fixed = policy.rate_periods(DunningSettings(interest="fixed", fixed_rate=0.10), dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    assert fixed.rates == [10.0] and fixed.ends == [dt.date(2024, 2, 1)]


# ------------------------------------------------------------------------------------ skipped


def test_skipped_customers_and_their_reasons(store, eng):
    c = ctx(eng, T)
    followup.set_followup(store, CARL, c, "S2", dunning_block="credit insurance claim")
    runs.block_document(store, CARL, c, eng, "B2", "waiting for proof of delivery")
    P.record(store, CARL, c, eng, "S4", 800, dt.date(2024, 9, 5), made_on=dt.date(2024, 8, 30))
    p = propose(eng, store, T)
    assert p.skipped.select("customer_id", "reason").rows() == [
        ("S1", "dispute"),  # D1 carries the ledger's dispute flag
        ("S2", "blocked"),  # the customer's dunning block
        ("S3", "blocked"),  # B2's own block
        ("S4", "promise"),  # an open promise (promised 5 Sep, tolerance 2 days) for any of its documents
        ("S5", "below minimum"),  # M1 100 - credit note MC1 60 = 40 < 50
    ]
    assert p.skipped.filter(pl.col("customer_id") == "S2")["detail"].item() == "credit insurance claim"
    # S6: G1 is 4 days past due: beyond the 3 grace days but before level 1's 7 days: neither a letter nor skipped
    assert "S6" not in p.letters["customer_id"].to_list() + p.skipped["customer_id"].to_list()
    assert sorted(p.letters["customer_id"]) == ["K1", "K2", "K3", "K4"]


def test_a_credit_note_is_listed_and_reduces_the_total(store, eng):
    # With the minimum at 30, S5 gets a letter: M1 100 (30 days: 100 x 0.1225 x 30 / 365 = 1.0068 -> 1.01, + 40)
    # and its credit note MC1 -60 (no interest, no compensation): 100 - 60 + 1.01 + 40 = 81.01.
    e2 = load_with(eng, min_amount=30)
    p = propose(e2, store, T)
    assert {k: (v["open"], v["interest"], v["compensation"], v["level"]) for k, v in items(p, "S5").items()} == {
        "M1": (100.0, 1.01, 40.0, 1),
        "MC1": (-60.0, 0.0, 0.0, 0),
    }
    assert letter(p, "S5")["total"] == 81.01


def load_with(eng, **dunning):
    """The same snapshot under another policy."""
    from dashboard.metrics.kpis import Engine

    return Engine.open(eng.snapshot, Settings(dunning=SETTINGS.dunning.model_copy(update=dunning)))


# ------------------------------------------------------------------- runs: paid late, interval, levels


def issue_at(store, eng, day: dt.date) -> int:
    w, _ = runs.propose_run(store, ANA, ctx(eng, day), eng)
    runs.issue(store, MIA, eng, int(w.id), None)
    return int(w.id)


def test_a_document_paid_late_after_a_letter_keeps_its_interest_and_it_is_never_claimed_twice(store, eng):
    # Run 1 at 31 Aug: L1 10,000 (30 days) 100.68 + 40; L2 1,000 due 20 Aug (11 days: 1,000 x 0.1225 x 11 / 365 = 3.6918 -> 3.69) + 40.
    first = issue_at(store, eng, T)
    k4 = [lt for lt in runs.run_json(store, first)["letters"] if lt["customer_id"] == "K4"][0]
    assert (k4["level"], k4["interest"], k4["compensation"], k4["total"]) == (1, 104.37, 80.0, 11184.37)  # 11,000 + 104.37 + 80
    assert history.dunning_levels(store, pl.Series(["K4", "S6"])).to_list() == [1, 0]
    ev = history.letter_events(store, "K4")
    assert ev.select("date", "kind", "what", "amount_base", "detail", "by").rows() == [(T, "letter", "Reminder level 1 (run 1)", 11184.37, "unsent", "mia")]
    assert runs.letter_files(store, ev["letter_id"].item())[1].startswith(b"%PDF")

    # L1 is paid on 20 September. Run 2 at 30 September (30 days after run 1 >= 14):
    # L1 accrued 2 Aug..19 Sep = 49 days: 10,000 x 0.1225 x 49 / 365 = 164.4521 -> 164.45, claimed 100.68: 63.77,
    #    listed with open 0, no new compensation, its level stays 1;
    # L2 41 days (21 Aug..30 Sep): 13.7603 -> 13.76 - 3.69 = 10.07; dpd 41 -> level 2 (one step up from 1), fee 0;
    # total 0 + 1,000 + 63.77 + 10.07 = 1,073.84.
    p2 = propose(eng, store, dt.date(2024, 9, 30))
    assert {k: (v["open"], v["interest"], v["compensation"], v["level"]) for k, v in items(p2, "K4").items()} == {
        "L1": (0.0, 63.77, 0.0, 1),
        "L2": (1000.0, 10.07, 0.0, 2),
    }
    assert letter(p2, "K4")["total"] == 1073.84 and letter(p2, "K4")["level"] == 2
    issue_at(store, eng, dt.date(2024, 9, 30))

    # Run 3 at 31 October: L1 has nothing left to claim (164.45 - 100.68 - 63.77 = 0) and is not listed;
    # L2 72 days: 24.1644 -> 24.16 - 13.76 = 10.40, dpd 72 -> level 3, fee 15; total 1,000 + 10.40 + 15 = 1,025.40.
    p3 = propose(eng, store, dt.date(2024, 10, 31))
    assert list(items(p3, "K4")) == ["L2"]
    assert letter(p3, "K4") | {} == letter(p3, "K4") | {"level": 3, "interest": 10.40, "fee": 15.0, "total": 1025.40}
    assert history.dunning_level(store).filter(pl.col("customer_id") == "K4")["dunning_level"].item() == 2
    # After the last level the level stays: issued at level 3, the next letter (31 Oct + 14) is level 3 again.
    issue_at(store, eng, dt.date(2024, 10, 31))
    assert history.dunning_level(store).filter(pl.col("customer_id") == "K4")["dunning_level"].item() == 3
    p4 = propose(eng, store, dt.date(2024, 10, 31) + dt.timedelta(days=14))
    assert (letter(p4, "K4")["level"], letter(p4, "K4")["fee"], items(p4, "K4")["L2"]["level"]) == (3, 15.0, 3)


def test_the_interval_since_the_last_letter(store, eng):
    issue_at(store, eng, T)
    p = propose(eng, store, dt.date(2024, 9, 10))  # 10 days after: < 14
    assert ("K1", "interval") in p.skipped.select("customer_id", "reason").rows()
    assert p.skipped.filter(pl.col("customer_id") == "K1")["detail"].item() == "last letter on 2024-08-31, 10 day(s) before; interval 14 days"
    assert "K1" in propose(eng, store, dt.date(2024, 9, 14)).letters["customer_id"].to_list()  # 14 days after: not < 14


# ----------------------------------------------------------------------------- roles, review, immutability


def test_roles_a_collector_may_not_propose_an_analyst_may_not_issue(store, eng):
    with pytest.raises(AccessDenied, match="carl may not propose dunning runs: this needs the role credit analyst"):
        runs.propose_run(store, CARL, ctx(eng, T), eng)
    w, _ = runs.propose_run(store, ANA, ctx(eng, T), eng)
    with pytest.raises(AccessDenied, match="ana may not issue dunning runs: this needs the role credit manager"):
        runs.issue(store, ANA, eng, int(w.id), None)
    assert runs.runs_json(store)["runs"][0]["status"] == "draft"


def test_review_removes_an_item_or_a_customer_and_an_issued_run_never_changes(store, eng):
    w, _ = runs.propose_run(store, ANA, ctx(eng, T), eng)
    rid = int(w.id)
    # K4 without L2: L1 only, 10,000 + 100.68 + 40 = 10,140.68; L2 goes on a block with the reason
    runs.remove(store, ANA, ctx(eng, T), rid, "K4", "customer asked for a copy of L2", invoice_id="L2", block=True)
    runs.remove(store, ANA, ctx(eng, T), rid, "K2", "in talks with their CFO")
    out = runs.run_json(store, rid)
    k4 = [lt for lt in out["letters"] if lt["customer_id"] == "K4"][0]
    assert ([i["invoice_id"] for i in k4["items"]], k4["total"]) == (["L1"], 10140.68)
    assert "K2" not in [lt["customer_id"] for lt in out["letters"]] and {"customer_id": "K2", "reason": "removed"} in out["skipped"]
    assert history.blocked_documents(store).select("invoice_id", "reason", "blocked_by").rows() == [("L2", "customer asked for a copy of L2", "ana")]
    runs.issue(store, MIA, eng, rid, None)
    with pytest.raises(Refused, match=f"dunning run {rid} was issued by mia on .*: an issued run is never changed"):
        runs.remove(store, ANA, ctx(eng, T), rid, "K1", "too late")
    with pytest.raises(Refused, match="an issued run is never changed"):
        runs.issue(store, MIA, eng, rid, None)
    lt = runs.letters_frame(store, rid)
    # K1 and K4 have an e-mail address (unsent until sent); the others none: kept for print (no block or promise
    # in this store: S2, S3 and S4 get letters); every letter rendered and hashed
    printed = {"K3": "print", "S2": "print", "S3": "print", "S4": "print"}
    assert dict(lt.select("customer_id", "send_status").rows()) == {"K1": "unsent", "K4": "unsent"} | printed
    html, pdf = runs.letter_files(store, int(lt.filter(pl.col("customer_id") == "K1")["letter_id"].item()))
    assert pdf is not None and pdf.startswith(b"%PDF") and html is not None
    assert "Kappa &lt;b&gt;One&lt;/b&gt; &amp; Co" in html and "<b>One</b>" not in html  # ledger text escaped
    with store.begin() as c:
        assert audit.verify(c) is None
        ev = audit.events(c, object_type="dunning_run")
    assert [(e["action"], e["user"]) for e in ev] == [
        ("dunning.issue", "mia"),
        ("dunning.remove", "ana"),
        ("dunning.remove", "ana"),
        ("dunning.propose", "ana"),
    ]
    issued = ev[0]["details"]
    assert issued["data_sha256"] and {x["customer_id"]: len(x["pdf_sha256"]) for x in issued["letters"]} == dict.fromkeys(
        ["K1", "K3", "K4", "S2", "S3", "S4"], 64
    )


def test_a_run_is_not_issued_on_other_data(store, eng, tmp_path):
    w, _ = runs.propose_run(store, ANA, ctx(eng, T), eng)
    other = load(
        tmp_path, DUNNING_LEDGER | {"payments": DUNNING_LEDGER["payments"] + "PY2,A1,2024-08-20,100\n"}, settings=SETTINGS, as_of=dt.date(2024, 10, 31)
    )
    with pytest.raises(Refused, match=f"dunning run {w.id} was proposed on snapshot {eng.snapshot.id}; the data is now snapshot {other.snapshot.id}"):
        runs.issue(store, MIA, other, int(w.id), None)


# ------------------------------------------------------------------------------------------ the CLI


def test_the_cli_proposes_blocks_issues_and_lists_runs_with_the_json_of_cli_md(tmp_path, capsys, monkeypatch):
    import json

    from dashboard.cli import main
    from dashboard.store.snapshots import DataDir

    monkeypatch.delenv("O2C_DB_URL", raising=False)
    e = load(tmp_path, DUNNING_LEDGER, as_of=T)
    data = DataDir.of(e.snapshot).root
    (data / "settings.toml").write_text('[dunning]\ninterest = "statutory"\nfixed_compensation = 40\n', encoding="utf-8")
    d = ["--data", str(data)]

    def o2c(*args, code=0):
        got = main([*args, *d, "--json"])
        out = capsys.readouterr()
        assert got == code, out.err
        return json.loads(out.out if code == 0 else out.err)

    assert o2c("dunning", "block", "--invoice", "B2", "--reason", "waiting for proof of delivery")["id"] == "B2"
    p = o2c("dunning", "propose")
    assert list(p) == ["run_id", "as_of", "letters", "skipped"] and p["as_of"] == "2024-08-31"
    k1 = next(lt for lt in p["letters"] if lt["customer_id"] == "K1")
    assert k1 == {
        "customer_id": "K1",
        "level": 1,
        "items": [{"invoice_id": "A1", "open": 10000.0, "dpd": 30, "level": 1, "interest": 100.68, "compensation": 40.0}],
        "interest": 100.68,
        "compensation": 40.0,
        "fee": 0.0,
        "total": 10140.68,
        "deadline": "2024-09-10",
    }
    assert {"customer_id": "S3", "reason": "blocked"} in p["skipped"] and {"customer_id": "S1", "reason": "dispute"} in p["skipped"]
    out = o2c("dunning", "issue", str(p["run_id"]))  # without --send: nothing is e-mailed
    assert out["status"] == "issued" and {lt["customer_id"]: lt["send_status"] for lt in out["letters"]}["K1"] == "unsent"
    (run,) = o2c("dunning", "runs")["runs"]
    assert (run["run_id"], run["status"], run["letters"], run["unsent"]) == (p["run_id"], "issued", len(p["letters"]), 2)
    err = o2c("dunning", "remove", str(p["run_id"]), "--customer", "K1", "--reason", "late", code=1)
    assert "an issued run is never changed" in err["error"]
    assert "needs RUN" in o2c("dunning", "issue", code=2)["error"]


def test_dunning_effectiveness_by_hand(store, eng):
    from dashboard.dunning.effectiveness import effectiveness

    issue_at(store, eng, T)  # letters of 31 Aug; their 30 days end on 30 Sep
    # Named (open > 0 on 31 Aug): A1 10,000, R1 10,000, P1 6,000, L1 10,000, L2 1,000, B1 800, B2 800, PR1 800 = 39,400.
    # Settled by the end of 30 Sep: only L1 (paid 20 Sep), 10,000. 10,000 / 39,400 = 0.25381 -> 0.2538.
    e = effectiveness(eng, store, dt.date(2024, 8, 1), dt.date(2024, 8, 31), dt.date(2024, 10, 31))
    assert e == {"dunning_effectiveness": 0.2538, "named": 39400.0, "settled": 10000.0, "letters": 7}
    # at 20 Sep the letters' 30 days have not passed: nothing counts yet
    assert effectiveness(eng, store, dt.date(2024, 8, 1), dt.date(2024, 8, 31), dt.date(2024, 9, 20))["dunning_effectiveness"] is None


def test_upgrade_from_an_0002_store_keeps_its_data(tmp_path):
    from alembic import command

    from dashboard.workbench.store import _alembic

    old = Store(f"sqlite:///{tmp_path / 'old.sqlite'}", upgrade=False)
    with old.engine.begin() as conn:
        command.upgrade(_alembic(conn), "0002")
    followup.set_followup(old, CARL, Context(T, "S1"), "S2", dunning_block="credit insurance claim")
    assert old.upgrade() == ("0002", "0005")  # through 0003_dunning to the newest, 0005_overlays
    assert followup.followup_of(old, "S2")["dunning_block_reason"] == "credit insurance claim"
    assert runs.runs_json(old) == {"runs": []} and history.blocked_documents(old).height == 0
    with old.begin() as c:
        assert audit.verify(c) is None
    old.dispose()


def test_a_failed_audit_leaves_no_run_behind(store, eng, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError):
        runs.propose_run(store, ANA, ctx(eng, T), eng)
    assert runs.runs_json(store) == {"runs": []}
    with store.begin() as c:
        assert c.execute(sa.text("SELECT count(*) FROM dunning_letters")).scalar_one() == 0


def test_a_letter_in_another_script_keeps_its_characters(tmp_path):
    import io

    from pypdf import PdfReader

    from dashboard.dunning.letters import FONTS, render

    if not all(f.is_file() for f in FONTS):
        pytest.skip("no DejaVu Sans on this system: such letters are written with '?' for other characters")
    letter_ = {"level": 2, "open": 1000.0, "interest": 0.0, "compensation": 0.0, "fee": 0.0, "total": 1000.0, "deadline": dt.date(2024, 9, 10)}
    item = {"invoice_id": "Ж-1", "due_date": dt.date(2024, 8, 1), "dpd": 30, "open": 1000.0, "interest": 0.0, "compensation": 0.0}
    out = render(
        DunningSettings(),
        "PLN",
        letter_,
        {"customer_id": "Z1", "name": "Zakład Łódź", "contact_name": None, "address": None, "email": None},
        [item],
        T,
        tmp_path,
    )
    text = PdfReader(io.BytesIO(out.pdf)).pages[0].extract_text()
    assert "Zakład Łódź" in text and "Second reminder" in text and "Total due: PLN 1,000.00" in text


def test_a_company_template_in_data_templates_overrides_the_built_in_one(tmp_path):
    from dashboard.dunning.letters import render

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "level1.html").write_text(
        "<p>Dear {{ customer.name }}, please pay {{ totals.total | money }} by {{ deadline }}.</p>", encoding="utf-8"
    )
    letter_ = {"level": 1, "open": 50.0, "interest": 0.0, "compensation": 0.0, "fee": 0.0, "total": 50.0, "deadline": dt.date(2024, 9, 10)}
    out = render(DunningSettings(), "USD", letter_, {"customer_id": "Z", "name": "<script>x</script>"}, [], T, tmp_path)
    assert out.html == "<p>Dear &lt;script&gt;x&lt;/script&gt;, please pay 50.00 by 2024-09-10.</p>"


def test_a_policy_that_cannot_work_is_refused_in_words():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="min_dpd must increase from level to level"):
        DunningSettings(levels=[{"level": 1, "min_dpd": 10}, {"level": 2, "min_dpd": 5}])
    with pytest.raises(ValidationError, match="levels must be numbered 1, 2, 3"):
        DunningSettings(levels=[{"level": 2, "min_dpd": 10}])
    with pytest.raises(ValidationError, match="interest = 'fixed' needs fixed_rate"):
        DunningSettings(interest="fixed")


def test_a_document_paid_since_is_listed_once_even_without_interest(store, eng):
    # Without interest: L1 (named on 31 Aug, paid 20 Sep) shows in the 30 Sep letter with open 0 and
    # nothing to claim, so the customer sees the payment counted; the 31 Oct letter no longer lists it.
    none = load_with(eng, interest="none")
    issue_at(store, none, T)
    p2 = propose(none, store, dt.date(2024, 9, 30))
    assert {k: (v["open"], v["interest"]) for k, v in items(p2, "K4").items()} == {"L1": (0.0, 0.0), "L2": (1000.0, 0.0)}
    issue_at(store, none, dt.date(2024, 9, 30))
    assert list(items(propose(none, store, dt.date(2024, 10, 31)), "K4")) == ["L2"]
