"""The provision overlay as a workbench decision (provisions.md "Forward-looking overlay", access.md): drafted by a
credit analyst, approved or rejected by a credit manager, applied from its approval on; on SQLite and PostgreSQL.

Hand-worked on tests/fixtures.py PROVISIONS_LEDGER at T = 2026-06-30 with 3 month-ends of history (test_provisions.py
works the matrix out): 1_30 holds P6 300 at the historical rate 2/3, allowance 200; the total is 2032.5; the prior
month-end (05-31) allowance 2299.
  An approved x 1.1 on 1_30: rate 2/3 x 1.1 = 0.73333, allowance 300 x 0.73333 = 220 (+20 exactly), total 2052.5;
  the prior month-end is before the approval, so it keeps 2299: change 2052.5 - 2299 = -246.5.
  An approved x 1.5 for segment Enterprise only (every bucket): Enterprise's P6 300 in 1_30 at 2/3 x 1.5 = 1.0 -> 300,
  P4 999 in 61_90 at 5/6 x 1.5 = 1.25, capped at 1 -> 999; SMB unchanged (P5 400 not due at 0, P1 1000 in 91_180 at 1):
  total 0 + 300 + 999 + 1000 = 2299.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from dashboard.cli import main as o2c
from dashboard.provisions import matrix as pm
from dashboard.provisions import overlay as ov
from dashboard.settings import ProvisionSettings, Settings
from dashboard.workbench import audit
from dashboard.workbench.errors import Conflict, Refused
from dashboard.workbench.identity import AccessDenied, User
from dashboard.workbench.notes import Context
from tests.fixtures import PROVISIONS_LEDGER, STORE_BACKENDS, workbench_store

T = dt.date(2026, 6, 30)
THREE = Settings(provisions=ProvisionSettings(lookback_months=3))
NAMES = THREE.bucket_names
ANNA = User("anna", "credit_analyst", "oidc")
MONA = User("mona", "credit_manager", "oidc")
MAX = User("max", "credit_manager", "oidc")
CLAIRE = User("claire", "collector", "oidc")
ME = User("me", "admin", "local")
CTX = Context(T, "S1")


@pytest.fixture(params=STORE_BACKENDS)
def store(request, tmp_path):
    yield from workbench_store(request.param, tmp_path)


@pytest.fixture
def eng(ledger):
    return ledger(PROVISIONS_LEDGER, settings=THREE, as_of=T)


def _bucket(m: pm.Matrix, name: str) -> dict:
    return m.buckets.filter(pl.col("bucket") == name).row(0, named=True)


def test_an_approved_10_percent_on_a_bucket_moves_the_allowance_by_what_the_hand_says(store, eng):
    before = pm.matrix(eng, T, overlay_rows=ov.stored(store))
    assert before.total_allowance == pytest.approx(2032.5) and before.overlay_source == "settings"
    d = ov.draft(store, ANNA, CTX, NAMES, {"1_30": 1.1}, "customers in retail slow down")
    # a draft changes nothing
    assert pm.matrix(eng, T, overlay_rows=ov.stored(store)).total_allowance == pytest.approx(2032.5)
    ov.approve(store, MONA, CTX, int(d.id), version=1)
    m = pm.matrix(eng, T, overlay_rows=ov.stored(store))
    row = _bucket(m, "1_30")
    assert (row["historical_rate"], row["overlay"], row["rate"], row["allowance"]) == (
        pytest.approx(2 / 3),
        1.1,
        pytest.approx(2 / 3 * 1.1),
        pytest.approx(220.0),
    )
    assert m.total_allowance - before.total_allowance == pytest.approx(20.0)
    js = m.to_json()
    assert (js["total_allowance"], js["movement"]) == (2052.5, {"prior_month_end_allowance": 2299.0, "change": -246.5})
    assert m.overlay_source == "approved" and m.overlay_ids == (int(d.id),)
    assert "customers in retail slow down" in m.overlay_reason and "approved by mona" in m.overlay_reason
    # the IFRS 7 export carries it
    assert pm.disclosure(m).filter(pl.col("bucket") == "1_30")["allowance"][0] == pytest.approx(220.0)
    # a replayed date before the approval shows what held then: the settings' overlay (none)
    assert pm.matrix(eng, dt.date(2026, 6, 29), overlay_rows=ov.stored(store)).overlay_source == "settings"


def test_an_overlay_of_one_segment(store, eng):
    d = ov.draft(store, ANNA, CTX, NAMES, 1.5, "Enterprise customers' sector is in trouble", segment="Enterprise", segments=["Enterprise", "SMB"])
    ov.approve(store, MONA, CTX, int(d.id))
    m = pm.matrix(eng, T, overlay_rows=ov.stored(store))
    assert m.total_allowance == pytest.approx(2299.0)
    seg = {(r["segment"], r["bucket"]): r for r in m.by_segment.iter_rows(named=True)}
    assert seg[("Enterprise", "1_30")]["overlay"] == 1.5 and seg[("Enterprise", "1_30")]["allowance"] == pytest.approx(300)
    assert seg[("Enterprise", "61_90")]["rate"] == 1.0 and seg[("SMB", "91_180")]["overlay"] == 1.0
    # every bucket's own overlay column stays the every-segment one; its rate applied is what the segments come to
    assert _bucket(m, "1_30")["overlay"] == 1.0 and _bucket(m, "1_30")["rate"] == pytest.approx(1.0)
    with pytest.raises(Refused, match="no segment 'Retail'"):
        ov.draft(store, ANNA, CTX, NAMES, 1.5, "x", segment="Retail", segments=["Enterprise", "SMB"])


def test_the_approved_overlay_replaces_the_settings_one_and_the_settings_stay_the_fallback(store, ledger):
    s = Settings(provisions=ProvisionSettings(lookback_months=3, overlay={"1_30": 1.2}, overlay_reason="settings' view"))
    eng = ledger(PROVISIONS_LEDGER, settings=s, as_of=T)
    assert _bucket(pm.matrix(eng, T, overlay_rows=ov.stored(store)), "1_30")["allowance"] == pytest.approx(240)  # 2/3 x 1.2 x 300
    d = ov.draft(store, ANNA, CTX, NAMES, {"31_60": 1.5}, "the workbench's view")
    ov.approve(store, MONA, CTX, int(d.id))
    m = pm.matrix(eng, T, overlay_rows=ov.stored(store))
    # the approved overlay names 31_60 only: 1_30 is back at 1.0 (the settings' 1.2 is the fallback only when none is approved)
    assert _bucket(m, "1_30")["overlay"] == 1.0 and _bucket(m, "31_60")["overlay"] == 1.5 and m.total_allowance == pytest.approx(2032.5)
    # a newer approval of the same scope wins
    d2 = ov.draft(store, ANNA, CTX, NAMES, 1.1, "later view")
    ov.approve(store, MAX, CTX, int(d2.id))
    assert pm.matrix(eng, T, overlay_rows=ov.stored(store)).overlay_ids == (int(d2.id),)


def test_roles_segregation_and_the_audit_trail(store):
    with pytest.raises(AccessDenied, match="claire may not draft provision overlays"):
        ov.draft(store, CLAIRE, CTX, NAMES, 1.1, "x")
    d = ov.draft(store, ANNA, CTX, NAMES, {"1_30": 1.1}, "retail slows")
    with pytest.raises(AccessDenied, match="anna may not approve provision overlays"):
        ov.approve(store, ANNA, CTX, int(d.id))
    # oidc mode: a credit manager who drafted it may not approve it
    own = ov.draft(store, MONA, CTX, NAMES, 1.2, "mine")
    with pytest.raises(Refused, match="mona drafted provision overlay .*nobody approves their own"):
        ov.approve(store, MONA, CTX, int(own.id))
    with pytest.raises(Refused, match="drafted on 2026-06-30: it cannot be approved on 2026-06-29"):
        ov.approve(store, MAX, Context(dt.date(2026, 6, 29), "S1"), int(d.id))
    a = ov.approve(store, MAX, CTX, int(d.id))
    with pytest.raises(Refused, match="is approved: only a draft is approved"):
        ov.approve(store, MONA, CTX, int(d.id))
    r = ov.reject(store, MAX, CTX, int(own.id), "not convinced")
    row = ov.overlay_row(store, int(own.id))
    assert (row["status"], row["decided_by"], row["decision_reason"], row["self_approved"]) == ("rejected", "max", "not convinced", False)
    with pytest.raises(Refused, match="reason is empty"):
        ov.reject(store, MAX, CTX, int(ov.draft(store, ANNA, CTX, NAMES, 1.1, "y").id), " ")
    with store.begin() as conn:
        ev = {e["seq"]: e for e in audit.events(conn)}
        assert audit.verify(conn) is None
    assert (ev[d.seq]["action"], ev[d.seq]["user"], ev[d.seq]["details"]["factors"]) == ("overlay.draft", "anna", {"1_30": 1.1})
    assert (ev[a.seq]["action"], ev[a.seq]["user"], ev[a.seq]["details"]["self_approved"]) == ("overlay.approve", "max", None)
    assert (ev[r.seq]["action"], ev[r.seq]["details"]["reason"]) == ("overlay.reject", "not convinced")


def test_local_mode_self_approval_is_allowed_and_recorded(store):
    d = ov.draft(store, ME, CTX, NAMES, 1.1, "one operator")
    w = ov.approve(store, ME, CTX, int(d.id))
    assert ov.overlay_row(store, int(d.id))["self_approved"] is True
    with store.begin() as conn:
        e = audit.events(conn, action="overlay.approve")[0]
    assert e["seq"] == w.seq and e["details"]["self_approved"] == "self-approved (local mode)"
    assert "self-approved (local mode)" in ov.in_force(store, T, NAMES, [1.0] * 6).reason


def test_two_managers_deciding_at_once_the_second_is_told(store):
    d = ov.draft(store, ANNA, CTX, NAMES, 1.1, "x")
    seen = int(ov.overlay_row(store, int(d.id))["version"])  # both screens drawn from version 1
    ov.approve(store, MONA, CTX, int(d.id), version=seen)
    with pytest.raises(Conflict, match="changed by mona at .* UTC since you opened it: reload"):
        ov.reject(store, MAX, CTX, int(d.id), "no", version=seen)
    assert ov.overlay_row(store, int(d.id))["status"] == "approved"


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ({"1-30": 1.1}, "names bucket\\(s\\) 1-30; the buckets are not_due, 1_30"),
        ({"1_30": 0}, "for bucket 1_30 is 0: a multiplier above 0"),
        (float("nan"), "for every bucket is nan"),
        (50.0, "at most 10"),
        ({}, "names no bucket"),
    ],
)
def test_bad_overlays_are_refused_with_what_to_fix(store, factors, message):
    with pytest.raises(Refused, match=message):
        ov.draft(store, ANNA, CTX, NAMES, factors, "x")
    assert ov.stored(store).height == 0


def test_o2c_provisions_overlay(ledger, tmp_path, capsys):
    ledger(PROVISIONS_LEDGER, settings=THREE, as_of=T)
    data = str(tmp_path / "data")
    (tmp_path / "data" / "settings.toml").write_text("[provisions]\nlookback_months = 3\n")
    assert o2c(["provisions", "overlay", "draft", "--bucket", "1_30=1.1", "--reason", "retail slows", "--json", "--data", data]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["status"] == "draft" and made["seq"] >= 1
    assert o2c(["provisions", "--json", "--data", data]) == 0
    assert json.loads(capsys.readouterr().out)["total_allowance"] == 2032.5  # a draft applies nothing
    assert o2c(["provisions", "overlay", "approve", str(made["id"]), "--json", "--data", data]) == 0
    assert json.loads(capsys.readouterr().out) | {"seq": 0} == {
        "id": made["id"],
        "seq": 0,
        "overlay_id": made["id"],
        "status": "approved",
        "self_approved": True,
    }
    assert o2c(["provisions", "--json", "--data", data]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_allowance"] == 2052.5 and out["buckets"][1] | {} == {
        "bucket": "1_30",
        "gross": 300.0,
        "historical_rate": 0.6667,
        "borrowed_from": None,
        "overlay": 1.1,
        "rate": 0.7333,
        "allowance": 220.0,
    }
    assert o2c(["provisions", "--data", data]) == 0
    assert "Overlay approved in the workbench: overlay 1 (every segment: 1_30 x 1.10; self-approved (local mode)" in capsys.readouterr().out
    assert o2c(["provisions", "overlay", "list", "--json", "--data", data]) == 0
    listed = json.loads(capsys.readouterr().out)["overlays"]
    assert [(r["overlay_id"], r["status"], r["factors"], r["self_approved"]) for r in listed] == [(1, "approved", {"1_30": 1.1}, True)]
    # usage: what is missing, exit 2; a refusal, exit 1
    assert o2c(["provisions", "overlay", "draft", "--reason", "x", "--data", data]) == 2
    assert "needs --factor X (every bucket) or --bucket BUCKET=FACTOR" in capsys.readouterr().err
    assert o2c(["provisions", "overlay", "draft", "--bucket", "1_30", "--reason", "x", "--data", data]) == 2
    assert "write it as BUCKET=FACTOR" in capsys.readouterr().err
    assert o2c(["provisions", "overlay", "approve", "1", "--data", data]) == 1
    assert "is approved: only a draft is approved" in capsys.readouterr().err
    assert o2c(["provisions", "overlay", "draft", "--factor", "1.2", "--segment", "Retail", "--reason", "x", "--data", data]) == 1
    assert "no segment 'Retail'" in capsys.readouterr().err
