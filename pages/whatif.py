"""What-if studio: move terms, collections, discounts and limits; see DSO, cash and orders at once.

The page draws widgets and results; what the widgets mean (dashboard/whatif/widgets.py), the
tables and their headings (tables.py), saved scenarios (saved.py) and exports (export.py) are
core functions with their own tests.
"""

import json

import streamlit as st

from dashboard.decisions import limits
from dashboard.present import charts
from dashboard.present.formatting import count, days, money, signed_days, signed_money
from dashboard.store.snapshots import data_sha256
from dashboard.whatif import export, saved, tables
from dashboard.whatif import model as S
from dashboard.whatif import widgets as W
from dashboard.workbench import notes
from dashboard.workbench.identity import AccessDenied
from pages import common
from pages import decision_forms as forms
from pages.tables import heading_px, plain

eng = common.engine()
t = common.as_of(eng)
cur = eng.settings.base_currency
base = common.cached_baseline(eng.snapshot.id, t, eng)
data_root = common.data_dir().root
dims = common.dimensions(eng.snapshot.id, eng)
master_classes = sorted(x for x in base.customers["risk_class"].unique().to_list() if x)
state = st.session_state
NOTES_KEY = "wi_load_notes"
for k, v in W.defaults().items():
    state.setdefault(k, v)

st.title("What-if studio")
st.caption(
    f"A steady-state model (its assumptions are below) at {t:%d %B %Y}, window {base.window_days} days, cost of capital "
    f"{eng.settings.cost_of_capital:.0%} (settings). Each lever applies to its own selection; the sidebar's segment and region filters do not apply here. "
    f"A lever can select by the customer master's risk class ({', '.join(master_classes) or 'none given'}; customers without one are not selected by it) "
    f"or by the risk class computed from the risk score at {t:%d %B %Y} (A-E, as the at-risk and customer pages show it)."
)


def on_typed(kind: str) -> None:
    """Callback of a card's 'Type exact values' toggle: carry the values over to the other widgets."""
    updates, notes = W.switch_typed(state, kind)
    state.update(updates)
    for n in notes:
        st.toast(n)


def number(c: W.Control, typed: bool) -> None:
    """A control as a slider, or as a number input taking the spec's whole range."""
    label = c.label.format(cur=cur)
    if c.slider and not typed:
        lo, hi = c.slider_range()
        if c.whole:
            st.slider(label, int(lo), int(hi), step=int(c.step), key=c.key)
        else:
            st.slider(label, float(lo), float(hi), step=float(c.step), key=c.key)
        return
    lo, hi = c.typed_range()
    if c.integer:
        st.number_input(label, None if lo is None else int(lo), None if hi is None else int(hi), step=int(c.step), key=c.typed_key)
    else:
        st.number_input(label, lo, hi, step=float(c.step), format=f"%.{c.decimals}f", key=c.typed_key)


def options(values: list[str], key: str) -> list[str]:
    """A multiselect's options plus the values it already holds (a loaded scenario may name what this data lacks)."""
    return sorted(set(values) | set(state.get(key) or []))


def applies_to(kind: str) -> None:
    """'Applies to' widgets of one lever; empty = all customers."""
    k = {name: W.selection_key(kind, name) for name in S.SELECTION_FIELDS}
    with st.popover("Applies to", icon=":material/filter_alt:", width="stretch"):
        st.multiselect("Segments", options(dims["segments"], k["segment"]), key=k["segment"], placeholder="All segments")
        st.multiselect("Regions", options(dims["regions"], k["region"]), key=k["region"], placeholder="All regions")
        st.multiselect(
            "Risk classes (customer master)",
            options(master_classes, k["risk_class"]),
            key=k["risk_class"],
            placeholder="All classes",
            help="The risk_class given in the customer master. Customers without one are not selected by it.",
        )
        st.multiselect(
            f"Risk classes (computed from the risk score at {t:%d %b %Y})",
            list(S.COMPUTED_CLASSES),
            key=k["computed_risk_class"],
            placeholder="All classes",
            help="The class A-E the risk score gives at the as-of date, as the at-risk and customer pages show it.",
        )
        st.text_input("Customer ids (comma separated)", key=k["customer_ids"])
    st.caption(f"Applies to {tables.selection_in_words(W.selection(state, kind))}")


def card(kind: str) -> None:
    st.markdown(f"**{W.TITLE[kind]}**")
    typed = st.toggle("Type exact values", key=W.typed_key(kind), on_change=on_typed, args=(kind,)) if any(c.slider for c in W.CONTROLS[kind]) else False
    if kind == "limits":
        mode = st.radio("Limits", W.LIMIT_MODES, key=W.LIMIT_MODE_KEY, horizontal=True, label_visibility="collapsed")
        number(W.LIM_PCT if mode == W.LIMIT_MODES[0] else W.LIM_VALUE, typed)
    else:
        for c in W.CONTROLS[kind]:
            number(c, typed)
    applies_to(kind)


for col, kind in zip(st.columns(4), W.KINDS):
    with col.container(border=True):
        card(kind)

if state.get(W.EXTRA_KEY) or state.get(W.COST_KEY) is not None or state.get(NOTES_KEY):
    with st.container(border=True):
        if state.get(NOTES_KEY):
            st.markdown(f"**Loaded '{state[W.NAME_KEY]}'**")
            st.markdown("\n".join(f"- {n}" for n in state[NOTES_KEY]))
        if state.get(W.EXTRA_KEY):
            st.markdown("**Also applied, as saved** (after the levers above, each kind in its saved order):")
            st.markdown("\n".join(f"- {tables.lever_in_words(S.parse_scenario({'levers': [lv]}).levers[0], cur)}" for lv in state[W.EXTRA_KEY]))
        if state.get(W.COST_KEY) is not None:
            st.caption(f"Cost of capital {state[W.COST_KEY]:.2%} a year, from the saved scenario (the settings say {eng.settings.cost_of_capital:.2%}).")

        def reset() -> None:
            state.update(W.defaults())
            state[NOTES_KEY] = []

        st.button("Reset all levers", key="wi_reset", on_click=reset, icon=":material/restart_alt:")

try:
    sc = W.scenario_from_widgets(state)
except S.ScenarioError as exc:  # the widgets' ranges are the spec's: this is a saved file edited by hand
    st.error("These lever values cannot be used: " + "; ".join(exc.details))
    st.stop()
res = S.run(base, sc, eng.settings.cost_of_capital)
r, b, s = res.summary, res.summary["baseline"], res.summary["scenario"]

st.subheader("Baseline and scenario")
m = st.columns(3) + st.columns(3)
dso_delta = None if b["dso_standard"] is None or s["dso_standard"] is None else s["dso_standard"] - b["dso_standard"]
m[0].metric(
    "DSO (scenario)",
    days(s["dso_standard"]),
    None if not dso_delta else signed_days(dso_delta),
    delta_color="inverse",
    border=True,
    help="DSO (standard) today + change in modelled AR / daily sales",
)
m[1].metric("Cash released", money(r["cash_released"], cur, compact=True), border=True, help="- change in modelled AR (positive: cash comes in sooner)")
m[2].metric(
    "Net effect per year", money(r["net_effect_per_year"], cur, compact=True), border=True, help="cash released x cost of capital - discount cost per year"
)
m[3].metric(
    "Blocked orders",
    money(s["blocked_orders_value"], cur, compact=True),
    (signed_money(s["blocked_orders_value"] - b["blocked_orders_value"], cur) if s["blocked_orders_value"] != b["blocked_orders_value"] else None),
    delta_color="inverse",
    border=True,
    help="Open orders that no longer fit under the (new) limit, released in order date order",
)
m[4].metric(
    "Blocked orders (count)",
    count(s["blocked_orders_count"]),
    f"{s['blocked_orders_count'] - b['blocked_orders_count']:+,}" if s["blocked_orders_count"] != b["blocked_orders_count"] else None,
    delta_color="inverse",
    border=True,
)
m[5].metric(
    "Customers over limit",
    count(s["over_limit_customers"]),
    f"{s['over_limit_customers'] - b['over_limit_customers']:+,}" if s["over_limit_customers"] != b["over_limit_customers"] else None,
    delta_color="inverse",
    border=True,
)
st.caption(S.LIMITS_NOTE)


def column_config(columns: tuple[tables.Column, ...]) -> dict:
    """Headings in words and finance formats (money as accounting: thousands separators, negatives in brackets)."""
    fmt = {"money": "accounting", "days": "%.2f", "signed_days": "%+.2f", "count": "%d"}
    return {
        # a number column at least as wide as its heading ("Blocked orders, scenario (USD)" was cut): its values are shorter
        c.key: st.column_config.TextColumn(c.words(cur))
        if c.kind == "text"
        else st.column_config.NumberColumn(c.words(cur), format=fmt[c.kind], width=heading_px(c.words(cur)))
        for c in columns
    }


left, right = st.columns([1, 1])
left.dataframe(tables.side_by_side(r, cur), hide_index=True, placeholder="–", width="stretch")
for line in tables.discount_lines(sc, r):
    left.caption(line)
right.plotly_chart(charts.dso_bridge(b["dso_standard"], res.bridge), width="stretch", key="bridge")

st.subheader("By segment")
st.dataframe(tables.segment_frame(r), hide_index=True, placeholder="–", width="stretch", column_config=column_config(tables.SEGMENT_COLUMNS))

st.subheader(f"Customers whose status changes ({res.changes_count:,})")
if res.changes_count:
    if res.changes_count > 500:
        st.caption("The 500 with the largest exposure are listed; the Excel export holds them all.")
    st.dataframe(tables.changes_frame(res, 500), hide_index=True, placeholder="–", width="stretch", column_config=column_config(tables.CHANGES_COLUMNS))
else:
    st.caption("No customer changes status (over limit, or orders blocked) under this scenario.")

# One click on the limit lever (issue 15): a limit request for every customer whose limit the scenario changes, each
# carrying the scenario's id, its saved file's name (the scenario is saved under its name first, as Save does, and that
# save is in the audit trail with the levers). For a credit analyst and above; the core checks the role again.
if done := state.pop("wi_done", None):
    st.success(plain(done), icon=":material/check_circle:")
user_now = common.user()
wanted = limits.scenario_limits(base, sc)
if wanted and forms.may_work(user_now):
    n_req = len(wanted)
    if st.button(
        f"Request these limits ({n_req:,} customer{'' if n_req == 1 else 's'}, one request each)",
        key="wi_request",
        icon=":material/request_quote:",
        help="Saves the scenario under its name, then requests the new limit of every customer whose limit it changes; a credit manager decides each.",
    ):
        path = saved.save_scenario(data_root, sc, user_now, eng.snapshot.id)
        ctx = notes.Context(t, eng.snapshot.id)
        digest = data_sha256(eng.snapshot.manifest["source_files"])
        try:
            with st.spinner(f"Requesting {n_req:,} limits (about 5 ms each)..."):  # 1,746 took 8 s on the demo
                made, skipped = limits.from_scenario(common.store(), user_now, ctx, eng, sc, path.name, f"what-if scenario '{sc.name}'", digest, base=base)
        except (notes.Refused, notes.Conflict, AccessDenied) as exc:
            st.error(plain(str(exc)), icon=":material/block:")
        else:
            more = f"; {len(skipped):,} skipped: {' '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}" if skipped else ""
            state["wi_done"] = f"{len(made):,} limit request(s) from scenario '{sc.name}' ({path.name}){more}."
            st.rerun()

with st.expander("Assumptions of the model, in plain words", icon=":material/info:"):
    st.markdown(
        f"""
- Each customer is in a **steady state**: it keeps selling at its average daily sales of the last {base.window_days} days,
  and pays after its usual **days to pay** = its payment terms (sales-weighted, documents issued in the window)
  plus its usual lateness (amount-weighted, documents paid in the last 365 days; early payment counts as negative).
  A customer with no payment history takes its segment's average lateness.
- Modelled receivables = daily sales x days to pay. A lever changes days to pay; the change in receivables is the
  cash released (or tied up). DSO moves by that change divided by total daily sales.
- **Terms** add days to the terms. **Collections** cut only positive lateness, by the chosen share.
  A **discount** makes the share of sales that takes it pay within the discount period; it costs rate x that share
  of sales every year. Terms and collections act first, then discounts.
- **Credit limits**: open orders are released in order-date order while they fit under the new limit minus today's
  receivables; the rest are blocked. Customers without a limit stay without one. Exposure itself does not change.
- **Risk classes**: "customer master" is the class given in the master; "computed" is the risk score's class at the
  as-of date, the one the at-risk and customer pages show.
- Financing effect = cash released x cost of capital ({eng.settings.cost_of_capital:.0%} a year). No effect on sales
  volume, bad debt or customer behaviour beyond the levers is modelled.
"""
    )

st.subheader("Scenarios")


def load_into_widgets(name: str) -> None:
    """Callback: put a saved scenario into the widgets (levers they cannot show are kept as saved, and said so)."""
    chosen_sc = saved.load_saved(data_root, name)
    if chosen_sc is None:
        return
    loaded = W.widgets_from_scenario(chosen_sc, cur)
    state.update(loaded.state)
    state[NOTES_KEY] = loaded.notes


names = list(saved.list_scenarios(data_root))
a, b2, c, d = st.columns([2, 1, 2, 1])
a.text_input("Scenario name", key=W.NAME_KEY)
if b2.button("Save", icon=":material/save:", key="wi_save", width="stretch"):
    saved.save_scenario(data_root, sc, common.user(), eng.snapshot.id)
    st.toast(f"Saved '{sc.name}'")
    names = list(saved.list_scenarios(data_root))
pick = c.selectbox("Saved scenarios", names or ["(none saved yet)"], key="wi_pick")
with d:
    st.button("Load", key="wi_load", on_click=load_into_widgets, args=(pick,), disabled=not names, width="stretch")
e1, e2, e3, e4 = st.columns(4)
if e1.button("Duplicate", key="wi_dup", disabled=not names, icon=":material/content_copy:", width="stretch"):
    saved.duplicate_scenario(data_root, pick, common.user(), eng.snapshot.id)
    st.rerun()
if e2.button("Delete", key="wi_del", disabled=not names, icon=":material/delete:", width="stretch"):
    saved.delete_scenario(data_root, pick, common.user(), eng.snapshot.id)
    st.rerun()


# Exports are built when clicked (on their own thread), not on every move of a slider; each is recorded
# in the audit trail with the data it was made on (a scenario sent to the board is a decision's basis).
def exported(kind: str = "json") -> dict:
    record = export.export_record(eng, sc, res)
    common.data_dir().record("scenario.export", "scenario", sc.name, user_now, eng.snapshot.id, {"format": kind, "data_sha256": record["data_sha256"]})
    return record


e3.download_button(
    "Export JSON",
    lambda: json.dumps(exported(), indent=2, default=str),
    export.file_name(sc.name, "json"),
    "application/json",
    key="wi_json",
    width="stretch",
    icon=":material/download:",
)
e4.download_button(
    "Export Excel",
    lambda: export.export_excel(exported("xlsx"), res, cur),
    export.file_name(sc.name, "xlsx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="wi_xlsx",
    width="stretch",
    icon=":material/download:",
)
if bad := saved.unusable_scenarios(data_root):
    st.warning(
        "Saved files that cannot be used (fix or remove them in the data folder's scenarios/):\n"
        + "\n".join(f"- {f}: {'; '.join(details)}" for f, details in bad.items())
    )

chosen = st.multiselect("Compare saved scenarios (up to four)", names, max_selections=4, key="wi_compare")
if chosen:
    to_compare = {n: x for n in chosen if (x := saved.load_saved(data_root, n)) is not None}
    rows = tables.compare(base, to_compare, eng.settings.cost_of_capital)
    st.dataframe(tables.comparison_frame(rows), hide_index=True, placeholder="–", width="stretch", column_config=column_config(tables.COMPARISON_COLUMNS))
    st.download_button("Download comparison (CSV)", export.comparison_csv(rows, cur), export.comparison_file_name(), "text/csv", key="wi_cmp_csv")
