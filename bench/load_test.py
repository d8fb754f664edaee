"""Load test: N simulated browser sessions on a running dashboard, over Streamlit's own websocket protocol.

    .venv/bin/python bench/load_test.py [--sessions 20] [--seconds 120] [--data DIR] [--port P]

Without --port it starts the dashboard itself: the data folder (default bench/work/loadtest-data)
gets the demo ledger (--invoices, default 150,000) when it has no snapshot, then `o2c serve` on a
free 127.0.0.1 port; it waits for /_stcore/health, runs, and stops the server. With --port it
talks to a dashboard already running there (loopback only; --data then names that server's data
folder, needed for the mid-run ingest; the server's RSS is found by the port's listening socket).

What a session does (no browser: the protocol a browser speaks, `ws://127.0.0.1:P/_stcore/stream`,
subprotocol "streamlit", binary protobufs). It sends a BackMsg.rerun_script with a ClientState
(query string, widget states, page script hash, the hashes of the cached messages it holds) and
reads ForwardMsgs: new_session, navigation (the pages and their page_script_hash), deltas (the
elements, widget ids among them; a `ref_hash` is a message it said it had cached) and
script_finished. Like the browser it keeps the values of the widgets it set and drops those the
last run did not draw. Each session opens the overview, then, until its time is up, after a
think time (--think, seconds, uniform 0.5x-1.5x) does one of:

- date change (50 %): a random as-of date within the date input's min-max (the snapshot's range),
  sent as the "As-of date" widget's string_array_value ["YYYY-MM-DD"] (DateInputSerde; the id is
  read from the last deltas, so it follows a new snapshot whose range differs);
- lever move (25 %): switch to the What-if studio (a page switch, counted as such) if not there,
  then one of its sliders (e.g. "Change in terms (days)") to a random value on its step grid
  (double_array_value [v], SliderSerde);
- page switch (25 %): to Executive overview, Aging, Credit exposure or At-risk customers.

A rerun's time is from sending the BackMsg to receiving script_finished FINISHED_SUCCESSFULLY
(FINISHED_EARLY_FOR_RERUN from an st.rerun() chain keeps the clock going). Errors: an exception
element in the deltas, an error alert (the app's own "Something went wrong on this page (error
id ...)" from pages/common.page_failed, or any st.error), a script_finished with a compile error,
page_not_found, a disconnect (the session reconnects as a new one), no script_finished within 30 s
(--timeout; reconnects too), and a rerun sent after the mid-run ingest ended that still shows the
old snapshot in the sidebar caption ("stale_snapshot"). Every error is listed with its text.

Mid-run (at half of --seconds) a separate process runs `o2c demo --data DIR --invoices 50000
--seed 7 --json`: a new snapshot in the same data folder while the server runs; the sessions keep
going, and the report says when each one first showed the new snapshot.

Reading the output (bench/results/loadtest.json and the printed table): `reruns` and `errors`
(must be 0), p50/p90/p99 (nearest rank) of the rerun time overall and per kind ("open" is the
first visit of a session), `during_ingest` the same for reruns that overlapped the ingest
process, and the server's RSS (process and its children, sampled every 0.5 s): start, max and
end. The machine has 2 shared cores and the load generator runs on them too, so the times are the
time a user waits under this load, not the cost of one rerun alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATE_LABEL = "As-of date"
WHATIF = "What-if studio"
SWITCH_PAGES = ("Executive overview", "Aging", "Credit exposure", "At-risk customers")
KINDS = ("open", "date_change", "lever_move", "page_switch")
SNAPSHOT_RE = re.compile(r"Snapshot `([^`]+)`")
MAX_CACHED_AGE = 2  # runs a cached message is kept without being referenced (global.maxCachedMessageAge)
INGEST_CMD = ["demo", "--invoices", "50000", "--seed", "7", "--json"]


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(port: int, proc: subprocess.Popen | None, log: Path | None, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"the server exited ({proc.returncode}): {log.read_text()[-2000:] if log else ''}")
            time.sleep(0.3)
    raise SystemExit(f"no answer on http://127.0.0.1:{port}/_stcore/health within {timeout:.0f} s")


def current_snapshot(data: Path) -> dict | None:
    """The current snapshot's row of `o2c snapshots --json` (id, source, rows, ...), None if there is none."""
    out = subprocess.run([str(BIN / "o2c"), "snapshots", "--data", str(data), "--json"], capture_output=True, text=True, check=False)
    try:
        return next((s for s in json.loads(out.stdout) if s.get("current")), None)
    except (json.JSONDecodeError, TypeError):
        return None


def listening_pid(port: int) -> int | None:
    """The pid holding the 127.0.0.1:port listening socket (for a server this script did not start)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "0A":  # 0A: LISTEN
                inodes.add(f"socket:[{cols[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


def tree_rss_mb(pid: int) -> float | None:
    """VmRSS of the process and its descendants (/proc; psutil is not installed)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            if p == pid:
                return None
            continue
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(m.group(1)) if m else 0
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return total / 1024


# ----------------------------------------------------------------------------- a simulated browser


@dataclass
class Rerun:
    session: int
    kind: str
    page: str
    t0: float  # seconds since the run's start
    seconds: float | None = None  # None: did not finish
    snapshot: str | None = None
    errors: list[dict] = field(default_factory=list)


class Timeout(Exception):
    pass


class Session:
    def __init__(self, idx: int, port: int, run: Run) -> None:
        self.idx, self.port, self.run = idx, port, run
        self.rng = random.Random(1000 + idx)
        self.ws = None
        self.pages: dict[str, str] = {}  # page name -> page_script_hash
        self.page = ""  # name of the page last run
        self.states: dict[str, object] = {}  # widget id -> WidgetState (the values this "user" set)
        self.cache: dict[str, list] = {}  # hash -> [ForwardMsg, last run it was referenced]
        self.runs = 0
        self.date_widget = None  # DateInput element of the last run
        self.sliders: list = []  # Slider elements of the last run (on the What-if studio)
        self.saw_new_snapshot_at: float | None = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/_stcore/stream",
            subprotocols=["streamlit"],
            origin=f"http://127.0.0.1:{self.port}",
            max_size=None,
            open_timeout=self.run.timeout,
        )
        self.states, self.cache, self.pages, self.page = {}, {}, {}, ""
        self.date_widget, self.sliders = None, []

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    def _back_msg(self, page: str | None) -> bytes:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        # As the browser: every rerun names the page it is for (the current one unless switching).
        target = page or self.page
        if target in self.pages:
            cs.page_script_hash = self.pages[target]
        for ws in self.states.values():
            cs.widget_states.widgets.add().CopyFrom(ws)
        cs.cached_message_hashes.extend(self.cache)
        return msg.SerializeToString()

    async def rerun(self, kind: str, page: str | None = None) -> Rerun:
        """Send one rerun_script and read until its script_finished; errors are recorded, not raised."""
        r = Rerun(self.idx, kind, page or self.page or "(default)", time.perf_counter() - self.run.t_start)
        self.runs += 1
        active: set[str] = set()
        date_widget, sliders = None, []
        t0 = time.perf_counter()
        deadline = t0 + self.run.timeout
        try:
            await self.ws.send(self._back_msg(page))
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise Timeout
                try:
                    raw = await asyncio.wait_for(self.ws.recv(), left)
                except TimeoutError:
                    raise Timeout from None
                fm = ForwardMsg()
                fm.ParseFromString(raw)
                kind_ = fm.WhichOneof("type")
                if kind_ == "ref_hash":
                    entry = self.cache.get(fm.ref_hash)
                    if entry is None:
                        r.errors.append({"type": "client_cache_miss", "text": fm.ref_hash})
                        continue
                    entry[1] = self.runs
                    fm, kind_ = entry[0], "delta"
                elif kind_ == "delta" and fm.metadata.cacheable and fm.hash:
                    self.cache[fm.hash] = [fm, self.runs]
                if kind_ == "navigation":
                    self.pages = {p.page_name: p.page_script_hash for p in fm.navigation.app_pages}
                    names = {h: n for n, h in self.pages.items()}
                    self.page = names.get(fm.navigation.page_script_hash, self.page)
                elif kind_ == "delta" and fm.delta.WhichOneof("type") == "new_element":
                    el = fm.delta.new_element
                    et = el.WhichOneof("type")
                    sub = getattr(el, et) if et else None
                    wid = getattr(sub, "id", "") if sub is not None and hasattr(sub, "id") else ""
                    if isinstance(wid, str) and wid:
                        active.add(wid)
                    if et == "exception":
                        r.errors.append({"type": "exception", "text": f"{sub.type}: {sub.message}"})
                    elif et == "alert" and sub.format == sub.ERROR:
                        r.errors.append({"type": "error_alert", "text": sub.body})
                    elif et == "date_input" and sub.label == DATE_LABEL:
                        date_widget = sub
                    elif et == "slider":
                        sliders.append(sub)
                    elif et == "markdown":
                        m = SNAPSHOT_RE.search(sub.body)
                        if m:
                            r.snapshot = m.group(1)
                elif kind_ == "page_not_found":
                    r.errors.append({"type": "page_not_found", "text": fm.page_not_found.page_name})
                elif kind_ == "session_event" and fm.session_event.WhichOneof("type") == "script_compilation_exception":
                    e = fm.session_event.script_compilation_exception
                    r.errors.append({"type": "compile_error", "text": f"{e.type}: {e.message}"})
                elif kind_ == "script_finished":
                    if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        continue  # an st.rerun() chain: the next run follows
                    if fm.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        r.errors.append({"type": "script_finished_error", "text": "FINISHED_WITH_COMPILE_ERROR"})
                    break
            r.seconds = time.perf_counter() - t0
        except Timeout:
            r.errors.append({"type": "timeout", "text": f"no script_finished within {self.run.timeout:g} s"})
        except websockets.ConnectionClosed as exc:
            r.errors.append({"type": "disconnect", "text": f"{type(exc).__name__}: {exc}"})
        if r.seconds is None:  # the session is in an unknown state: the next action is a new one, as a browser's reload
            try:
                await asyncio.wait_for(self.close(), 5)
            except (TimeoutError, OSError, websockets.WebSocketException):
                pass
            self.ws = None
            return r
        # As the browser: widget values the run did not draw go; cached messages not referenced lately go.
        self.states = {k: v for k, v in self.states.items() if k in active}
        self.cache = {h: e for h, e in self.cache.items() if self.runs - e[1] <= MAX_CACHED_AGE}
        self.date_widget, self.sliders = date_widget, sliders
        return r

    def set_date(self) -> bool:
        w = self.date_widget
        if w is None or not w.min or not w.max:
            return False
        lo, hi = (dt.date.fromisoformat(v.replace("/", "-")) for v in (w.min, w.max))
        day = lo + dt.timedelta(days=self.rng.randint(0, (hi - lo).days))
        state = _widget_state(w.id)
        state.string_array_value.data.append(day.isoformat())
        self.states[w.id] = state
        return True

    def move_lever(self) -> bool:
        if not self.sliders:
            return False
        s = self.rng.choice(self.sliders)
        steps = int(round((s.max - s.min) / s.step)) if s.step else 0
        current = list(self.states[s.id].double_array_value.data) if s.id in self.states else list(s.value or s.default)
        for _ in range(5):  # a value it does not hold already
            v = s.min + self.rng.randint(0, steps) * s.step
            if [v] != current:
                break
        state = _widget_state(s.id)
        state.double_array_value.data.append(round(v, 10))
        self.states[s.id] = state
        return True


def _widget_state(wid: str):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    s = WidgetState()
    s.id = wid
    return s


# ----------------------------------------------------------------------------- the run


class Run:
    def __init__(self, args: argparse.Namespace, port: int, server_pid: int | None, data: Path | None) -> None:
        self.args, self.port, self.server_pid, self.data = args, port, server_pid, data
        self.timeout = args.timeout
        self.reruns: list[Rerun] = []
        self.rss: list[tuple[float, float]] = []
        self.load: list[float] = []  # the 1-minute load average, sampled with the RSS
        self.ingest: dict = {}
        self.t_start = time.perf_counter()
        self.old_snapshot: str | None = None

    async def session(self, idx: int, start_delay: float, end: float) -> Session:
        s = Session(idx, self.port, self)
        await asyncio.sleep(start_delay)
        while time.perf_counter() < end:
            if s.ws is None:  # first visit, or a reload after a disconnect or a timeout
                try:
                    await s.connect()
                except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                    err = {"type": "disconnect", "text": f"connect: {type(exc).__name__}: {exc}"}
                    self.reruns.append(Rerun(idx, "open", "(connect)", time.perf_counter() - self.t_start, errors=[err]))
                    await asyncio.sleep(1.0)
                    continue
                self._record(s, await s.rerun("open"))
                continue
            think = self.args.think * s.rng.uniform(0.5, 1.5)
            await asyncio.sleep(max(0.0, min(think, end - time.perf_counter())))
            if time.perf_counter() >= end:
                break
            x = s.rng.random()
            if x < 0.5 and s.set_date():
                self._record(s, await s.rerun("date_change"))
            elif x < 0.75:
                if s.page != WHATIF and WHATIF in s.pages:
                    self._record(s, await s.rerun("page_switch", WHATIF))
                    if time.perf_counter() >= end:
                        break
                    await asyncio.sleep(self.args.think * s.rng.uniform(0.5, 1.5))
                if s.ws is not None and s.page == WHATIF and s.move_lever():
                    self._record(s, await s.rerun("lever_move"))
            else:
                choices = [p for p in SWITCH_PAGES if p != s.page and p in s.pages]
                if choices:
                    self._record(s, await s.rerun("page_switch", s.rng.choice(choices)))
        if s.ws is not None:
            try:
                await asyncio.wait_for(s.close(), 5)
            except (TimeoutError, OSError, websockets.WebSocketException):
                pass
        return s

    def _record(self, s: Session, r: Rerun) -> None:
        ing = self.ingest
        new = ing.get("new_snapshot")
        if new and r.snapshot == new and s.saw_new_snapshot_at is None:
            s.saw_new_snapshot_at = r.t0 + (r.seconds or 0)
        if r.seconds is not None and ing.get("ended_s") is not None and r.t0 > ing["ended_s"] and new and ing.get("rc") == 0 and r.snapshot != new:
            r.errors.append(
                {"type": "stale_snapshot", "text": f"sent {r.t0 - ing['ended_s']:.1f} s after the ingest ended, shows snapshot {r.snapshot}, not {new}"}
            )
        self.reruns.append(r)

    async def sample_rss(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            mb = tree_rss_mb(self.server_pid) if self.server_pid is not None else None
            if mb is not None:
                self.rss.append((round(time.perf_counter() - self.t_start, 1), round(mb, 1)))
            self.load.append(os.getloadavg()[0])
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass

    async def run_ingest(self, at: float) -> None:
        await asyncio.sleep(at)
        if self.data is None:
            self.ingest = {"skipped": "no --data given for a server this script did not start"}
            return
        cmd = [str(BIN / "o2c"), INGEST_CMD[0], "--data", str(self.data), *INGEST_CMD[1:]]
        self.ingest = {"command": " ".join(cmd[1:]).replace(str(BIN) + "/", ""), "started_s": round(time.perf_counter() - self.t_start, 2)}
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        self.ingest["ended_s"] = round(time.perf_counter() - self.t_start, 2)
        self.ingest["rc"] = proc.returncode
        try:
            res = json.loads(out)
            self.ingest |= {"new_snapshot": res["snapshot"], "as_of": res["as_of"], "rows": res["rows"], "load_seconds": res["seconds"]}
        except (json.JSONDecodeError, KeyError, TypeError):
            self.ingest["stderr_tail"] = err.decode(errors="replace")[-2000:]

    async def main(self) -> list[Session]:
        a = self.args
        self.t_start = time.perf_counter()
        end = self.t_start + a.seconds
        ramp = min(5.0, a.seconds / 10)
        stop = asyncio.Event()
        sampler = asyncio.create_task(self.sample_rss(stop))
        ingest = asyncio.create_task(self.run_ingest(a.seconds / 2)) if a.ingest else None
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        sessions = await asyncio.gather(*(self.session(i, ramp * i / max(1, a.sessions), end) for i in range(a.sessions)))
        if ingest is not None:
            await ingest  # normally done long before; a slow one is waited for (bounded by the demo's size)
        stop.set()
        await sampler
        self.wall = time.perf_counter() - self.t_start
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        self.client_cpu_s = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        return sessions


# ----------------------------------------------------------------------------- the report


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[max(0, min(len(s), int(round(q * len(s)))) - 1)], 3)


def stats(rs: list[Rerun]) -> dict:
    xs = [r.seconds for r in rs if r.seconds is not None]
    return {
        "reruns": len(rs),
        "finished": len(xs),
        "errors": sum(len(r.errors) for r in rs),
        "p50_s": pct(xs, 0.5),
        "p90_s": pct(xs, 0.9),
        "p99_s": pct(xs, 0.99),
        "max_s": round(max(xs), 3) if xs else None,
        "mean_s": round(sum(xs) / len(xs), 3) if xs else None,
    }


def report(run: Run, sessions: list[Session], server: dict) -> dict:
    a, rs, ing = run.args, run.reruns, run.ingest
    during = [r for r in rs if ing.get("started_s") is not None and r.t0 < ing.get("ended_s", 1e9) and r.t0 + (r.seconds or 0) > ing["started_s"]]
    errors = [{"session": r.session, "kind": r.kind, "page": r.page, "at_s": round(r.t0, 2), **e} for r in rs for e in r.errors]
    by_type: dict[str, int] = {}
    for e in errors:
        by_type[e["type"]] = by_type.get(e["type"], 0) + 1
    rss = [mb for _, mb in run.rss]
    new = ing.get("new_snapshot")
    picked = [s.saw_new_snapshot_at - ing["ended_s"] for s in sessions if s.saw_new_snapshot_at is not None and ing.get("ended_s") is not None]
    return {
        "what": "protocol-level load test: simulated browser sessions over Streamlit's websocket (see bench/load_test.py's docstring)",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
            # the 1-minute load average sampled with the RSS: the machine's 2 cores are shared, so the same run
            # on a busier machine waits longer; compare runs made at about the same load (or in the same period)
            "load_avg_1min_during": {
                "min": round(min(run.load), 2) if run.load else None,
                "mean": round(sum(run.load) / len(run.load), 2) if run.load else None,
                "max": round(max(run.load), 2) if run.load else None,
            },
        },
        "config": {
            "sessions": a.sessions,
            "seconds": a.seconds,
            "think_s": a.think,
            "timeout_s": a.timeout,
            "mix": "date change 50 %, lever move 25 % (with a page switch to the What-if studio first when elsewhere), page switch 25 %",
        },
        "server": server,
        "duration_s": round(run.wall, 1),
        "load_generator_cpu_s": round(run.client_cpu_s, 1),
        "reruns": len(rs),
        "reruns_per_s": round(len(rs) / run.wall, 2) if run.wall else None,
        "errors": len(errors),
        "errors_by_type": by_type,
        "overall": stats(rs),
        "by_kind": {k: stats([r for r in rs if r.kind == k]) for k in KINDS},
        "during_ingest": stats(during),
        "ingest": ing
        | {
            "old_snapshot": run.old_snapshot,
            "ended_before_sessions_stopped": ing["ended_s"] < a.seconds if ing.get("ended_s") is not None else None,
            "sessions_that_showed_new_snapshot": sum(1 for s in sessions if s.saw_new_snapshot_at is not None) if new else None,
            "pickup_after_ingest_end_s": {"median": pct(picked, 0.5), "max": round(max(picked), 2) if picked else None},
        },
        "rss_mb": {
            "start": rss[0] if rss else None,
            "max": max(rss) if rss else None,
            "end": rss[-1] if rss else None,
            "samples_every_s": 0.5,
            "series": [[t, mb] for t, mb in run.rss[:: max(1, len(run.rss) // 240)]],
        },
        "per_session_reruns": [s.runs for s in sessions],
        "error_list": errors[:200],
    }


def print_table(res: dict, out: Path) -> None:
    def f(x):
        return "-" if x is None else f"{x:.2f}"

    print(
        f"{res['config']['sessions']} sessions x {res['config']['seconds']:.0f} s (think {res['config']['think_s']} s): {res['reruns']} reruns, {res['errors']} errors, {res['reruns_per_s']} reruns/s"
    )
    print(f"{'kind':<14}{'reruns':>8}{'errors':>8}{'p50 s':>8}{'p90 s':>8}{'p99 s':>8}{'max s':>8}")
    rows = [("overall", res["overall"])] + list(res["by_kind"].items()) + [("during ingest", res["during_ingest"])]
    for name, s in rows:
        print(f"{name:<14}{s['reruns']:>8}{s['errors']:>8}{f(s['p50_s']):>8}{f(s['p90_s']):>8}{f(s['p99_s']):>8}{f(s['max_s']):>8}")
    r, ing = res["rss_mb"], res["ingest"]
    if r["max"] is not None:
        print(f"server RSS: start {r['start']:.0f} MB, max {r['max']:.0f} MB, end {r['end']:.0f} MB")
    la = res["machine"]["load_avg_1min_during"]
    if la["mean"] is not None:
        print(f"load average (1 min) during the run: mean {la['mean']:.1f}, min {la['min']:.1f}, max {la['max']:.1f} on {res['machine']['cpus']} cores")
    if ing.get("new_snapshot") and not ing["ended_before_sessions_stopped"]:
        print(
            f"ingest {ing['started_s']:.0f}-{ing['ended_s']:.0f} s: {ing['old_snapshot']} -> {ing['new_snapshot']}, ended after the sessions stopped (pickup not seen)"
        )
    elif ing.get("new_snapshot"):
        print(
            f"ingest {ing['started_s']:.0f}-{ing['ended_s']:.0f} s: {ing['old_snapshot']} -> {ing['new_snapshot']}, "
            f"shown by {ing['sessions_that_showed_new_snapshot']}/{res['config']['sessions']} sessions "
            f"(median {f(ing['pickup_after_ingest_end_s']['median'])} s after it ended)"
        )
    elif ing:
        print(f"ingest: {ing}")
    for e in res["error_list"][:10]:
        print(f"  error: session {e['session']} {e['kind']} on {e['page']} at {e['at_s']} s: {e['type']}: {e['text'][:300]}")
    print(f"written to {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--data", type=Path, default=None, help="data folder (default bench/work/loadtest-data when this script starts the server)")
    ap.add_argument("--port", type=int, default=None, help="a dashboard already running on 127.0.0.1:PORT (else one is started)")
    ap.add_argument("--invoices", type=int, default=150_000, help="size of the demo ledger created in an empty data folder")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between a session's actions, seconds")
    ap.add_argument("--timeout", type=float, default=30.0, help="a rerun without script_finished after this many seconds is an error")
    ap.add_argument("--no-ingest", dest="ingest", action="store_false", help="no ingest in the middle of the run")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "loadtest.json")
    args = ap.parse_args()
    if not (1 <= args.sessions <= 200 and 1 <= args.seconds <= 1800):
        raise SystemExit("bounded: 1-200 sessions, 1-1800 seconds")

    proc, log = None, None
    data = args.data.resolve() if args.data else (None if args.port else REPO / "bench" / "work" / "loadtest-data")
    tmp = tempfile.TemporaryDirectory(prefix="o2c-loadtest-")
    try:
        if args.port is None:
            data.mkdir(parents=True, exist_ok=True)
            cur = current_snapshot(data)
            # Every run starts from the same ledger: an empty folder, or one a previous run's ingest
            # left current, gets the demo ledger of --invoices first.
            if cur is None or cur.get("source") == "o2c " + " ".join(INGEST_CMD[:-1]):
                print(f"creating the demo ledger ({args.invoices:,} invoices) in {data} ...", file=sys.stderr)
                subprocess.run([str(BIN / "o2c"), "demo", "--data", str(data), "--invoices", str(args.invoices)], check=True)
            port = free_port()
            log = Path(tmp.name) / "server.log"
            with log.open("wb") as fh:
                proc = subprocess.Popen(
                    [str(BIN / "o2c"), "serve", "--port", str(port), "--data", str(data)], cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
                )
            t = time.perf_counter()
            wait_health(port, proc, log)
            print(f"server up on 127.0.0.1:{port} in {time.perf_counter() - t:.1f} s (pid {proc.pid})", file=sys.stderr)
            pid = proc.pid
        else:
            port = args.port
            wait_health(port, None, None, timeout=10)
            pid = listening_pid(port)
        run = Run(args, port, pid, data)
        start = current_snapshot(data) if data else None
        run.old_snapshot = start["id"] if start else None
        sessions = asyncio.run(run.main())
        server = {
            "started_by_this_script": proc is not None,
            "port": port,
            "pid": pid,
            "data": str(data) if data else None,
            "starting_snapshot": {k: start[k] for k in ("id", "as_of", "source", "rows")} if start else None,
        }
        if log is not None:
            text = log.read_text(errors="replace")
            server["log_page_errors"] = re.findall(r"page error [0-9A-F]+.*?(?=\n\S|\Z)", text, re.S)[:20]
            server["log_tail"] = text[-3000:] if run.reruns and any(r.errors for r in run.reruns) else None
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        tmp.cleanup()
    res = report(run, sessions, server)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print_table(res, args.out)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
