"""The data folder's inbox: extracts waiting to be loaded, and where the Data page saves uploads.

An upload is saved first, under `inbox/upload-<id>/`, so that nothing an analyst drops is
lost whatever happens next (a refused check, a closed browser tab). A file keeps its name
reduced to a plain file name (never a path); two files that would get the same name are
both kept ("invoices.csv", "invoices (2).csv"), and the check then says which is which.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dashboard.load.read import safe_file_name
from dashboard.store.snapshots import DataDir, new_id

UPLOAD_PREFIX = "upload-"


def inbox_folders(data: DataDir) -> list[Path]:
    """The inbox's folders, newest upload first (upload ids sort by time)."""
    if not data.inbox.exists():
        return []
    return sorted((p for p in data.inbox.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def stash_uploads(data: DataDir, uploads: Iterable[tuple[str, bytes]]) -> Path:
    """Save uploaded files (name as the browser gave it, content) in a new inbox folder; that folder."""
    folder = data.inbox / f"{UPLOAD_PREFIX}{new_id()}"
    folder.mkdir(parents=True)
    taken: set[str] = set()
    for name, content in uploads:
        plain = _unique(safe_file_name(name), taken)
        taken.add(plain.casefold())  # Windows and macOS see "Invoices.csv" and "invoices.csv" as one file
        (folder / plain).write_bytes(content)
    return folder


def _unique(name: str, taken: set[str]) -> str:
    if name.casefold() not in taken:
        return name
    p = Path(name)
    n = 2
    while f"{p.stem} ({n}){p.suffix}".casefold() in taken:
        n += 1
    return f"{p.stem} ({n}){p.suffix}"
