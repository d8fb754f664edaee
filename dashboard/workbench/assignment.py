"""Which collector works which customer (access.md, collections.md "Assignment").

A hand assignment in the workbench (an administrator's, `customer_settings.collector`) wins; a
customer without one belongs to the first pool of the settings (`[[access.pools]]`, in file order)
whose segments and regions hold the customer master's segment and region; a customer in no pool is
unassigned, and then every collector may work it. Clearing a hand assignment returns the customer to
its pool.

One definition: `collectors` answers for a frame of customers at once (the worklist's "my
customers"), and `effective_collector`, the write check and the customer page ask it about one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import polars as pl
import sqlalchemy as sa

from dashboard.settings import CollectorPool
from dashboard.workbench.schema import customer_settings

if TYPE_CHECKING:
    import duckdb

    from dashboard.metrics.kpis import Engine
    from dashboard.settings import Settings
    from dashboard.store.snapshots import SnapshotInfo
    from dashboard.workbench.store import Store

Source = Literal["assigned", "pool"]
SCHEMA = {"customer_id": pl.Utf8, "collector": pl.Utf8, "source": pl.Utf8, "pool": pl.Utf8, "version": pl.Int64}
KEYS = {"customer_id": pl.Utf8, "segment": pl.Utf8, "region": pl.Utf8}


def _no_master(customer_id: str | None) -> pl.DataFrame:
    """Without a snapshot the segment and region are unknown: only hand assignments count."""
    return pl.DataFrame({"customer_id": [customer_id] if customer_id else []}, schema={"customer_id": pl.Utf8}).with_columns(
        segment=pl.lit(None, pl.Utf8), region=pl.lit(None, pl.Utf8)
    )


@dataclass(frozen=True)
class Roster:
    """The pools, and where a customer's segment and region come from (the snapshot being worked on)."""

    pools: tuple[CollectorPool, ...] = ()
    # customer id (None: all) -> frame customer_id, segment, region
    master: Callable[[str | None], pl.DataFrame] = field(default=_no_master)

    @classmethod
    def of(cls, eng: Engine, settings: Settings | None = None) -> Roster:
        """From an open snapshot's engine (the pages), with the settings as they are now (the engine's are
        those of when it was opened: a pool added since counts at once)."""
        return cls(tuple((settings or eng.settings).access.pools), _master(lambda: eng.con))

    @classmethod
    def of_snapshot(cls, snapshot: SnapshotInfo, settings: Settings) -> Roster:
        """For a command: the snapshot is opened only when a collector's write asks about a customer."""
        opened: list[duckdb.DuckDBPyConnection] = []

        def con() -> duckdb.DuckDBPyConnection:
            if not opened:
                from dashboard.store.catalog import open_snapshot

                opened.append(open_snapshot(snapshot))
            return opened[0]

        return cls(tuple(settings.access.pools), _master(con))


def _master(con: Callable[[], duckdb.DuckDBPyConnection]) -> Callable[[str | None], pl.DataFrame]:
    def master(customer_id: str | None) -> pl.DataFrame:
        from dashboard.store import sql as queries

        return queries.run(con(), "customer/pool_keys", customer_id=customer_id).pl().cast(KEYS)

    return master


@dataclass(frozen=True)
class Effective:
    customer_id: str
    collector: str | None
    source: Source | None  # None: nobody's (every collector may work it)
    pool: str | None  # what put the customer in its pool: "segment SMB", "segment SMB, region EMEA"
    version: int  # the customer's workbench row (0: none yet): what a change of the assignment must name

    def describe(self) -> str:
        if self.source == "assigned":
            return f"collector {self.collector} (assigned by hand)"
        if self.source == "pool":
            return f"collector {self.collector} (pool: {self.pool})"
        return "no collector (not assigned, in no pool: every collector may work this customer)"


def same_person(a: str | None, b: str | None) -> bool:
    """User names are e-mail addresses in oidc mode, which people write in any case: Alice@corp.com is alice@corp.com."""
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def _norm(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_lowercase()


def _pooled(pools: Sequence[CollectorPool]) -> tuple[pl.Expr, pl.Expr]:
    """The first matching pool's collector, and the customer's values that matched it, as expressions."""
    who: pl.Expr = pl.lit(None, pl.Utf8)
    why: pl.Expr = pl.lit(None, pl.Utf8)
    for p in reversed(pools):  # built from the last pool outwards, so the first pool that matches wins
        match = pl.lit(True)
        parts = []
        if p.segments:
            match = match & _norm("segment").is_in([s.strip().lower() for s in p.segments])
            parts.append(pl.lit("segment ") + pl.col("segment"))
        if p.regions:
            match = match & _norm("region").is_in([r.strip().lower() for r in p.regions])
            parts.append(pl.lit("region ") + pl.col("region"))
        match = match.fill_null(False)  # no segment or region in the master: in no pool that asks for one
        who = pl.when(match).then(pl.lit(p.collector)).otherwise(who)
        why = pl.when(match).then(pl.concat_str(parts, separator=", ")).otherwise(why)
    return who, why


def collectors(conn: sa.Connection, pools: Sequence[CollectorPool], master: pl.DataFrame) -> pl.DataFrame:
    """customer_id, collector, source ("assigned", "pool" or null), pool, version: one row per customer of
    `master` (customer_id, segment, region), in its order."""
    q = sa.select(customer_settings.c.customer_id, customer_settings.c.collector, customer_settings.c.version)
    if master.height == 1:  # one customer (a write check): read its row only
        q = q.where(customer_settings.c.customer_id == master["customer_id"][0])
    rows = conn.execute(q).all()
    hand = pl.DataFrame([tuple(r) for r in rows], schema={"customer_id": pl.Utf8, "assigned": pl.Utf8, "version": pl.Int64}, orient="row")
    who, why = _pooled(pools)
    return (
        master.select(pl.col(c).cast(t) for c, t in KEYS.items())
        .join(hand, on="customer_id", how="left", maintain_order="left")
        .with_columns(pool_collector=who, pool_label=why)
        .select(
            "customer_id",
            collector=pl.coalesce("assigned", "pool_collector"),
            source=pl.when(pl.col("assigned").is_not_null())
            .then(pl.lit("assigned"))
            .when(pl.col("pool_collector").is_not_null())
            .then(pl.lit("pool"))
            .otherwise(pl.lit(None, pl.Utf8)),
            pool=pl.when(pl.col("assigned").is_null()).then(pl.col("pool_label")),
            version=pl.col("version").fill_null(0),
        )
        .cast(SCHEMA)  # type: ignore[arg-type]
    )


def effective_in(conn: sa.Connection, roster: Roster, customer_id: str) -> Effective:
    """One customer's collector, read inside the caller's transaction (the write check)."""
    keys = roster.master(customer_id)
    if keys.height == 0:  # not in this snapshot's master (or no snapshot): only a hand assignment counts
        keys = _no_master(customer_id)
    r = collectors(conn, roster.pools, keys.head(1)).row(0, named=True)
    return Effective(customer_id, r["collector"], r["source"], r["pool"], int(r["version"]))


def effective_collector(store: Store, roster: Roster, customer_id: str) -> Effective:
    with store.begin() as conn:
        return effective_in(conn, roster, customer_id)


def all_collectors(store: Store, roster: Roster) -> pl.DataFrame:
    """Every customer of the master with its collector (the worklist's "my customers": filter by collector)."""
    master = roster.master(None)
    with store.begin() as conn:
        return collectors(conn, roster.pools, master)
