"""The data folder's inbox: extracts waiting to be loaded, and where the Data page saves uploads.

An upload is saved first, under `inbox/upload-<id>/`, so that nothing an analyst drops is
lost whatever happens next (a refused check, a closed browser tab). A file keeps its name
reduced to a plain file name (never a path); two files that would get the same name are
both kept ("invoices.csv", "invoices (2).csv"), and the check then says which is which: the names
the browser gave are kept beside the files (ORIGINAL_NAMES) for the report. Uploads are held to the
`[limits]` settings (per file, in total) before anything is written, and an upload's folder is removed
once its files are kept with their snapshot or their refusal (release_upload).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from dashboard.load.limits import check_uploads
from dashboard.load.read import safe_file_name
from dashboard.settings import LimitsSettings
from dashboard.store.snapshots import DataDir, new_id

UPLOAD_PREFIX = "upload-"
ORIGINAL_NAMES = ".original-names"  # inbox/.original-names/<upload folder>.json: hidden, beside the folders, never read as data


def inbox_folders(data: DataDir) -> list[Path]:
    """The inbox's folders, newest upload first (upload ids sort by time)."""
    if not data.inbox.exists():
        return []
    return sorted((p for p in data.inbox.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def stash_uploads(data: DataDir, uploads: Iterable[tuple[str, bytes]], limits: LimitsSettings | None = None) -> Path:
    """Save uploaded files (name as the browser gave it, content) in a new inbox folder; that folder.

    Refused whole (limits.InputRefused, nothing written) when a file is above `[limits] upload_file_mb` or
    all of them above `upload_total_mb`.
    """
    uploads = list(uploads)
    lim = limits or LimitsSettings()
    check_uploads([(name, len(content)) for name, content in uploads], lim.upload_file_mb, lim.upload_total_mb)
    folder = data.inbox / f"{UPLOAD_PREFIX}{new_id()}"
    folder.mkdir(parents=True)
    taken: set[str] = set()
    original: dict[str, str] = {}
    for name, content in uploads:
        plain = unique_name(safe_file_name(name), taken)
        taken.add(plain.casefold())  # Windows and macOS see "Invoices.csv" and "invoices.csv" as one file
        (folder / plain).write_bytes(content)
        original[plain] = name
    _names_file(folder).parent.mkdir(exist_ok=True)
    _names_file(folder).write_text(json.dumps(original, indent=1), encoding="utf-8")
    return folder


def original_names(folder: Path) -> dict[str, str]:
    """The names an upload folder's files had in the browser, by their saved name ({} for any other folder)."""
    try:
        names = json.loads(_names_file(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


def release_upload(data: DataDir, folder: Path) -> bool:
    """Remove an upload's inbox folder once its files are kept with a snapshot or a refusal; True if removed.

    Only a folder the Data page made (inbox/upload-<id>/): a folder a team put into the inbox stays.
    """
    folder = Path(folder)
    if folder.parent.resolve() == data.inbox.resolve() and folder.name.startswith(UPLOAD_PREFIX) and folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
        _names_file(folder).unlink(missing_ok=True)
        return True
    return False


def _names_file(folder: Path) -> Path:
    return folder.parent / ORIGINAL_NAMES / f"{folder.name}.json"


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or "name (2).ext", "name (3).ext", ... when `name` is taken (compared case-blind, as Windows and macOS do)."""
    if name.casefold() not in taken:
        return name
    p = Path(name)
    n = 2
    while f"{p.stem} ({n}){p.suffix}".casefold() in taken:
        n += 1
    return f"{p.stem} ({n}){p.suffix}"
