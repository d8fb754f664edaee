"""One registry of column headings and formats, used by the pages' tables and by every export.

A column is named once here: the heading a finance reader sees ("Open orders (USD)", never
`open_orders`) and the kind of value it holds (money, days, a share, a count, ...), from which the
pages choose a display format and the exports a rounding. A column missing from the registry still
gets a readable heading (never snake_case), and a test lists the columns the pages show so that
none is left to that fallback by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import polars as pl

from dashboard.metrics.limits import NEAR_LIMIT

Kind = Literal["text", "money", "money_doc", "days", "share", "count", "date", "score", "number", "bool", "points"]
# How wide a table shows a column: Streamlit's "small" / "medium" / "large" or pixels; None = fit.
Width = Literal["small", "medium", "large"] | int | None


@dataclass(frozen=True)
class Column:
    label: str  # "{cur}" is replaced by the base currency
    kind: Kind = "text"
    help: str | None = None
    width: Width = None  # the columns a decision rests on are wide enough to read
    fmt: str | None = None  # a display format other than the kind's (pages/tables.py)


_M: Kind = "money"
_D: Kind = "days"
_S: Kind = "share"
_C: Kind = "count"

COLUMNS: dict[str, Column] = {
    # who
    "customer_id": Column("Customer"),
    "name": Column("Name"),
    "customer_name": Column("Name"),
    "segment": Column("Segment"),
    "region": Column("Region"),
    "currency": Column("Currency"),
    "risk_class": Column("Class", help="Risk class computed from the score: A (lowest risk) to E"),
    "master_risk_class": Column("Master class", help="The risk class in the customer master"),
    "status": Column("Status"),
    # documents
    "invoice_id": Column("Document"),
    "document_type": Column("Type"),
    "invoice_date": Column("Invoice date", "date"),
    "due_date": Column("Due date", "date"),
    "paid_date": Column("Paid on", "date"),
    "order_id": Column("Order"),
    "order_date": Column("Order date", "date"),
    "disputed": Column("Disputed", "bool"),
    "amount_original": Column("Amount (document currency)", "money_doc"),
    "open_amount_base": Column("Open ({cur})", _M),
    "amount_base": Column("Amount ({cur})", _M),
    "days_past_due": Column("Days past due", "number"),
    "days_late": Column("Days late", "number"),
    "bucket_name": Column("Bucket"),
    "bucket": Column("Bucket"),
    # positions
    "ar": Column("AR ({cur})", _M),
    "ar_overdue": Column("Overdue ({cur})", _M),
    "overdue": Column("Overdue ({cur})", _M),
    "overdue_now": Column("Overdue now ({cur})", _M),
    "disputed_ar": Column("Disputed AR ({cur})", _M),
    "open_orders": Column("Open orders ({cur})", _M),
    "exposure": Column("Exposure ({cur})", _M, "AR + open orders"),
    "exposure_with_limit": Column("Exposure under a limit ({cur})", _M),
    "credit_limit": Column("Credit limit ({cur})", _M, "A dash: no credit limit"),
    "limit_before": Column("Limit before ({cur})", _M, "A dash: no credit limit"),
    "limit_now": Column("Limit now ({cur})", _M, "A dash: no credit limit"),
    "headroom": Column("Headroom ({cur})", _M, "Limit minus exposure; negative = over the limit"),
    "utilization": Column("Limit used", _S, "Exposure / credit limit; a dash: no limit (or a limit of 0)"),
    "utilisation": Column("Limit used", _S, "Exposure / credit limit; a dash: no limit (or a limit of 0)"),
    "customers": Column("Customers", _C),
    "customers_with_limit": Column("With a limit", _C),
    "over_limit": Column("Over limit", _C),
    "near_limit": Column("Near limit", _C, f"More than {NEAR_LIMIT:.0%} of the limit used, not over it"),
    "documents": Column("Documents", _C),
    "open_order_count": Column("Open orders", _C),
    "total": Column("Total ({cur})", _M),
    # risk
    "score": Column("Score", "score", "0 (safe) to 100 (risky)"),
    "expected_trouble": Column("Score x exposure ({cur})", _M, "Score / 100 x exposure: the trouble to expect"),
    "reasons": Column("Why", help="The two or three factors that add most to the score", width="large"),
    "thin_file": Column("Thin file", "bool", "Too few documents for a reliable score"),
    "events": Column("Events", _C),
    "event_rate": Column("Event rate", _S),
    "factor": Column("Factor"),
    "value": Column("Value"),
    "zero_points_at": Column("0 points at"),
    "full_points_at": Column("100 points at"),
    "points": Column("Points (0-100)", "points"),
    "weight": Column("Weight", _S, "The factor's share of the score; – = left out (no value for it)"),
    "contribution": Column("Contribution", "points", "Points x weight / the weights of the factors with a value", fmt="%.2f"),
    # what-if
    "credit_limit_baseline": Column("Limit, baseline ({cur})", _M),
    "credit_limit_scenario": Column("Limit, scenario ({cur})", _M),
    "blocked_value_baseline": Column("Blocked orders, baseline ({cur})", _M),
    "blocked_value_scenario": Column("Blocked orders, scenario ({cur})", _M),
    "projected_dso": Column("Projected DSO (days)", _D),
    "cash_released": Column("Cash released ({cur})", _M),
    "net_effect_per_year": Column("Net effect per year ({cur})", _M),
    "discount_cost_per_year": Column("Discount cost per year ({cur})", _M),
    "blocked_orders_value": Column("Blocked orders ({cur})", _M),
    "blocked_orders_count": Column("Blocked orders", _C),
    "over_limit_customers": Column("Customers over limit", _C),
    "delta_ar": Column("Change in AR ({cur})", _M),
    "delta_dso": Column("Change in DSO (days)", _D),
    "levers": Column("Levers", _C),
    # snapshots, reports, audit
    "id": Column("Snapshot"),
    "as_of": Column("As of", "date"),
    "loaded_at": Column("Loaded at (UTC)"),
    "loaded_by": Column("Loaded by"),
    "current": Column("Current", "bool"),
    "warnings": Column("Warnings", _C),
    "source": Column("Source"),
    "files": Column("Files"),
    "file": Column("File"),
    "row": Column("Row", "number"),
    "column": Column("Column"),
    "rule": Column("Rule"),
    "message": Column("What to do", width=440),  # 440 px: File, Row, Column, Value and Rule still fit beside it
    "severity": Column("Severity"),
    "figure": Column("Figure"),
    "before": Column("Before"),
    "after": Column("After"),
    "change": Column("Change"),
    "time": Column("Time (UTC)"),
    "user": Column("User"),
    "event": Column("Event"),
    "outcome": Column("Outcome"),
    "seq": Column("No.", "number"),
    "role": Column("Role"),
    "object_type": Column("Object type"),
    "object_id": Column("Object"),
    "snapshot": Column("Snapshot"),
    "details": Column("Details", width="large"),
    "channel": Column("Channel"),
    "note": Column("Note"),
    "by": Column("By"),
    "what": Column("What"),
    "detail": Column("Detail"),
    "date": Column("Date", "date"),
    # collections (collections.md): the worklist and promises to pay
    "priority": Column("Priority", "score", "100 x points of the rules met / points of all rules (exit rules aside)"),
    "why": Column("Rules met (points)", help="Each rule of the strategy this customer meets, with its points", width="large"),
    "collectible": Column("Collectible ({cur})", _M, "Overdue minus its disputed part"),
    "oldest_dpd": Column("Oldest (days past due)", "number", "Days past due of the oldest open item"),
    "promised_open": Column("Promised, open ({cur})", _M, "Amount not yet paid of the open promises"),
    "broken_365": Column("Broken promises (365 days)", _C),
    "last_contact": Column("Last contact", "date"),
    "resubmission_date": Column("Resubmission", "date", "The day a collector wants the customer back on the list"),
    "dunning_block": Column("Dunning block", help="No dunning letters: the reason, who set it and when"),
    "collector": Column("Collector"),
    "exit_rules": Column("Off the list because"),
    "promise_id": Column("Promise", "number"),
    "amount": Column("Amount ({cur})", _M),
    "made_on": Column("Made on", "date"),
    "promised_date": Column("Promised for", "date"),
    "paid": Column("Paid toward it ({cur})", _M, "Settlements from the day it was made to the promised date + tolerance"),
    "state": Column("State", help="open, kept, partially kept or broken"),
    "level": Column("Level", "number", "1 + the customer's promises broken before this one was made"),
    "invoice_ids": Column("Documents"),
    "created_by": Column("By"),
    # dunning (dunning.md): runs, letters and their items
    "run_id": Column("Run", "number"),
    "letter_id": Column("Letter", "number"),
    "dunning_level": Column("Dunning level", "number", "The level of the letter: 1, 2, 3, ... (an item climbs at most one level per run)"),
    "dpd": Column("Days past due", "number"),
    "open": Column("Open ({cur})", _M),
    "interest": Column("Interest ({cur})", _M, "Daily interest on each day's open amount at that day's rate, less what earlier letters claimed"),
    "compensation": Column("Compensation ({cur})", _M, "The fixed compensation per invoice, in the first letter naming it"),
    "fee": Column("Fee ({cur})", _M, "The dunning fee of the letter's level"),
    "deadline": Column("Pay by", "date"),
    "email": Column("E-mail"),
    "send_status": Column("Sent", help="unsent, sent, failed (can be resent) or print (no e-mail address)"),
    "message_id": Column("Message id"),
    "send_error": Column("Send error", width="large"),
    "reason": Column("Reason", width="medium"),
    "issued_by": Column("Issued by"),
    "issued_at": Column("Issued at"),
    "letters": Column("Letters", _C),
    "sent": Column("Sent", _C),
    "failed": Column("Failed", _C),
    "print": Column("For print", _C),
    "unsent": Column("Not sent", _C),
}


# disputes (disputes.md) and credit decisions (credit-decisions.md): the Disputes and Credit pages
COLUMNS.update(
    {
        "case_id": Column("Case", "number"),
        "reason": Column("Reason"),
        "owner": Column("Owner"),
        "opened_on": Column("Opened on", "date"),
        "deadline": Column("Deadline", "date", "Opened on + the reason's days (settings [disputes])"),
        "overdue_case": Column("Past deadline", "bool"),
        "original": Column("Disputed ({cur})", _M, "What the customer contests, at opening"),
        "open_in_case": Column("Open ({cur})", _M, "Disputed - paid - credited - written off - cleared"),
        "paid_on_case": Column("Paid ({cur})", _M, "The ledger's settlements of the case's documents since it was opened"),
        "credited": Column("Credited ({cur})", _M),
        "written_off": Column("Written off ({cur})", _M),
        "cleared_manually": Column("Cleared ({cur})", _M, "Cleared by hand when resolving"),
        "root_cause": Column("Root cause", width="medium"),
        "open_amount": Column("Open ({cur})", _M),
        "cases": Column("Cases", _C),
        "share": Column("Share", _S),
        "cumulative_share": Column("Cumulative share", _S),
        "request_id": Column("Request", "number"),
        "current_limit": Column("Current limit ({cur})", _M, "The effective limit when requested; a dash: no limit"),
        "requested_limit": Column("Requested ({cur})", _M),
        "proposal": Column("Proposal then ({cur})", _M),
        "kind": Column("Kind", help="permanent, or temporary until its end date"),
        "valid_from": Column("Valid from", "date"),
        "valid_to": Column("Valid to", "date"),
        "requested_by": Column("Requested by"),
        "approvals_needed": Column("Approvals needed", _C),
        "approved_by": Column("Approved by"),
        "decided_on": Column("Decided on", "date"),
        "drafted_on": Column("Drafted on", "date"),  # provision overlays (Provisions page)
        "overlay_id": Column("Overlay", "number"),
        "applies_to": Column("Applies to"),
        "multipliers": Column("Multipliers", width="medium", help="Of the historical rates, per bucket (1 = the historical rate)"),
        "decision_reason": Column("Reason given", width="medium"),
        "scenario_id": Column("From scenario"),
        "sales_365": Column("Sales, 365 days ({cur})", _M),
        "terms": Column("Terms (days)", _D, "Amount-weighted contractual days of the year's documents; the master's terms without any"),
        "cover_days": Column("Cover (days)", "number"),
        "need": Column("Need ({cur})", _M, "Sales of 365 days / 365 x (terms + cover days)"),
        "class_factor": Column("Class factor", "number", fmt="%.2f"),
        "proposed_limit": Column("Proposed limit ({cur})", _M, "Need x class factor, rounded up, within the policy's bounds"),
        "effective_limit": Column("Effective limit ({cur})", _M, "Temporary, else approved, else the master's limit; a dash: no limit"),
        "master_limit": Column("Master limit ({cur})", _M, "The ERP's credit limit in the snapshot"),
        "approved_limit": Column("Approved limit ({cur})", _M),
        "approved_on": Column("Approved on", "date"),
        "snapshot_as_of": Column("Snapshot as of", "date"),
        "limit_source": Column("Limit from", help="temporary, approved (a decision) or master (the ERP)"),
        "last_review": Column("Last review", "date"),
        "last_review_kind": Column("Last review was"),
        "review_days": Column("Review every (days)", "number"),
        "next_review": Column("Next review", "date"),
        "days_overdue": Column("Days overdue", "number"),
        "until_date": Column("Released until", "date"),
    }
)


# An aging bucket's own column (aging tables have one per bucket): not_due, 1_30, ..., 181_plus.
BUCKET = re.compile(r"not_due|\d+_\d+|\d+_plus")


def column(name: str) -> Column:
    """The registry's entry, or a readable heading made from the name (never snake_case on screen)."""
    if name in COLUMNS:
        return COLUMNS[name]
    if BUCKET.fullmatch(name):
        return Column(bucket_label(name), _M, f"Open amount {'not yet due' if name == 'not_due' else bucket_label(name) + ' days past due'}")
    return Column(name.replace("_", " ").strip().capitalize() or name)


def label(name: str, currency: str) -> str:
    return column(name).label.replace("{cur}", currency)


# Exports hold values a spreadsheet can add up: money to the cent, shares to 4 decimals, no
# float noise such as 1579081.4700000002 (the binary double of a cent amount, printed in full).
_ROUND = {"money": 2, "money_doc": 2, "days": 1, "share": 4, "score": 1, "points": 2}


def for_export(df: pl.DataFrame, currency: str) -> pl.DataFrame:
    """df with headings as on screen and values rounded as finance reports them (never changed otherwise)."""
    exprs = []
    for name, dtype in df.schema.items():
        digits = _ROUND.get(column(name).kind)
        e = pl.col(name)
        if digits is not None and dtype.is_float():
            e = e.round(digits)
        exprs.append(e.alias(label(name, currency)))
    return df.select(exprs)


def bucket_label(name: str) -> str:
    """An aging bucket as a reader names it: not_due -> "Not due", 1_30 -> "1-30", 181_plus -> "181+" (days past due)."""
    if name == "not_due":
        return "Not due"
    if name.endswith("_plus"):
        return name.removesuffix("_plus") + "+"
    return name.replace("_", "-")


# --- the cash-in forecast and the provision matrix (dashboard/forecast, dashboard/provisions) -------------------
COLUMNS |= {
    "week": Column("Week", "number"),
    "week_start": Column("From", "date"),
    "week_end": Column("To", "date"),
    "amount": Column("Amount ({cur})", _M),
    "age_band": Column("Invoice age", help="Days since the invoice date at the as-of date"),
    "later": Column("Later ({cur})", _M, "Expected after week 13"),
    "doubtful": Column("Doubtful ({cur})", _M, "No settled document of the pool took this long: not expected; see Provisions"),
    "credit_notes": Column("Credit notes ({cur})", _M, "Open credit notes and overpayments: not cash-in"),
    "next_13_weeks": Column("Next 13 weeks ({cur})", _M),
    "point": Column("Forecast made at", "date", "A month-end with 13 weeks of hindsight"),
    "actual": Column("Actual ({cur})", _M, "What the documents open at that month-end paid in the week"),
    "forecast": Column("Forecast ({cur})", _M),
    "baseline_due_date": Column("Pays on the due date ({cur})", _M),
    "baseline_due_plus_delay": Column("Due date + mean delay ({cur})", _M),
    "method": Column("Method", width="large"),
    "wape": Column("WAPE", _S, "Sum of |actual - forecast| / sum of actuals: lower is better"),
    "bias": Column("Bias", _S, "Sum of (forecast - actual) / sum of actuals: above 0 expects too much, below 0 too little"),
    "gross": Column("Gross ({cur})", _M, "Open amount of the documents with open > 0 (credit notes excluded)"),
    "historical_rate": Column("Historical rate", _S, "Of what sat in the bucket at past month-ends, the share still unpaid at default"),
    "borrowed_from": Column("Rate taken from", help="No history of its own: the nearest younger bucket's rate (a lower bound)"),
    "overlay": Column("Overlay", "number", "Forward-looking multiplier (1 = the historical rate)", fmt="%.2f"),
    "rate": Column("Rate applied", _S, "Historical rate x overlay, at most 100%"),
    "allowance": Column("Allowance ({cur})", _M, "Gross x rate applied: the lifetime expected credit loss"),
    "history_open": Column("Open at the month-ends ({cur})", _M, "Summed over the month-ends used, documents whose outcome is known"),
    "history_unpaid": Column("Unpaid at default ({cur})", _M, "Of that, still open when the document defaulted"),
    "history_documents": Column("Documents x month-ends", _C),
    "history_months": Column("Month-ends with history", _C),
    "rule": Column("How the rate was set"),
    "month_end": Column("Month-end", "date"),
    "open_amount": Column("Open ({cur})", _M),
    "unpaid_at_default": Column("Unpaid at default ({cur})", _M),
    "rate_source": Column("Rate from", help="The segment's own history, or the overall rate when the segment has too little"),
    "coverage": Column("Coverage", _S, "Allowance / gross"),
} | {f"week_{k}": Column(f"Week {k} ({{cur}})", _M) for k in range(1, 14)}

# The late-payment prediction (prediction.md): the ranked open invoices and the customer's share.
COLUMNS |= {
    "open": Column("Open ({cur})", _M),
    "p_late": Column("P(late)", _S, "Probability of being settled after the due date (1 when already past due)"),
    "expected_late": Column("P(late) x open ({cur})", _M, "The ranking: probability x open amount"),
    "top_factors": Column("Why", width="large", help="The invoice's values that raise its probability the most, in points"),
}


# --- the audit trail page (pages/audit.py): the raw columns its CSV keeps for machines -----------------------------
COLUMNS |= {
    "action_code": Column("Action (code)", help="The action as stored, for a script or `o2c audit --action`"),
    "details_json": Column("Details (JSON)", help="The details as stored"),
}
