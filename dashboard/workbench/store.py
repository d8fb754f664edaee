"""The workbench store: SQLite in the data folder by default, PostgreSQL for a team server.

    O2C_DB_URL (or settings `db_url`)   e.g. postgresql+psycopg://credit@db.example/o2c
    default                             sqlite:///<data>/workbench.sqlite (WAL)

Opening a store brings its schema to the current migration (Alembic), so a fresh clone and an
old data folder both just work; `o2c db upgrade` does the same on purpose.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from dashboard.workbench.errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def store_url(data_root: Path, configured: str | None = None) -> str:
    return os.environ.get("O2C_DB_URL") or configured or f"sqlite:///{(Path(data_root) / 'workbench.sqlite').as_posix()}"


def _sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        # IMMEDIATE: a transaction takes the write lock when it starts, so one that reads the last
        # audit row and then appends can never be overtaken by another writer in between. A read
        # (Store.read) takes none: in WAL mode it neither waits for a writer nor holds one up.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("o2c_read_only") else "BEGIN IMMEDIATE")


def _alembic(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


class Store:
    """A handle on the store; `with store.begin() as conn:` is one transaction (all or nothing)."""

    def __init__(self, url: str, upgrade: bool = True):
        self.url = url
        try:
            self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ModuleNotFoundError) as exc:
            raise StoreError(f"the workbench store URL '{_safe(url)}' cannot be used: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            Path(self.engine.url.database or ".").parent.mkdir(parents=True, exist_ok=True)
            _sqlite(self.engine)
        if upgrade:
            self.upgrade()

    @property
    def kind(self) -> str:
        return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(self.engine.dialect.name, self.engine.dialect.name)

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate to the newest schema; (revision before, revision after)."""
        try:
            with self.engine.begin() as conn:
                before = MigrationContext.configure(conn).get_current_revision()
                command.upgrade(_alembic(conn), "head")
                after = MigrationContext.configure(conn).get_current_revision()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the workbench store at {_safe(self.url)} cannot be reached: {str(exc.orig).strip().splitlines()[0]}") from None
        return before, after or ""

    def head(self) -> str:
        return ScriptDirectory.from_config(_alembic(None)).get_current_head() or ""  # type: ignore[arg-type]

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Several writes as ONE transaction: `with store.transaction() as tx:` then call the core's write functions
        with `tx` as their store; each still appends its own audit entry, and all of them commit together when the
        block ends, or none does when it raises (a refusal in the second write leaves the first unwritten)."""
        with self.engine.begin() as conn:
            yield _Joined(self, conn)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A transaction that only reads (one consistent view; on SQLite without the write lock that begin() takes):
        for what every page run asks, such as the decisions' version (dashboard/decisions/apply.py)."""
        with self.engine.connect().execution_options(o2c_read_only=True) as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


class _Joined(Store):
    """A store whose every `begin()` is the one transaction Store.transaction began (it commits or rolls back there)."""

    def __init__(self, outer: Store, conn: sa.Connection):  # no super().__init__: the engine is the outer store's
        self.url, self.engine, self._conn = outer.url, outer.engine, conn

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        yield self

    def dispose(self) -> None:  # the outer store owns the engine
        pass


def _safe(url: str) -> str:
    """A URL as it may be shown: never its password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unreadable URL)"


def open_store(data_root: Path, configured: str | None = None) -> Store:
    return Store(store_url(data_root, configured))


_SHARED: dict[str, Store] = {}
_SHARED_LOCK = threading.Lock()


def shared_store(url: str) -> Store:
    """One Store per URL in this process (its engine pools connections; migrating once is enough)."""
    with _SHARED_LOCK:
        if url not in _SHARED:
            _SHARED[url] = Store(url)
        return _SHARED[url]


def release_shared(url: str) -> None:
    """Close the shared Store of this URL, if one was opened (its database is about to go away)."""
    with _SHARED_LOCK:
        store = _SHARED.pop(url, None)
    if store is not None:
        store.dispose()
