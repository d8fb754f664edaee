"""Whether a data folder's workbench may hold a decision that changes the snapshot's figures: the one
check a short command (`o2c kpis`) makes before it decides to open the store. Standard library only: the
store's libraries (SQLAlchemy, Alembic: ~0.3 s to import) load only when the answer is yes."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def may_have_decisions(data_root: Path, db_url: str | None) -> bool:
    """False only when the embedded store surely holds no approved limit, no dispute case and no decision on a held
    order: lets a short command (`o2c kpis`)
    skip opening the store (SQLAlchemy, migrations) on a data folder where nobody ever decided a limit."""
    if db_url:
        return True
    path = data_root / "workbench.sqlite"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
            q = "SELECT 1 FROM limit_requests WHERE status = 'approved' UNION ALL SELECT 1 FROM dispute_cases UNION ALL SELECT 1 FROM hold_decisions LIMIT 1"
            return c.execute(q).fetchone() is not None
    except sqlite3.Error:  # no such table yet (an older store), locked for a moment: ask the store itself
        return True
