"""The checks of an extract as a whole (ledger-contract.md), one function per table, then the build.

Each check adds its refusals (errors) and warnings to the report, naming file, row,
column and value; vectorised with polars, so a 10M-row extract is checked in seconds.
The order of the checks is the order of the report's lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

import polars as pl

from dashboard.load import formats
from dashboard.load.contract import TABLES, UNASSIGNED_SEGMENT
from dashboard.load.parse import dtype_of
from dashboard.load.report import Report
from dashboard.settings import Settings

FAR_PAST = dt.date(1900, 1, 1)  # the date of an fx rate given without rate_date
# Large tables go through polars' streaming engine (or a sort) for their whole-table checks and
# joins: a hash table over 10M text keys costs more memory than the table itself (issue 4: < 2 GB).
STREAMING: Literal["streaming"] = "streaming"


class Source(NamedTuple):
    """Where a table came from, as the report names it: the file and the offset from row index to the analyst's row."""

    file: str
    offset: int


def check_and_build(
    tables: dict[str, pl.DataFrame], files: dict[str, str], offsets: dict[str, int], report: Report, settings: Settings, as_of: dt.date | None
) -> dict[str, pl.DataFrame] | None:
    """The snapshot's tables (amounts also in base currency, customer keys), or None when the extract is refused."""
    base = settings.base_currency
    src = {name: Source(files[name], offsets[name]) for name in files}
    tables = check_markers(tables, src, report, base)
    inv = tables["invoices"]
    if not check_invoices(inv, src["invoices"], report):
        return None
    fx = check_fx(tables.get("fx"), src.get("fx"), report, base)
    inv = invoices_in_base(inv, fx, src["invoices"], report, base)
    customers = check_customers(tables.get("customers"), inv, src.get("customers"), src["invoices"], report)
    pay, named = check_payments(tables.get("payments"), inv, src.get("payments"), report)
    orders = check_orders(tables.get("orders"), fx, src.get("orders"), report, base)
    customers = customers_of_orders(orders, customers, files.get("orders", "orders"), report)
    if not report.ok:
        return None
    as_of = check_as_of(inv, pay, orders, src, report, as_of)
    return build(inv, pay, named, customers, orders, fx, report, base, as_of)


# ----------------------------------------------------------------------------- one table at a time


def check_markers(tables: dict[str, pl.DataFrame], src: dict[str, Source], report: Report, base: str) -> dict[str, pl.DataFrame]:
    """The tables without their `_marker_<column>` columns (an amount written 'CAD 1,000.00' by an ERP export,
    kept by parse.py), each marker checked first against the currency it must be in: the row's own (empty: the
    base currency) for documents and orders, the invoice's for a payment, the base currency for a credit limit."""
    out = {}
    for name, df in tables.items():
        marks = [c for c in df.columns if c.startswith("_marker_")]
        for m in marks:
            col = m.removeprefix("_marker_")
            rows = df.lazy().filter(pl.col(m).is_not_null()).select("_row", m, formats.marker_in(pl.col(m)).alias("_mark"))
            if name in ("invoices", "orders"):
                rows = rows.join(df.lazy().select("_row", pl.col("currency").str.to_uppercase().fill_null(base).alias("_cur")), on="_row")
                words = "the row's currency is {cur}"
            elif name == "payments":
                cur = tables["invoices"].lazy().select("invoice_id", pl.col("currency").str.to_uppercase().fill_null(base).alias("_cur")).unique("invoice_id")
                rows = rows.join(df.lazy().select("_row", "invoice_id"), on="_row").join(cur, on="invoice_id", how="left")
                words = "the invoice it pays is in {cur}"
            elif name == "customers":
                rows = rows.with_columns(_cur=pl.lit(base))
                words = "credit limits are in the base currency, {cur}"
            else:  # a rate has no currency of its own
                continue
            got = rows.filter(pl.col("_cur").is_not_null()).collect()
            wrong = {(k, c) for k, c in got.select("_mark", "_cur").unique().iter_rows() if c not in formats.marker_codes(k)}
            for mark, cur in sorted(wrong):
                bad = got.filter((pl.col("_mark") == mark) & (pl.col("_cur") == cur)).sort("_row").select("_row", pl.col(m).alias(col))
                msg = f"the {col} is written in {formats.marker_words(mark)} but {words.format(cur=cur)}: correct the one that is wrong"
                report.add_rows("error", src[name].file, "currency contradicts", msg, bad, col, src[name].offset)
        out[name] = df.drop(marks)
    return out


def check_invoices(inv: pl.DataFrame, src: Source, report: Report) -> bool:
    """Unique ids, dates in order, zero amounts; False when there is no document at all (nothing else to check)."""
    if inv.height == 0:
        report.add("error", src.file, "empty invoices", "the invoices table has no rows; an extract needs at least one document")
        return False
    _dupes(inv, "invoice_id", src, report, "document")
    _rows(report, "error", src, "due before invoice", "due_date is before invoice_date", inv, pl.col("due_date") < pl.col("invoice_date"), "due_date")
    _rows(report, "error", src, "paid before invoice", "paid_date is before invoice_date", inv, pl.col("paid_date") < pl.col("invoice_date"), "paid_date")
    _rows(report, "warning", src, "zero amount", "the amount is zero (loaded; it changes no figure)", inv, pl.col("amount") == 0, "amount")
    return True


def check_fx(fx: pl.DataFrame | None, src: Source | None, report: Report, base: str) -> pl.DataFrame:
    """The rates (currency, rate_to_base, rate_date): positive, one per currency and date; the base currency
    is 1 unless the table says otherwise, and a rate without date applies from the beginning of time."""
    if fx is None:
        fx = pl.DataFrame(schema={"_row": pl.UInt32, "currency": pl.Utf8, "rate_to_base": pl.Float64, "rate_date": pl.Date})
    fx = fx.with_columns(pl.col("currency").str.to_uppercase())
    if src is not None:
        _rows(report, "error", src, "non-positive rate", "rate_to_base must be above zero", fx, pl.col("rate_to_base") <= 0, "rate_to_base")
        dup = pl.struct("currency", "rate_date").is_duplicated()
        _rows(report, "error", src, "duplicate rate", "two rates for the same currency and rate_date; keep one", fx, dup, "currency")
    fx = fx.with_columns(pl.col("rate_date").fill_null(FAR_PAST)).select("currency", "rate_to_base", "rate_date")
    if fx.filter(pl.col("currency") == base).height == 0:
        fx = pl.concat([fx, pl.DataFrame({"currency": [base], "rate_to_base": [1.0], "rate_date": [FAR_PAST]})])
    return fx


def invoices_in_base(inv: pl.DataFrame, fx: pl.DataFrame, src: Source, report: Report, base: str) -> pl.DataFrame:
    """The documents with their currency (base if none), disputed flag (false if none) and fx rate; a document with no rate is refused."""
    inv = inv.with_columns(
        pl.col("currency").str.to_uppercase().fill_null(base),
        pl.col("disputed").fill_null(False),
    )
    inv = _with_fx(inv, "invoice_date", fx)
    nofx = pl.col("fx_rate").is_null() & pl.col("invoice_date").is_not_null()
    words = f"no fx rate to {base} for this currency on or before the invoice date; add it to the fx table"
    _rows(report, "error", src, "no fx rate", words, inv, nofx, "currency")
    return inv


def check_customers(cust: pl.DataFrame | None, inv: pl.DataFrame, src: Source | None, inv_src: Source, report: Report) -> pl.DataFrame:
    """Customers: the master (unique ids, no negative limit), plus everyone who appears only in invoices, with a customer_key."""
    if cust is not None and src is not None:
        _dupes(cust, "customer_id", src, report, "customer")
        words = "credit_limit is negative; use 0 for no credit or leave it empty for no limit"
        _rows(report, "error", src, "negative credit limit", words, cust, pl.col("credit_limit") < 0, "credit_limit")
        words = "payment_terms_days is negative: contractual net days are 0 or more (loaded as given)"
        _rows(report, "warning", src, "negative payment terms", words, cust, pl.col("payment_terms_days") < 0, "payment_terms_days")
        master = cust.drop("_row").unique("customer_id", keep="first").with_columns(in_master=pl.lit(True))
    else:
        master = pl.DataFrame(schema={c.name: dtype_of(c) for c in TABLES["customers"].columns} | {"in_master": pl.Boolean()})
    known = set(master["customer_id"].to_list())
    # sorted: the same extract gives the same report (and the customers are sorted below anyway)
    extra_ids = inv.select(pl.col("customer_id").unique().sort()).filter(~pl.col("customer_id").is_in(list(known)) & pl.col("customer_id").is_not_null())
    if extra_ids.height:
        note = "no customer master was given" if cust is None else "they are not in the customer master"
        report.add(
            "warning",
            inv_src.file,
            "customers not in master",
            f"{extra_ids.height:,} customer(s) appear in invoices but {note}; added with segment '{UNASSIGNED_SEGMENT}' and no credit limit",
            column="customer_id",
            value=", ".join(extra_ids["customer_id"].head(5).to_list()) + (" ..." if extra_ids.height > 5 else ""),
        )
    customers = pl.concat([master, extra_ids.with_columns(in_master=pl.lit(False))], how="diagonal_relaxed")
    customers = customers.with_columns(pl.col("segment").fill_null(UNASSIGNED_SEGMENT), pl.col("region").fill_null("Unassigned")).sort("customer_id")
    return customers.with_row_index("customer_key").with_columns(pl.col("customer_key").cast(pl.Int32))


def check_payments(pay: pl.DataFrame | None, inv: pl.DataFrame, src: Source | None, report: Report) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(payments, the invoices they name with amount and fx rate): unique ids, known invoices; warns of
    non-positive payments and overpaid documents."""
    if pay is None or src is None:
        empty = pl.DataFrame(schema={"_row": pl.UInt32, "payment_id": pl.Utf8, "invoice_id": pl.Utf8, "payment_date": pl.Date, "amount": pl.Float64})
        return empty, inv.select("invoice_id", "amount", "fx_rate").clear()
    _dupes(pay, "payment_id", src, report, "payment")
    # the invoices that payments name (a streaming semi join: no hash table over every invoice)
    named = (
        inv.lazy()
        .select("invoice_id", "amount", "fx_rate")
        .join(pay.lazy().select("invoice_id").unique(), on="invoice_id", how="semi")
        .collect(engine=STREAMING)
    )
    unknown = (
        pay.filter(pl.col("invoice_id").is_not_null()).join(named.select("invoice_id"), on="invoice_id", how="anti").sort("_row").select("_row", "invoice_id")
    )
    report.add_rows(
        "error", src.file, "unknown invoice", "this payment refers to an invoice_id that is not in the invoices table", unknown, "invoice_id", src.offset
    )
    _rows(report, "warning", src, "non-positive payment", "payment amount is zero or negative (loaded as given)", pay, pl.col("amount") <= 0, "amount")
    over = (
        pay.group_by("invoice_id")
        .agg(pl.col("amount").sum().alias("paid"), pl.col("_row").min())
        .join(named.select("invoice_id", "amount"), on="invoice_id")
        .filter((pl.col("amount") > 0) & (pl.col("paid") > pl.col("amount") + 0.005))
        .sort("_row")
        .select("_row", "invoice_id")
    )
    words = "payments for this document add up to more than its amount (loaded; its open amount goes negative)"
    report.add_rows("warning", src.file, "overpaid document", words, over, "invoice_id", src.offset)
    return pay, named


def check_orders(orders: pl.DataFrame | None, fx: pl.DataFrame, src: Source | None, report: Report, base: str) -> pl.DataFrame:
    """Open orders with their fx rate: unique ids, a rate on or before the order date; warns of non-positive amounts."""
    if orders is None or src is None:
        schema = {
            "_row": pl.UInt32,
            "order_id": pl.Utf8,
            "customer_id": pl.Utf8,
            "order_date": pl.Date,
            "amount": pl.Float64,
            "currency": pl.Utf8,
            "fx_rate": pl.Float64,
        }
        return pl.DataFrame(schema=schema)
    _dupes(orders, "order_id", src, report, "order")
    _rows(report, "warning", src, "non-positive order", "order amount is zero or negative (loaded as given)", orders, pl.col("amount") <= 0, "amount")
    orders = _with_fx(orders.with_columns(pl.col("currency").str.to_uppercase().fill_null(base)), "order_date", fx)
    nofx = pl.col("fx_rate").is_null() & pl.col("order_date").is_not_null()
    words = f"no fx rate to {base} for this currency on or before the order date; add it to the fx table"
    _rows(report, "error", src, "no fx rate", words, orders, nofx, "currency")
    return orders


# ----------------------------------------------------------------------------- across tables


def customers_of_orders(orders: pl.DataFrame, customers: pl.DataFrame, file: str, report: Report) -> pl.DataFrame:
    """The customers, plus those known only by an open order (warned, segment Unassigned)."""
    unknown = orders.filter(~pl.col("customer_id").is_in(customers["customer_id"].implode()))
    if not unknown.height:
        return customers
    report.add(
        "warning",
        file,
        "order for unknown customer",
        f"{unknown.height:,} order(s) are for customers with no invoice and no master record; added with segment '{UNASSIGNED_SEGMENT}'",
        column="customer_id",
        value=", ".join(unknown["customer_id"].unique().sort().head(5).to_list()),
    )
    add = unknown.select(pl.col("customer_id").unique().sort()).with_columns(
        in_master=pl.lit(False), segment=pl.lit(UNASSIGNED_SEGMENT), region=pl.lit("Unassigned")
    )
    add = add.with_row_index("customer_key", offset=customers.height).with_columns(pl.col("customer_key").cast(pl.Int32))
    return pl.concat([customers, add], how="diagonal_relaxed")


def check_as_of(inv: pl.DataFrame, pay: pl.DataFrame, orders: pl.DataFrame, src: dict[str, Source], report: Report, as_of: dt.date | None) -> dt.date:
    """The as-of date (given, or the latest invoice, paid or payment date: ledger-contract.md); warns of dates after it."""
    dates: list[dt.date | None] = [inv["invoice_date"].max(), inv["paid_date"].max(), pay["payment_date"].max()]  # type: ignore[list-item]
    when = as_of or max(d for d in dates if d is not None)
    for name, col, df in (
        ("invoices", "invoice_date", inv),
        ("invoices", "paid_date", inv),
        ("payments", "payment_date", pay),
        ("orders", "order_date", orders),
    ):
        future = df.lazy().filter(pl.col(col) > when).select("_row", col).collect()
        if name in src:
            words = f"{col} is after the extract's as-of date {when} (loaded; it counts only for later as-of dates)"
            report.add_rows("warning", src[name].file, "after as-of date", words, future, col, src[name].offset)
    return when


def build(
    inv: pl.DataFrame,
    pay: pl.DataFrame,
    named: pl.DataFrame,
    customers: pl.DataFrame,
    orders: pl.DataFrame,
    fx: pl.DataFrame,
    report: Report,
    base: str,
    as_of: dt.date,
) -> dict[str, pl.DataFrame]:
    """The snapshot's tables: customer keys and amounts in base currency (a payment at its document's rate); facts into the report."""
    keys = customers.select("customer_id", "customer_key")
    inv = inv.with_columns(_key_of(inv, keys)).with_columns(
        amount_base=pl.col("amount") * pl.col("fx_rate"),
        doc_key=pl.col("_row").cast(pl.Int64),
    )
    pay_rate = pay.select("invoice_id").join(named.select("invoice_id", "fx_rate"), on="invoice_id", how="left", maintain_order="left").get_column("fx_rate")
    pay = pay.with_columns(pay_rate).with_columns(amount_base=pl.col("amount") * pl.col("fx_rate"))
    orders = orders.with_columns(_key_of(orders, keys)).with_columns(amount_base=pl.col("amount") * pl.col("fx_rate"))
    report.facts.update(
        as_of=as_of.isoformat(),
        base_currency=base,
        rows={"invoices": inv.height, "payments": pay.height, "customers": customers.height, "orders": orders.height, "fx": fx.height},
        customers_added=int((~customers["in_master"]).sum()),
    )
    return {
        "invoices": inv.drop("_row"),
        "payments": pay.drop("_row"),
        "customers": customers,
        "orders": orders.drop("_row"),
        "fx": fx,
    }


# ----------------------------------------------------------------------------- helpers


def _rows(report: Report, severity: Literal["error", "warning"], src: Source, rule: str, message: str, df: pl.DataFrame, where: pl.Expr, column: str) -> None:
    """Report the rows of df where `where` holds, naming `column`'s value."""
    report.add_rows(severity, src.file, rule, message, df.lazy().filter(where).select("_row", column).collect(), column, src.offset)


def _dupes(df: pl.DataFrame, key: str, src: Source, report: Report, what: str) -> None:
    # sorted, a value that equals its predecessor is a duplicate (a sort needs far less memory than hashing)
    s = df.get_column(key).drop_nulls().sort()
    repeated = s.filter(s == s.shift(1)).unique()
    if repeated.len() == 0:
        return
    bad = df.lazy().filter(pl.col(key).is_in(repeated.implode())).select("_row", key).collect()
    report.add_rows("error", src.file, "duplicate id", f"{what} '{key}' appears more than once; each must be unique", bad, key, src.offset)


def _with_fx(df: pl.DataFrame, date_col: str, fx: pl.DataFrame) -> pl.DataFrame:
    """Attach fx_rate: the latest rate of the row's currency dated on or before its date.

    The as-of join runs on the distinct (currency, date) pairs (a few thousand),
    then a plain join brings the rate to the rows: no sorted copy of a 10M-row table.
    """
    pairs = df.lazy().select("currency", pl.col(date_col).alias("_on")).unique().drop_nulls("_on").collect(engine=STREAMING).sort("_on")
    rates = pairs.join_asof(fx.sort("rate_date"), left_on="_on", right_on="rate_date", by="currency", strategy="backward", check_sortedness=False)
    rates = rates.select("currency", pl.col("_on").alias(date_col), pl.col("rate_to_base").alias("fx_rate"))
    # join only the two key columns and add the result as one column: the other columns are shared, not copied
    rate = (
        df.lazy()
        .select("currency", date_col)
        .join(rates.lazy(), on=["currency", date_col], how="left", maintain_order="left")
        .collect(engine=STREAMING)
        .get_column("fx_rate")
    )
    return df.with_columns(rate.rechunk())


def _key_of(df: pl.DataFrame, keys: pl.DataFrame) -> pl.Series:
    """customer_key of each row, joined on the one column it needs (no copy of the table)."""
    return (
        df.lazy()
        .select("customer_id")
        .join(keys.lazy(), on="customer_id", how="left", maintain_order="left")
        .collect(engine=STREAMING)
        .get_column("customer_key")
        .rechunk()
    )
