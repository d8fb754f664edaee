"""Test ledgers and helpers shared by the tests (one module; tests never import each other)."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.load.ingest import ingest
from dashboard.metrics.kpis import Engine
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir

if TYPE_CHECKING:
    import polars as pl
    from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def write_csvs(folder: Path, tables: dict[str, str]) -> Path:
    """tables: name -> CSV text (header first)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return folder


def load(tmp_path: Path, tables: dict[str, str], settings: Settings | None = None, as_of: dt.date | None = None) -> Engine:
    """Ingest the ledger and open an engine on it; fail loudly if it is refused."""
    data = DataDir(tmp_path / "data")
    res = ingest([write_csvs(tmp_path / "extract", tables)], data, settings or Settings(), as_of=as_of)
    assert res.ok, res.report.to_text()
    return Engine.open(res.snapshot, settings or Settings())


def app_page(path: str | None = None, timeout: float = 60, **state):
    """A fresh AppTest session of the whole app (router and sidebar), with this session state,
    switched to `path` (a file under pages/) if given; it must not raise."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    if path:
        at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def data_folder(tmp_path: Path, monkeypatch, ledger: dict[str, str], as_of: dt.date) -> DataDir:
    """The ledger loaded as of `as_of` into tmp_path/data, which the app (and the CLI) then read (O2C_DATA)."""
    d = DataDir(tmp_path / "data")
    assert ingest([write_csvs(tmp_path / "x", ledger)], d, Settings(), as_of=as_of).ok
    monkeypatch.setenv("O2C_DATA", str(d.root))
    return d


def signed_in_as(monkeypatch, user) -> None:
    """The app's identity function answers `user` (pages/identity.py current_user): a role without a sign-in."""
    from pages import identity

    monkeypatch.setattr(identity, "current_user", lambda settings: user)


def same_frames(got: pl.DataFrame, want: pl.DataFrame, key: list[str]) -> None:
    """Two frames hold the same rows (in any order, sorted by `key`): same columns and types, ints and text equal, money to 1e-9."""
    import math

    assert got.columns == want.columns
    assert got.height == want.height
    assert got.schema == want.schema, (got.schema, want.schema)
    g, w = got.sort(key), want.sort(key)
    for c in got.columns:
        for a, b in zip(g[c].to_list(), w[c].to_list()):
            if isinstance(b, float) and a is not None:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-7), (c, a, b)
            else:
                assert a == b, (c, a, b)


def deferred_spy(seen: list):
    """A stand-in for MediaFileManager.add_deferred that also clicks the button: a download made on click
    (st.download_button with a callable, pages/common.deferred_export) is made at once and its
    (file name, mimetype, bytes) appended to `seen`, as the page's eager downloads are."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    original = MediaFileManager.add_deferred

    def spy(self, data, mimetype, coordinates, file_name=None, **kwargs):
        body = data()
        seen.append((file_name, mimetype, body.encode() if isinstance(body, str) else body))
        return original(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    return spy


def free_port() -> int:
    """A TCP port nobody listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shown_text(at: AppTest) -> str:
    """Everything an AppTest run wrote as text: markdown, captions, metric values and labels."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [m.value for m in at.metric]
    parts += [str(m.label) for m in at.metric]
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label: str) -> str:
    """The value shown by the tile with this label."""
    return next(m.value for m in at.metric if m.label == label)


def no_errors(at: AppTest) -> None:
    """No exception, no error box, and never 'nan' on the page."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert not re.search(r"\bnan\b", shown_text(at), re.I)


# ---------------------------------------------------------------------------------------- ledgers
# Shared by several test files; each is worked out by hand in the file named beside it.

# Ledger B of test_kpis_handworked (T = 2026-05-31): partial payments (one before the invoice date,
# one on T, one after T), a credit note, two foreign currencies, orders, limits of 500 and 0.
# The overview and Data page tests show the same ledger.
MIXED = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,currency,paid_date,disputed
D1,C1,2026-05-01,2026-05-31,1000,USD,,no
D2,C2,2026-04-10,2026-05-10,500,EUR,,yes
D3,C1,2026-05-15,2026-05-15,-200,USD,,
D4,C1,2026-03-01,2026-03-31,300,,2026-05-20,
D5,C2,2026-05-20,2026-06-19,100,GBP,,
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
P1,D1,2026-05-10,300
P2,D1,2026-05-31,200
P3,D1,2026-06-05,100
P4,D2,2026-04-05,100
P5,D4,2026-04-15,100
""",
    "fx": """
currency,rate_to_base,rate_date
EUR,1.10,2026-04-01
EUR,1.20,2026-04-15
GBP,1.25,
""",
    "orders": """
order_id,customer_id,order_date,amount,currency
O1,C1,2026-05-25,200,USD
O2,C1,2026-06-02,999,USD
O3,C2,2026-05-01,100,EUR
""",
    "customers": """
customer_id,name,segment,credit_limit
C1,Acme,SMB,500
C2,Beta,Enterprise,0
C3,Gamma,SMB,
""",
}

# test_risk's ledger, scored by hand there at RISK_T (the at-risk pages show it too).
RISK_T = dt.date(2026, 3, 31)
RISK_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
A0,C1,2025-06-01,2025-07-01,400,2025-07-11,no
A1,C1,2026-01-01,2026-01-31,600,2026-02-20,no
A2,C1,2026-01-15,2026-01-25,300,,no
A3,C1,2026-03-20,2026-04-19,200,,yes
B1,C2,2026-03-01,2026-04-30,1000,,no
""",
    "customers": """
customer_id,name,segment,credit_limit,risk_class,external_score
C1,Acme,SMB,1000,B,
C2,Beta,SMB,,,30
""",
    "orders": """
order_id,customer_id,order_date,amount
O1,C1,2026-03-25,100
""",
}

# test_whatif's ledger: baseline and scenario worked out there at 2026-03-31 (the what-if page shows it too).
WHATIF_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
A1,C1,2026-01-10,2026-02-09,900,2026-02-19
A2,C1,2026-03-01,2026-03-31,900,
B1,C2,2026-02-01,2026-03-18,4500,
E1,C3,2025-12-01,2025-12-31,400,
D1,C4,2025-10-01,2025-10-31,1000,2025-11-20
""",
    "customers": """
customer_id,segment,region,credit_limit
C1,SMB,EMEA,1000
C2,Enterprise,EMEA,
C3,SMB,APAC,500
C4,Enterprise,APAC,
""",
    "orders": """
order_id,customer_id,order_date,amount
O1,C1,2026-03-20,300
O2,C1,2026-03-25,200
O3,C3,2026-03-10,150
""",
}

# --- the cash-in forecast and the provision matrix ---------------------------------------------------------------

# test_forecast's ledger, forecast by hand there at 2026-03-31 with min_history 3 and segment_min_history 2
# (the forecast page shows it too).
FORECAST_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
H1,C1,2026-01-01,2026-01-31,100,2026-01-11
H2,C1,2026-01-01,2026-01-31,100,2026-01-21
H3,C1,2025-12-01,2025-12-31,100,2026-01-10
H4,C1,2025-10-01,2025-10-31,100,2025-12-10
H8,C1,2024-06-25,2024-07-25,100,2025-01-11
H5,C2,2026-01-01,2026-01-31,100,
H6,C2,2025-09-01,2025-10-01,100,2025-12-20
H7,C3,2026-02-01,2026-03-03,100,2026-02-16
O1,C1,2026-03-16,2026-04-15,1000,
O2,C1,2026-02-19,2026-03-21,600,
O3,C3,2026-03-21,2026-04-20,300,
O4,C2,2025-12-01,2025-12-31,500,
O5,C1,2026-03-10,2026-03-10,-150,
O6,C1,2026-03-31,2026-04-30,90,
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
P1,H5,2026-01-20,40
P2,H5,2026-02-05,60
P3,O2,2026-03-01,200
""",
    "customers": """
customer_id,segment
C1,SMB
C2,SMB
C3,Enterprise
""",
}

# test_provisions' ledger, its matrix worked out by hand there at 2026-06-30 with lookback_months 3 (the provisions
# page shows it too).
PROVISIONS_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date
P1,C1,2026-02-01,2026-03-01,1000,
P2,C2,2026-02-15,2026-03-17,500,2026-05-20
P3,C1,2026-03-01,2026-03-31,800,2026-04-15
P4,C2,2026-03-20,2026-04-19,999,
P5,C1,2026-06-10,2026-07-10,400,
P6,C2,2026-05-20,2026-06-19,300,
CN,C1,2026-06-01,2026-06-01,-100,
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
X1,P2,2026-04-10,300
""",
    "customers": """
customer_id,segment
C1,SMB
C2,Enterprise
""",
}


# A German SAP FBL5N export (Windows-1252 when written): test_layouts works its figures out,
# the browser journey uploads it.
SAP_DE = """Konto;Belegnummer;Belegart;Belegdatum;Nettofälligkeit;Betrag in Belegwährung;Belegwährung;Ausgleichsdatum
1000;1800000001;RV;01.03.2026;31.03.2026;1.234,50;EUR;
1000;1800000002;RV;15.03.2026;14.04.2026;2.000,00;EUR;10.04.2026
1000;1800000003;RV;20.03.2026;20.03.2026;100,20-;EUR;
;;;;;3.134,30;EUR;
2000;1800000004;RV;01.04.2026;01.05.2026;500,00;EUR;
;;;;;;;
;;;;;3.634,30;EUR;
"""


# ------------------------------------------------------------------------------ a served app


@dataclass
class ScriptRun:
    """What one run of the served app's script sent to a browser over its websocket."""

    page_title: str = ""
    pages: list[str] = field(default_factory=list)  # the navigation's page titles
    elements: list[tuple[str, object]] = field(default_factory=list)  # (kind, its protobuf), in order
    finished: int | None = None  # ForwardMsg.ScriptFinishedStatus

    def of(self, kind: str) -> list:
        return [e for k, e in self.elements if k == kind]

    def metric(self, label: str) -> str:
        return next(m.body for m in self.of("metric") if m.label == label)


def script_run(url: str, query_string: str = "", timeout: float = 90) -> ScriptRun:
    """Open a session on a running Streamlit server as its page does (a websocket at /_stcore/stream
    speaking Streamlit's protobufs), ask for one script run and collect what it draws. Only the app's
    own script can produce these elements: the HTML page at / is Streamlit's generic shell."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    run = ScriptRun()
    deadline = time.monotonic() + timeout
    with connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None, open_timeout=30) as ws:
        ask = BackMsg()
        ask.rerun_script.query_string = query_string
        ws.send(ask.SerializeToString())
        while run.finished is None:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            kind = msg.WhichOneof("type")
            if kind == "page_config_changed" and msg.page_config_changed.title:
                run.page_title = msg.page_config_changed.title
            elif kind == "navigation":
                run.pages = [p.page_name for p in msg.navigation.app_pages]
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                el = msg.delta.new_element
                run.elements.append((el.WhichOneof("type"), getattr(el, el.WhichOneof("type"))))
            elif kind == "script_finished":
                run.finished = msg.script_finished
    return run


def wait_for_health(url: str, proc, seconds: float = 90) -> None:
    """Until the server answers /_stcore/health with 'ok'; fail with its output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited with {proc.returncode}") from None
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer /_stcore/health within {seconds:.0f} s")


# A scenario whatif.md allows that the studio's sliders cannot show (rate 7 % > 5 %, 120 days, terms +90 > 60), with a
# second limits lever. By hand on LEDGER (C1: 20/day, terms 30, late 10, dtp 40; C2: 50/day, terms 45, late 20, dtp 65):
#  C1: terms 120, dtp1 130; discount: 0.3 * min(120, 130) + 0.7 * 130 = 127 -> delta AR 20 * (127 - 40) = +1740
#  C2: terms 135, dtp1 155; 0.3 * 120 + 0.7 * 155 = 144.5 -> 50 * (144.5 - 65) = +3975
#  delta_ar 5715; projected DSO 82.857 + 5715 / 70 = 164.5; discount cost 0.07 * 0.3 * 70 * 365 = 536.55;
#  financing -5715 * 0.08 = -457.2; net -993.75.
#  Limits -100 %: C1 0, C3 0; then C1 set to 5000: C1's orders released (headroom 4100), C1 back within limit;
#  C3 (limit 0) keeps O3 blocked and stays over: 150 blocked in 1 order, 1 customer over.
WHATIF_WIDE = {
    "name": "Wide",
    "levers": [
        {"kind": "terms", "days": 90},
        {"kind": "discount", "rate": 0.07, "within_days": 120, "uptake": 0.3},
        {"kind": "limits", "pct": -1},
        {"kind": "limits", "value": 5000, "customer_ids": "C1"},
    ],
}


# ----------------------------------------------------------------------------- the workbench store (workbench-rest)

# Store tests run on SQLite and, when O2C_TEST_POSTGRES_URL is set (CI sets it when a server answers), on PostgreSQL.
STORE_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("O2C_TEST_POSTGRES_URL") else [])


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A schema of its own (o2c_t_<random>) on the PostgreSQL server at `base`: its URL, whose connections search
    it first (`options=-csearch_path=...`, so a subprocess given the URL lands there too); dropped with CASCADE
    afterwards, with the in-process stores opened on it."""
    import secrets

    import sqlalchemy as sa

    from dashboard.workbench.store import release_shared

    schema = f"o2c_t_{secrets.token_hex(6)}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as c:
            c.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            release_shared(url)
            with admin.begin() as c:
                c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()


def workbench_url(kind: str, tmp_path: Path):
    """A store URL of its own (a generator for a pytest fixture): a SQLite file in tmp_path, or a schema of its
    own on the PostgreSQL server at O2C_TEST_POSTGRES_URL (postgres_schema)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'workbench.sqlite'}"
        return
    with postgres_schema(os.environ["O2C_TEST_POSTGRES_URL"]) as url:
        yield url


def workbench_store(kind: str, tmp_path: Path):
    """A fresh workbench store of this kind (a generator for a pytest fixture), on workbench_url's URL."""
    from dashboard.workbench.store import Store

    for url in workbench_url(kind, tmp_path):
        s = Store(url)
        yield s
        s.dispose()


# Collector pools (test_assignment, test_cli_as): five customers over segments and regions, one without either.
POOL_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,currency,paid_date
I1,C1,2026-09-01,2026-10-01,100,USD,
I2,C2,2026-09-01,2026-10-01,200,USD,
I3,C3,2026-09-01,2026-10-01,300,USD,
I4,C4,2026-09-01,2026-10-01,400,USD,
I5,C5,2026-09-01,2026-10-01,500,USD,
""",
    "customers": """
customer_id,name,segment,region
C1,Alpha,SMB,EMEA
C2,Beta,SMB,AMER
C3,Gamma,Enterprise,EMEA
C4,Delta,Public Sector,APAC
C5,Epsilon,,
""",
}


# ------------------------------------------------------------------ collections (test_collections*.py)
# Worked out by hand in tests/test_collections.py at COLLECTIONS_T (a Tuesday).
COLLECTIONS_T = dt.date(2026, 6, 30)

# C1: overdue I1 8,000 (91 days) + I2 4,000 disputed (30 days) - CN1 1,000 (29 days) = 11,000,
# collectible 11,000 - 4,000 = 7,000, oldest 91 days, exposure 14,000 over its limit of 10,000;
# C2: I4 2,000 less 500 paid = 1,500 overdue 15 days, no limit; C3: nothing open.
WORKLIST_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
I1,C1,2026-03-01,2026-03-31,8000,,no
I2,C1,2026-05-01,2026-05-31,4000,,yes
I3,C1,2026-06-10,2026-07-10,3000,,no
CN1,C1,2026-06-01,2026-06-01,-1000,,no
I4,C2,2026-06-01,2026-06-15,2000,,no
I5,C3,2026-01-10,2026-02-09,700,2026-03-01,no
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
PY1,I4,2026-06-20,500
""",
    "customers": """
customer_id,name,segment,credit_limit
C1,Acme,SMB,10000
C2,Beta,SMB,
C3,Gamma,SMB,
""",
}

# One customer's promises (test_collections): I1 1,000 settled on Monday 2026-06-29 (paid_date);
# I2 2,000 with 600 paid on 2026-06-10 and, in the later extract PROMISE_LEDGER_LATER, the other
# 1,400 on 2026-07-02.
PROMISE_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
I1,P1,2026-05-01,2026-05-31,1000,2026-06-29,no
I2,P1,2026-05-01,2026-05-31,2000,,no
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
PAY1,I2,2026-06-10,600
""",
    "customers": """
customer_id,name,segment,credit_limit
P1,Prompt Payer,SMB,
P2,Other Payer,SMB,
""",
}
PROMISE_LEDGER_LATER = PROMISE_LEDGER | {
    "payments": PROMISE_LEDGER["payments"].rstrip() + "\nPAY2,I2,2026-07-02,1400\n",
}


# ------------------------------------------------------------------ dunning (test_dunning*.py)
# Worked out by hand in tests/test_dunning.py. Statutory interest with the default ECB table:
# 2024 H1 4.50 + 8 = 12.50 %, 2024 H2 4.25 + 8 = 12.25 %.
DUNNING_T = dt.date(2024, 8, 31)
DUNNING_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
A1,K1,2024-07-01,2024-08-01,10000,,no
R1,K2,2024-06-01,2024-06-20,10000,,no
P1,K3,2024-07-01,2024-08-01,10000,,no
L1,K4,2024-07-01,2024-08-01,10000,2024-09-20,no
L2,K4,2024-07-20,2024-08-20,1000,,no
D1,S1,2024-07-01,2024-08-01,800,,yes
B1,S2,2024-07-01,2024-08-01,800,,no
B2,S3,2024-07-01,2024-08-01,800,,no
PR1,S4,2024-07-01,2024-08-01,800,,no
M1,S5,2024-07-01,2024-08-01,100,,no
MC1,S5,2024-08-10,2024-08-10,-60,,no
G1,S6,2024-08-01,2024-08-27,900,,no
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
PY1,P1,2024-08-11,4000
""",
    "customers": """
customer_id,name,segment,email,contact_name,address
K1,Kappa <b>One</b> & Co,SMB,k1@example.com,Ann Lee,1 Main St
K2,Rate Change,SMB,,,
K3,Part Payer,SMB,,,
K4,Late Payer,SMB,k4@example.com,,
S1,Disputer,SMB,,,
S2,Blocked Customer,SMB,,,
S3,Blocked Document,SMB,,,
S4,Promiser,SMB,,,
S5,Small,SMB,,,
S6,In Grace,SMB,,,
""",
}

# ---------------------------------------------------------------- disputes and credit decisions (tests/test_disputes*, test_decisions*)
DISPUTES_T = dt.date(2026, 6, 30)

# D1: A1 5,000 open; A2 3,000 paid 1,000 on 2026-05-20 and 2,000 on 2026-06-20; A3 2,000 flagged disputed, open.
# D2: B1 4,000 open; B2 1,000 paid on 2026-03-01. AR at 2026-06-30 = 5,000 + 2,000 + 4,000 = 11,000.
DISPUTE_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
A1,D1,2026-03-01,2026-03-31,5000,,no
A2,D1,2026-04-01,2026-05-01,3000,,no
A3,D1,2026-05-01,2026-05-31,2000,,yes
B1,D2,2026-05-15,2026-06-14,4000,,no
B2,D2,2026-01-10,2026-02-09,1000,2026-03-01,no
""",
    "payments": """
payment_id,invoice_id,payment_date,amount
P1,A2,2026-05-20,1000
P2,A2,2026-06-20,2000
""",
    "customers": """
customer_id,name,segment,credit_limit
D1,Delta Foods,SMB,20000
D2,Echo Parts,SMB,
""",
}

DECISIONS_T = dt.date(2026, 6, 30)

# L1 (limit 10,000, terms 30): sales in the 365 days to 2026-06-30: 36,500 (I1 18,250 with 30 days' terms,
# I2 18,250 with 60) - a credit note of 1,000 = 35,500; AR = I2 18,250 open (I1 paid); orders O1 2,000 and
# O2 3,000 on 2026-06-01/06-02, O3 1,000 on 2026-06-03. L2 (no limit, master terms 45): nothing issued in the
# window. L3 (limit 1,000): AR 1,500 (over it), order O4 500.
DECISIONS_LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount,paid_date,disputed
I1,L1,2026-01-15,2026-02-14,18250,2026-02-10,no
I2,L1,2026-05-01,2026-06-30,18250,,no
CN1,L1,2026-05-10,2026-05-10,-1000,2026-05-10,no
I3,L2,2025-03-01,2025-03-31,700,2025-03-30,no
I4,L3,2026-06-01,2026-07-01,1500,,no
""",
    "customers": """
customer_id,name,segment,credit_limit,payment_terms_days
L1,Lima Steel,Enterprise,10000,30
L2,Mike Tools,SMB,,45
L3,Nova Retail,SMB,1000,30
""",
    "orders": """
order_id,customer_id,order_date,amount
O1,L1,2026-06-01,2000
O2,L1,2026-06-02,3000
O3,L1,2026-06-03,1000
O4,L3,2026-06-05,500
""",
}


def until_trained(at, timeout: float = 180.0):
    """Rerun an AppTest page until the late-payment model it started training in the background is ready
    (pages/common.py prediction_or_wait: the page says so meanwhile)."""
    import time

    deadline = time.monotonic() + timeout
    while any("late-payment model is being trained" in i.value for i in at.info):
        assert time.monotonic() < deadline, "the late-payment model was not trained in time"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    return at


# ----------------------------------------------------------------------------- real-browser journeys
CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/test installs it); never playwright's own download
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash scripts/test installs it)")


@contextmanager
def serving(data_root: Path, log: Path, port: int | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """`o2c serve` on a free port (or `port`) for this data folder, started as the README starts it; its URL once
    it answers, on `host` (a sign-in needs the host of its redirect URI). Its output goes to a file, not a pipe
    nobody reads (a full pipe would stop the server)."""
    import subprocess
    import sys

    port = port or free_port()
    env = os.environ | {"O2C_DATA": str(data_root)}  # the launcher finds the data folder's secrets.toml by it
    cmd = [str(Path(sys.executable).parent / "o2c"), "serve", "--port", str(port), "--data", str(data_root)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=out)
    url = f"http://{host}:{port}"
    try:
        try:
            wait_for_health(url, proc)
        except AssertionError as exc:
            raise RuntimeError(f"the dashboard did not start: {exc}\n{log.read_text()[-2000:]}") from None
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def chromium_page(width: int = 1500, height: int = 1100):
    """A page of a headless Debian chromium (Playwright), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b.new_page(viewport={"width": width, "height": height})
        finally:
            b.close()


def app_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app has finished its rerun (Streamlit shows a Stop button in the header while a script runs):
    a widget filled while the previous rerun still draws can be drawn over with the value that rerun started from."""
    from playwright.sync_api import expect

    page.wait_for_timeout(300)  # a rerun asked for by the last input has begun by then
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0, timeout=timeout_ms)


# ----------------------------------------------------------------------------- sign-in journeys (oidc mode)
@contextmanager
def oidc_provider(users: dict[str, list[str]]) -> Iterator[str]:
    """A real OpenID Connect provider on loopback (oidc-provider-mock) knowing these users (email -> groups); its URL."""
    from urllib.parse import quote

    import httpx
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for sub, groups in users.items():
            r = httpx.put(f"{url}/users/{quote(sub)}", json={"email": sub, "name": sub.split("@")[0].title(), "groups": groups})
            assert r.status_code == 204
        yield url


@contextmanager
def serving_signed_in(data_root: Path, provider: str, log: Path) -> Iterator[str]:
    """`o2c serve` in oidc mode against `provider` (the data folder's secrets.toml gets its [auth]); the URL on
    localhost, the host of the redirect URI the provider sends the browser back to."""
    port = free_port()
    (data_root / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "a-long-random-secret-for-the-test-only"\n'
        'client_id = "o2c-cockpit"\nclient_secret = "not-checked-by-the-mock"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    with serving(data_root, log, port=port, host="localhost") as url:
        yield url
