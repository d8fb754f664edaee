"""The ledger extract contract (../shared/spec/ledger-contract.md) as data.

One definition of every table, column, type and requirement, used by
ingestion, the validation report and the docs test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["text", "currency", "date", "decimal", "int", "bool"]  # currency: an ISO 4217 code

# What a value can plausibly be (README, "What a value may be"): outside these an extract is refused, row by
# row, before any figure is computed. Beyond them a sum or a day count stops being a number a finance team
# could mean (1e308 adds up to Infinity, the year 9999 overflows date arithmetic) and JSON gets NaN.
AMOUNT_LIMIT = 1e13  # every decimal column: |value| < 10,000,000,000,000 (ten trillion)
FIRST_DATE = dt.date(1900, 1, 1)  # every date column: 1900-01-01 ..
LAST_DATE = dt.date(2100, 12, 31)  # .. 2100-12-31
TERMS_LIMIT = 3650  # payment_terms_days: at most ten years either way (a negative term is loaded with a warning)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    limit: float | None = None  # for numbers: |value| must stay within it (int: <=, decimal: <); None: AMOUNT_LIMIT


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    columns: tuple[Column, ...]
    key: str | None  # the column that must be unique, if any

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C = Column
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "invoices",
            True,
            (
                C("invoice_id", "text", True),
                C("customer_id", "text", True),
                C("invoice_date", "date", True),
                C("due_date", "date", True),
                C("amount", "decimal", True),
                C("currency", "currency"),
                C("paid_date", "date"),
                C("disputed", "bool"),
                C("document_type", "text"),
            ),
            key="invoice_id",
        ),
        Table(
            "payments",
            False,
            (
                C("payment_id", "text", True),
                C("invoice_id", "text", True),
                C("payment_date", "date", True),
                C("amount", "decimal", True),
            ),
            key="payment_id",
        ),
        Table(
            "customers",
            False,
            (
                C("customer_id", "text", True),
                C("name", "text"),
                C("segment", "text"),
                C("region", "text"),
                C("country", "text"),
                C("industry", "text"),
                C("credit_limit", "decimal"),
                C("payment_terms_days", "int", limit=TERMS_LIMIT),
                C("risk_class", "text"),
                C("external_score", "decimal"),
                C("parent_id", "text"),
                # For dunning letters (dunning.md): where reminders are sent, whom they address, where a printed one goes.
                C("email", "text"),
                C("contact_name", "text"),
                C("address", "text"),
                C("language", "text"),
            ),
            key="customer_id",
        ),
        Table(
            "orders",
            False,
            (
                C("order_id", "text", True),
                C("customer_id", "text", True),
                C("order_date", "date", True),
                C("amount", "decimal", True),
                C("currency", "currency"),
            ),
            key="order_id",
        ),
        Table(
            "fx",
            False,
            (
                C("currency", "currency", True),
                C("rate_to_base", "decimal", True),
                C("rate_date", "date"),
            ),
            key=None,  # unique on (currency, rate_date), checked separately
        ),
    )
}

UNASSIGNED_SEGMENT = "Unassigned"
# A far-future date stands for "still open" in interval tables: DuckDB and
# Parquet zone maps can then skip closed items without special-casing NULL.
OPEN_END = "9999-12-31"
