"""The what-if studio's widgets and the scenario they stand for, both ways (no Streamlit here).

The page keeps one value per widget in its session state, under the keys below. This module
turns those values into a Scenario (`scenario_from_widgets`) and a saved Scenario back into
values (`widgets_from_scenario`), so what the page shows, saves and runs is tested here.

Every number a widget can take comes from the lever models' bounds in model.py (whatif.md's
ranges, pydantic `ge`/`le`/`lt`): a slider covers the spec's range, or a usual part of it when
the spec's range is too wide to drag (terms, the discount rate), and each lever card can switch
to typed values, whose inputs take the spec's whole range. A saved lever that the widgets
cannot show exactly (a second lever of a kind, more decimals than the inputs take) is kept and
applied as saved, and said so: loading a scenario never changes its results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt

from dashboard.whatif.model import (
    LEVER_MODELS,
    SELECTION_FIELDS,
    AnyLever,
    CollectionsLever,
    LimitsLever,
    Scenario,
    ScenarioError,
    TermsLever,
    as_list,
    parse_scenario,
)

KINDS = ("terms", "collections", "discount", "limits")
PREFIX = {"terms": "wi_terms", "collections": "wi_coll", "discount": "wi_disc", "limits": "wi_lim"}
TITLE = {"terms": "Payment terms", "collections": "Collections effort", "discount": "Early-payment discount", "limits": "Credit limits"}
LIMIT_MODES = ("Change by a share", "Set to an amount")
NAME_KEY = "wi_name"
EXTRA_KEY = "wi_extra_levers"  # levers kept as saved (JSON dicts), applied after the cards' levers
COST_KEY = "wi_cost_of_capital"  # the saved scenario's cost of capital (None: the settings')
LIMIT_MODE_KEY = "wi_lim_mode"


@dataclass(frozen=True)
class Bounds:
    """A lever field's allowed range, in the lever's units (None = unbounded)."""

    lo: float | None
    hi: float | None
    hi_open: bool = False  # the upper bound itself is not allowed (discount rate < 1)


def spec_bounds(kind: str, name: str) -> Bounds:
    """The bounds of a lever field, read from its pydantic model (the one place they are written)."""
    lo = hi = None
    hi_open = False
    for m in LEVER_MODELS[kind].model_fields[name].metadata:
        if isinstance(m, Ge | Gt):
            lo = float(m.ge if isinstance(m, Ge) else m.gt)  # type: ignore[arg-type]
        elif isinstance(m, Le):
            hi = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, Lt):
            hi, hi_open = float(m.lt), True  # type: ignore[arg-type]
    return Bounds(lo, hi, hi_open)


@dataclass(frozen=True)
class Control:
    """One number of a lever card: a slider (with typed input on demand) or a number input."""

    kind: str  # lever kind
    name: str  # lever field
    key: str  # session-state key of the slider (or of the number input when there is no slider)
    label: str
    scale: int = 1  # widget units per lever unit: 100 for a share shown in %
    step: float = 1  # the slider's step and the typed input's
    integer: bool = False  # the lever field is a whole number
    usual: tuple[float, float] | None = None  # the slider's range when narrower than the spec's
    slider: bool = True
    int_slider: bool = False  # the slider moves in whole numbers (of %): it takes ints, its typed input floats
    decimals: int = 2  # what a typed input shows and takes (widget units)
    default: float = 0

    @property
    def typed_key(self) -> str:
        return f"{self.key}_n" if self.slider else self.key

    @property
    def bounds(self) -> Bounds:
        return spec_bounds(self.kind, self.name)

    @property
    def whole(self) -> bool:
        """The slider's values are whole numbers."""
        return self.integer or self.int_slider

    def slider_range(self) -> tuple[float, float]:
        if self.usual is not None:
            return self.usual
        b = self.bounds
        assert b.lo is not None and b.hi is not None, f"{self.name}: an unbounded field needs a usual range for its slider"
        return (b.lo * self.scale, b.hi * self.scale)

    def typed_range(self) -> tuple[float | None, float | None]:
        """The typed input's min and max: the spec's bounds in widget units (an open bound one step of the input inside)."""
        b = self.bounds
        lo = None if b.lo is None else b.lo * self.scale
        hi = None if b.hi is None else b.hi * self.scale - (10**-self.decimals if b.hi_open else 0)
        return lo, hi

    def to_widget(self, v: float) -> float:
        w = round(v * self.scale, 10) + 0.0
        return int(w) if self.integer else w

    def to_lever(self, w: float) -> float:
        return int(w) if self.integer else round(w / self.scale, 12) + 0.0

    def fits_slider(self, w: float) -> bool:
        lo, hi = self.slider_range()
        steps = (w - lo) / self.step
        return lo <= w <= hi and math.isclose(steps, round(steps), abs_tol=1e-9) and (not self.whole or float(w).is_integer())

    def fits_typed(self, w: float) -> bool:
        lo, hi = self.typed_range()
        return (lo is None or w >= lo) and (hi is None or w <= hi) and round(w, 0 if self.integer else self.decimals) == w

    def on_slider(self, w: float) -> float:
        """The slider position nearest to w (clamped to the slider's range, on its steps)."""
        lo, hi = self.slider_range()
        snapped = min(hi, max(lo, lo + round((w - lo) / self.step) * self.step))
        return int(round(snapped)) if self.whole else round(snapped, 10)

    def widget_value(self, w: float, typed: bool) -> float:
        """w as the Python type its widget takes (Streamlit wants int or float, as its min and max)."""
        if self.integer or (self.whole and not typed):
            return int(w)
        return float(w)

    @property
    def default_value(self) -> float:
        return self.widget_value(self.default, typed=not self.slider)


TERMS_DAYS = Control("terms", "days", "wi_terms_days", "Change in terms (days)", integer=True, usual=(-30, 60), decimals=0)
COLL_PCT = Control("collections", "reduction", "wi_coll_pct", "Cut in days late (%)", scale=100, step=5, int_slider=True)
DISC_RATE = Control("discount", "rate", "wi_disc_rate", "Discount (%)", scale=100, step=0.25, usual=(0.0, 5.0))
DISC_DAYS = Control("discount", "within_days", "wi_disc_days", "If paid within (days)", integer=True, slider=False, decimals=0, default=10)
DISC_UPTAKE = Control("discount", "uptake", "wi_disc_uptake", "Share of sales taking it (%)", scale=100, step=5, int_slider=True)
LIM_PCT = Control("limits", "pct", "wi_lim_pct", "Change in limits (%)", scale=100, step=5, int_slider=True)
LIM_VALUE = Control("limits", "value", "wi_lim_value", "New limit ({cur})", step=1000, slider=False)
CONTROLS = {"terms": (TERMS_DAYS,), "collections": (COLL_PCT,), "discount": (DISC_RATE, DISC_DAYS, DISC_UPTAKE), "limits": (LIM_PCT, LIM_VALUE)}


def typed_key(kind: str) -> str:
    """The card's toggle: its sliders replaced by typed inputs."""
    return f"{PREFIX[kind]}_typed"


def selection_key(kind: str, name: str) -> str:
    return f"{PREFIX[kind]}_{name}"


def defaults() -> dict[str, Any]:
    """Every widget's value before anything is moved: no lever, all customers."""
    out: dict[str, Any] = {NAME_KEY: "My scenario", EXTRA_KEY: [], COST_KEY: None, LIMIT_MODE_KEY: LIMIT_MODES[0]}
    for kind in KINDS:
        out[typed_key(kind)] = False
        for c in CONTROLS[kind]:
            out[c.key] = c.default_value
            out[c.typed_key] = c.widget_value(c.default, typed=True)
        for name in SELECTION_FIELDS:
            out[selection_key(kind, name)] = "" if name == "customer_ids" else []
    return out


# ----------------------------------------------------------------------------- widgets -> scenario


def value(state: Mapping[str, Any], c: Control) -> float:
    """A control's value in widget units, from the widget the card shows (slider or typed)."""
    typed = not c.slider or bool(state.get(typed_key(c.kind)))
    v = state.get(c.typed_key if typed else c.key)
    return c.default if v is None else v


def selection(state: Mapping[str, Any], kind: str) -> dict[str, list[str]]:
    """The card's 'Applies to' values (empty = all customers)."""
    out = {}
    for name in SELECTION_FIELDS:
        v = state.get(selection_key(kind, name))
        values = [x.strip() for x in (v or "").split(",") if x.strip()] if name == "customer_ids" else list(v or [])
        if values:
            out[name] = values
    return out


def card_lever(state: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    """The lever a card stands for, or None when it is at rest (changes nothing)."""
    sel = selection(state, kind)
    if kind == "terms":
        days = TERMS_DAYS.to_lever(value(state, TERMS_DAYS))
        return {"kind": "terms", "days": days, **sel} if days else None
    if kind == "collections":
        r = COLL_PCT.to_lever(value(state, COLL_PCT))
        return {"kind": "collections", "reduction": r, **sel} if r else None
    if kind == "discount":
        rate, uptake = DISC_RATE.to_lever(value(state, DISC_RATE)), DISC_UPTAKE.to_lever(value(state, DISC_UPTAKE))
        if not (rate and uptake):
            return None
        return {"kind": "discount", "rate": rate, "within_days": DISC_DAYS.to_lever(value(state, DISC_DAYS)), "uptake": uptake, **sel}
    if state.get(LIMIT_MODE_KEY) == LIMIT_MODES[1]:
        return {"kind": "limits", "value": LIM_VALUE.to_lever(value(state, LIM_VALUE)), **sel}
    pct = LIM_PCT.to_lever(value(state, LIM_PCT))
    return {"kind": "limits", "pct": pct, **sel} if pct else None


def scenario_from_widgets(state: Mapping[str, Any]) -> Scenario:
    """The scenario the page shows: one lever per card, then the levers kept as saved (ScenarioError if invalid)."""
    levers = [lv for kind in KINDS if (lv := card_lever(state, kind)) is not None]
    raw: dict[str, Any] = {"name": state.get(NAME_KEY) or "Scenario", "levers": levers + list(state.get(EXTRA_KEY) or [])}
    if state.get(COST_KEY) is not None:
        raw["cost_of_capital"] = state[COST_KEY]
    return parse_scenario(raw)


# ----------------------------------------------------------------------------- scenario -> widgets


@dataclass(frozen=True)
class Loaded:
    state: dict[str, Any]  # every widget's value (write all of it into the session state)
    notes: list[str]  # what the page must say: typed values, levers kept as saved, levers left out


def _normal(lv: AnyLever | dict[str, Any]) -> dict[str, Any]:
    """A lever as a comparable dict: selection values as lists, no empty fields."""
    d = lv.model_dump(exclude_none=True) if not isinstance(lv, dict) else parse_scenario({"levers": [lv]}).levers[0].model_dump(exclude_none=True)
    return {k: (as_list(v) if k in SELECTION_FIELDS else v) for k, v in d.items() if not (k in SELECTION_FIELDS and not as_list(v))}


def _changes_nothing(lv: AnyLever) -> bool:
    if isinstance(lv, TermsLever):
        return lv.days == 0
    if isinstance(lv, CollectionsLever):
        return lv.reduction == 0
    return isinstance(lv, LimitsLever) and lv.pct == 0


def _card_state(lv: AnyLever) -> tuple[dict[str, Any], list[str]] | None:
    """The widget values of a lever's card, or None when the card cannot show it exactly."""
    kind = lv.kind
    state: dict[str, Any] = {}
    controls = list(CONTROLS[kind])
    if isinstance(lv, LimitsLever):
        state[LIMIT_MODE_KEY] = LIMIT_MODES[0] if lv.pct is not None else LIMIT_MODES[1]
        controls = [LIM_PCT] if lv.pct is not None else [LIM_VALUE]
    values = {c: c.to_widget(getattr(lv, c.name)) for c in controls}
    typed = not all(c.fits_slider(w) for c, w in values.items() if c.slider)
    if not all(c.fits_typed(w) for c, w in values.items() if typed or not c.slider):
        return None
    notes = []
    state[typed_key(kind)] = typed
    for c, w in values.items():
        state[c.typed_key] = c.widget_value(w, typed=True)
        if c.slider:
            state[c.key] = c.widget_value(c.on_slider(w), typed=False)
            if typed:
                lo, hi = c.slider_range()
                if not c.fits_slider(w):
                    notes.append(
                        f"{TITLE[kind]}: {c.label} {w:g} is not on the slider ({lo:g} to {hi:g} in steps of {c.step:g}), so this card's values are typed in."
                    )
    for name in SELECTION_FIELDS:
        values_ = as_list(getattr(lv, name))
        if name == "customer_ids" and any("," in x or x != x.strip() or not x for x in values_):
            return None
        state[selection_key(kind, name)] = ", ".join(values_) if name == "customer_ids" else values_
    try:
        back = card_lever(defaults() | state, kind)
        if back is None or _normal(back) != _normal(lv):
            return None
    except ScenarioError:
        return None
    return state, notes


def widgets_from_scenario(sc: Scenario, currency: str = "USD") -> Loaded:
    """The widget values that stand for a saved scenario: the first lever of each kind in its card,
    the others kept as saved (applied after the cards' levers, so each kind keeps its order)."""
    from dashboard.whatif.tables import lever_in_words

    state = defaults()
    state[NAME_KEY] = sc.name
    state[COST_KEY] = sc.cost_of_capital
    notes: list[str] = []
    extras: list[dict[str, Any]] = []
    open_cards = set(KINDS)  # a kind whose card is taken, or has a lever kept as saved, takes no later lever of it
    for i, lv in enumerate(sc.levers, 1):
        words = lever_in_words(lv, currency)
        if _changes_nothing(lv):
            notes.append(f"Lever {i} ({words}) changes nothing and is left out.")
            continue
        card = _card_state(lv) if lv.kind in open_cards else None
        why = "the studio's inputs cannot show it exactly" if lv.kind in open_cards else "the studio shows one lever of each kind"
        open_cards.discard(lv.kind)
        if card is not None:
            state.update(card[0])
            notes.extend(card[1])
        else:
            extras.append({"kind": lv.kind} | lv.model_dump(exclude_none=True))
            notes.append(f"Lever {i} ({words}) is applied as saved but cannot be changed here: {why}.")
    state[EXTRA_KEY] = extras
    return Loaded(state, notes)


def switch_typed(state: Mapping[str, Any], kind: str) -> tuple[dict[str, Any], list[str]]:
    """Values to write when a card's 'type exact values' toggle has just changed (state holds the new
    toggle): typed inputs start from the sliders; sliders take the nearest position, said when it moves."""
    updates: dict[str, Any] = {}
    notes = []
    typed = bool(state.get(typed_key(kind)))
    for c in CONTROLS[kind]:
        if not c.slider:
            continue
        if typed:
            updates[c.typed_key] = c.widget_value(state.get(c.key, c.default_value), typed=True)
        else:
            w = state.get(c.typed_key, c.default)
            pos = c.on_slider(w)
            updates[c.key] = c.widget_value(pos, typed=False)
            if pos != w:
                notes.append(f"{c.label} {w:g} is not on the slider: set to {pos:g}.")
    return updates, notes
