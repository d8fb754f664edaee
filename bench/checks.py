"""Same numbers? The product's overview and headline in the baselines' plain form, and a strict
comparison (every key, abs/rel tolerance 1e-6) that lists each difference.

The overview in plain form (what every baseline returns):
  headline, prior:  the Headline JSON of kpis.md, unrounded (at T and at the prior month-end)
  trend:            13 dicts {date, ar, ar_overdue, dso_standard, dso_countback, bpdso, cei, adp}
  top_overdue:      [(customer_id, ar_overdue)] of the 10 customers with most overdue (> 0)
  aging:            {(segment, region, bucket index): open amount} at T
"""

from __future__ import annotations

import math

TOL = 1e-6
TREND_KEYS = ("ar", "ar_overdue", "dso_standard", "dso_countback", "bpdso", "cei", "adp")


def product_overview(ov) -> dict:
    """dashboard.metrics.kpis.Overview -> the plain form."""
    aging: dict = {}
    for r in ov.aging.iter_rows(named=True):
        k = (r["segment"], r["region"], int(r["bucket"]))
        aging[k] = aging.get(k, 0.0) + r["ar"]
    return {
        "headline": ov.headline,
        "prior": ov.prior,
        "trend": ov.trend.to_dicts(),
        "top_overdue": list(zip(ov.top_overdue["customer_id"].to_list(), ov.top_overdue["ar_overdue"].to_list())),
        "aging": aging,
    }


def close(a, b, tol: float = TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return False
    d = abs(a - b)
    return d <= tol or d <= tol * max(abs(a), abs(b))


def diff_headline(a: dict, b: dict, where: str = "") -> list[str]:
    """Every key of kpis.md's Headline JSON; by_segment matched by segment."""
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, "MISSING"), b.get(k, "MISSING")
        if k == "by_segment":
            sa = {r["segment"]: r for r in va or []}
            sb = {r["segment"]: r for r in vb or []}
            if sa.keys() != sb.keys():
                out.append(f"{where}by_segment segments: {sorted(sa)} vs {sorted(sb)}")
            for s in sorted(sa.keys() & sb.keys()):
                out += diff_headline(sa[s], sb[s], f"{where}by_segment[{s}].")
        elif isinstance(va, dict) or isinstance(vb, dict):
            out += diff_headline(va if isinstance(va, dict) else {}, vb if isinstance(vb, dict) else {}, f"{where}{k}.")
        elif not close(va, vb):
            out.append(f"{where}{k}: {va!r} vs {vb!r}")
    return out


def diff_overview(a: dict, b: dict) -> list[str]:
    out = diff_headline(a["headline"], b["headline"], "headline.")
    out += diff_headline(a["prior"], b["prior"], "prior.")
    if len(a["trend"]) != len(b["trend"]):
        out.append(f"trend: {len(a['trend'])} points vs {len(b['trend'])}")
    for pa, pb in zip(a["trend"], b["trend"]):
        if str(pa["date"]) != str(pb["date"]):
            out.append(f"trend date {pa['date']} vs {pb['date']}")
            continue
        out += [f"trend[{pa['date']}].{k}: {pa[k]!r} vs {pb[k]!r}" for k in TREND_KEYS if not close(pa[k], pb[k])]
    ta, tb = a["top_overdue"], b["top_overdue"]
    if len(ta) != len(tb):
        out.append(f"top_overdue: {len(ta)} customers vs {len(tb)}")
    for i, ((ca, va), (cb, vb)) in enumerate(zip(ta, tb)):
        # equal amounts may come in either order: the amounts must agree rank by rank, the ids where amounts differ
        if not close(va, vb):
            out.append(f"top_overdue[{i}]: {ca} {va!r} vs {cb} {vb!r}")
        elif ca != cb and not any(close(va, v) and c == ca for c, v in tb):
            out.append(f"top_overdue[{i}]: {ca} vs {cb} ({va!r})")
    scale = max((abs(v) for v in a["aging"].values()), default=0.0)
    for k in sorted(set(a["aging"]) | set(b["aging"])):
        va, vb = a["aging"].get(k), b["aging"].get(k)
        if va is not None and vb is not None:
            ok = close(va, vb)
        else:  # absent on one side (nothing open there): the other may hold +x - x, 1e-9 of the largest cell at most
            ok = abs(va if vb is None else vb) <= TOL * 1e-3 * scale
        if not ok:
            out.append(f"aging{k}: {va!r} vs {vb!r}")
    return out


def diff_json(a: dict, b: dict) -> list[str]:
    """Two rounded Headline JSONs (fresh processes)."""
    return diff_headline(a, b)
