"""What-if studio: move terms, collections, discounts and limits; see DSO, cash and orders at once."""

import json

import polars as pl
import streamlit as st

from dashboard.present import charts
from dashboard.present.exports import to_csv
from dashboard.present.formatting import count, days, money, pct, signed_days, signed_money
from dashboard.whatif import export
from dashboard.whatif import model as S
from dashboard.whatif import saved as store
from pages import common

eng = common.engine()
t = common.as_of(eng)
cur = eng.settings.base_currency
base = common.cached_baseline(eng.snapshot.id, t, eng)
data_root = common.data_dir().root
dims = common.dimensions(eng.snapshot.id, eng)
risk_classes = sorted(x for x in base.customers["risk_class"].unique().to_list() if x)

st.title("What-if studio")
st.caption(
    f"Steady-state model of whatif.md at {t:%d %B %Y}, window {base.window_days} days, cost of capital "
    f"{eng.settings.cost_of_capital:.0%} (settings). Each lever applies to its own selection; the sidebar's segment and region filters do not apply here."
)

# Widget keys -> default values; loading a saved scenario writes these before the widgets are drawn.
DEFAULTS = {
    "wi_terms_days": 0,
    "wi_coll_pct": 0,
    "wi_disc_rate": 0.0,
    "wi_disc_days": 10,
    "wi_disc_uptake": 0,
    "wi_lim_pct": 0,
    "wi_name": "My scenario",
}
SEL = ("segment", "region", "risk_class", "customer_ids")
for k, v in DEFAULTS.items():
    st.session_state.setdefault(k, v)


def selection(prefix: str) -> dict:
    """'Applies to' widgets of one lever; empty = all customers."""
    with st.popover("Applies to", icon=":material/filter_alt:", width="stretch"):
        sel = {
            "segment": st.multiselect("Segments", dims["segments"], key=f"{prefix}_segment", placeholder="All segments"),
            "region": st.multiselect("Regions", dims["regions"], key=f"{prefix}_region", placeholder="All regions"),
            "risk_class": st.multiselect("Risk classes (customer master)", risk_classes, key=f"{prefix}_risk_class", placeholder="All classes"),
            "customer_ids": [c.strip() for c in st.text_input("Customer ids (comma separated)", key=f"{prefix}_customer_ids").split(",") if c.strip()],
        }
    words = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in sel.items() if v) or "all customers"
    st.caption(f"Applies to {words}")
    return {k: v for k, v in sel.items() if v}


c1, c2, c3, c4 = st.columns(4)
with c1.container(border=True):
    st.markdown("**Payment terms**")
    terms_days = st.slider("Change in terms (days)", -30, 60, key="wi_terms_days")
    terms_sel = selection("wi_terms")
with c2.container(border=True):
    st.markdown("**Collections effort**")
    coll_pct = st.slider("Cut in days late (%)", 0, 100, step=5, key="wi_coll_pct")
    coll_sel = selection("wi_coll")
with c3.container(border=True):
    st.markdown("**Early-payment discount**")
    disc_rate = st.slider("Discount (%)", 0.0, 5.0, step=0.25, key="wi_disc_rate")
    disc_days = st.number_input("If paid within (days)", 0, 90, key="wi_disc_days")
    disc_uptake = st.slider("Share of sales taking it (%)", 0, 100, step=5, key="wi_disc_uptake")
    disc_sel = selection("wi_disc")
with c4.container(border=True):
    st.markdown("**Credit limits**")
    lim_pct = st.slider("Change in limits (%)", -100, 100, step=5, key="wi_lim_pct")
    lim_sel = selection("wi_lim")

levers = []
if terms_days:
    levers.append({"kind": "terms", "days": terms_days, **terms_sel})
if coll_pct:
    levers.append({"kind": "collections", "reduction": coll_pct / 100, **coll_sel})
if disc_rate and disc_uptake:
    levers.append({"kind": "discount", "rate": disc_rate / 100, "within_days": int(disc_days), "uptake": disc_uptake / 100, **disc_sel})
if lim_pct:
    levers.append({"kind": "limits", "pct": lim_pct / 100, **lim_sel})
sc = S.parse_scenario({"name": st.session_state["wi_name"], "levers": levers})
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
    help="dso_standard(T) + change in modelled AR / daily sales",
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

side = pl.DataFrame(
    {
        "Figure": [
            "DSO (standard)",
            "Blocked orders",
            "Blocked orders (count)",
            "Customers over limit",
            "Change in AR",
            "Cash released",
            "Financing effect per year",
            "Discount cost per year",
            "Net effect per year",
        ],
        "Baseline": [
            days(b["dso_standard"]),
            money(b["blocked_orders_value"], cur),
            count(b["blocked_orders_count"]),
            count(b["over_limit_customers"]),
            "",
            "",
            "",
            "",
            "",
        ],
        "Scenario": [
            days(s["dso_standard"]),
            money(s["blocked_orders_value"], cur),
            count(s["blocked_orders_count"]),
            count(s["over_limit_customers"]),
            money(r["delta_ar"], cur),
            money(r["cash_released"], cur),
            money(r["financing_effect_per_year"], cur),
            money(r["discount_cost_per_year"], cur),
            money(r["net_effect_per_year"], cur),
        ],
    }
)
left, right = st.columns([1, 1])
left.dataframe(side, hide_index=True, placeholder="–", width="stretch")
for d in r["discounts"]:
    ann = "n/a (terms not longer than the discount period)" if d["annualised_rate"] is None else pct(d["annualised_rate"])
    left.caption(
        f"Discount of {d['rate']:.2%} within {d['within_days']} days for {d['lever']}: annualised cost {ann} "
        f"against sales-weighted terms of {days(d['terms_days'])}."
    )
right.plotly_chart(charts.dso_bridge(b["dso_standard"], res.bridge), width="stretch", key="bridge")

st.subheader("By segment")
seg = pl.DataFrame(
    [
        {
            "Segment": x["segment"],
            f"Change in AR ({cur})": x["delta_ar"],
            "Change in DSO (days)": x["delta_dso"],
            f"Discount cost / year ({cur})": x["discount_cost_per_year"],
            f"Blocked, baseline ({cur})": x["blocked_orders_value"]["baseline"],
            f"Blocked, scenario ({cur})": x["blocked_orders_value"]["scenario"],
            "Over limit, baseline": x["over_limit_customers"]["baseline"],
            "Over limit, scenario": x["over_limit_customers"]["scenario"],
        }
        for x in r["by_segment"]
    ]
)
st.dataframe(
    seg,
    hide_index=True,
    placeholder="–",
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="accounting") for c in seg.columns if cur in c}
    | {"Change in DSO (days)": st.column_config.NumberColumn(format="%+.1f")},
)

st.subheader(f"Customers whose status changes ({res.changes_count:,})")
if res.changes_count:
    if res.changes_count > 500:
        st.caption("The 500 with the largest exposure are listed; the Excel export holds them all.")
    st.dataframe(
        res.top_changes(500),
        hide_index=True,
        placeholder="–",
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="accounting")
            for c in ("ar", "open_orders", "exposure", "credit_limit_baseline", "credit_limit_scenario", "blocked_value_baseline", "blocked_value_scenario")
        },
    )
else:
    st.caption("No customer changes status (over limit, or orders blocked) under this scenario.")

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
- Financing effect = cash released x cost of capital ({eng.settings.cost_of_capital:.0%} a year). No effect on sales
  volume, bad debt or customer behaviour beyond the levers is modelled.
"""
    )

st.subheader("Scenarios")


def load_into_widgets(name: str) -> None:
    """Callback: put a saved scenario's first lever of each kind into the sliders."""
    path = store.list_scenarios(data_root).get(name)
    if not path:
        return
    saved = S.load_scenario(path)
    state = st.session_state
    state.update(DEFAULTS)
    for p in ("wi_terms", "wi_coll", "wi_disc", "wi_lim"):
        for k in SEL:
            state[f"{p}_{k}"] = "" if k == "customer_ids" else []
    state["wi_name"] = saved.name
    seen = set()
    for lv in saved.levers:
        if lv.kind in seen:
            continue
        seen.add(lv.kind)
        p = {"terms": "wi_terms", "collections": "wi_coll", "discount": "wi_disc", "limits": "wi_lim"}[lv.kind]
        if lv.kind == "terms":
            state["wi_terms_days"] = max(-30, min(60, lv.days))
        elif lv.kind == "collections":
            state["wi_coll_pct"] = int(round(lv.reduction * 100))
        elif lv.kind == "discount":
            state["wi_disc_rate"], state["wi_disc_days"], state["wi_disc_uptake"] = lv.rate * 100, lv.within_days, int(round(lv.uptake * 100))
        elif lv.kind == "limits" and lv.pct is not None:
            state["wi_lim_pct"] = int(round(lv.pct * 100))
        for k in SEL:
            v = S.as_list(getattr(lv, k))
            state[f"{p}_{k}"] = ", ".join(v) if k == "customer_ids" else v


saved = store.list_scenarios(data_root)
a, b2, c, d = st.columns([2, 1, 2, 1])
a.text_input("Scenario name", key="wi_name")
if b2.button("Save", icon=":material/save:", key="wi_save", width="stretch"):
    path = store.save_scenario(data_root, sc)
    st.toast(f"Saved '{sc.name}'")
    saved = store.list_scenarios(data_root)
pick = c.selectbox("Saved scenarios", list(saved) or ["(none saved yet)"], key="wi_pick")
with d:
    st.button("Load", key="wi_load", on_click=load_into_widgets, args=(pick,), disabled=not saved, width="stretch")
e1, e2, e3, e4 = st.columns(4)
if e1.button("Duplicate", key="wi_dup", disabled=not saved, icon=":material/content_copy:", width="stretch"):
    src = S.load_scenario(saved[pick])
    store.save_scenario(data_root, src.model_copy(update={"name": f"{src.name} (copy)"}))
    st.rerun()
if e2.button("Delete", key="wi_del", disabled=not saved, icon=":material/delete:", width="stretch"):
    store.delete_scenario(data_root, pick)
    st.rerun()
# Exports are built when clicked (on their own thread), not on every move of a slider.
e3.download_button(
    "Export JSON",
    lambda: json.dumps(export.export_record(eng, sc, res), indent=2, default=str),
    export.file_name(sc.name, "json"),
    "application/json",
    key="wi_json",
    width="stretch",
    icon=":material/download:",
)
e4.download_button(
    "Export Excel",
    lambda: export.export_excel(export.export_record(eng, sc, res), res),
    export.file_name(sc.name, "xlsx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="wi_xlsx",
    width="stretch",
    icon=":material/download:",
)

chosen = st.multiselect("Compare saved scenarios (up to four)", list(saved), max_selections=4, key="wi_compare")
if chosen:
    rows = []
    for name in chosen:
        out = S.run(base, S.load_scenario(saved[name]), eng.settings.cost_of_capital).summary
        rows.append(
            {
                "name": name,
                "levers": len(S.load_scenario(saved[name]).levers),
                "projected_dso": out["projected_dso"],
                "cash_released": out["cash_released"],
                "net_effect_per_year": out["net_effect_per_year"],
                "discount_cost_per_year": out["discount_cost_per_year"],
                "blocked_orders_value": out["scenario"]["blocked_orders_value"],
                "blocked_orders_count": out["scenario"]["blocked_orders_count"],
                "over_limit_customers": out["scenario"]["over_limit_customers"],
            }
        )
    cmp_df = pl.DataFrame(rows)
    st.dataframe(
        cmp_df,
        hide_index=True,
        placeholder="–",
        width="stretch",
        column_config={
            k: st.column_config.NumberColumn(format="accounting")
            for k in ("cash_released", "net_effect_per_year", "discount_cost_per_year", "blocked_orders_value")
        },
    )
    st.download_button("Download comparison (CSV)", to_csv(cmp_df), "scenario_comparison.csv", "text/csv", key="wi_cmp_csv")
