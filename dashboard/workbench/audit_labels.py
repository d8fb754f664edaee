"""The audit trail in words: each action as a reader names it, and an entry's details as "key: value" text.

The trail stores actions as short codes ("customer.followup") and details as JSON, which a machine reads
(the CLI's --json, the CSV's raw column); a person reads "Follow-up set" and "dunning block by: –".
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dashboard.present.formatting import NA
from dashboard.present.labels import column

ACTIONS: dict[str, str] = {
    # the data folder: loads, refusals, rollbacks
    "snapshot.load": "Extract loaded",
    "snapshot.refusal": "Extract refused",
    "snapshot.rollback": "Snapshot made current again",
    "load.started": "Load started",
    "load.failed": "Load failed",
    "audit.import": "Earlier audit log imported",
    # what-if
    "scenario.save": "Scenario saved",
    "scenario.delete": "Scenario deleted",
    "scenario.export": "Scenario exported",
    # collections
    "contact.add": "Contact logged",
    "customer.assign": "Collector assigned",
    "customer.followup": "Follow-up set (resubmission, dunning block)",
    "note.add": "Note added",
    "note.edit": "Note edited",
    "promise.add": "Promise to pay recorded",
    # dunning
    "dunning.propose": "Dunning proposal made",
    "dunning.remove": "Taken out of a dunning run",
    "dunning.issue": "Dunning run issued",
    "dunning.sent": "Dunning letter sent",
    "dunning.failed": "Dunning letter failed to send",
    "dunning.block": "Document blocked for dunning",
    "dunning.unblock": "Dunning block lifted",
    # disputes
    "dispute.open": "Dispute case opened",
    "dispute.assign": "Dispute case assigned",
    "dispute.in_process": "Dispute case in process",
    "dispute.resolve": "Dispute case resolved",
    "dispute.write_off_approved": "Write-off approved",
    "dispute.closed": "Dispute case closed",
    "dispute.voided": "Dispute case voided",
    # credit decisions
    "limit.request": "Limit requested",
    "limit.approve": "Limit approved",
    "limit.reject": "Limit request rejected",
    "limit.withdraw": "Limit request withdrawn",
    "review.done": "Credit review done",
    "order.release": "Held order released",
    "order.reject": "Held order rejected",
    # provisions
    "overlay.draft": "Provision overlay drafted",
    "overlay.approve": "Provision overlay approved",
    "overlay.reject": "Provision overlay rejected",
}


def action_label(action: str) -> str:
    """An action in words; one this registry does not know yet still reads as words ("order.hold" -> "Order hold")."""
    return ACTIONS.get(action) or re.sub(r"[._]+", " ", action).strip().capitalize() or action


_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]00:00)?$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_MONEY_KINDS = ("money", "money_doc")


def value_text(key: str, value: Any, currency: str = "") -> str:
    """One value as a reader expects it: a dash for none, yes/no, money with separators and cents, a time
    to the minute (UTC), a SHA-256 shortened to its first 12 characters (the raw JSON keeps it whole)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if column(key).kind in _MONEY_KINDS or key in ("amount", "limit", "credit_limit"):
            return f"{currency + ' ' if currency else ''}{value:,.2f}"
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return ", ".join(f"{_key(k)} {value_text(k, v, currency)}" for k, v in value.items()) or "–"
    if isinstance(value, list | tuple):
        return ", ".join(_item_text(v, currency) for v in value) or "–"
    text = str(value)
    if m := _TIMESTAMP.match(text):
        return f"{m.group(1)} {m.group(2)}"
    if _HASH.match(text):
        return text[:12] + "…"
    return text


def _item_text(item: Any, currency: str) -> str:
    """A list's item: a file as "invoices.csv (sha256 ab12cd34ef56…)", anything else as its value."""
    if isinstance(item, dict) and "name" in item:
        rest = {k: v for k, v in item.items() if k != "name"}
        inner = ", ".join(f"{_key(k)} {value_text(k, v, currency)}" for k, v in rest.items())
        return f"{item['name']} ({inner})" if inner else str(item["name"])
    return value_text("", item, currency)


def _key(key: str) -> str:
    """A details key in words: "dunning_block_by" -> "dunning block by", "sha256" -> "SHA-256"."""
    if key in ("sha256", "data_sha256"):
        return {"sha256": "SHA-256", "data_sha256": "data SHA-256"}[key]
    return key.replace("_", " ")


def details_text(details: dict[str, Any] | None, currency: str = "") -> str:
    """An entry's details as "key: value" text, one after the other with "; " (a nested record flattened:
    "after: {'dunning_block_by': None}" reads "after, dunning block by: –"): no braces, no None, no code names."""
    if not details:
        return NA if details is None else ""
    return "; ".join(f"{k}: {v}" for k, v in _flat(details, "", currency))


def _flat(details: dict[str, Any], prefix: str, currency: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in details.items():
        words = f"{prefix}, {_key(k)}" if prefix else _key(k)
        if isinstance(v, dict) and v:
            out += _flat(v, words, currency)
        else:
            out.append((words, value_text(k, v, currency)))
    return out
