"""What-if scenarios (../shared/spec/whatif.md): levers over a per-customer baseline.

The baseline (one row per customer) is computed once per snapshot and
as-of date by `queries/whatif_baseline.sql`; a scenario is then numpy
arithmetic over those rows, so a slider moves in milliseconds even at
10M documents. Scenario files are JSON, validated with messages that name
the lever, the field and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dashboard.metrics.kpis import Engine, r2
from dashboard.store import sql as queries

OneOrMany = str | list[str] | None


class _Lever(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment: OneOrMany = None
    region: OneOrMany = None
    risk_class: OneOrMany = None
    customer_ids: OneOrMany = None

    def selection_words(self) -> str:
        parts = [f"{k.replace('_', ' ')} {', '.join(_as_list(v))}" for k in ("segment", "region", "risk_class", "customer_ids") if (v := getattr(self, k))]
        return "; ".join(parts) or "all customers"


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


Lever = Annotated[TermsLever | CollectionsLever | DiscountLever | LimitsLever, Field(discriminator="kind")]


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


def parse_scenario(raw: dict | str | bytes) -> Scenario:
    """A Scenario from JSON, or ScenarioError naming lever, field and what is allowed."""
    try:
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except json.JSONDecodeError as exc:
        raise ScenarioError([f"not valid JSON: {exc}"]) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        details = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = "scenario"
            if len(loc) >= 2 and loc[0] == "levers" and isinstance(loc[1], int):
                lever = (data.get("levers") or [])[loc[1]] if isinstance(data, dict) else {}
                kind = lever.get("kind") if isinstance(lever, dict) else None
                where = f"lever {loc[1] + 1}" + (f" ({kind})" if kind else "")
                loc = [p for p in loc[2:] if p not in ALLOWED]
            field = ".".join(str(p) for p in loc) if loc else None
            msg = err["msg"]
            if err["type"] == "union_tag_invalid" or err["type"] == "union_tag_not_found":
                msg = f"'kind' must be one of {', '.join(ALLOWED)}"
            elif err["type"] == "extra_forbidden":
                msg = "is not a field of this lever" if where != "scenario" else "is not a scenario field"
                kind = where.split("(")[-1].rstrip(")") if "(" in where else None
                if kind in ALLOWED:
                    msg += f"; allowed: {ALLOWED[kind]}, and segment, region, risk_class, customer_ids to select customers"
            details.append(
                f"{where}: "
                + (f"'{field}' " if field else "")
                + f"{msg}"
                + (
                    f" (got {err.get('input')!r})"
                    if err["type"] not in ("missing", "extra_forbidden") and "input" in err and not isinstance(err.get("input"), dict)
                    else ""
                )
            )
        raise ScenarioError(details) from None


def load_scenario(path: Path) -> Scenario:
    try:
        return parse_scenario(Path(path).read_bytes())
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot be read ({exc.strerror})"]) from None


def _as_list(v: OneOrMany) -> list[str]:
    return [] if v is None else [v] if isinstance(v, str) else list(v)


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
    order_running: np.ndarray  # running sum of the customer's orders up to and including this one
    segment_code: np.ndarray
    segment_names: list[str]
    masks: dict  # selection -> boolean mask, filled as levers are used


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
    running = orders.select(pl.col("amount").cum_sum().over("customer_key")).to_series().to_numpy() if orders.height else np.zeros(0)
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
        segment_code=seg_code,
        segment_names=list(seg_names),
        masks={},
    )


def _mask(b: Baseline, lever: _Lever) -> np.ndarray:
    sel = tuple(tuple(_as_list(getattr(lever, k))) for k in ("segment", "region", "risk_class", "customer_ids"))
    if sel not in b.masks:  # a slider moves the numbers, not the selection: compute each mask once
        b.masks[sel] = _select(b, lever)
    return b.masks[sel]


def _select(b: Baseline, lever: _Lever) -> np.ndarray:
    m = np.ones(b.customers.height, dtype=bool)
    for key, col in (("segment", "segment"), ("region", "region"), ("risk_class", "risk_class"), ("customer_ids", "customer_id")):
        values = _as_list(getattr(lever, key))
        if values:
            m &= b.customers[col].is_in(values).fill_null(False).to_numpy()
    return m


def _blocked(b: Baseline, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer (value, count) of orders blocked: released in order while the running sum <= headroom."""
    n = b.customers.height
    key = b.order_key
    headroom = limit - b.ar
    blocked = ~np.isnan(limit[key]) & (b.order_running > headroom[key] + 1e-9)
    value = np.bincount(key[blocked], weights=b.order_amount[blocked], minlength=n)
    count = np.bincount(key[blocked], minlength=n)
    return value, count


STATUS_WORDS = np.array(["", "newly over limit", "back within limit", "newly blocked orders", "orders released"])


@dataclass(frozen=True)
class Result:
    summary: dict  # the JSON of whatif.md
    bridge: list[tuple[str, float]]  # DSO bridge: (step, days) from baseline to scenario
    # customers whose status changes, as arrays; frames are built on demand (a limit cut can change
    # 100k customers: a frame of them all costs more than the whole scenario, and a page shows the first rows)
    _b: Baseline = field(repr=False)
    _idx: np.ndarray = field(repr=False)
    _code: np.ndarray = field(repr=False)
    _cols: dict = field(repr=False)

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
    k = sc.cost_of_capital if sc.cost_of_capital is not None else cost_of_capital
    ds = b.daily_sales
    n = ds.size
    terms_add = np.zeros(n)
    late_mult = np.ones(n)
    limit = b.limit.copy()
    for lv in sc.levers:
        m = _mask(b, lv)
        if isinstance(lv, TermsLever):
            terms_add[m] += lv.days
        elif isinstance(lv, CollectionsLever):
            late_mult[m] *= 1 - lv.reduction
        elif isinstance(lv, LimitsLever):
            has = m & ~np.isnan(limit)  # customers with no limit stay without one
            limit[has] = limit[has] * (1 + lv.pct) if lv.pct is not None else lv.value
    terms1 = b.terms + terms_add
    late1 = np.where(b.late > 0, b.late * late_mult, b.late)
    dtp1 = np.maximum(0.0, terms1 + late1)
    # the bridge splits the DSO change by lever kind, in the order the model applies them
    dtp_terms = np.maximum(0.0, terms1 + b.late)
    dtp = dtp1.copy()
    discount_cost = np.zeros(n)
    rates = []
    for lv in sc.levers:  # discounts act after terms and collections, in their own order
        if isinstance(lv, DiscountLever):
            m = _mask(b, lv)
            u, kd = lv.uptake, lv.within_days
            dtp[m] = u * np.minimum(kd, dtp[m]) + (1 - u) * dtp[m]
            discount_cost[m] += lv.rate * u * ds[m] * 365
            w = ds[m].sum()
            sel_terms = float((terms1[m] * ds[m]).sum() / w) if w > 0 else None
            ann = lv.rate / (1 - lv.rate) * 365 / (sel_terms - kd) if sel_terms is not None and sel_terms - kd > 0 else None
            rates.append({"lever": lv.selection_words(), "rate": lv.rate, "within_days": kd, "terms_days": sel_terms, "annualised_rate": ann})
    total_ds = ds.sum()

    def dso_delta(new_dtp):
        return float((ds * (new_dtp - b.dtp)).sum() / total_ds) if total_ds > 0 else 0.0

    delta_c = ds * (dtp - b.dtp)
    delta_ar = float(delta_c.sum())
    projected = None if b.dso_standard is None or total_ds <= 0 else b.dso_standard + delta_ar / total_ds
    cash = -delta_ar
    cost = float(discount_cost.sum())
    bv0, bc0 = _blocked(b, b.limit)
    bv1, bc1 = _blocked(b, limit)
    exposure = b.ar + b.open_orders
    over0 = ~np.isnan(b.limit) & (exposure > np.nan_to_num(b.limit, nan=np.inf))
    over1 = ~np.isnan(limit) & (exposure > np.nan_to_num(limit, nan=np.inf))

    # status changes, decided in numpy; a frame is built for those customers only
    code = np.select(
        [over1 & ~over0, over0 & ~over1, bc1 > bc0, bc1 < bc0],
        [1, 2, 3, 4],
        0,
    )
    idx = np.flatnonzero(code)
    cols = {
        "ar": b.ar,
        "open_orders": b.open_orders,
        "exposure": exposure,
        "credit_limit_baseline": b.limit,
        "credit_limit_scenario": limit,
        "blocked_value_baseline": bv0,
        "blocked_value_scenario": bv1,
    }

    def per_segment(x):
        return np.bincount(b.segment_code, weights=x, minlength=len(b.segment_names))

    seg_ds, seg_delta, seg_cost = per_segment(ds), per_segment(delta_c), per_segment(discount_cost)
    seg_bv0, seg_bv1, seg_bc0, seg_bc1 = per_segment(bv0), per_segment(bv1), per_segment(bc0), per_segment(bc1)
    seg_o0, seg_o1 = per_segment(over0.astype(float)), per_segment(over1.astype(float))
    segments = [
        {
            "segment": name,
            "delta_ar": r2(seg_delta[i]),
            "delta_dso": r2(seg_delta[i] / seg_ds[i]) if seg_ds[i] > 0 else None,
            "cash_released": r2(-seg_delta[i]),
            "discount_cost_per_year": r2(seg_cost[i]),
            "blocked_orders_value": {"baseline": r2(seg_bv0[i]), "scenario": r2(seg_bv1[i])},
            "blocked_orders_count": {"baseline": int(seg_bc0[i]), "scenario": int(seg_bc1[i])},
            "over_limit_customers": {"baseline": int(seg_o0[i]), "scenario": int(seg_o1[i])},
        }
        for i, name in enumerate(b.segment_names)
    ]

    def side(dso, bv, bc, over):
        return {"dso_standard": r2(dso), "blocked_orders_value": r2(bv.sum()), "blocked_orders_count": int(bc.sum()), "over_limit_customers": int(over.sum())}

    summary = {
        "name": sc.name,
        "as_of": b.as_of.isoformat(),
        "baseline": side(b.dso_standard, bv0, bc0, over0),
        "scenario": side(projected, bv1, bc1, over1),
        "delta_ar": r2(delta_ar),
        "projected_dso": r2(projected),
        "cash_released": r2(cash),
        "discount_cost_per_year": r2(cost),
        "financing_effect_per_year": r2(cash * k),
        "net_effect_per_year": r2(cash * k - cost),
        "cost_of_capital": k,
        "exposure_total": r2(exposure.sum()),
        "exposure_releasable": r2(exposure.sum() - bv1.sum()),
        "discounts": rates,
        "by_segment": segments,
    }
    d_terms = dso_delta(dtp_terms)
    d_coll = dso_delta(dtp1) - d_terms
    d_disc = dso_delta(dtp) - d_terms - d_coll
    bridge = [("terms", d_terms), ("collections", d_coll), ("discount", d_disc)]
    return Result(summary, bridge, b, idx, code[idx], cols)


def data_hash(engine: Engine) -> str:
    """sha256 over the snapshot's source files' hashes: which data a scenario ran on."""
    h = hashlib.sha256()
    for f in engine.snapshot.manifest["source_files"]:
        h.update(f"{f['name']}:{f['sha256']}\n".encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- saved scenarios


def _slug(name: str) -> str:
    """A file name from a scenario name: never a path (no '/', '..' or hidden files)."""
    s = "".join(ch if ch.isalnum() or ch in "-_ " else "-" for ch in name.strip()).strip().replace(" ", "_")
    return (s.lstrip("._-") or "scenario")[:80]


def scenario_dir(data_root: Path) -> Path:
    return Path(data_root) / "scenarios"


def save_scenario(data_root: Path, sc: Scenario) -> Path:
    d = scenario_dir(data_root)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{_slug(sc.name)}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(sc.model_dump_json(indent=2, exclude_none=True), encoding="utf-8")
    tmp.replace(path)
    return path


def list_scenarios(data_root: Path) -> dict[str, Path]:
    d = scenario_dir(data_root)
    out = {}
    for p in sorted(d.glob("*.json")) if d.exists() else []:
        try:
            out[load_scenario(p).name] = p
        except ScenarioError:
            continue  # a hand-edited file that no longer validates is not offered
    return out


def delete_scenario(data_root: Path, name: str) -> None:
    path = list_scenarios(data_root).get(name)
    if path:
        path.unlink()


def export_record(engine: Engine, sc: Scenario, res: Result) -> dict:
    """What a decision needs to be audited later: the scenario, its results, and the data it ran on."""
    return {
        "scenario": json.loads(sc.model_dump_json(exclude_none=True)),
        "results": res.summary,
        "bridge_days": dict(res.bridge),
        "snapshot": engine.snapshot.id,
        "snapshot_as_of": engine.snapshot.manifest["as_of"],
        "data_sha256": data_hash(engine),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def export_excel(record: dict, res: Result) -> bytes:
    import io

    import xlsxwriter

    from dashboard.present.exports import defuse

    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False}) as wb:
        ws = wb.add_worksheet("summary")
        rows = [
            ("scenario", record["scenario"].get("name", "")),
            ("snapshot", record["snapshot"]),
            ("snapshot as of", record["snapshot_as_of"]),
            ("data sha256", record["data_sha256"]),
            ("exported at", record["exported_at"]),
            ("as of", record["results"]["as_of"]),
        ]
        r = record["results"]
        for k in ("dso_standard", "blocked_orders_value", "blocked_orders_count", "over_limit_customers"):
            rows.append((f"{k} (baseline)", r["baseline"][k]))
            rows.append((f"{k} (scenario)", r["scenario"][k]))
        for k in ("delta_ar", "cash_released", "discount_cost_per_year", "financing_effect_per_year", "net_effect_per_year", "cost_of_capital"):
            rows.append((k, r[k]))
        for i, lv in enumerate(record["scenario"].get("levers", []), 1):
            rows.append((f"lever {i}", json.dumps(lv)))
        for i, (k, v) in enumerate(rows):
            ws.write_string(i, 0, str(k))
            if isinstance(v, (int, float)) and v is not None:
                ws.write_number(i, 1, v)
            else:
                ws.write_string(i, 1, "" if v is None else str(v))
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 70)
        seg = pl.DataFrame(
            [
                {
                    "segment": x["segment"],
                    "delta_ar": x["delta_ar"],
                    "delta_dso": x["delta_dso"],
                    "cash_released": x["cash_released"],
                    "discount_cost_per_year": x["discount_cost_per_year"],
                    "blocked_value_baseline": x["blocked_orders_value"]["baseline"],
                    "blocked_value_scenario": x["blocked_orders_value"]["scenario"],
                }
                for x in r["by_segment"]
            ]
        )
        for name, df in (("by_segment", seg), ("status_changes", res.changes)):
            sheet = wb.add_worksheet(name)
            df = defuse(df)
            for j, col in enumerate(df.columns):
                sheet.write_string(0, j, col)
                for i, v in enumerate(df[col].to_list(), 1):
                    if v is None:
                        continue
                    if isinstance(v, (int, float)):
                        sheet.write_number(i, j, v)
                    else:
                        sheet.write_string(i, j, str(v))
    return buf.getvalue()
