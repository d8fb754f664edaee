"""Dunning: propose a run at the as-of date, review it (remove items or customers with a reason, optionally as
a block), issue it, read each letter (HTML preview, PDF download) and resend those that failed."""

import datetime as dt

import polars as pl
import streamlit as st

from dashboard.dunning import runs
from dashboard.dunning.effectiveness import effectiveness
from dashboard.present.formatting import money
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied
from pages import common, tables
from pages.tables import plain

eng = common.engine()
t = common.as_of(eng)
cur = eng.settings.base_currency
user = common.user()
store = common.store()
ctx = notes.Context(t, eng.snapshot.id)
pol = eng.settings.dunning

st.title("Dunning")
levels = ", ".join(f"{lv.level} from {lv.min_dpd} days (fee {money(lv.fee, cur)})" for lv in pol.levels)
interest = {
    "none": "no interest",
    "fixed": f"interest {100 * (pol.fixed_rate or 0):g} % a year",
    "statutory": f"statutory interest (reference rate + {pol.margin_points:g} points)",
}
st.caption(
    f"Letters at {t:%d %b %Y} from snapshot `{eng.snapshot.id}`: levels {levels}; grace {pol.grace_days} days, minimum {money(pol.min_amount, cur)}, "
    f"{pol.interval_days} days between letters, pay within {pol.deadline_days} days; {interest[pol.interest]}, "
    f"compensation {money(pol.fixed_compensation, cur)} per invoice (settings [dunning])."
)
eff = effectiveness(eng, store, t - dt.timedelta(days=90), t, t)
st.metric(
    "Dunning effectiveness",
    "n/a" if eff["dunning_effectiveness"] is None else f"{eff['dunning_effectiveness']:.1%}",
    border=True,
    help=f"Share of the amount named in the letters of the 90 days to {t} that was settled within 30 days of the letter "
    f"({eff['letters']} letter(s) whose 30 days have passed: {money(eff['settled'], cur)} of {money(eff['named'], cur)}).",
)
if done := st.session_state.pop("du_done", None):
    st.success(done, icon=":material/check_circle:")


def _act(write, message) -> None:
    try:
        out = write()
    except (notes.Refused, notes.Conflict, AccessDenied) as exc:
        st.error(plain(str(exc)), icon=":material/block:")
        return
    st.session_state["du_done"] = message(out) if callable(message) else message
    st.rerun()


def _propose():
    w, _ = runs.propose_run(store, user, ctx, eng)
    st.session_state["du_run"] = int(w.id)
    return w


if user is not None and user.has("credit_analyst"):
    if st.button(
        f"Propose a run at {t}",
        icon=":material/playlist_add:",
        key="du_propose",
        help="A dry run saved as a draft: nothing is sent until a credit manager issues it.",
    ):
        _act(_propose, lambda w: f"Run {w.id} proposed (audit entry {w.seq}): review it below.")

listed = runs.runs_json(store)["runs"]
RUN_SCHEMA = {
    "run_id": pl.Int64,
    "status": pl.Utf8,
    "as_of": pl.Utf8,
    "letters": pl.Int64,
    "total": pl.Float64,
    "sent": pl.Int64,
    "failed": pl.Int64,
    "print": pl.Int64,
    "unsent": pl.Int64,
    "created_by": pl.Utf8,
    "issued_by": pl.Utf8,
}
overview = pl.DataFrame([{k: r[k] for k in RUN_SCHEMA} for r in listed], schema=RUN_SCHEMA)  # type: ignore[literal-required]
st.markdown("**Runs**")
tables.show(overview.with_columns(pl.col("as_of").str.to_date()), cur, key="du_runs")
if not listed:
    st.info("No dunning run yet: propose one to see who would get a letter, at which level and for how much.")
    st.stop()
ids = [r["run_id"] for r in listed]
if st.session_state.get("du_run") not in ids:
    st.session_state["du_run"] = ids[0]
rid = st.selectbox("Run", ids, key="du_run", format_func=lambda i: f"Run {i}")
run = next(r for r in listed if r["run_id"] == rid)
letters = runs.letters_frame(store, rid)
items = runs.items_frame(store, rid)
skipped = runs.skipped_frame(store, rid)

st.subheader(f"Run {rid}: {run['status']} · {run['as_of']} · {letters.height:,} letter(s), {money(float(letters['total'].sum()), cur)}")
shown = letters.rename({"level": "dunning_level"}).select(
    "customer_id", "name", "dunning_level", "open", "interest", "compensation", "fee", "total", "deadline", "email", "send_status"
)
tables.show(shown, cur, key="du_letters", widths={"name": "medium"})
with st.expander(f"Items of the letters ({items.height:,})", icon=":material/list:"):
    tables.show(
        items.rename({"level": "dunning_level"}).select("customer_id", "invoice_id", "due_date", "dpd", "dunning_level", "open", "interest", "compensation"),
        cur,
        key="du_items",
    )
with st.expander(f"Customers skipped ({skipped.height:,})", icon=":material/do_not_disturb_on:"):
    tables.show(skipped, cur, key="du_skipped", widths={"detail": "large"})

if run["status"] == "draft":
    if user is None or not user.has("credit_analyst"):
        st.stop()
    if letters.height:
        # Not a form: the documents offered follow the customer picked.
        with st.container(border=True):
            st.markdown("**Review: take a customer's letter, or one item of it, out of the run**")
            c1, c2 = st.columns(2)
            who = c1.selectbox("Customer", letters["customer_id"].to_list(), key="du_rm_customer")
            docs = items.filter(pl.col("customer_id") == who)["invoice_id"].to_list()
            which = c2.selectbox("What", ["The whole letter", *docs], key="du_rm_item", help="An item, or the customer's whole letter.")
            reason = st.text_input("Reason", key="du_rm_reason", placeholder="e.g. paid yesterday, agreed with the customer")
            as_block = st.checkbox("Also block dunning for it (with this reason)", key="du_rm_block")
            if st.button("Remove", icon=":material/remove_circle:", key="du_remove"):
                inv = None if which == "The whole letter" else which
                _act(
                    lambda: runs.remove(store, user, ctx, rid, who, reason, inv, as_block),
                    f"Removed {'the letter to ' + who if inv is None else inv} from run {rid}.",
                )
    if user.has("credit_manager"):
        c1, c2 = st.columns([1, 3])
        send = c2.toggle(
            "Send the e-mails now",
            value=True,
            key="du_send",
            help=f"Through {eng.settings.mail.host}:{eng.settings.mail.port} (settings [mail]); letters without an address are kept for print.",
        )
        if c1.button("Issue the run", type="primary", icon=":material/send:", key="du_issue"):

            def _issue():
                done = runs.issue(store, user, eng, rid, common.data_dir().root)
                counts = runs.send_run(store, user, rid, eng.settings.mail) if send else {"sent": 0, "failed": 0}
                return done, counts

            _act(_issue, lambda r: f"Run {rid} issued: {r[0].letters} letter(s), {r[1]['sent']} sent, {r[1]['failed']} failed (audit entry {r[0].seq}).")
    else:
        st.caption("A credit manager issues the run.")
    st.stop()

# --------------------------------------------------------------------------------------- issued: the letters
if letters.height == 0:
    st.stop()
labels = {r["letter_id"]: f"{r['customer_id']} · level {r['level']} · {r['send_status']}" for r in letters.iter_rows(named=True)}
lid = st.selectbox("Letter", list(labels), key="du_letter", format_func=lambda i: labels[i])
row = letters.filter(pl.col("letter_id") == lid).row(0, named=True)
html, pdf = runs.letter_files(store, lid)
st.caption(
    f"PDF sha256 `{row['pdf_sha256']}` · "
    + (f"sent {row['sent_at'][:16].replace('T', ' ')} UTC, message {plain(row['message_id'])}" if row["send_status"] == "sent" else plain(row["send_status"]))
)
if row["send_error"]:
    st.error(plain(row["send_error"]), icon=":material/mail_lock:")
c1, c2 = st.columns([1, 1])
if pdf is not None:
    c1.download_button("Download PDF", pdf, f"reminder-{rid}-{row['customer_id']}.pdf", "application/pdf", icon=":material/download:", key="du_pdf")
if user is not None and user.has("credit_manager") and row["send_status"] in ("failed", "unsent") and row["email"]:
    if c2.button("Resend" if row["send_status"] == "failed" else "Send", icon=":material/forward_to_inbox:", key="du_resend"):
        _act(lambda: runs.send_letter(store, user, lid, eng.settings.mail), lambda s: f"Letter {lid}: {s}.")
if html:
    # The letter as rendered: its template escaped every ledger text (names, addresses, ids), so they show as text.
    with st.container(border=True):
        st.html(html)
