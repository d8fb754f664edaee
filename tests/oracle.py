"""The spec's figures in plain Python, one document at a time: an oracle for the engine.

Written straight from the words of ledger-contract.md (open amount, fx) and kpis.md (every
headline figure, aging, trends), plus the README's documented decisions where the spec is
silent (fx dating, countback's period 0 counted inclusively). It uses nothing of dashboard/,
no DuckDB and no polars: loops over lists of dicts. Numbers may be Fractions (exact, for
random ledgers whose ratios sit on a zero denominator) or floats (a large extract).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

EDGES = (0, 30, 60, 90, 180)  # kpis.md "Aging", default edges
P_DEFAULT, W_DEFAULT = 90, 365  # kpis.md: the DSO window P and the payment window W
HALF_CENT = Fraction(1, 200)


@dataclass
class Ledger:
    """One extract. Dates are datetime.date, amounts numbers, optional values None.

    invoices: invoice_id, customer_id, invoice_date, due_date, amount, [currency, paid_date, disputed]
    payments: payment_id, invoice_id, payment_date, amount
    customers: customer_id, [segment, region, credit_limit]
    orders: order_id, customer_id, order_date, amount, [currency]
    fx: currency, rate_to_base, [rate_date]
    """

    invoices: list[dict]
    payments: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    fx: list[dict] = field(default_factory=list)
    base: str = "USD"


def bucket_names(edges=EDGES) -> list[str]:
    """not_due, 1_30, 31_60, 61_90, 91_180, 181_plus for the default edges (kpis.md)."""
    names = ["not_due"]
    for lo, hi in zip(edges, edges[1:]):
        names.append(f"{lo + 1}_{hi}")
    return names + [f"{edges[-1] + 1}_plus"]


def bucket_of(dpd: int, edges=EDGES) -> str:
    """The one bucket a document with dpd days past due falls in."""
    names = bucket_names(edges)
    if dpd <= edges[0]:
        return names[0]
    for i in range(1, len(edges)):
        if dpd <= edges[i]:
            return names[i]
    return names[-1]


def ratio(num, den):
    """kpis.md: any ratio whose denominator is <= 0 is null."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def previous_month_end(d: dt.date) -> dt.date:
    return d.replace(day=1) - dt.timedelta(days=1)


class Oracle:
    """Figures of one ledger for one selection (segments of the customer; currencies of origin)."""

    def __init__(self, led: Ledger, segments=None, currencies=None, P: int = P_DEFAULT, W: int = W_DEFAULT, edges=EDGES):
        self.led, self.P, self.W, self.edges = led, P, W, tuple(edges)
        # Customers: the master, plus customers that appear only in invoices or orders (segment
        # "Unassigned", no limit) - ledger-contract.md "customers".
        self.customers: dict[str, dict] = {}
        for c in led.customers:
            self.customers[c["customer_id"]] = {
                "customer_id": c["customer_id"],
                "segment": c.get("segment") or "Unassigned",
                "credit_limit": c.get("credit_limit"),
            }
        for row in [*led.invoices, *led.orders]:
            self.customers.setdefault(row["customer_id"], {"customer_id": row["customer_id"], "segment": "Unassigned", "credit_limit": None})
        if segments is not None:
            self.customers = {k: c for k, c in self.customers.items() if c["segment"] in segments}
        wanted = None if currencies is None else {c.upper() for c in currencies}

        def picked(row) -> bool:
            return row["customer_id"] in self.customers and (wanted is None or self.currency(row) in wanted)

        self.docs = [d for d in led.invoices if picked(d)]
        self.orders = [o for o in led.orders if picked(o)]
        # A credit limit covers every currency of a customer (README decisions): exposure against the
        # limit counts all of them, and a currency selection only picks which customers count.
        self.wanted = wanted
        self.all_docs = [d for d in led.invoices if d["customer_id"] in self.customers]
        self.all_orders = [o for o in led.orders if o["customer_id"] in self.customers]
        self.paid_by_doc: dict[str, list[dict]] = defaultdict(list)
        for p in led.payments:
            self.paid_by_doc[p["invoice_id"]].append(p)
        self._rate_memo: dict = {}
        self.rates: dict[str, list[tuple[dt.date | None, object]]] = defaultdict(list)
        for r in led.fx:
            self.rates[r["currency"].upper()].append((r.get("rate_date"), r["rate_to_base"]))

    # --- ledger-contract.md --------------------------------------------------------

    def currency(self, row) -> str:
        return (row.get("currency") or self.led.base).upper()

    def rate(self, currency: str, day: dt.date):
        """The latest rate of the currency dated on or before the day; an undated rate where
        there is none (README: it applies until the first dated rate). Base currency: 1."""
        if currency == self.led.base:
            return 1
        if (currency, day) not in self._rate_memo:
            self._rate_memo[currency, day] = self._rate(currency, day)
        return self._rate_memo[currency, day]

    def _rate(self, currency: str, day: dt.date):
        dated = [(d, r) for d, r in self.rates[currency] if d is not None and d <= day]
        if dated:
            return max(dated, key=lambda dr: dr[0])[1]
        undated = [r for d, r in self.rates[currency] if d is None]
        if not undated:
            raise ValueError(f"no {currency} rate on or before {day}: the ingest refuses such an extract")
        return undated[0]

    def doc_rate(self, doc):
        return self.rate(self.currency(doc), doc["invoice_date"])

    def amount(self, doc):
        """A document's amount in base currency."""
        return doc["amount"] * self.doc_rate(doc)

    def open(self, doc, t: dt.date):
        """open(i, T): amount minus payments dated on or before T, zero from paid_date on;
        nothing before the document is issued. In base currency, at the document's rate."""
        if doc["invoice_date"] > t:
            return 0
        if doc.get("paid_date") is not None and doc["paid_date"] <= t:
            return 0
        paid = sum((p["amount"] for p in self.paid_by_doc.get(doc["invoice_id"], []) if p["payment_date"] <= t), 0)
        return (doc["amount"] - paid) * self.doc_rate(doc)

    # --- kpis.md building blocks -----------------------------------------------------

    def ar(self, t: dt.date, docs=None):
        return sum((self.open(d, t) for d in (self.docs if docs is None else docs)), 0)

    def current_ar(self, t: dt.date, docs=None):
        return sum((self.open(d, t) for d in (self.docs if docs is None else docs) if (t - d["due_date"]).days <= 0), 0)

    def sales(self, a: dt.date, b: dt.date, docs=None):
        return sum((self.amount(d) for d in (self.docs if docs is None else docs) if a <= d["invoice_date"] <= b), 0)

    def aging(self, t: dt.date) -> dict:
        out = dict.fromkeys(bucket_names(self.edges), 0)
        for d in self.docs:
            out[bucket_of((t - d["due_date"]).days, self.edges)] += self.open(d, t)
        return out

    def open_documents(self, t: dt.date) -> dict[str, tuple]:
        """invoice_id -> (open amount, days past due, bucket) of every document open (non-zero) at T."""
        out = {}
        for d in self.docs:
            amount = self.open(d, t)
            if amount != 0:
                dpd = (t - d["due_date"]).days
                out[d["invoice_id"]] = (amount, dpd, bucket_of(dpd, self.edges))
        return out

    # --- DSO, CEI, payment behaviour ---------------------------------------------------

    def window(self, t: dt.date) -> tuple[dt.date, dt.date]:
        return t - dt.timedelta(days=self.P - 1), t

    def dso_standard(self, t: dt.date, docs=None):
        r = ratio(self.ar(t, docs), self.sales(*self.window(t), docs))
        return None if r is None else r * self.P

    def bpdso(self, t: dt.date):
        r = ratio(self.current_ar(t), self.sales(*self.window(t)))
        return None if r is None else r * self.P

    def countback(self, t: dt.date):
        """Period 0: the first of T's month to T, T.day days (README: counted inclusively);
        period k: the whole calendar month k months before. At most 24 periods."""
        return self.countback_walk(t)[0]

    def countback_walk(self, t: dt.date) -> tuple:
        """(dso_countback, whether a period's sales used AR up exactly: remaining == 0)."""
        remaining = self.ar(t)
        if remaining <= 0:
            return 0, False
        dso = 0
        start, end, days = t.replace(day=1), t, t.day
        for _ in range(24):
            s = self.sales(start, end)
            if s <= 0:
                dso += days
            elif remaining >= s:
                dso += days
                remaining -= s
            else:
                dso += days * remaining / s
                break
            # README decisions, "Countback": less than half a cent of AR left is nothing left (the engine stops
            # there too; an exact residue in (0, 0.005), a yen's fraction in base currency, walked on here)
            if remaining < HALF_CENT:
                return dso, remaining == 0
            end = start - dt.timedelta(days=1)
            start, days = end.replace(day=1), end.day
        return dso, False

    def cei_terms(self, a: dt.date, b: dt.date):
        """(numerator, denominator) of collection effectiveness over [a, b]."""
        before = self.ar(a - dt.timedelta(days=1))
        s = self.sales(a, b)
        return before + s - self.ar(b), before + s - self.current_ar(b)

    def cei(self, a: dt.date, b: dt.date):
        r = ratio(*self.cei_terms(a, b))
        return None if r is None else r * 100

    def payment_behaviour(self, t: dt.date) -> dict:
        a = t - dt.timedelta(days=self.W - 1)
        paid = [d for d in self.docs if d["amount"] > 0 and d.get("paid_date") is not None and a <= d["paid_date"] <= t]
        weight = sum((self.amount(d) for d in paid), 0)
        return {
            "adp": ratio(sum((self.amount(d) * (d["paid_date"] - d["invoice_date"]).days for d in paid), 0), weight),
            "avg_days_late": ratio(sum((self.amount(d) * max(0, (d["paid_date"] - d["due_date"]).days) for d in paid), 0), weight),
            "on_time_rate": ratio(sum(1 for d in paid if d["paid_date"] <= d["due_date"]), len(paid)),
        }

    # --- customers, exposure, segments -------------------------------------------------

    def positions(self, t: dt.date) -> dict[str, dict]:
        """Per customer of the selection: ar, ar_overdue, open_orders, exposure, over_limit."""
        pos = {
            k: {"customer_id": k, "segment": c["segment"], "credit_limit": c["credit_limit"], "ar": 0, "ar_overdue": 0, "open_orders": 0}
            for k, c in self.customers.items()
        }
        for d in self.docs:
            amount = self.open(d, t)
            pos[d["customer_id"]]["ar"] += amount
            if (t - d["due_date"]).days > 0:
                pos[d["customer_id"]]["ar_overdue"] += amount
        for o in self.orders:
            if o["order_date"] <= t:  # orders in an extract are open by definition
                pos[o["customer_id"]]["open_orders"] += o["amount"] * self.rate(self.currency(o), o["order_date"])
        for p in pos.values():
            p["exposure"] = 0
        for d in self.all_docs:
            pos[d["customer_id"]]["exposure"] += self.open(d, t)
        for o in self.all_orders:
            if o["order_date"] <= t:
                pos[o["customer_id"]]["exposure"] += o["amount"] * self.rate(self.currency(o), o["order_date"])
        for p in pos.values():
            p["over_limit"] = p["credit_limit"] is not None and p["exposure"] > p["credit_limit"]
        if self.wanted is not None:  # only customers with something open in the chosen currencies
            open_here = {d["customer_id"] for d in self.docs if self.open(d, t) != 0} | {o["customer_id"] for o in self.orders if o["order_date"] <= t}
            pos = {k: p for k, p in pos.items() if k in open_here}
        return pos

    def by_segment(self, t: dt.date, pos: dict) -> list[dict]:
        out = []
        for seg in sorted({p["segment"] for p in pos.values()}):
            members = [p for p in pos.values() if p["segment"] == seg]
            limited = [p for p in members if p["credit_limit"] is not None]
            limits = sum((p["credit_limit"] for p in limited), 0)
            docs = [d for d in self.docs if self.customers[d["customer_id"]]["segment"] == seg]
            out.append(
                {
                    "segment": seg,
                    "ar_total": sum((p["ar"] for p in members), 0),
                    "ar_overdue": sum((p["ar_overdue"] for p in members), 0),
                    "open_orders": sum((p["open_orders"] for p in members), 0),
                    "exposure": sum((p["exposure"] for p in members), 0),
                    "credit_limit": limits if limited else None,  # limits over customers that have one
                    "utilization": ratio(sum((p["exposure"] for p in limited), 0), limits),
                    "over_limit_customers": sum(1 for p in members if p["over_limit"]),
                    "dso_standard": self.dso_standard(t, docs),
                }
            )
        return out

    # --- the outputs ---------------------------------------------------------------------

    def headline(self, t: dt.date) -> dict:
        """kpis.md "Headline JSON", unrounded."""
        ar, current = self.ar(t), self.current_ar(t)
        std, best = self.dso_standard(t), self.bpdso(t)
        pos = self.positions(t)
        top10 = sum(sorted((p["ar"] for p in pos.values()), reverse=True)[:10], 0)
        open_orders = sum((p["open_orders"] for p in pos.values()), 0)
        exposure_total = ar + open_orders  # in the chosen currencies (the tile says so under a selection)
        return {
            "as_of": t.isoformat(),
            "base_currency": self.led.base,
            "ar_total": ar,
            "ar_current": current,
            "ar_overdue": ar - current,
            "pct_overdue": ratio(ar - current, ar),
            "aging": self.aging(t),
            "dso_standard": std,
            "dso_countback": self.countback(t),
            "bpdso": best,
            "add": None if std is None or best is None else std - best,
            "cei": self.cei(*self.window(t)),
            **self.payment_behaviour(t),
            "disputed_ar": sum((self.open(d, t) for d in self.docs if d.get("disputed")), 0),
            "open_orders": open_orders,
            "exposure_total": exposure_total,
            "customers": len(pos),
            "customers_with_limit": sum(1 for p in pos.values() if p["credit_limit"] is not None),
            "over_limit_customers": sum(1 for p in pos.values() if p["over_limit"]),
            "concentration_top10": ratio(top10, ar),
            "by_segment": self.by_segment(t, pos),
        }

    def trend(self, t: dt.date, months: int = 12) -> list[dict]:
        """kpis.md "Trends": the `months` month-ends before T's month, then T; CEI over each month to date."""
        points, m = [t], t
        for _ in range(months):
            m = previous_month_end(m)
            points.insert(0, m)
        return [
            {
                "date": p,
                "ar": self.ar(p),
                "ar_overdue": self.ar(p) - self.current_ar(p),
                "dso_countback": self.countback(p),
                "dso_standard": self.dso_standard(p),
                "bpdso": self.bpdso(p),
                "cei": self.cei(p.replace(day=1), p),
                "adp": self.payment_behaviour(p)["adp"],
            }
            for p in points
        ]


# --- reading an extract folder (Parquet, as the demo writes it) ----------------------------


def read_parquet_extract(folder: Path, base: str = "USD") -> Ledger:
    """The demo's Parquet files as lists of dicts (pyarrow's reader, nothing else)."""
    import pyarrow.parquet as pq

    def rows(name: str) -> list[dict]:
        f = Path(folder) / f"{name}.parquet"
        return pq.read_table(f).to_pylist() if f.exists() else []

    return Ledger(rows("invoices"), rows("payments"), rows("customers"), rows("orders"), rows("fx"), base)


def close(engine_value, oracle_value, rel: float = 1e-9, abs_: float = 1e-6) -> bool:
    """Both undefined, or equal up to float summation order."""
    if engine_value is None or oracle_value is None:
        return engine_value is None and oracle_value is None
    return abs(float(engine_value) - float(oracle_value)) <= max(abs_, rel * abs(float(oracle_value)))


COUNTS = ("customers", "customers_with_limit", "over_limit_customers")  # whole numbers, compared exactly


def differences(engine: dict, oracle: dict, path: str = "", skip=(), **tol) -> list[str]:
    """Every key of the oracle's headline that the engine's does not match (by_segment by segment);
    keys in `skip` (top level) are left out."""
    out = []
    for k, want in oracle.items():
        if k in skip:
            continue
        got = engine.get(k, "MISSING") if isinstance(engine, dict) else "MISSING"
        if isinstance(want, dict):
            out += differences(got if isinstance(got, dict) else {}, want, f"{path}{k}.", **tol)
        elif isinstance(want, list):
            g = {r["segment"]: r for r in got} if isinstance(got, list) else {}
            w = {r["segment"]: r for r in want}
            if set(g) != set(w):
                out.append(f"{path}{k}: segments {sorted(g)} != {sorted(w)}")
            for seg in w.keys() & g.keys():
                out += differences(g[seg], w[seg], f"{path}{k}[{seg}].", **tol)
        elif isinstance(want, (str, dt.date)) or isinstance(got, str) or k in COUNTS:
            if got != want:
                out.append(f"{path}{k}: engine {got!r} vs oracle {want!r}")
        elif not close(got, want, **tol):
            out.append(f"{path}{k}: engine {got!r} vs oracle {None if want is None else float(want)!r}")
    return out
