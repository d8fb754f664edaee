"""Nothing lost when two loads meet (issue 11): one load at a time, a staging folder per load and per
Check, intent before work and the outcome after the data is on disk, kill -9, rollback ids.

Everything runs in real processes on real files. Where a test needs a load to be *in the middle*
of its work while another starts, the first is a real `o2c ingest` (or Check) process whose
reading step waits for a file the test writes: the pause is the only thing arranged, the lock,
the staging folders, the audit trail and the publish are the product's own. kill -9 at an exact
moment is arranged the same way (the process sends SIGKILL to itself from inside the step).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.lock import LOCK_FILE, DataBusy, acquire, hold, holder
from dashboard.store.snapshots import DataDir, snapshot_rows, unfinished_loads
from dashboard.store.staging import in_use, own, remove_stale
from dashboard.workbench import audit
from pages.tables import plain
from tests.fixtures import MIXED, REPO, STORE_BACKENDS, app_page, postgres_schema, write_csvs

T = dt.date(2026, 5, 31)
USER = getpass.getuser()
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("O2C_TEST_POSTGRES_URL") else [])
# MIXED plus one document: a second, different extract (6 documents instead of 5)
JUNE = dict(MIXED, invoices=MIXED["invoices"].rstrip() + "\nD6,C3,2026-04-01,2026-05-01,50,USD,,\n")

# A real `o2c ingest` (argv after the two flag files) whose reading step waits until `go` exists.
PAUSED_LOAD = r"""
import sys, time
from pathlib import Path
import dashboard.load.ingest as ingest_module
paused, go = Path(sys.argv[1]), Path(sys.argv[2])
real = ingest_module._read_and_check
def wait_then_read(*a, **k):
    paused.write_text("paused")
    while not go.exists():
        time.sleep(0.02)
    return real(*a, **k)
ingest_module._read_and_check = wait_then_read
from dashboard.cli import main
sys.exit(main(sys.argv[3:]))
"""

# A Data-page Check (ingest with dry_run) of argv[3] into data folder argv[4], paused the same way.
PAUSED_CHECK = r"""
import datetime as dt, json, sys, time
from pathlib import Path
import dashboard.load.ingest as ingest_module
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
paused, go = Path(sys.argv[1]), Path(sys.argv[2])
real = ingest_module._read_and_check
def wait_then_read(*a, **k):
    paused.write_text("paused")
    while not go.exists():
        time.sleep(0.02)
    return real(*a, **k)
ingest_module._read_and_check = wait_then_read
res = ingest_module.ingest([Path(sys.argv[3])], DataDir(Path(sys.argv[4])), Settings(), as_of=dt.date(2026, 5, 31), dry_run=True)
print(json.dumps({"ok": res.report.ok, "errors": res.report.error_count, "rows": res.report.facts.get("rows")}))
"""

# A real `o2c ingest` that kill -9s itself at one moment: "read" (the load is started: intent recorded,
# files kept in its staging folder) or "outcome" (the snapshot is published and current, its outcome not recorded yet).
KILLED_LOAD = r"""
import os, signal, sys
import dashboard.load.ingest as ingest_module
from dashboard.store.snapshots import DataDir
moment = sys.argv[1]
if moment == "read":
    ingest_module._read_and_check = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
else:
    real = DataDir.audit
    def audit(self, event, *a, **k):
        if event == "load":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, event, *a, **k)
    DataDir.audit = audit
from dashboard.cli import main
sys.exit(main(sys.argv[2:]))
"""

# Loads or Checks in a loop, in one process: after each load, its own snapshot and the current one must be whole.
LOOP = r"""
import datetime as dt, json, sys
from pathlib import Path
import polars as pl
from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
extract, data, mode, n = Path(sys.argv[1]), DataDir(Path(sys.argv[2])), sys.argv[3], int(sys.argv[4])
problems = []
def whole(snap):
    for table, rows in snap.manifest["rows"].items():
        if pl.read_parquet(snap.path / "tables" / f"{table}.parquet").height != rows:
            problems.append(f"{snap.id}: {table} lost rows")
    for name in snap.manifest["derived_rows"]:
        if not (snap.path / "derived" / f"{name}.parquet").is_file():
            problems.append(f"{snap.id}: derived {name} missing")
for i in range(n):
    try:
        res = ingest([extract], data, Settings(), as_of=dt.date(2026, 5, 31), dry_run=mode == "check", source=f"{mode} {i}")
    except Exception as exc:
        problems.append(f"{mode} {i}: {type(exc).__name__}: {exc}")
        continue
    if not res.report.ok:
        problems.append(f"{mode} {i}: " + res.report.to_text())
    elif mode == "load":
        whole(res.snapshot)
        current = data.current()
        if current is None:
            problems.append(f"{mode} {i}: no current snapshot")
        else:
            whole(current)
print(json.dumps(problems))
"""


@pytest.fixture(params=STORE_BACKENDS)
def trail(request, monkeypatch):
    """The audit trail's store: SQLite in the data folder, or a schema of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        monkeypatch.delenv("O2C_DB_URL", raising=False)
        yield request.param
        return
    with postgres_schema(os.environ["O2C_TEST_POSTGRES_URL"]) as url:
        monkeypatch.setenv("O2C_DB_URL", url)
        yield request.param


SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """A test that fails while a load waits for its go file must not leave that process running."""
    yield
    while SPAWNED:
        p = SPAWNED.pop()
        if p.poll() is None:
            p.kill()
            p.wait()


def env(wait: float | str = 0) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), O2C_LOCK_WAIT_SECONDS=str(wait))


def started(argv: list[str], wait: float | str) -> subprocess.Popen:
    p = subprocess.Popen(argv, env=env(wait), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    SPAWNED.append(p)
    return p


def o2c(*args: str, wait: float | str = 0) -> subprocess.Popen:
    return started([sys.executable, "-m", "dashboard.cli", *args], wait)


def script(code: str, *args: str, wait: float = 0) -> subprocess.Popen:
    return started([sys.executable, "-c", code, *args], wait)


def until(cond, what: str, seconds: float = 90) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.05)


def finished(p: subprocess.Popen, seconds: float = 180) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=seconds)
    return p.returncode, out, err


def paused(tmp_path: Path, code: str, *args: str, wait: float = 0) -> tuple[subprocess.Popen, Path]:
    """Start a paused load or Check; return it once it waits in its reading step, and the file that lets it go on."""
    tag = secrets.token_hex(3)
    flag, go = tmp_path / f"paused-{tag}", tmp_path / f"go-{tag}"
    p = script(code, str(flag), str(go), *args, wait=wait)
    until(lambda: flag.exists() or p.poll() is not None, "the process to reach its reading step")
    assert p.poll() is None, finished(p)
    return p, go


def first_load(tmp_path: Path) -> tuple[DataDir, str]:
    data = DataDir(tmp_path / "data")
    assert main(["ingest", str(write_csvs(tmp_path / "may", MIXED)), "--as-of", T.isoformat(), "--data", str(data.root)]) == 0
    return data, data.current_id()


def trail_events(data: DataDir) -> list[dict]:
    with data.trail().begin() as conn:
        return list(reversed(audit.events(conn)))  # oldest first


def staged(data: DataDir) -> list[str]:
    return sorted(p.name for p in data.staging.iterdir()) if data.staging.exists() else []


def whole(data: DataDir, sid: str) -> None:
    """The snapshot's every table has the rows its manifest counts, and its compact tables are there."""
    snap = data.get(sid)
    for table, n in snap.manifest["rows"].items():
        assert pl.read_parquet(snap.path / "tables" / f"{table}.parquet").height == n, (sid, table)
    for name in snap.manifest["derived_rows"]:
        assert (snap.path / "derived" / f"{name}.parquet").is_file(), (sid, name)


def listed(data: DataDir, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["snapshots", "--json", "--data", str(data.root)]) == 0
    return json.loads(capsys.readouterr().out)


class Stderr:
    """A process's stderr as it comes (a progress bar writes no line ends)."""

    def __init__(self, p: subprocess.Popen):
        self.text = ""
        self._t = threading.Thread(target=self._read, args=(p,), daemon=True)
        self._t.start()

    def _read(self, p: subprocess.Popen) -> None:
        while chunk := p.stderr.read(1):
            self.text += chunk


# ----------------------------------------------------------------------------- two loads at once


def test_two_loads_at_once_one_is_refused_touching_nothing_the_next_waits_and_both_are_kept(tmp_path, capsys, trail):
    data, first = first_load(tmp_path)
    june, july = write_csvs(tmp_path / "june", JUNE), write_csvs(tmp_path / "july", JUNE)
    a, go = paused(tmp_path, PAUSED_LOAD, "ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root), "--json")
    # A holds the folder: its name and start time are in the lock file, and the history shows it loading.
    h = holder(data.root)
    assert h is not None and (h.user, h.source, h.pid) == (USER, "o2c ingest", a.pid)
    assert json.loads((data.root / LOCK_FILE).read_text())["user"] == USER
    (a_id,) = staged(data)
    assert [(r["id"], r["status"]) for r in listed(data, capsys)] == [(first, "loaded"), (a_id, "loading")]
    before = (staged(data), [s.id for s in data.list()], len(trail_events(data)), data.current_id())

    # B, with the default wait of 0: refused at once, with who and since when, and nothing touched.
    rc, out, err = finished(o2c("ingest", str(july), "--as-of", T.isoformat(), "--data", str(data.root), "--json"))
    assert rc == 1 and out == "", (rc, out, err)
    hhmm = dt.datetime.fromisoformat(h.since).strftime("%H:%M")
    message = json.loads(err)["error"]
    assert f"another load is in progress since {hhmm} UTC by {USER} (o2c ingest)" in message, message
    assert "nothing was changed" in message and "O2C_LOCK_WAIT_SECONDS" in message
    assert (staged(data), [s.id for s in data.list()], len(trail_events(data)), data.current_id()) == before
    assert not data.rejected.exists() or not any(data.rejected.iterdir())

    # C, allowed to wait: it says for whom it waits, and loads once A is done.
    c = o2c("ingest", str(july), "--as-of", T.isoformat(), "--data", str(data.root), wait=120)
    said = Stderr(c)
    until(lambda: f"Waiting for the load by {USER} since {hhmm} UTC" in said.text, "C to say it waits for A")
    assert a.poll() is None  # A was still in the middle of its load all along
    go.write_text("go")
    rc_a, out_a, err_a = finished(a)
    rc_c, _, _ = finished(c)
    assert rc_a == 0, err_a
    assert rc_c == 0, said.text
    a_snap = json.loads(out_a)["snapshot"]
    assert a_snap == a_id

    snaps = [s.id for s in data.list()]
    assert len(snaps) == 3 and snaps[:2] == [first, a_id] and data.current_id() == snaps[2]  # C loaded last
    for sid in snaps:
        whole(data, sid)
    assert [r["status"] for r in listed(data, capsys)] == ["loaded"] * 3
    assert staged(data) == [] and holder(data.root) is None  # released: the lock file is empty again
    # Both audited: intent, then outcome; C's intent only after A's outcome (it waited for the lock).
    ev = [(e["action"], e["object_id"]) for e in trail_events(data)]
    c_id = snaps[2]
    assert ev[-4:] == [("load.started", a_id), ("snapshot.load", a_id), ("load.started", c_id), ("snapshot.load", c_id)], ev
    assert main(["audit", "verify", "--data", str(data.root)]) == 0


def test_a_wait_that_runs_out_says_so_and_a_bad_wait_is_a_set_up_error(tmp_path, capsys):
    data, first = first_load(tmp_path)
    with hold(data.root, "alice@example.com", "Data page (alice@example.com)") as lock:
        t0 = time.monotonic()
        rc, _, err = finished(o2c("ingest", str(tmp_path / "may"), "--data", str(data.root), wait=1.5))
        assert time.monotonic() - t0 >= 1.5
        assert rc == 1 and "another load is in progress since" in err and "by alice@example.com (Data page)" in err, err
        assert "waited 1.5 s for it" in err
        since = dt.datetime.fromisoformat(lock.holder.since).strftime("%H:%M")
        assert f"since {since} UTC" in err
    rc, _, err = finished(o2c("ingest", str(tmp_path / "may"), "--data", str(data.root), wait="ten"))
    assert rc == 2 and "O2C_LOCK_WAIT_SECONDS='ten' is not a number of seconds" in err, err
    assert data.current_id() == first and len(data.list()) == 1


def test_the_demo_and_a_rollback_take_the_lock_too(tmp_path, capsys):
    data, first = first_load(tmp_path)
    assert main(["ingest", str(write_csvs(tmp_path / "june", JUNE)), "--as-of", T.isoformat(), "--data", str(data.root)]) == 0
    second = data.current_id()
    entries = len(trail_events(data))
    with hold(data.root, "bob", "o2c ingest"):
        capsys.readouterr()
        assert main(["demo", "--invoices", "300", "--data", str(data.root)]) == 1
        assert "another load is in progress since" in capsys.readouterr().err
        assert main(["rollback", first, "--data", str(data.root), "--json"]) == 1
        assert "by bob (o2c ingest)" in json.loads(capsys.readouterr().err)["error"]
    assert data.current_id() == second and len(data.list()) == 2 and staged(data) == [] and len(trail_events(data)) == entries
    assert main(["rollback", first, "--data", str(data.root)]) == 0 and data.current_id() == first


# ----------------------------------------------------------------------------- a load and a Check


def test_a_load_during_a_check_and_a_check_during_a_load_disturb_neither(tmp_path, capsys):
    data, first = first_load(tmp_path)
    june = write_csvs(tmp_path / "june", JUNE)
    # A Check in the middle of its work: a load runs beside it (a Check does not hold the lock), and
    # the load's cleanup of stale staging folders leaves the Check's folder alone.
    check, go = paused(tmp_path, PAUSED_CHECK, str(june), str(data.root))
    (check_dir,) = staged(data)
    assert in_use(data.staging, check_dir)
    rc, _, err = finished(o2c("ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root)))
    assert rc == 0, err
    assert staged(data) == [check_dir] and (data.staging / check_dir / "source" / "invoices.csv").is_file()
    go.write_text("go")
    rc, out, err = finished(check)
    assert rc == 0, err
    # JUNE's rows: 6 documents, 5 payments, 3 customers, 3 orders, and fx's 3 rates plus the base currency's own
    assert json.loads(out) == {"ok": True, "errors": 0, "rows": {"invoices": 6, "payments": 5, "customers": 3, "orders": 3, "fx": 4}}
    assert staged(data) == []  # the Check took its folder away; it recorded nothing, kept nothing
    assert [e["action"] for e in trail_events(data)].count("load.started") == 2
    assert not data.rejected.exists() or not any(data.rejected.iterdir())

    # A load in the middle of its work: a Check runs beside it and passes; the load goes on and loads.
    load, go = paused(tmp_path, PAUSED_LOAD, "ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root))
    (load_dir,) = staged(data)
    res = ingest([june], data, Settings(), as_of=T, dry_run=True)
    assert res.report.ok and res.snapshot is None
    assert staged(data) == [load_dir] and in_use(data.staging, load_dir)
    go.write_text("go")
    rc, _, err = finished(load)
    assert rc == 0, err
    assert data.current_id() == load_dir and len(data.list()) == 3
    whole(data, load_dir)


# ----------------------------------------------------------------------------- cleanup racing publish


def test_cleanups_racing_publishes_never_empty_a_snapshot(tmp_path, capsys):
    """Two processes loading in a loop and one checking: every load cleans stale staging first, which once
    deleted the other's folder in the middle of its publish (the current snapshot emptied in 36 of 40
    trials). Now: every load and Check passes, every snapshot stays whole, every load is audited."""
    data, _ = first_load(tmp_path)
    june = write_csvs(tmp_path / "june", JUNE)
    n = 15
    workers = [script(LOOP, str(june), str(data.root), mode, str(n), wait=300) for mode in ("load", "load", "check", "check")]
    for w in workers:
        rc, out, err = finished(w, seconds=600)
        assert rc == 0, err
        assert json.loads(out) == [], out
    snaps = data.list()
    assert len(snaps) == 1 + 2 * n
    for s in snaps:
        whole(data, s.id)
    assert [r.status for r in snapshot_rows(data)] == ["loaded"] * (1 + 2 * n) and unfinished_loads(data) == []
    ev = [e["action"] for e in trail_events(data)]
    assert ev.count("load.started") == ev.count("snapshot.load") == 1 + 2 * n
    assert staged(data) == [] and main(["audit", "verify", "--data", str(data.root)]) == 0


def test_stale_staging_is_removed_only_under_the_lock_and_only_without_a_live_owner(tmp_path):
    data = DataDir(tmp_path / "data")
    data.ensure()
    # a folder whose owner was killed: its flock went with the process
    killed = "import os, signal, sys\nfrom pathlib import Path\nfrom dashboard.store.staging import own\nwith own(Path(sys.argv[1]), 'killed'):\n    os.kill(os.getpid(), signal.SIGKILL)"
    rc, _, _ = finished(script(killed, str(data.staging)))
    assert rc == -signal.SIGKILL and (data.staging / "killed").is_dir()
    (data.staging / "earlier-version").mkdir()  # an older version's leftover, never owned
    (data.staging / "stray.txt").write_text("x")
    with own(data.staging, "live") as live:
        (live / "work.parquet").write_bytes(b"...")
        lock = acquire(data.root, USER, "test")
        assert sorted(remove_stale(data.staging, lock)) == ["earlier-version", "killed", "stray.txt"]
        assert staged(data) == ["live"] and (live / "work.parquet").is_file()
        lock.release()
        with pytest.raises(RuntimeError, match="only while holding"):
            remove_stale(data.staging, lock)
        other = DataDir(tmp_path / "other")
        with hold(other.root, USER, "test") as foreign, pytest.raises(RuntimeError):
            remove_stale(data.staging, foreign)  # another folder's lock is no licence here
    assert staged(data) == []  # the owner took its folder away when done


# ----------------------------------------------------------------------------- kill -9 and the audit trail


def test_a_load_killed_after_its_start_is_shown_interrupted_and_changes_nothing(tmp_path, capsys):
    data, first = first_load(tmp_path)
    june = write_csvs(tmp_path / "june", JUNE)
    rc, _, _ = finished(script(KILLED_LOAD, "read", "ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root)))
    assert rc == -signal.SIGKILL
    assert data.current_id() == first and len(data.list()) == 1
    whole(data, first)
    (killed,) = staged(data)  # its staging folder, with nobody owning it any more
    assert not in_use(data.staging, killed)
    rows = listed(data, capsys)
    assert rows[-1] == {
        "id": killed,
        "as_of": None,
        "loaded_at": rows[-1]["loaded_at"],
        "source": "o2c ingest",
        "files": ["customers.csv", "fx.csv", "invoices.csv", "orders.csv", "payments.csv"],
        "rows": {},
        "current": False,
        "status": "interrupted",
    }
    assert [r["status"] for r in rows] == ["loaded", "interrupted"]
    assert main(["snapshots", "--data", str(data.root)]) == 0
    assert f" ! {killed}  INTERRUPTED: started " in capsys.readouterr().out
    # the lock died with the process: the next load goes ahead, removes the stale folder, and the history keeps the mark
    assert main(["ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root)]) == 0
    assert staged(data) == [] and [r["status"] for r in listed(data, capsys)] == ["loaded", "interrupted", "loaded"]


def test_a_load_killed_between_its_switch_and_its_outcome_leaves_a_whole_snapshot_marked_orphan(tmp_path, capsys):
    data, first = first_load(tmp_path)
    june = write_csvs(tmp_path / "june", JUNE)
    rc, _, _ = finished(script(KILLED_LOAD, "outcome", "ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root)))
    assert rc == -signal.SIGKILL
    new = data.current_id()
    assert new != first and len(data.list()) == 2
    whole(data, new)  # fsynced before the outcome would have been written
    assert [(r["id"], r["status"], r["current"]) for r in listed(data, capsys)] == [(first, "loaded", False), (new, "orphan", True)]
    assert main(["snapshots", "--data", str(data.root)]) == 0
    assert f"*! {new}" in capsys.readouterr().out
    assert [e["action"] for e in trail_events(data)][-1] == "load.started"


def test_an_interruption_is_shown_only_for_its_own_data_folder_when_two_share_a_store(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("O2C_DB_URL", f"sqlite:///{tmp_path / 'shared.sqlite'}")  # one store for both folders
    data, _ = first_load(tmp_path)
    other = DataDir(tmp_path / "other")
    assert main(["ingest", str(tmp_path / "may"), "--as-of", T.isoformat(), "--data", str(other.root)]) == 0
    killed = script(KILLED_LOAD, "read", "ingest", str(tmp_path / "may"), "--as-of", T.isoformat(), "--data", str(data.root))
    assert finished(killed)[0] == -signal.SIGKILL
    assert [r["status"] for r in listed(data, capsys)] == ["loaded", "interrupted"]
    assert [r["status"] for r in listed(other, capsys)] == ["loaded"]


@pytest.mark.usefixtures("fresh_caches")
def test_the_data_page_warns_of_an_orphan_and_of_a_load_interrupted_since_the_newest_snapshot(tmp_path, monkeypatch):
    data, first = first_load(tmp_path)
    june = write_csvs(tmp_path / "june", JUNE)
    monkeypatch.setenv("O2C_DATA", str(data.root))
    assert finished(script(KILLED_LOAD, "read", "ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root)))[0] == -signal.SIGKILL
    (killed,) = unfinished_loads(data)
    warned = [w.value for w in app_page("pages/data.py").warning]
    assert [w for w in warned if plain(f"The load {killed.id} started ") in w and "was interrupted" in w], warned
    assert finished(script(KILLED_LOAD, "outcome", "ingest", str(june), "--as-of", T.isoformat(), "--data", str(data.root)))[0] == -signal.SIGKILL
    orphan = data.current_id()
    warned = [w.value for w in app_page("pages/data.py").warning]
    # the orphan is named; the older interruption no longer (a newer snapshot followed it), while o2c snapshots keeps it
    assert len(warned) == 1 and plain(f"Snapshot {orphan} has no completed load in the audit trail") in warned[0], warned
    assert [u.id for u in unfinished_loads(data)] == [killed.id]


def test_kill_9_at_any_moment_of_a_load_loses_nothing(tmp_path, capsys):
    """A real load of 60,000 documents killed at a moment the test does not choose: the current data is
    whole, and the load is either recorded as done or marked in the history (interrupted or orphan)."""
    data, first = first_load(tmp_path)
    big = tmp_path / "big"
    big.mkdir()
    n = 60_000
    with open(big / "invoices.csv", "w") as f:
        f.write("invoice_id,customer_id,invoice_date,due_date,amount\n")
        f.writelines(f"B{i},C{i % 97},2026-01-{1 + i % 28:02d},2026-02-{1 + i % 28:02d},{i % 1000 + 1}\n" for i in range(n))
    for delay in (0.0, 0.4, 1.2):
        known = {r["id"] for r in listed(data, capsys)}
        before = data.current_id()
        p = o2c("ingest", str(big), "--data", str(data.root), "--json")
        until(lambda p=p, known=known: p.poll() is not None or any(r.id not in known for r in unfinished_loads(data)), "the load to start")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        rows = listed(data, capsys)
        (mine,) = [r for r in rows if r["id"] not in known]  # the killed load is in the history, whatever it reached
        cur = data.current_id()
        whole(data, cur)
        if mine["status"] == "interrupted":
            assert cur == before and mine["rows"] == {}
        else:  # it got as far as the switch: the new snapshot is whole and current, its outcome recorded or not
            assert mine["status"] in ("orphan", "loaded") and cur == mine["id"] and mine["rows"]["invoices"] == n
        assert [r["id"] for r in rows if r["current"]] == [cur]


# ----------------------------------------------------------------------------- rollback ids


def test_rollback_refuses_a_path_or_an_id_of_another_data_folder(tmp_path, capsys):
    data, first = first_load(tmp_path)
    assert main(["ingest", str(write_csvs(tmp_path / "june", JUNE)), "--as-of", T.isoformat(), "--data", str(data.root)]) == 0
    second = data.current_id()
    other = DataDir(tmp_path / "other" / "data")
    assert ingest([tmp_path / "may"], other, Settings(), as_of=T).ok
    foreign = other.current_id()
    entries = len(trail_events(data))
    rel = os.path.relpath(other.snapshots / foreign, data.snapshots)  # ../../other/data/snapshots/<id>
    assert rel.startswith("../../other/data/snapshots/")
    for bad in (rel, str(other.snapshots / foreign), foreign, f"../snapshots/{first}", ".", "..", ""):
        capsys.readouterr()
        assert main(["rollback", bad, "--json", "--data", str(data.root)]) == 1, bad
        err = json.loads(capsys.readouterr().err)
        assert err["error"] == f"unknown snapshot id '{bad}'" and err["details"] == [f"known ids: {first}, {second}"]
    assert data.current_id() == second and len(trail_events(data)) == entries and other.current_id() == foreign


# ----------------------------------------------------------------------------- the Data page


@pytest.mark.usefixtures("fresh_caches")
def test_the_data_page_says_who_is_loading_and_still_checks(tmp_path, monkeypatch):
    data, first = first_load(tmp_path)
    write_csvs(data.inbox / "june", JUNE)
    monkeypatch.setenv("O2C_DATA", str(data.root))
    monkeypatch.setenv("O2C_LOCK_WAIT_SECONDS", "0")
    entries = len(trail_events(data))
    with hold(data.root, "alice@example.com", "Data page (alice@example.com)") as lock:
        at = app_page("pages/data.py", dp_asof=T)
        at.selectbox(key="dp_inbox").set_value("june").run()
        at.button(key="dp_check").click().run()  # a Check needs no lock: it works while the other load runs
        assert "passes every check" in at.success[0].value
        at.button(key="dp_load").click().run()
        assert not at.exception, at.exception
        since = dt.datetime.fromisoformat(lock.holder.since).strftime("%H:%M")
        (shown,) = [e.value for e in at.error]
        assert plain(f"another load is in progress since {since} UTC by alice@example.com (Data page); nothing was changed") in shown, shown
        assert data.current_id() == first and len(trail_events(data)) == entries and staged(data) == []
    at.button(key="dp_load").click().run()  # the other load is done: this one goes ahead
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert data.current_id() != first and len(data.list()) == 2


def test_listing_an_empty_data_folder_creates_nothing(tmp_path, capsys):
    assert main(["snapshots", "--json", "--data", str(tmp_path / "none")]) == 0
    assert json.loads(capsys.readouterr().out) == [] and not (tmp_path / "none").exists()


def test_a_busy_folder_raises_before_anything_is_read(tmp_path):
    data, first = first_load(tmp_path)
    with hold(data.root, "carol", "o2c demo"), pytest.raises(DataBusy, match="by carol"):
        ingest([tmp_path / "may"], data, Settings(), as_of=T)
    assert data.current_id() == first and staged(data) == []
