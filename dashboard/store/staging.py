"""Staging folders: each load and each Check works in a folder of its own, `.staging/<id>/`.

Owning a folder is holding an flock on the folder itself, from the moment it is made until the
work is done; the lock stays on through the rename into snapshots/ or rejected/, and the kernel
drops it when the owner dies (kill -9 too). So whether a folder is stale can be decided: a staging
folder whose lock can be taken has no live owner.

Stale folders are removed only by a load that holds the data folder's exclusive lock
(store/lock.py), and only those no live process owns: a Check running beside a load keeps its
folder, and a cleanup never reaches a folder that is being published (its owner holds it until the
snapshot is in place). Making a folder and locking it happen under `data/.staging.lock`, which the
cleanup holds as well, so a cleanup never sees a new folder in the instant before its owner locks it.

A Check does not take the data folder's lock, not even in shared mode: it reads only the analyst's
files and writes only into its own staging folder, so a load cannot disturb it nor it a load; a
shared lock would only make a load wait for (or, with the default wait of 0, refuse because of) a
dry run that changes nothing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dashboard.store.lock import LoadLock

MUTEX = ".staging.lock"  # beside .staging/, in the data folder: the folder holds only staging folders


def _open_dir(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


@contextmanager
def _mutex(root: Path) -> Iterator[None]:
    fd = os.open(root / MUTEX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for a mkdir, or for one cleanup: never long
        yield
    finally:
        os.close(fd)  # closing releases it


@contextmanager
def own(staging: Path, sid: str) -> Iterator[Path]:
    """A new staging folder `staging/<sid>`, owned by this process while the block runs.

    On leaving, the folder is removed if it is still there (a Check, or a load that failed); a
    published or refused load has moved it into snapshots/ or rejected/ by then.
    """
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / sid
    with _mutex(staging.parent):
        path.mkdir()
        fd = _open_dir(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        try:
            if path.is_dir() and os.stat(path).st_ino == os.fstat(fd).st_ino:
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def in_use(staging: Path, sid: str) -> bool:
    """True while a live process owns `staging/<sid>` (a load or a Check is working in it)."""
    try:
        fd = _open_dir(staging / sid)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released again at once, by the close below
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def remove_stale(staging: Path, lock: LoadLock) -> list[str]:
    """Remove the staging folders no live process owns (left by killed loads and Checks); their names.

    Only a holder of the data folder's exclusive lock may clean: it is the only load that can
    be publishing, and it knows its own folder is not made yet.
    """
    if not lock.held or Path(lock.root).resolve() != staging.parent.resolve():
        raise RuntimeError("stale staging folders are removed only while holding this data folder's load lock")
    if not staging.is_dir():
        return []
    removed = []
    with _mutex(staging.parent):
        for p in sorted(staging.iterdir()):
            if p.is_symlink() or not p.is_dir():  # nothing of ours: a stray file
                p.unlink(missing_ok=True)
                removed.append(p.name)
                continue
            try:
                fd = _open_dir(p)
            except (FileNotFoundError, NotADirectoryError):
                continue  # its owner finished and moved it meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live owner: a Check, working beside this load
                # Still the same folder at that path (an owner releases only after moving it away).
                if os.stat(p).st_ino == os.fstat(fd).st_ino:
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p.name)
            except FileNotFoundError:
                continue
            finally:
                os.close(fd)
    return removed
