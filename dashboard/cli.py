"""The `o2c` command line (../shared/spec/cli.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypedDict

from dashboard.settings_core import SettingsError, headline_settings
from dashboard.store.lock import DataBusy
from dashboard.store.snapshots import DataDir, SnapshotRow, UnknownSnapshot, default_data_dir, rollback, snapshot_rows
from dashboard.workbench.errors import Conflict, Refused, StoreError
from dashboard.workbench.identity import AccessDenied, User, oidc_mode

if TYPE_CHECKING:
    from dashboard.load.ingest import IngestResult
    from dashboard.load.report import ReportJson
    from dashboard.metrics.kpis import Engine
    from dashboard.settings import Settings
    from dashboard.store.snapshots import SnapshotInfo, UnfinishedLoad
    from dashboard.workbench.notes import Context, Written


# ----------------------------------------------------------------------------- what --json prints (cli.md)


class LoadedJson(TypedDict):
    """`o2c demo --json`: the new snapshot."""

    snapshot: str
    as_of: str
    rows: dict[str, int]  # table -> rows
    seconds: float


class IngestJson(LoadedJson):
    """`o2c ingest --json` when the extract is loaded: the new snapshot and its validation report (warnings)."""

    report: ReportJson


class SnapshotJson(TypedDict):
    """One element of `o2c snapshots --json`: a snapshot, or a load that left none (status loading or interrupted)."""

    id: str
    as_of: str | None  # None for a load that left no snapshot
    loaded_at: str  # for a load that left no snapshot: when it started
    source: str
    files: list[str]
    rows: dict[str, int]
    current: bool
    status: str  # loaded, orphan (no completed load entry in the audit trail), loading, interrupted


class ErrorJson(TypedDict):
    """What any command prints on stderr with --json when it fails (an ingest refusal too)."""

    error: str
    details: list


class RollbackJson(TypedDict):
    """`o2c rollback ID --json`."""

    current: str


def loaded_json(snap: SnapshotInfo, res: IngestResult) -> LoadedJson:
    return LoadedJson(snapshot=snap.id, as_of=snap.manifest["as_of"], rows=snap.manifest["rows"], seconds=round(res.seconds, 2))


def snapshot_json(r: SnapshotRow | UnfinishedLoad) -> SnapshotJson:
    if isinstance(r, SnapshotRow):
        return SnapshotJson(
            id=r.id, as_of=r.as_of, loaded_at=r.loaded_at, source=r.source, files=list(r.files), rows=r.rows, current=r.current, status=r.status
        )
    return SnapshotJson(id=r.id, as_of=None, loaded_at=r.started_at, source=r.source, files=list(r.files), rows={}, current=False, status=r.status)


class CliError(Exception):
    def __init__(self, message: str, details: list | None = None, code: int = 1):
        super().__init__(message)
        self.details = details or []
        self.code = code


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD") from None


class UsageError(Exception):
    """What argparse found wrong with the command line (raised instead of printing usage, see main)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors reach main() instead of printing usage and exiting: with --json a
    malformed command line must still be answered by one {"error", "details"} document on stderr (cli.md).
    Sub-command parsers are of the same class (argparse makes them with the parent's class)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def _usage_failure(exc: UsageError, argv: list[str]) -> int:
    """Exit 2 as argparse does: its usage text and message, or with --json the error document alone."""
    if "--json" in argv:
        usage = " ".join(exc.parser.format_usage().split())
        print(json.dumps(ErrorJson(error=str(exc), details=[usage])), file=sys.stderr)
        return 2
    argparse.ArgumentParser.error(exc.parser, str(exc))  # prints the usage and exits 2
    return 2  # not reached


def _amount(text: str) -> float:
    """An amount as the command line takes it: a plain number (1000 or 1000.50), never a thousands separator,
    whose meaning depends on the writer's locale (1,000 is a thousand in English, one in German)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an amount: write it as a plain number such as 1000 or 1000.50 (no thousands separator)") from None


def parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    # SUPPRESS: an option given before the command is not reset by the command's own parser.
    common.add_argument("--data", type=Path, default=argparse.SUPPRESS, help="data folder (default: $O2C_DATA, else ./data)")
    common.add_argument("--as-of", type=_date, default=argparse.SUPPRESS, help="as-of date YYYY-MM-DD (default: the snapshot's)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine output on stdout")
    common.add_argument(
        "--as", dest="as_user", default=argparse.SUPPRESS, metavar="USER", help="oidc mode: the person a change is made as (settings [access] cli_users)"
    )
    p = _Parser(prog="o2c", description="O2C Credit Cockpit: receivables KPIs from ledger extracts.", parents=[common])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", parents=[common], help="start the dashboard (creates the demo ledger if there is no data)")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--address", default="127.0.0.1", help="where to listen; another than this computer only with sign-in configured (oidc mode)")
    s = sub.add_parser("demo", parents=[common], help="write a deterministic demo ledger as a new snapshot")
    s.add_argument("--invoices", type=int, default=150_000)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--customers", type=int, default=None)
    s = sub.add_parser("ingest", parents=[common], help="validate an extract and make it the current snapshot")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument("--layout", default=None, help="layout name or .toml file (default: detected from each file's header)")
    sub.add_parser("snapshots", parents=[common], help="list snapshots")
    s = sub.add_parser("rollback", parents=[common], help="make an earlier snapshot current again")
    s.add_argument("id")
    sub.add_parser("kpis", parents=[common], help="headline KPIs")
    sub.add_parser("forecast", parents=[common], help="13-week cash-in forecast with its backtest (forecast.md)")
    s = sub.add_parser(
        "provisions",
        parents=[common],
        help="IFRS 9 provision matrix (provisions.md); 'provisions overlay draft|approve|reject|list': the overlay as a workbench decision",
    )
    o = s.add_subparsers(dest="what").add_parser("overlay", parents=[common], help="draft, approve, reject or list provision overlays")
    o.add_argument("step", choices=["draft", "approve", "reject", "list"])
    o.add_argument("id", nargs="?", type=int, help="the overlay number (approve, reject)")
    o.add_argument("--factor", type=_amount, default=None, help="draft: one multiplier for every bucket (1.1 = rates 10 %% higher)")
    o.add_argument("--bucket", action="append", default=[], metavar="BUCKET=FACTOR", help="draft: a multiplier for one bucket, e.g. 1_30=1.2 (repeat)")
    o.add_argument("--segment", default=None, help="draft: the overlay applies to this segment only (default: every segment)")
    o.add_argument("--reason", default=None)
    s = sub.add_parser("predict", parents=[common], help="late-payment probability per open invoice, with its measured skill (prediction.md)")
    s.add_argument("--top", type=int, default=20)
    s = sub.add_parser("at-risk", parents=[common], help="customers ranked by risk score x exposure (risk.md)")
    s.add_argument("--top", type=int, default=20)
    s = sub.add_parser("whatif", parents=[common], help="scenario results (whatif.md)")
    s.add_argument("--scenario", type=Path, required=True)
    s = sub.add_parser("audit", parents=[common], help="the audit trail (filters below), or 'audit verify' to check its hash chain")
    s.add_argument("check", nargs="?", choices=["verify"], help="verify: recompute the chain and name the first row that does not match")
    s.add_argument("--user", default=None)
    s.add_argument("--action", default=None)
    s.add_argument("--object", default=None, help="an object id: a customer, a snapshot, ...")
    s.add_argument("--since", type=_date, default=None)
    s.add_argument("--until", type=_date, default=None)
    s = sub.add_parser("db", parents=[common], help="'db upgrade': migrate the workbench store to the current schema")
    s.add_argument("step", choices=["upgrade"])
    s = sub.add_parser("contacts", parents=[common], help="'contacts add': log a contact with a customer")
    s.add_argument("step", choices=["add"])
    s.add_argument("--customer", required=True)
    s.add_argument("--channel", required=True, help="call, email, letter, meeting or portal")
    s.add_argument("--outcome", required=True, help="reached, 'no answer', promise, dispute, 'wrong contact' or other")
    s.add_argument("--note", default="")
    s = sub.add_parser("notes", parents=[common], help="'notes add': a note on a customer (or one of its documents)")
    s.add_argument("step", choices=["add"])
    s.add_argument("--customer", required=True)
    s.add_argument("--text", required=True)
    s.add_argument("--invoice", default=None)
    s = sub.add_parser("customers", parents=[common], help="'customers set': a customer's collector, resubmission date or dunning block")
    s.add_argument("step", choices=["set"])
    s.add_argument("--customer", required=True)
    s.add_argument("--collector", default=None, help="the collector's user name; '' clears it")
    s.add_argument("--resubmission", type=_date_or_clear, default=None, help="YYYY-MM-DD: back on the worklist that day; '' clears it")
    block = s.add_mutually_exclusive_group()
    block.add_argument("--dunning-block", default=None, metavar="REASON", help="no dunning letters for the customer, for this reason")
    block.add_argument("--no-dunning-block", action="store_true", help="lift the customer's dunning block")
    _collections_parsers(sub, common)
    _dunning_parsers(sub, common)
    _decisions_parsers(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `o2c kpis | head` ends quietly, as Unix tools do
    try:
        args = parser().parse_args(argv)
    except UsageError as exc:
        return _usage_failure(exc, sys.argv[1:] if argv is None else argv)
    for name, default in (("data", None), ("as_of", None), ("json", False), ("as_user", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    data = DataDir(args.data.resolve() if args.data else default_data_dir())
    try:
        return COMMANDS[args.command](args, data)
    except CliError as exc:
        _fail(args, str(exc), exc.details)
        return exc.code
    except SettingsError as exc:
        _fail(args, str(exc), [])
        return 2
    except StoreError as exc:
        _fail(args, str(exc), [])
        return 2
    except AccessDenied as exc:  # a role too low for the command (a load or rollback `--as` a collector)
        _fail(args, str(exc), [])
        return 1
    except DataBusy as exc:  # another load holds the data folder: nothing was touched
        _fail(args, str(exc), [])
        return 1


def _fail(args: argparse.Namespace, message: str, details: list) -> None:
    if args.json:
        print(json.dumps(ErrorJson(error=message, details=details), default=str, allow_nan=False), file=sys.stderr)
    else:
        print(f"o2c: {message}", file=sys.stderr)
        for d in details:
            print(f"  {d}", file=sys.stderr)


def _out(args: argparse.Namespace, payload: object, text: str) -> None:
    print(_dumps(payload, indent=2) if args.json else text)


def _dumps(payload: object, **kw) -> str:
    """JSON as cli.md defines it: never NaN or Infinity (not JSON: a script's parser fails or misreads them)."""
    try:
        return json.dumps(payload, default=str, allow_nan=False, **kw)
    except ValueError:
        raise CliError("a figure is not a number (NaN or infinite) and cannot be written as JSON; nothing was printed: please report it") from None


def load_settings(data_dir: Path) -> Settings:
    """dashboard.settings.load_settings, imported when a command needs every setting (pydantic: ~0.1 s)."""
    from dashboard.settings import load_settings as load

    return load(data_dir)


def _snapshot(args: argparse.Namespace, data: DataDir) -> SnapshotInfo:
    snap = data.current()
    if snap is None:
        raise CliError(f"no data yet in {data.root}: load an extract with 'o2c ingest FILES' or create the demo with 'o2c demo'")
    if args.command in SNAPSHOT_FIGURES:
        from dashboard.metrics import as_of

        try:  # the sidebar's rule too (as_of.py): no figures for a day after the snapshot's as-of date
            as_of.checked(snap.as_of, args.as_of)
        except as_of.AsOfAfterSnapshot as exc:
            raise CliError(str(exc)) from None
    return snap


def _engine(args: argparse.Namespace, data: DataDir) -> Engine:
    from dashboard.decisions.recorded import may_have_decisions
    from dashboard.metrics.kpis import Engine

    snap = _snapshot(args, data)
    settings = load_settings(data.root)
    eng = Engine.open(snap, settings)
    if may_have_decisions(data.root, os.environ.get("O2C_DB_URL") or settings.db_url):  # limits and cases are in every figure
        from dashboard.decisions.apply import apply_workbench

        apply_workbench(eng, data.trail())
    return eng


# The commands that report the snapshot's own figures at --as-of, which the snapshot cannot know after its as-of date.
# Workbench commands keep cli.md's business date, which may be later (a case resolved today on yesterday's extract).
SNAPSHOT_FIGURES = frozenset({"kpis", "at-risk", "whatif", "forecast", "provisions", "worklist", "predict"})


def cmd_kpis(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.decisions.recorded import may_have_decisions

    snap = _snapshot(args, data)
    settings = headline_settings(data.root)  # a settings file is checked in full; none: the defaults, no pydantic
    if may_have_decisions(data.root, os.environ.get("O2C_DB_URL") or settings.db_url):
        h = _engine(args, data).headline(args.as_of)  # the team's limits and cases: the engine applies them
    else:
        # One date in a process that then ends: the snapshot's files read with pyarrow (metrics/kpis.py
        # SnapshotFiles: the same figures, no DuckDB, no polars, only the spans open at the dates asked).
        from dashboard.metrics.kpis import SnapshotFiles

        t = args.as_of or snap.as_of
        h = SnapshotFiles.for_headline(snap, settings, t).headline(t)
    from dashboard.present.formatting import headline_text

    _out(args, h, headline_text(h))
    return 0


def cmd_forecast(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.forecast import report

    _out(args, *report.run(_engine(args, data), args.as_of))
    return 0


def cmd_provisions(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.provisions import report

    if getattr(args, "what", None) == "overlay":
        return _overlay(args, data)
    eng = _engine(args, data)
    _out(args, *report.run(eng, args.as_of, overlay_rows=_overlay_rows(data, eng)))
    return 0


def _overlay_rows(data: DataDir, eng: Engine):
    """The workbench's provision overlays (None when the data folder has no store yet and none is configured:
    the settings' overlay then, and nothing is created in the folder by a command that only reads)."""
    if not (os.environ.get("O2C_DB_URL") or eng.settings.db_url) and not (data.root / "workbench.sqlite").exists():
        return None
    from dashboard.provisions import overlay

    return overlay.stored(data.trail())


def _overlay(args: argparse.Namespace, data: DataDir) -> int:
    """`o2c provisions overlay draft|approve|reject|list` (README "Provisions": the overlay workflow)."""
    from dashboard.provisions import overlay

    store = data.trail()
    settings = load_settings(data.root)
    if args.step == "list":
        out = overlay.list_json(store)
        lines = [f"Provision overlays ({len(out['overlays'])}), newest first:"] + [
            f"  {r['overlay_id']:>4}  {r['status']:<9} {'every segment' if r['segment'] is None else 'segment ' + r['segment']}: "
            f"{overlay.describe(r['factors'])}  drafted by {r['drafted_by']} on {r['drafted_on']}"
            + (f"; {r['status']} by {r['decided_by']} on {r['decided_on']}" if r["decided_by"] else "")
            + (f" ({overlay.SELF_APPROVED})" if r["self_approved"] else "")
            + f"  reason: {r['reason']}"
            for r in out["overlays"]
        ]
        _out(args, out, "\n".join(lines))
        return 0
    user, ctx = _actor(data, args), _context(args, data)
    if args.step == "draft":
        _needs(args, "provisions overlay draft", **{"--reason": args.reason})
        factors = _overlay_factors(args)
        segments = None
        if args.segment is not None:
            snap = data.current()
            if snap is None:
                raise CliError(f"no data yet in {data.root}: a segment's overlay needs a snapshot to name the segment in")
            from dashboard.metrics.kpis import Engine

            segments = sorted(x for (x,) in Engine.open(snap, settings).con.cursor().sql("select distinct segment from customers").fetchall() if x)
        fn = lambda: overlay.draft(store, user, ctx, settings.bucket_names, factors, args.reason, args.segment, segments)  # noqa: E731
    else:
        _needs(args, f"provisions overlay {args.step}", ID=args.id, **({"--reason": args.reason} if args.step == "reject" else {}))
        if args.step == "approve":
            fn = lambda: overlay.approve(store, user, ctx, args.id)  # noqa: E731
        else:
            fn = lambda: overlay.reject(store, user, ctx, args.id, args.reason)  # noqa: E731
    try:
        w = fn()
    except (Refused, Conflict, AccessDenied) as exc:
        raise CliError(str(exc)) from None
    r = overlay.overlay_row(store, int(w.id))
    self_ok = bool(r["self_approved"])
    note = f" ({overlay.SELF_APPROVED})" if self_ok else ""
    _out(
        args,
        {"id": w.id, "seq": w.seq, "overlay_id": w.id, "status": r["status"], "self_approved": self_ok},
        f"Provision overlay {w.id}: {r['status']}{note} (audit entry {w.seq}).",
    )
    return 0


def _overlay_factors(args: argparse.Namespace) -> dict[str, float] | float:
    if args.factor is not None and args.bucket:
        raise CliError("'o2c provisions overlay draft' takes --factor (every bucket) or --bucket BUCKET=FACTOR, not both", code=2)
    if args.factor is not None:
        return float(args.factor)
    if not args.bucket:
        raise CliError("'o2c provisions overlay draft' needs --factor X (every bucket) or --bucket BUCKET=FACTOR (repeat)", code=2)
    out: dict[str, float] = {}
    for item in args.bucket:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise CliError(f"--bucket {item}: write it as BUCKET=FACTOR, e.g. 1_30=1.2", code=2) from None
    return out


def cmd_predict(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.prediction import report

    if args.top < 1:
        raise CliError("--top must be 1 or more", code=2)
    _out(args, *report.run(_engine(args, data), args.as_of, args.top))
    return 0


def cmd_ingest(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.load.ingest import IngestUsageError, ingest
    from dashboard.load.layouts import LayoutError, available, resolve

    settings = load_settings(data.root)
    try:
        # A broken layout file or an unknown layout name is a set-up problem, not the extract's: say so before any work.
        available(data.root)
        if args.layout:
            resolve(args.layout, data.root)
    except LayoutError as exc:
        raise CliError(str(exc), code=2) from None
    progress = None if args.json else _progress_bar()
    try:
        res = ingest(args.paths, data, settings, as_of=args.as_of, source="o2c ingest", progress=progress, layout=args.layout, user=_actor(data, args))
    except (IngestUsageError, LayoutError) as exc:
        raise CliError(str(exc), code=2) from None
    if progress:
        print(file=sys.stderr)
    snap = res.snapshot
    if snap is None:
        details = [i.line() for i in res.report.errors]
        if args.json:
            refused = (
                f"extract refused: {res.report.error_count:,} error(s); nothing was loaded, the current data is unchanged; the files are kept in {res.kept_at}"
            )
            print(_dumps(ErrorJson(error=refused, details=details)), file=sys.stderr)
        else:
            print(res.report.to_text(), file=sys.stderr)
            print(f"The files and this report are kept in {res.kept_at}", file=sys.stderr)
        return 1
    payload = IngestJson(**loaded_json(snap, res), report=res.report.to_dict())
    _out(args, payload, res.report.to_text() + f"\nSnapshot {snap.id} (as of {snap.manifest['as_of']}) is now current; loaded in {res.seconds:.1f} s.")
    return 0


def _progress_bar():
    def show(frac: float, msg: str) -> None:
        bar = "#" * int(frac * 30)
        print(f"\r[{bar:<30}] {frac:4.0%} {msg:<45}", end="", file=sys.stderr, flush=True)

    return show


def cmd_demo(args: argparse.Namespace, data: DataDir) -> int:
    progress = None if args.json else _progress_bar()
    from dashboard.load.demo import make_demo

    res = make_demo(data, args.invoices, args.seed, args.customers, progress)
    if progress:
        print(file=sys.stderr)
    snap = res.snapshot
    if snap is None:
        raise CliError("the demo ledger was refused (a bug): " + res.report.to_text())
    _out(
        args,
        loaded_json(snap, res),
        f"Demo ledger loaded as snapshot {snap.id} (as of {snap.manifest['as_of']}, {snap.manifest['rows']['invoices']:,} documents) in {res.seconds:.1f} s.",
    )
    return 0


def cmd_snapshots(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.store.snapshots import history_line, unfinished_loads

    rows: list[SnapshotRow | UnfinishedLoad] = sorted([*snapshot_rows(data), *unfinished_loads(data)], key=lambda r: r.id)  # ids sort by time
    _out(args, [snapshot_json(r) for r in rows], "\n".join(map(history_line, rows)) or f"no snapshots in {data.root}")
    return 0


def cmd_rollback(args: argparse.Namespace, data: DataDir) -> int:
    try:
        snap = rollback(data, args.id, source="o2c rollback", user=_actor(data, args))
    except UnknownSnapshot as exc:
        raise CliError(f"unknown snapshot id '{args.id}'", [f"known ids: {', '.join(exc.known) or 'none'}"]) from None
    _out(args, RollbackJson(current=snap.id), f"Snapshot {snap.id} is current again.")
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def cmd_serve(args: argparse.Namespace, data: DataDir) -> int:
    if args.address not in LOOPBACK and not oidc_mode(data.root):
        raise CliError(
            f"local mode has no sign-in: listening on {args.address} would let anyone on the network load extracts and roll back "
            "the data as an administrator. Configure sign-in ([auth] in data/secrets.toml, see the README's Team server), or keep the default 127.0.0.1",
            code=2,
        )
    if data.current() is None:
        print(f"No data in {data.root} yet: creating the demo ledger first...", file=sys.stderr)
        from dashboard.load.demo import make_demo

        res = make_demo(data, progress=_progress_bar())
        print(file=sys.stderr)
        if not res.ok:
            raise CliError("the demo ledger was refused (a bug): " + res.report.to_text())
    os.environ["O2C_DATA"] = str(data.root)
    # The app side (pages.server) starts Streamlit and warms its caches; the core never imports it,
    # so this process becomes that program rather than importing it.
    argv = [sys.executable, "-m", "pages.server", "--port", str(args.port), "--address", args.address]
    os.execv(sys.executable, argv)
    return 0  # not reached


def cmd_whatif(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.whatif import model as scenario

    try:
        sc = scenario.load_scenario(args.scenario)
    except scenario.ScenarioError as exc:
        raise CliError(f"invalid scenario file {args.scenario}", exc.details) from None
    eng = _engine(args, data)
    base = scenario.baseline(eng, args.as_of)
    if unknown := scenario.unknown_selections(base, sc):  # a lever selecting nobody changes nothing: refused, not run
        raise CliError(f"invalid scenario file {args.scenario}", unknown)
    res = scenario.run(base, sc, eng.settings.cost_of_capital)
    out = res.summary | {"snapshot": eng.snapshot.id, "data_sha256": scenario.data_hash(eng)}
    from dashboard.present.formatting import whatif_text

    _out(args, out, whatif_text(out, eng.settings.base_currency) + f"\n  {scenario.LIMITS_NOTE}")
    return 0


def cmd_at_risk(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.risk import scorecard as risk

    if args.top < 1:
        raise CliError("--top must be 1 or more", code=2)
    eng = _engine(args, data)
    rows = risk.at_risk_records(risk.at_risk(eng, args.as_of, top=args.top))
    cur = eng.settings.base_currency
    when = args.as_of or eng.as_of
    lines = [f"At-risk customers at {when} (score x exposure), top {len(rows)}:" if rows else f"No customer has any exposure at {when}."]
    for i, r in enumerate(rows, 1):
        util = "no limit" if r["utilization"] is None else f"{r['utilization']:.0%} of limit"
        who = " ".join(x for x in (r["customer_id"], r["name"]) if x)
        # A customer known only by an open order has no factor to score: listed last, said so.
        score = "no score (no documents and no credit limit to score)" if r["score"] is None else f"score {r['score']:.1f} ({r['risk_class']})"
        lines.append(f"{i:>3}. {who} [{r['segment']}] {score}, exposure {cur} {r['exposure']:,.2f}, overdue {cur} {r['overdue']:,.2f}, {util}")
        lines += [f"       - {reason}" for reason in r["reasons"]]
    _out(args, rows, "\n".join(lines))
    return 0


def _actor(data: DataDir, args: argparse.Namespace | None = None) -> User:
    """Who a change is made as (identity.cli_user): the operating-system user as admin in local mode; in oidc
    mode only the person `--as` names, when settings [access] cli_users allow it."""
    from dashboard.workbench.identity import CliUsage, cli_user

    try:
        return cli_user(oidc_mode(data.root), getattr(args, "as_user", None), load_settings(data.root).access.cli_users)
    except AccessDenied as exc:
        raise CliError(str(exc)) from None
    except CliUsage as exc:
        raise CliError(str(exc), code=2) from None


def _context(args: argparse.Namespace, data: DataDir) -> Context:
    """The business date of a workbench command: --as-of, else the current snapshot's as-of date (cli.md)."""
    from dashboard.store.snapshots import data_sha256
    from dashboard.workbench.assignment import Roster
    from dashboard.workbench.notes import Context

    snap = data.current()
    if snap is None and args.as_of is None:
        raise CliError(f"no data yet in {data.root}: a workbench record needs a business date: load an extract or give --as-of")
    if snap is None:
        return Context(args.as_of)
    return Context(args.as_of or snap.as_of, snap.id, data_sha256(snap.manifest["source_files"]), Roster.of_snapshot(snap, load_settings(data.root)))


def _write(args: argparse.Namespace, data: DataDir, fn: Callable[[], Written], what: str) -> int:
    try:
        w = fn()
    except (Refused, Conflict, AccessDenied) as exc:
        raise CliError(str(exc)) from None
    _out(args, {"id": w.id, "seq": w.seq}, f"{what} {w.id} (audit entry {w.seq}).")
    return 0


def cmd_audit(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.workbench import audit

    with data.trail().begin() as conn:
        if args.check == "verify":
            broken = audit.verify(conn)
            n = len(audit.events(conn))
            if broken is not None:
                raise CliError(f"the audit trail is broken at entry {broken.seq}: {broken.why}", [f"{n:,} entries checked"])
            _out(args, {"ok": True, "entries": n}, f"The audit trail checks out: {n:,} entries, none changed or removed.")
            return 0
        rows = audit.events(conn, user=args.user, action=args.action, object_id=args.object, since=args.since, until=args.until)
    lines = [
        f"{e['seq']:>6}  {e['at'][:19].replace('T', ' ')}  {e['user']} ({e['role']})  {e['action']}  {e['object_type']} {e['object_id']}"
        + (f"  [snapshot {e['snapshot_id']}]" if e["snapshot_id"] else "")
        for e in rows
    ]
    _out(args, rows, "\n".join(lines) or "No audit entries match.")
    return 0


def cmd_db(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.workbench.store import open_store

    store = open_store(data.root, load_settings(data.root).db_url)
    before, after = store.upgrade()
    _out(
        args,
        {"store": store.kind, "revision": after, "was": before},
        f"Workbench store ({store.kind}) at revision {after}" + (" (already current)." if before == after else f" (was {before or 'empty'})."),
    )
    return 0


def cmd_contacts(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.workbench import notes

    user, ctx = _actor(data, args), _context(args, data)
    return _write(args, data, lambda: notes.log_contact(data.trail(), user, ctx, args.customer, args.channel, args.outcome, args.note), "Contact")


def cmd_notes(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.workbench import notes

    user, ctx = _actor(data, args), _context(args, data)
    return _write(args, data, lambda: notes.add_note(data.trail(), user, ctx, args.customer, args.text, args.invoice), "Note")


def cmd_customers(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.collections import followup
    from dashboard.store.snapshots import data_sha256
    from dashboard.workbench import notes

    user, ctx = _actor(data, args), _context(args, data)
    followups = {}
    if args.resubmission is not None:
        followups["resubmission"] = None if args.resubmission == "" else args.resubmission
    if args.dunning_block is not None or args.no_dunning_block:
        followups["dunning_block"] = None if args.no_dunning_block else args.dunning_block
    if args.collector is None and not followups:
        raise CliError("nothing to set: give --collector, --resubmission, --dunning-block or --no-dunning-block", code=2)
    if not followups:
        return _write(args, data, lambda: notes.assign(data.trail(), user, ctx, args.customer, args.collector), "Customer")
    snap = data.current()
    digest = data_sha256(snap.manifest["source_files"]) if snap else None
    store = data.trail()
    if args.collector is None:
        return _write(args, data, lambda: followup.set_followup(store, user, ctx, args.customer, data_sha256=digest, **followups), "Customer")
    # Two changes, one store transaction (access.md "every write is one transaction"), each with its own audit entry,
    # answered as ONE document (README, "customers set"): the follow-up first, then the collector. A refusal of either
    # (the role is checked first, then the follow-up) or a failure anywhere leaves neither written.
    from dashboard.workbench.identity import require

    try:
        require(user, "admin", "assign customers to collectors")
        with store.transaction() as tx:
            done = [followup.set_followup(tx, user, ctx, args.customer, data_sha256=digest, **followups)]
            done.append(notes.assign(tx, user, ctx, args.customer, args.collector))
    except (Refused, Conflict, AccessDenied) as exc:
        raise CliError(f"{exc} Nothing was changed.") from None
    seqs = [w.seq for w in done]
    _out(args, {"id": done[-1].id, "seq": seqs[-1], "seqs": seqs}, f"Customer {done[-1].id} (audit entries {', '.join(map(str, seqs))}).")
    return 0


# ----------------------------------------------------------------------------- collections (collections.md)


def _date_or_clear(text: str) -> dt.date | str:
    return "" if text == "" else _date(text)


def _collections_parsers(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("worklist", parents=[common], help="the collections worklist: whom to call first, and why")
    s.add_argument("--collector", default=None, help="only the customers assigned to this collector ('my worklist')")
    s.add_argument("--top", type=int, default=None, help="only the first N rows (and exited customers)")
    s = sub.add_parser("promises", parents=[common], help="promises to pay with their state; 'promises add' records one")
    s.add_argument("step", nargs="?", choices=["add"], help="add: record a promise to pay")
    s.add_argument("--state", default=None, choices=["open", "kept", "partially kept", "broken"], help="only promises in this state")
    s.add_argument("--customer", default=None)
    s.add_argument("--amount", type=_amount, default=None, help="in base currency, above 0")
    s.add_argument("--date", type=_date, default=None, help="the promised date YYYY-MM-DD")
    s.add_argument("--made-on", type=_date, default=None, help="the day it was promised (default: the business date)")
    s.add_argument("--invoice", action="append", default=[], help="a document the promise is for (repeat for several)")
    s.add_argument("--note", default="")


def cmd_worklist(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.collections import worklist as wl

    if args.top is not None and args.top < 1:
        raise CliError("--top must be 1 or more", code=2)
    eng = _engine(args, data)
    out = wl.worklist_json(wl.worklist(eng, data.trail(), args.as_of, collector=args.collector), args.top)
    text = wl.worklist_text(out, eng.settings.base_currency)
    if args.collector and not out["rows"] and not out["exited"] and not args.json:  # JSON keeps its shape: an empty list
        from dashboard.workbench.assignment import Roster, all_collectors

        known = sorted(set(all_collectors(data.trail(), Roster.of(eng))["collector"].drop_nulls().to_list()))
        if args.collector not in known:  # a mistyped name reads like a quiet day: say which names have customers
            text += f'\nNo customer is assigned to "{args.collector}"; collectors with customers: {", ".join(known) or "none"}.'
    _out(args, out, text)
    return 0


def cmd_promises(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.collections import promises
    from dashboard.store.snapshots import data_sha256

    eng = _engine(args, data)
    if args.step == "add":
        missing = [o for o, v in (("--customer", args.customer), ("--amount", args.amount), ("--date", args.date)) if v is None]
        if missing:
            raise CliError(f"'o2c promises add' needs {', '.join(missing)}", code=2)
        user, ctx = _actor(data, args), _context(args, data)
        digest = data_sha256(eng.snapshot.manifest["source_files"])
        return _write(
            args,
            data,
            lambda: promises.record(data.trail(), user, ctx, eng, args.customer, args.amount, args.date, args.made_on, args.invoice, args.note, digest),
            "Promise",
        )
    out = promises.promises_json(eng, data.trail(), args.as_of or eng.as_of, args.state)
    _out(args, out, promises.promises_text(out, eng.settings.base_currency))
    return 0


# ----------------------------------------------------------------------------- dunning (dunning.md)


def _dunning_parsers(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("dunning", parents=[common], help="dunning runs: propose, review (remove), issue, send; blocks on documents")
    s.add_argument("step", choices=["propose", "remove", "issue", "resend", "runs", "block", "unblock"])
    s.add_argument("run", nargs="?", type=int, default=None, help="the run id (remove, issue)")
    s.add_argument("--invoice", default=None, help="a document id (block, unblock; remove: one item)")
    s.add_argument("--customer", default=None, help="remove: the customer whose letter (or item) is taken out")
    s.add_argument("--reason", default=None, help="why (block, remove)")
    s.add_argument("--block", action="store_true", help="remove: also put the document or customer on a dunning block")
    s.add_argument("--send", action="store_true", help="issue: e-mail the letters through the [mail] server")
    s.add_argument("--letter", type=int, default=None, help="resend: the letter id")


def cmd_dunning(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.dunning import cli as dunning_cli

    try:
        return dunning_cli.run(args, data, _engine, _actor, _context, _out)
    except (Refused, Conflict, AccessDenied) as exc:
        raise CliError(str(exc)) from None
    except dunning_cli.UsageError as exc:
        raise CliError(str(exc), code=2) from None


# ----------------------------------------------------------------------------- disputes and credit decisions (disputes.md, credit-decisions.md)


def _decisions_parsers(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("disputes", parents=[common], help="dispute cases and their KPIs; 'disputes open' / 'disputes resolve CASE'")
    s.add_argument("step", nargs="?", choices=["open", "resolve"])
    s.add_argument("case", nargs="?", type=int, help="the case number (resolve)")
    s.add_argument("--customer", default=None)
    s.add_argument("--invoice", action="append", default=[], help="a document of the case (repeat for several)")
    s.add_argument("--amount", type=_amount, default=None, help="the disputed amount in base currency, above 0")
    s.add_argument("--reason", default=None, help="one of the settings' [disputes] reasons")
    s.add_argument("--credited", type=float, default=0.0)
    s.add_argument("--written-off", type=float, default=0.0, help="needs a credit manager")
    s.add_argument("--cleared", type=float, default=0.0, help="cleared by hand")
    s.add_argument("--root-cause", default=None)
    s = sub.add_parser("limits", parents=[common], help="limit proposals, requests, approvals and the review queue")
    s.add_argument("step", choices=["propose", "request", "approve", "reject", "reviews"])
    s.add_argument("id", nargs="?", type=int, help="the request number (approve, reject)")
    s.add_argument("--customer", default=None)
    s.add_argument("--limit", type=_amount, default=None, help="the limit requested, base currency")
    s.add_argument("--valid-to", type=_date, default=None, help="YYYY-MM-DD: a temporary limit until this day")
    s.add_argument("--reason", default=None)
    s = sub.add_parser("holds", parents=[common], help="orders on credit hold; 'holds release ORDER' / 'holds reject ORDER'")
    s.add_argument("step", nargs="?", choices=["release", "reject"])
    s.add_argument("order", nargs="?", help="the order id")
    s.add_argument("--reason", default=None)
    s.add_argument("--until", type=_date, default=None, help="YYYY-MM-DD: the release lapses after this day")


def _needs(args: argparse.Namespace, command: str, **given: object) -> None:
    missing = [name for name, v in given.items() if v is None or v == []]
    if missing:
        raise CliError(f"'o2c {command}' needs {', '.join(missing)}", code=2)


def _digest(eng: Engine) -> str:
    from dashboard.store.snapshots import data_sha256

    return data_sha256(eng.snapshot.manifest["source_files"])


def cmd_disputes(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.disputes import cases, kpis

    eng = _engine(args, data)
    if args.step == "open":
        _needs(args, "disputes open", **{"--customer": args.customer, "--invoice": args.invoice, "--amount": args.amount, "--reason": args.reason})
        user, ctx = _actor(data, args), _context(args, data)
        return _write(
            args,
            data,
            lambda: cases.open_case(data.trail(), user, ctx, eng, args.customer, args.invoice, args.amount, args.reason, data_sha256=_digest(eng)),
            "Case",
        )
    if args.step == "resolve":
        _needs(args, "disputes resolve", CASE=args.case, **{"--root-cause": args.root_cause})
        user, ctx = _actor(data, args), _context(args, data)
        return _write(
            args,
            data,
            lambda: cases.resolve(data.trail(), user, ctx, eng, args.case, args.root_cause, args.credited, args.written_off, args.cleared),
            "Case",
        )
    out = kpis.disputes_json(eng, data.trail(), args.as_of or eng.as_of)
    _out(args, out, kpis.disputes_text(out, eng.settings.base_currency))
    return 0


def cmd_limits(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.decisions import limits, proposals, reviews

    eng = _engine(args, data)
    t = args.as_of or eng.as_of
    if args.step == "propose":
        out = proposals.proposals_json(eng, data.trail(), t, args.customer)
        _out(args, out, proposals.proposals_text(out, eng.settings.base_currency))
        return 0
    if args.step == "reviews":
        q = reviews.queue_json(eng, data.trail(), t)
        lines = [f"Due for review by {q['as_of']}, most exposed first:"] + [
            f"{r['customer_id']}  class {r['class'] or '-'}  exposure {r['exposure']:,.2f}  last {r['last_review']} ({r['last_review_kind']})  due {r['next_review']}"
            for r in q["reviews"]
        ]
        _out(args, q, "\n".join(lines))
        return 0
    user, ctx = _actor(data, args), _context(args, data)
    store = data.trail()
    if args.step == "request":
        _needs(args, "limits request", **{"--customer": args.customer, "--limit": args.limit, "--reason": args.reason})
        fn = lambda: limits.request(store, user, ctx, eng, args.customer, args.limit, args.reason, args.valid_to, data_sha256=_digest(eng))  # noqa: E731
    else:
        _needs(args, f"limits {args.step}", ID=args.id, **({"--reason": args.reason} if args.step == "reject" else {}))
        if args.step == "approve":
            fn = lambda: limits.approve(store, user, ctx, eng, args.id, _digest(eng))  # noqa: E731
        else:
            fn = lambda: limits.reject(store, user, ctx, eng, args.id, args.reason, _digest(eng))  # noqa: E731
    try:
        w = fn()
    except (Refused, Conflict, AccessDenied) as exc:
        raise CliError(str(exc)) from None
    r = limits.request_row(store, int(w.id))
    self_ok = bool(r["self_approved"])
    decided = {"id": w.id, "seq": w.seq, "request_id": w.id, "status": r["status"], "self_approved": self_ok}
    note = f" ({limits.SELF_APPROVED})" if self_ok else ""
    _out(args, decided, f"Limit request {w.id}: {r['status']}{note} (audit entry {w.seq}).")
    return 0


def cmd_holds(args: argparse.Namespace, data: DataDir) -> int:
    from dashboard.decisions import holds

    eng = _engine(args, data)
    if args.step is not None:
        _needs(args, f"holds {args.step}", ORDER=args.order, **{"--reason": args.reason})
        user, ctx = _actor(data, args), _context(args, data)
        if args.step == "release":
            return _write(args, data, lambda: holds.release(data.trail(), user, ctx, eng, args.order, args.reason, args.until, _digest(eng)), "Order")
        return _write(args, data, lambda: holds.reject(data.trail(), user, ctx, eng, args.order, args.reason, _digest(eng)), "Order")
    out = holds.holds_json(eng, data.trail(), args.as_of or eng.as_of)
    _out(args, out, holds.holds_text(out, eng.settings.base_currency))
    return 0


COMMANDS = {
    "kpis": cmd_kpis,
    "forecast": cmd_forecast,
    "provisions": cmd_provisions,
    "predict": cmd_predict,
    "ingest": cmd_ingest,
    "demo": cmd_demo,
    "snapshots": cmd_snapshots,
    "rollback": cmd_rollback,
    "serve": cmd_serve,
    "at-risk": cmd_at_risk,
    "whatif": cmd_whatif,
    "audit": cmd_audit,
    "db": cmd_db,
    "contacts": cmd_contacts,
    "notes": cmd_notes,
    "customers": cmd_customers,
    "worklist": cmd_worklist,
    "promises": cmd_promises,
    "dunning": cmd_dunning,
    "disputes": cmd_disputes,
    "limits": cmd_limits,
    "holds": cmd_holds,
}

if __name__ == "__main__":
    sys.exit(main())
