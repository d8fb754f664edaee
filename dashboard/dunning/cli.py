"""`o2c dunning ...` (cli.md): the commands' logic, kept out of dashboard/cli.py."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dashboard.dunning import runs
from dashboard.settings import load_settings
from dashboard.store.snapshots import DataDir


class UsageError(ValueError):
    """A command line that misses what its step needs."""


def _need(args: argparse.Namespace, step: str, *names: str) -> None:
    missing = [f"--{n}" if n != "run" else "RUN" for n in names if getattr(args, n) in (None, "")]
    if missing:
        raise UsageError(f"'o2c dunning {step}' needs {' and '.join(missing)}")


def run(
    args: argparse.Namespace, data: DataDir, engine: Callable, actor: Callable, context: Callable, out: Callable[[argparse.Namespace, Any, str], None]
) -> int:
    step = args.step
    store = data.trail()
    if step == "runs":
        listed = runs.runs_json(store)
        out(args, listed, runs.runs_text(listed, load_settings(data.root).base_currency))
        return 0
    user, ctx = actor(data), context(args, data)
    if step == "propose":
        eng = engine(args, data)
        w, _ = runs.propose_run(store, user, ctx, eng)
        proposed = runs.run_json(store, int(w.id))
        out(args, proposed, runs.proposal_text(proposed, eng.settings.base_currency) + f"\n(audit entry {w.seq}; review it, then 'o2c dunning issue {w.id}')")
        return 0
    if step == "block":
        _need(args, step, "invoice", "reason")
        eng = engine(args, data)
        w = runs.block_document(store, user, ctx, eng, args.invoice, args.reason)
        out(args, {"id": w.id, "seq": w.seq}, f"Document {w.id} is on a dunning block (audit entry {w.seq}).")
        return 0
    if step == "unblock":
        _need(args, step, "invoice")
        w = runs.unblock_document(store, user, ctx, args.invoice)
        out(args, {"id": w.id, "seq": w.seq}, f"Document {w.id}'s dunning block is lifted (audit entry {w.seq}).")
        return 0
    if step == "remove":
        _need(args, step, "run", "customer", "reason")
        w = runs.remove(store, user, ctx, args.run, args.customer, args.reason, args.invoice, args.block)
        what = f"{args.invoice} of {args.customer}" if args.invoice else f"the letter to {args.customer}"
        out(args, {"id": w.id, "seq": w.seq}, f"Removed {what} from run {w.id} (audit entry {w.seq}).")
        return 0
    settings = load_settings(data.root)
    if step == "issue":
        _need(args, step, "run")
        eng = engine(args, data)
        issued = runs.issue(store, user, eng, args.run, data.root)
        if args.send:
            runs.send_run(store, user, args.run, settings.mail)
        res = runs.issue_json(store, args.run)
        lines = [f"Dunning run {args.run} issued: {issued.letters} letter(s) (audit entry {issued.seq})."]
        lines += [
            f"  {lt['letter_id']:>5}  {lt['customer_id']}  level {lt['level']}  {lt['total']:,.2f}  {lt['send_status']}  {lt['email'] or '(no e-mail: print)'}"
            for lt in res["letters"]
        ]
        out(args, res, "\n".join(lines))
        return 0 if all(lt["send_status"] != "failed" for lt in res["letters"]) else 1
    # resend
    _need(args, step, "letter")
    state = runs.send_letter(store, user, args.letter, settings.mail)
    out(args, {"letter_id": args.letter, "send_status": state}, f"Letter {args.letter}: {state}.")
    return 0 if state == "sent" else 1
