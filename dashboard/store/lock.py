"""One load at a time: an exclusive lock on the data folder, `data/.load.lock`.

A load (`o2c ingest`, `o2c demo`, the Data page's Load) and a rollback hold this lock from
before they touch anything until their outcome is recorded; the holder's user, start time and
what it runs are written into the file, so a second load can say who it waits for. A second
load waits up to O2C_LOCK_WAIT_SECONDS (default 0) and then raises DataBusy: nothing touched.

`fcntl.flock` is released by the kernel when the holding process dies (kill -9 too), so a
killed load never leaves the folder locked; the file itself stays (deleting a lock file while
another process waits on it would let two processes hold "the" lock on two different files).
A Check (validation only) does not take this lock: see store/staging.py for why it needs none.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dashboard.settings_core import SettingsError

LOCK_FILE = ".load.lock"
WAIT_ENV = "O2C_LOCK_WAIT_SECONDS"
POLL_SECONDS = 0.1  # flock has no timeout: a waiting load tries again this often


class LockSetupError(SettingsError):
    """O2C_LOCK_WAIT_SECONDS is not a number of seconds: a set-up problem (exit 2), like a bad setting."""


@dataclass(frozen=True)
class Holder:
    """Who holds the data folder, as its lock file says."""

    user: str
    since: str  # ISO 8601 UTC, seconds
    source: str  # what it runs: "o2c ingest", "Data page (alice)", "o2c rollback"
    pid: int

    def since_text(self, today: dt.date | None = None) -> str:
        """HH:MM, with the date in front when it is not today (a load held since yesterday is not "since 09:10")."""
        t = dt.datetime.fromisoformat(self.since).astimezone(dt.UTC)
        today = today or dt.datetime.now(dt.UTC).date()
        return t.strftime("%H:%M") if t.date() == today else t.strftime("%Y-%m-%d %H:%M")


class DataBusy(RuntimeError):
    """Another load holds the data folder; nothing was changed."""

    def __init__(self, holder: Holder | None, waited: float):
        self.holder, self.waited = holder, waited
        if holder is None:  # it took the lock an instant ago and has not written its name yet
            who = "another load is in progress (it started just now)"
        else:
            via = holder.source.removesuffix(f" ({holder.user})")  # "Data page (alice)" by alice: "(Data page)"
            who = f"another load is in progress since {holder.since_text()} UTC by {holder.user} ({via})"
        then = (
            f"waited {waited:g} s for it; nothing was changed: try again when it has finished"
            if waited
            else f"nothing was changed: try again when it has finished, or set {WAIT_ENV} to wait for it"
        )
        super().__init__(f"{who}; {then}")


def wait_seconds() -> float:
    """How long a load waits for another one: O2C_LOCK_WAIT_SECONDS, 0 when unset."""
    text = os.environ.get(WAIT_ENV, "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value < float("inf")):
        raise LockSetupError(f"{WAIT_ENV}='{text}' is not a number of seconds: write 0 (do not wait, the default) or more, e.g. 300")
    return value


def _read_holder(fd: int) -> Holder | None:
    raw = os.pread(fd, 4096, 0)
    try:
        d = json.loads(raw.decode("utf-8"))
        return Holder(str(d["user"]), str(d["since"]), str(d["source"]), int(d["pid"]))
    except (ValueError, KeyError, TypeError):
        return None  # empty: free, or taken an instant ago


def holder(root: Path) -> Holder | None:
    """Who holds the data folder now, as its lock file says (None: nobody, or it cannot be told)."""
    try:
        fd = os.open(Path(root) / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)


@dataclass
class LoadLock:
    """The data folder's lock, held by this process (until `release`)."""

    root: Path
    holder: Holder
    fd: int

    @property
    def held(self) -> bool:
        return self.fd >= 0

    def release(self) -> None:
        if self.fd < 0:
            return
        # Emptied before it is released: a lock file with a name in it means a live holder, or a killed one.
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1


def acquire(root: Path, user: str, source: str, wait: float | None = None, waiting: Callable[[Holder | None], None] | None = None) -> LoadLock:
    """Take the data folder's lock, waiting up to `wait` seconds (default: O2C_LOCK_WAIT_SECONDS); DataBusy if it stays taken.

    `waiting` is told once who holds it, when this has to wait.
    """
    wait = wait_seconds() if wait is None else wait
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            now = time.monotonic()
            if now >= deadline:
                # The holder writes its name right after it takes the lock: give it a moment to have done so.
                found = _read_holder(fd)
                for _ in range(10):
                    if found is not None:
                        break
                    time.sleep(0.05)
                    found = _read_holder(fd)
                os.close(fd)
                raise DataBusy(found, wait) from None
            if waiting is not None and not told:
                waiting(_read_holder(fd))
                told = True
            time.sleep(min(POLL_SECONDS, deadline - now))
    me = Holder(user, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), source, os.getpid())
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(me.__dict__) + "\n").encode("utf-8"), 0)
    return LoadLock(root, me, fd)


@contextmanager
def hold(root: Path, user: str, source: str, wait: float | None = None, waiting: Callable[[Holder | None], None] | None = None) -> Iterator[LoadLock]:
    lock = acquire(root, user, source, wait, waiting)
    try:
        yield lock
    finally:
        lock.release()
