"""What-if scenarios (../shared/spec/whatif.md): levers over a per-customer baseline.

The baseline (one row per customer) is computed once per snapshot and
as-of date by `queries/whatif/baseline.sql`; a scenario is then numpy
arithmetic over those rows, so a slider moves in milliseconds even at
10M documents. Scenario files are JSON, validated with messages that name
the lever, the field and what is allowed.

`run()` is the model in four steps, one function each: the levers become
days to pay (`days_to_pay`) and new limits (`new_limits`); the limits give
blocked orders and over-limit customers (`limit_effects`) and the status
changes; everything is summed per segment (`per_segment`) and for the
whole ledger (`summary`), the JSON of whatif.md.

Saved scenarios live in `saved.py`, the JSON/Excel exports in `export.py`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, TypedDict

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dashboard.metrics.kpis import Engine, r2
from dashboard.metrics.limits import over_limit_np
from dashboard.risk.scorecard import CLASSES
from dashboard.store import sql as queries

__all__ = [
    "ALLOWED",
    "COMPUTED_CLASSES",
    "SELECTION_FIELDS",
    "LEVER_MODELS",
    "AnyLever",
    "Baseline",
    "CollectionsLever",
    "DiscountRow",
    "DiscountLever",
    "Lever",
    "LimitsLever",
    "OneOrMany",
    "Result",
    "Scenario",
    "LIMITS_NOTE",
    "ScenarioError",
    "SegmentRow",
    "Side",
    "Summary",
    "TermsLever",
    "as_list",
    "baseline",
    "data_hash",
    "load_scenario",
    "parse_scenario",
    "run",
]

OneOrMany = str | list[str] | None
# The computed risk classes of risk.md (A-E); a lever may select by them.
COMPUTED_CLASSES = CLASSES
# The selection fields of a lever, in the order they are described. `risk_class` is the customer
# master's class (whatif.md, README decisions); `computed_risk_class` is the scorecard's class at T.
SELECTION_FIELDS = ("segment", "region", "risk_class", "computed_risk_class", "customer_ids")


def as_list(v: OneOrMany) -> list[str]:
    """A selection value (one value, a list, or none) as a list."""
    return [] if v is None else [v] if isinstance(v, str) else list(v)


class _Lever(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment: OneOrMany = None
    region: OneOrMany = None
    risk_class: OneOrMany = Field(None, description="the customer master's risk_class")
    computed_risk_class: OneOrMany = Field(None, description="the risk score's class A-E at the as-of date (risk.md)")
    customer_ids: OneOrMany = None

    @field_validator("computed_risk_class")
    @classmethod
    def _known_classes(cls, v: OneOrMany) -> OneOrMany:
        bad = [x for x in as_list(v) if x not in COMPUTED_CLASSES]
        if bad:
            raise ValueError(f"must be among {', '.join(COMPUTED_CLASSES)} (the risk score's classes), not {', '.join(map(repr, bad))}")
        return v

    def selection_words(self) -> str:
        """The selection in words, as the JSON's `discounts[].lever` says it."""
        parts = [f"{k.replace('_', ' ')} {', '.join(as_list(v))}" for k in SELECTION_FIELDS if (v := getattr(self, k))]
        return "; ".join(parts) or "all customers"

    def selection_key(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(as_list(getattr(self, k))) for k in SELECTION_FIELDS)


class TermsLever(_Lever):
    kind: Literal["terms"]
    days: int = Field(description="change of payment terms in days (may be negative)")


class CollectionsLever(_Lever):
    kind: Literal["collections"]
    reduction: float = Field(ge=0, le=1, description="fraction of positive lateness removed")


class DiscountLever(_Lever):
    kind: Literal["discount"]
    rate: float = Field(ge=0, lt=1, description="discount d, e.g. 0.02")
    within_days: int = Field(ge=0, description="K: paid within K days")
    uptake: float = Field(ge=0, le=1, description="u: share of sales that takes the discount")


class LimitsLever(_Lever):
    kind: Literal["limits"]
    pct: float | None = Field(None, ge=-1, le=1, description="multiply the limit by (1 + pct)")
    value: float | None = Field(None, ge=0, description="set the limit to this amount (base currency)")

    @model_validator(mode="after")
    def _one(self):
        if (self.pct is None) == (self.value is None):
            raise ValueError("give exactly one of 'pct' (a change, -1 to 1) or 'value' (a new limit, >= 0)")
        return self


AnyLever = TermsLever | CollectionsLever | DiscountLever | LimitsLever
Lever = Annotated[AnyLever, Field(discriminator="kind")]
LEVER_MODELS: dict[str, type[AnyLever]] = {"terms": TermsLever, "collections": CollectionsLever, "discount": DiscountLever, "limits": LimitsLever}


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "Scenario"
    levers: list[Lever] = Field(default_factory=list)
    cost_of_capital: float | None = Field(None, ge=0, le=1)


class ScenarioError(ValueError):
    def __init__(self, details: list[str]):
        super().__init__("the scenario cannot be used: " + "; ".join(details))
        self.details = details


ALLOWED = {
    "terms": "days (whole number, may be negative)",
    "collections": "reduction (0 to 1)",
    "discount": "rate (0 to <1), within_days (>= 0), uptake (0 to 1)",
    "limits": "pct (-1 to 1) or value (>= 0)",
}
_SELECT_WORDS = "segment, region, risk_class (the customer master's), computed_risk_class (the risk score's, A-E), customer_ids to select customers"


def parse_scenario(raw: dict | str | bytes) -> Scenario:
    """A Scenario from JSON, or ScenarioError naming lever, field and what is allowed."""
    try:
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except json.JSONDecodeError as exc:
        raise ScenarioError([f"not valid JSON: {exc}"]) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([_error_words(err, data) for err in exc.errors()]) from None


def _error_words(err, data) -> str:
    loc = list(err["loc"])
    where = "scenario"
    if len(loc) >= 2 and loc[0] == "levers" and isinstance(loc[1], int):
        lever = (data.get("levers") or [])[loc[1]] if isinstance(data, dict) else {}
        kind = lever.get("kind") if isinstance(lever, dict) else None
        where = f"lever {loc[1] + 1}" + (f" ({kind})" if kind else "")
        loc = [p for p in loc[2:] if p not in ALLOWED]
    name = ".".join(str(p) for p in loc) if loc else None
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        msg = f"'kind' must be one of {', '.join(ALLOWED)}"
    elif err["type"] == "extra_forbidden":
        msg = "is not a field of this lever" if where != "scenario" else "is not a scenario field"
        kind = where.split("(")[-1].rstrip(")") if "(" in where else None
        if kind in ALLOWED:
            msg += f"; allowed: {ALLOWED[kind]}, and {_SELECT_WORDS}"
    show_input = err["type"] not in ("missing", "extra_forbidden") and "input" in err and not isinstance(err.get("input"), dict)
    return f"{where}: " + (f"'{name}' " if name else "") + msg + (f" (got {err.get('input')!r})" if show_input else "")


def data_hash(engine: Engine) -> str:
    """Kept here for dashboard/cli.py (`scenario.data_hash`); the definition is export.data_hash."""
    from dashboard.whatif.export import data_hash as defined

    return defined(engine)


def load_scenario(path: Path) -> Scenario:
    try:
        return parse_scenario(Path(path).read_bytes())
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot be read ({exc.strerror})"]) from None


# ----------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class Baseline:
    """Per-customer steady state at T (whatif.md "Baseline per customer")."""

    as_of: dt.date
    window_days: int
    dso_standard: float | None  # dso_standard(T) of kpis.md for the whole ledger
    customers: pl.DataFrame  # one row per customer, in customer_key order
    orders: pl.DataFrame  # open orders in release order
    daily_sales: np.ndarray
    terms: np.ndarray
    late: np.ndarray
    dtp: np.ndarray
    ar: np.ndarray
    limit: np.ndarray  # nan = no limit
    open_orders: np.ndarray
    snapshot_id: str
    order_key: np.ndarray  # customer_key of each open order, release order
    order_amount: np.ndarray
    order_running: np.ndarray  # running sum of the customer's orders under the rule up to and including this one
    segment_code: np.ndarray
    segment_names: list[str]
    masks: dict = field(default_factory=dict)  # selection -> boolean mask, filled as levers are used
    # A credit manager's decision on an order in force at T (dashboard/decisions/holds.py, the held orders' rule):
    # RELEASED orders are never blocked and use the customer's headroom first, REJECTED ones are always blocked
    # and use none; UNDER_RULE orders are released in order while they fit in what is left.
    order_decision: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    released_first: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per customer: amount released by decisions
    # the risk score's class per customer (risk.md), computed on first use: a scenario without a
    # computed-class selection (the CLI, the bench) does not pay for the scorecard
    computed_class_source: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    _lazy: dict = field(default_factory=dict, repr=False)

    @property
    def scored(self) -> bool:
        """Whether the computed classes have been scored yet (they are, on the first lever that selects by them)."""
        return "computed_class" in self._lazy

    def computed_classes(self) -> np.ndarray:
        """The computed risk class (A-E, '' = no score) of each customer at T, in customer_key order."""
        if "computed_class" not in self._lazy:
            src = self.computed_class_source
            self._lazy["computed_class"] = src() if src is not None else np.full(self.customers.height, "", dtype=object)
        return self._lazy["computed_class"]


def baseline(engine: Engine, t: dt.date | None = None) -> Baseline:
    t = t or engine.as_of
    p = engine.settings.dso_window_days
    c = queries.run(engine.con, "whatif/baseline", as_of=t, window_days=p).pl()
    orders = queries.run(engine.con, "whatif/orders", as_of=t).pl()
    n = c.height
    ds = np.maximum(c["sales_window"].to_numpy() / p, 0.0)
    terms = np.nan_to_num(c["terms_days"].to_numpy().astype(float), nan=0.0)
    late = c["late_own"].fill_null(c["late_segment"]).fill_null(0.0).to_numpy().astype(float)
    oo = np.zeros(n)
    if orders.height:
        g = orders.group_by("customer_key").agg(pl.col("amount").sum())
        oo[g["customer_key"].to_numpy()] = g["amount"].to_numpy()
    assert (c["customer_key"].to_numpy() == np.arange(n)).all()  # arrays are indexed by customer_key
    seg_names, seg_code = np.unique(c["segment"].to_numpy().astype(str), return_inverse=True)
    decision = _order_decisions(engine, orders, t)
    rule_amount = np.where(decision == UNDER_RULE, orders["amount"].to_numpy(), 0.0) if orders.height else np.zeros(0)
    running = (
        orders.with_columns(rule=pl.Series(rule_amount)).select(pl.col("rule").cum_sum().over("customer_key")).to_series().to_numpy()
        if orders.height
        else np.zeros(0)
    )
    released_first = np.zeros(n)
    if orders.height:
        np.add.at(released_first, orders["customer_key"].to_numpy(), np.where(decision == RELEASED, orders["amount"].to_numpy(), 0.0))
    return Baseline(
        as_of=t,
        window_days=p,
        dso_standard=engine.headline(t, rounded=False)["dso_standard"],
        customers=c,
        orders=orders,
        daily_sales=ds,
        terms=terms,
        late=late,
        dtp=np.maximum(0.0, terms + late),
        ar=c["ar"].to_numpy().astype(float),
        limit=c["credit_limit"].to_numpy().astype(float),
        open_orders=oo,
        snapshot_id=engine.snapshot.id,
        order_key=orders["customer_key"].to_numpy() if orders.height else np.zeros(0, np.int64),
        order_amount=orders["amount"].to_numpy() if orders.height else np.zeros(0),
        order_running=running,
        order_decision=decision,
        released_first=released_first,
        segment_code=seg_code,
        segment_names=list(seg_names),
        computed_class_source=lambda: _computed_classes(engine, t, n),
    )


UNDER_RULE, RELEASED, REJECTED = 0, 1, 2


def _order_decisions(engine: Engine, orders: pl.DataFrame, t: dt.date) -> np.ndarray:
    """Per open order (release order), the decision in force at T: UNDER_RULE, RELEASED or REJECTED (the held
    orders' rule, dashboard/decisions/holds.py decisions_at, on the decisions the engine was opened with)."""
    from dashboard.decisions.apply import order_decisions
    from dashboard.decisions.holds import decisions_at

    out = np.zeros(orders.height, np.int8)
    decided = order_decisions(engine)
    if decided.height == 0 or orders.height == 0:
        return out
    code = decisions_at(decided, t).select(
        "order_id", code=pl.col("decision").replace_strict({"released": RELEASED, "rejected": REJECTED}, default=UNDER_RULE, return_dtype=pl.Int8)
    )
    joined = orders.select("order_id").join(code, on="order_id", how="left", maintain_order="left")
    return joined["code"].fill_null(UNDER_RULE).to_numpy().astype(np.int8)


def _computed_classes(engine: Engine, t: dt.date, n: int) -> np.ndarray:
    """risk.scores()' class of every customer at T (the class the rest of the app shows)."""
    from dashboard.risk.scorecard import scores

    s = scores(engine, t).select("customer_key", "risk_class")
    out = np.full(n, "", dtype=object)
    out[s["customer_key"].to_numpy()] = s["risk_class"].fill_null("").to_numpy()
    return out


# What the limit figures compare (whatif.md "Limits"), said beside them: a terms, collections or discount lever moves
# modelled receivables and cash, never these two figures, and a reader who sees 88 -> 88 should know why.
LIMITS_NOTE = (
    "Customers over limit and blocked orders compare today's exposure (receivables at the as-of date plus open orders) "
    "with the scenario's credit limits: only the credit-limit lever changes them, not terms, collections or discounts."
)

# A selection key of a lever and the baseline column (and the words) it is checked against.
_SELECTED = (("segment", "segment", "segments"), ("region", "region", "regions"), ("risk_class", "risk_class", "risk classes"))


def unknown_selections(b: Baseline, sc: Scenario) -> list[str]:
    """Each lever's selection values that no customer of the snapshot has ('Nope' for a segment), in words naming
    the lever, the value and what exists: a lever that selects nobody would leave the scenario unchanged in silence.

    A risk class of the scale (A-E) is always known: "limits -20 % for D and E" is a standing policy that may
    select nobody today, and that is its answer; a class off the scale and not in the master ('Z') is refused."""
    problems = []
    for i, lv in enumerate(sc.levers, 1):
        for key, col, words in _SELECTED:
            known = set(b.customers[col].drop_nulls().cast(pl.Utf8).to_list()) | (set(COMPUTED_CLASSES) if key == "risk_class" else set())
            if bad := [v for v in as_list(getattr(lv, key)) if v not in known]:
                problems.append(
                    f"lever {i} ({lv.kind}): {key.replace('_', ' ')} {', '.join(map(repr, bad))} is not in this snapshot; "
                    f"its {words}: {', '.join(sorted(known)) or 'none'}"
                )
        ids = as_list(lv.customer_ids)
        if ids and (bad := sorted(set(ids) - set(b.customers.filter(pl.col("customer_id").is_in(ids))["customer_id"].to_list()))):
            shown = ", ".join(map(repr, bad[:10])) + (f" and {len(bad) - 10:,} more" if len(bad) > 10 else "")
            problems.append(f"lever {i} ({lv.kind}): customer id(s) {shown} are not in this snapshot's customers")
    return problems


def _mask(b: Baseline, lever: _Lever) -> np.ndarray:
    sel = lever.selection_key()
    if sel not in b.masks:  # a slider moves the numbers, not the selection: compute each mask once
        b.masks[sel] = _select(b, lever)
    return b.masks[sel]


def _select(b: Baseline, lever: _Lever) -> np.ndarray:
    m = np.ones(b.customers.height, dtype=bool)
    for key, col in (("segment", "segment"), ("region", "region"), ("risk_class", "risk_class"), ("customer_ids", "customer_id")):
        values = as_list(getattr(lever, key))
        if values:
            m &= b.customers[col].is_in(values).fill_null(False).to_numpy()
    if classes := as_list(lever.computed_risk_class):
        m &= np.isin(b.computed_classes(), classes)
    return m


# ----------------------------------------------------------------------------- typed results (the JSON of whatif.md)


class Side(TypedDict):
    """One side (baseline or scenario) of the summary."""

    dso_standard: float | None
    blocked_orders_value: float
    blocked_orders_count: int
    over_limit_customers: int


class MoneyPair(TypedDict):
    baseline: float
    scenario: float


class CountPair(TypedDict):
    baseline: int
    scenario: int


class SegmentRow(TypedDict):
    segment: str
    delta_ar: float
    delta_dso: float | None
    cash_released: float
    discount_cost_per_year: float
    blocked_orders_value: MoneyPair
    blocked_orders_count: CountPair
    over_limit_customers: CountPair


class DiscountRow(TypedDict):
    """A discount lever's annualised rate d / (1 - d) * 365 / (terms - K), terms of its selection."""

    lever: str
    rate: float
    within_days: int
    terms_days: float | None
    annualised_rate: float | None


class Summary(TypedDict):
    name: str
    as_of: str
    baseline: Side
    scenario: Side
    delta_ar: float
    projected_dso: float | None
    cash_released: float
    discount_cost_per_year: float
    financing_effect_per_year: float
    net_effect_per_year: float
    cost_of_capital: float
    exposure_total: float
    exposure_releasable: float
    discounts: list[DiscountRow]
    by_segment: list[SegmentRow]


def _money(x: float) -> float:
    """r2 of a value that is always there (a sum of money)."""
    out = r2(x)
    assert out is not None
    return out


# ----------------------------------------------------------------------------- the model, step by step


@dataclass(frozen=True)
class DaysToPay:
    """The levers' effect on days to pay, per customer (whatif.md "Levers")."""

    terms: np.ndarray  # terms'_c
    after_terms: np.ndarray  # max(0, terms'_c + late_c): terms alone (for the bridge)
    after_collections: np.ndarray  # dtp1_c = max(0, terms'_c + late'_c)
    final: np.ndarray  # dtp'_c, after the discounts
    discount_cost: np.ndarray  # per customer, per year
    discounts: list[DiscountRow]


def days_to_pay(b: Baseline, sc: Scenario) -> DaysToPay:
    """Terms and collections first (combined per customer in order), then the discounts in their order."""
    n = b.daily_sales.size
    terms_add = np.zeros(n)
    late_mult = np.ones(n)
    for lv in sc.levers:
        if isinstance(lv, TermsLever):
            terms_add[_mask(b, lv)] += lv.days
        elif isinstance(lv, CollectionsLever):
            late_mult[_mask(b, lv)] *= 1 - lv.reduction
    terms1 = b.terms + terms_add
    late1 = np.where(b.late > 0, b.late * late_mult, b.late)
    dtp1 = np.maximum(0.0, terms1 + late1)
    dtp, cost, rates = _discounts(b, sc, terms1, dtp1)
    return DaysToPay(terms1, np.maximum(0.0, terms1 + b.late), dtp1, dtp, cost, rates)


def _discounts(b: Baseline, sc: Scenario, terms1: np.ndarray, dtp1: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[DiscountRow]]:
    ds = b.daily_sales
    dtp = dtp1.copy()
    cost = np.zeros(ds.size)
    rates: list[DiscountRow] = []
    for lv in sc.levers:
        if not isinstance(lv, DiscountLever):
            continue
        m = _mask(b, lv)
        u, kd = lv.uptake, lv.within_days
        dtp[m] = u * np.minimum(kd, dtp[m]) + (1 - u) * dtp[m]
        cost[m] += lv.rate * u * ds[m] * 365
        w = ds[m].sum()
        sel_terms = float((terms1[m] * ds[m]).sum() / w) if w > 0 else None
        ann = lv.rate / (1 - lv.rate) * 365 / (sel_terms - kd) if sel_terms is not None and sel_terms - kd > 0 else None
        rates.append({"lever": lv.selection_words(), "rate": lv.rate, "within_days": kd, "terms_days": sel_terms, "annualised_rate": ann})
    return dtp, cost, rates


def new_limits(b: Baseline, sc: Scenario) -> np.ndarray:
    """Limits after the limit levers, in order (changes compound); customers with no limit stay without one."""
    limit = b.limit.copy()
    for lv in sc.levers:
        if isinstance(lv, LimitsLever):
            has = _mask(b, lv) & ~np.isnan(limit)
            limit[has] = limit[has] * (1 + lv.pct) if lv.pct is not None else lv.value
    return limit


def _blocked(b: Baseline, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer (value, count) of orders blocked: released in order while the running sum <= headroom. An order a
    credit manager released is not blocked and uses the headroom first; one rejected is blocked (held orders' rule)."""
    n = b.customers.height
    key = b.order_key
    headroom = limit - b.ar
    decision = b.order_decision if b.order_decision.size == key.size else np.zeros(key.size, np.int8)
    first = b.released_first[key] if b.released_first.size == n else 0.0
    by_rule = (decision == UNDER_RULE) & ~np.isnan(limit[key]) & (b.order_running + first > headroom[key] + 1e-9)
    blocked = by_rule | (decision == REJECTED)
    value = np.bincount(key[blocked], weights=b.order_amount[blocked], minlength=n)
    count = np.bincount(key[blocked], minlength=n)
    return value, count


@dataclass(frozen=True)
class LimitEffects:
    """Blocked orders and over-limit customers, per customer, under the baseline and the new limits."""

    limit: np.ndarray  # the new limits (nan = no limit)
    exposure: np.ndarray  # AR + open orders: unchanged by limits
    blocked_value: tuple[np.ndarray, np.ndarray]  # (baseline, scenario)
    blocked_count: tuple[np.ndarray, np.ndarray]
    over: tuple[np.ndarray, np.ndarray]


def limit_effects(b: Baseline, limit: np.ndarray) -> LimitEffects:
    bv0, bc0 = _blocked(b, b.limit)
    bv1, bc1 = _blocked(b, limit)
    exposure = b.ar + b.open_orders
    return LimitEffects(limit, exposure, (bv0, bv1), (bc0, bc1), (over_limit_np(exposure, b.limit), over_limit_np(exposure, limit)))


STATUS_WORDS = np.array(["", "newly over limit", "back within limit", "newly blocked orders", "orders released"])


def status_codes(lim: LimitEffects) -> np.ndarray:
    """Per customer, the index of its status change in STATUS_WORDS (0 = no change)."""
    (over0, over1), (bc0, bc1) = lim.over, lim.blocked_count
    return np.select([over1 & ~over0, over0 & ~over1, bc1 > bc0, bc1 < bc0], [1, 2, 3, 4], 0)


def per_segment(b: Baseline, delta_c: np.ndarray, discount_cost: np.ndarray, lim: LimitEffects) -> list[SegmentRow]:
    """whatif.md's per-segment table of the deltas (segments in name order)."""

    def total(x: np.ndarray) -> np.ndarray:
        return np.bincount(b.segment_code, weights=x, minlength=len(b.segment_names))

    seg_ds, seg_delta, seg_cost = total(b.daily_sales), total(delta_c), total(discount_cost)
    bv = [total(x) for x in lim.blocked_value]
    bc = [total(x) for x in lim.blocked_count]
    over = [total(x.astype(float)) for x in lim.over]
    return [
        {
            "segment": name,
            "delta_ar": _money(seg_delta[i]),
            "delta_dso": r2(seg_delta[i] / seg_ds[i]) if seg_ds[i] > 0 else None,
            "cash_released": _money(-seg_delta[i]),
            "discount_cost_per_year": _money(seg_cost[i]),
            "blocked_orders_value": {"baseline": _money(bv[0][i]), "scenario": _money(bv[1][i])},
            "blocked_orders_count": {"baseline": int(bc[0][i]), "scenario": int(bc[1][i])},
            "over_limit_customers": {"baseline": int(over[0][i]), "scenario": int(over[1][i])},
        }
        for i, name in enumerate(b.segment_names)
    ]


def _side(dso: float | None, bv: np.ndarray, bc: np.ndarray, over: np.ndarray) -> Side:
    return {"dso_standard": r2(dso), "blocked_orders_value": _money(bv.sum()), "blocked_orders_count": int(bc.sum()), "over_limit_customers": int(over.sum())}


def summary(b: Baseline, sc: Scenario, k: float, dtp: DaysToPay, lim: LimitEffects) -> Summary:
    """The JSON of whatif.md ("Outputs"), rounded to cents and hundredths of a day."""
    ds = b.daily_sales
    total_ds = ds.sum()
    delta_c = ds * (dtp.final - b.dtp)
    delta_ar = float(delta_c.sum())
    projected = None if b.dso_standard is None or total_ds <= 0 else b.dso_standard + delta_ar / total_ds
    cash = -delta_ar
    cost = float(dtp.discount_cost.sum())
    return {
        "name": sc.name,
        "as_of": b.as_of.isoformat(),
        "baseline": _side(b.dso_standard, lim.blocked_value[0], lim.blocked_count[0], lim.over[0]),
        "scenario": _side(projected, lim.blocked_value[1], lim.blocked_count[1], lim.over[1]),
        "delta_ar": _money(delta_ar),
        "projected_dso": r2(projected),
        "cash_released": _money(cash),
        "discount_cost_per_year": _money(cost),
        "financing_effect_per_year": _money(cash * k),
        "net_effect_per_year": _money(cash * k - cost),
        "cost_of_capital": k,
        "exposure_total": _money(lim.exposure.sum()),
        "exposure_releasable": _money(lim.exposure.sum() - lim.blocked_value[1].sum()),
        "discounts": dtp.discounts,
        "by_segment": per_segment(b, delta_c, dtp.discount_cost, lim),
    }


def dso_bridge(b: Baseline, dtp: DaysToPay) -> list[tuple[str, float]]:
    """The DSO change split by lever kind, in the order the model applies them (days, unrounded)."""
    ds = b.daily_sales
    total_ds = ds.sum()

    def dso_delta(new_dtp: np.ndarray) -> float:
        return float((ds * (new_dtp - b.dtp)).sum() / total_ds) if total_ds > 0 else 0.0

    d_terms = dso_delta(dtp.after_terms)
    d_coll = dso_delta(dtp.after_collections) - d_terms
    d_disc = dso_delta(dtp.final) - d_terms - d_coll
    return [("terms", d_terms), ("collections", d_coll), ("discount", d_disc)]


@dataclass(frozen=True)
class Result:
    summary: Summary  # the JSON of whatif.md
    bridge: list[tuple[str, float]]  # DSO bridge: (step, days) from baseline to scenario
    # customers whose status changes, as arrays; frames are built on demand (a limit cut can change
    # 100k customers: a frame of them all costs more than the whole scenario, and a page shows the first rows)
    _b: Baseline = field(repr=False)
    _idx: np.ndarray = field(repr=False)
    _code: np.ndarray = field(repr=False)
    _cols: dict[str, np.ndarray] = field(repr=False)

    @property
    def changes_count(self) -> int:
        return int(self._idx.size)

    def top_changes(self, n: int | None = None) -> pl.DataFrame:
        """The customers whose status changes, largest exposure first (the first n, or all)."""
        idx, code = self._idx, self._code
        exp = self._cols["exposure"][idx]
        if n is not None and idx.size > n:
            keep = np.argpartition(-exp, n - 1)[:n]
            idx, code, exp = idx[keep], code[keep], exp[keep]
        order = np.argsort(-exp, kind="stable")
        idx, code = idx[order], code[order]
        return (
            self._b.customers[idx]
            .select("customer_id", "name", "segment", "region", "risk_class")
            .with_columns(
                status=STATUS_WORDS[code],
                **{k: v[idx] for k, v in self._cols.items()},
            )
            .with_columns(pl.col("credit_limit_baseline", "credit_limit_scenario").fill_nan(None))
        )

    @cached_property
    def changes(self) -> pl.DataFrame:
        return self.top_changes(None)


def run(b: Baseline, sc: Scenario, cost_of_capital: float = 0.08) -> Result:
    """The scenario against the baseline: the summary JSON, the DSO bridge and the status changes."""
    k = sc.cost_of_capital if sc.cost_of_capital is not None else cost_of_capital
    dtp = days_to_pay(b, sc)
    lim = limit_effects(b, new_limits(b, sc))
    code = status_codes(lim)
    idx = np.flatnonzero(code)  # status changes are decided in numpy; a frame is built for those customers only
    cols = {
        "ar": b.ar,
        "open_orders": b.open_orders,
        "exposure": lim.exposure,
        "credit_limit_baseline": b.limit,
        "credit_limit_scenario": lim.limit,
        "blocked_value_baseline": lim.blocked_value[0],
        "blocked_value_scenario": lim.blocked_value[1],
    }
    return Result(summary(b, sc, k, dtp, lim), dso_bridge(b, dtp), b, idx, code[idx], cols)
