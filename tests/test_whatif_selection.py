"""What-if answers a finance user can trust: a lever that selects nothing that exists is refused by name, and the
limit figures say what they compare (whatif.md: today's exposure against the scenario's limits)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dashboard.cli import main
from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from dashboard.whatif import model
from tests.fixtures import WHATIF_LEDGER, app_page, shown_text, write_csvs

T = dt.date(2026, 3, 31)


@pytest.fixture
def data(tmp_path) -> DataDir:
    d = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "w", WHATIF_LEDGER)], d, Settings(), as_of=T).ok
    return d


def whatif(tmp_path, data: DataDir, levers: list[dict], *extra: str) -> int:
    f = tmp_path / "scenario.json"
    f.write_text(json.dumps({"levers": levers}))
    return main(["whatif", "--scenario", str(f), "--data", str(data.root), *extra])


@pytest.mark.parametrize(
    ("lever", "said"),
    [
        ({"kind": "limits", "pct": -0.2, "segment": "Nope"}, "lever 1 (limits): segment 'Nope' is not in this snapshot; its segments: Enterprise, SMB"),
        ({"kind": "terms", "days": 5, "region": ["EMEA", "Mars"]}, "lever 1 (terms): region 'Mars' is not in this snapshot; its regions: APAC, EMEA"),
        ({"kind": "limits", "value": 0, "risk_class": "Z"}, "lever 1 (limits): risk class 'Z' is not in this snapshot; its risk classes: A, B, C, D, E"),
        (
            {"kind": "collections", "reduction": 0.5, "customer_ids": ["C1", "C9"]},
            "lever 1 (collections): customer id(s) 'C9' are not in this snapshot's customers",
        ),
    ],
)
def test_a_lever_selecting_a_value_the_snapshot_lacks_is_refused_naming_it_and_what_exists(tmp_path, data, capsys, lever, said):
    assert whatif(tmp_path, data, [lever], "--json") == 1  # it ran unchanged with exit 0 before
    err = json.loads(capsys.readouterr().err)
    assert err["error"].startswith("invalid scenario file") and said in err["details"], err


def test_levers_on_values_that_exist_run(tmp_path, data, capsys):
    levers = [{"kind": "limits", "pct": -0.2, "segment": "SMB"}, {"kind": "terms", "days": 5, "region": "EMEA"}]
    # a class of the A-E scale selects nobody in this master (it has no classes): a standing policy, run, not refused
    levers.append({"kind": "limits", "pct": -0.2, "risk_class": ["D", "E"]})
    assert whatif(tmp_path, data, levers, "--json") == 0


def test_shorter_terms_release_cash_but_leave_the_limit_figures_and_say_why(tmp_path, data, capsys):
    # Hand-worked (whatif.md "Limits", exposure = AR at T + open orders, unchanged by terms):
    # C1: AR 900 (A2) + orders 500 = 1,400 > limit 1,000 -> over; headroom 1,000 - 900 = 100: O1 300 and O2 (running 500) blocked.
    # C3: AR 400 (E1) + order 150 = 550 > 500 -> over; headroom 100: O3 150 blocked. C2, C4 have no limit.
    # So over limit 2 and blocked 650 / 3 orders, before and after terms -15 days for all.
    assert whatif(tmp_path, data, [{"kind": "terms", "days": -15}], "--json") == 0
    s = json.loads(capsys.readouterr().out)
    limits_side = {"blocked_orders_value": 650.0, "blocked_orders_count": 3, "over_limit_customers": 2}
    assert {k: s["baseline"][k] for k in limits_side} == limits_side == {k: s["scenario"][k] for k in limits_side}
    assert s["cash_released"] > 0
    assert whatif(tmp_path, data, [{"kind": "terms", "days": -15}]) == 0
    assert model.LIMITS_NOTE in capsys.readouterr().out


def test_the_page_says_what_the_limit_figures_compare(data, monkeypatch):
    monkeypatch.setenv("O2C_DATA", str(data.root))
    at = app_page("pages/whatif.py")
    assert model.LIMITS_NOTE in shown_text(at)
