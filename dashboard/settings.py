"""What a finance team tunes, in one TOML file with documented defaults.

The file is `<data dir>/settings.toml` (or the path in `O2C_SETTINGS`).
Every key is optional; unknown keys are refused so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dashboard import settings_core as core
from dashboard.settings_core import SettingsError, settings_path

__all__ = ["ROLE_NAMES", "Settings", "SettingsError", "defaults", "load_settings", "settings_path"]


# --- [forecast] and [provisions] (forecast.md, provisions.md) -------------------------------------------------


class ForecastSettings(BaseModel):
    """The 13-week cash-in forecast and its backtest (the [forecast] table)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    min_history: int = Field(5, ge=1, description="A customer's own settled documents older than the open one needed to use its history.")
    segment_min_history: int = Field(20, ge=1, description="The same for the segment's history, before falling back to all customers'.")
    backtest_points: int = Field(6, ge=1, le=36, description="Month-ends with 13 weeks of hindsight the backtest forecasts from.")
    age_edges: tuple[int, ...] = Field((30, 60, 90, 180), description="Days since the invoice date that band the forecast's stacks (0-30, 31-60, ...).")

    @field_validator("age_edges")
    @classmethod
    def _age_edges(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or v[0] <= 0 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("must be strictly increasing days above 0, e.g. [30, 60, 90, 180]")
        return v


class ProvisionSettings(BaseModel):
    """The IFRS 9 provision matrix (the [provisions] table); the overlay comes from here until its approval lands."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    default_dpd: int = Field(90, ge=1, le=3650, description="Days past due at which a document still open is in default (IFRS 9 B5.5.37).")
    lookback_months: int = Field(24, ge=1, le=120, description="Month-ends before the as-of date the historical loss rates are drawn from.")
    by: str | None = Field(None, description="'segment' for rates per segment (falling back to the overall rate); none: one matrix.")
    min_amount: float = Field(
        10_000.0, ge=0, description="A segment's bucket needs this much history (open amount summed over the month-ends) for its own rate."
    )
    overlay: float | dict[str, float] = Field(1.0, description="Forward-looking multiplier: one for all buckets, or per bucket name (others 1.0).")
    overlay_reason: str = Field("", description="Why the overlay is what it is (shown beside the matrix).")

    @field_validator("by")
    @classmethod
    def _by(cls, v: str | None) -> str | None:
        if v not in (None, "segment"):
            raise ValueError("must be 'segment' (or left out for one matrix)")
        return v

    @field_validator("overlay")
    @classmethod
    def _overlay(cls, v: float | dict[str, float]) -> float | dict[str, float]:
        values = v.values() if isinstance(v, dict) else [v]
        if any(x < 0 for x in values):
            raise ValueError("an overlay is a multiplier of 0 or more (1.0 = the historical rate)")
        return v


class RiskSettings(BaseModel):
    """The scorecard of risk.md: each factor's points rise linearly from 0 to 100 between two values."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    weights: dict[str, float] = Field(
        {"lateness": 0.30, "trend": 0.15, "severity": 0.15, "utilisation": 0.10, "disputes": 0.25, "external": 0.05},
        description="Weight of each factor; a factor a customer has no value for is left out and the others rescaled.",
    )
    # factor -> (value at 0 points, value at 100 points); points are linear in between and flat outside.
    scales: dict[str, tuple[float, float]] = Field(
        {"lateness": (0.0, 60.0), "trend": (0.0, 30.0), "severity": (0.0, 0.5), "utilisation": (0.5, 1.2), "disputes": (0.0, 0.3), "external": (100.0, 0.0)},
        description="(value for 0 points, value for 100 points) per factor: days late, days of worsening, shares of AR, utilisation, external score.",
    )
    class_edges: tuple[float, float, float, float] = Field((20, 40, 60, 80), description="Score edges of classes A|B|C|D|E.")
    thin_file_documents: int = Field(3, ge=0, description="Fewer documents paid in the last 365 days or open than this: 'thin file'.")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(FACTORS)
        if unknown:
            raise ValueError(f"unknown factor(s) {', '.join(sorted(unknown))}; the factors are {', '.join(FACTORS)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be zero or more and not all zero")
        default = cls.model_fields["weights"].default
        return {f: float(v.get(f, default[f])) for f in FACTORS}  # a factor not named keeps its default weight

    @field_validator("scales")
    @classmethod
    def _scales(cls, v: dict) -> dict:
        unknown = set(v) - set(FACTORS)
        if unknown:
            raise ValueError(f"unknown factor(s) {', '.join(sorted(unknown))}; the factors are {', '.join(FACTORS)}")
        if any(a == b for a, b in v.values()):
            raise ValueError("the two values of a scale must differ")
        if v.get("external", (100.0, 0.0))[0] < v.get("external", (100.0, 0.0))[1] or any(a > b for f, (a, b) in v.items() if f != "external"):
            # Monotone in the documented direction: more lateness, worsening, overdue, use or dispute never scores lower;
            # a higher external score (safer) never scores higher.
            raise ValueError("each scale must rise with risk: (low, high), and for 'external' (high score, low score)")
        return cls.model_fields["scales"].default | v

    @field_validator("class_edges")
    @classmethod
    def _classes(cls, v):
        if any(b <= a for a, b in zip(v, v[1:])) or v[0] <= 0 or v[-1] >= 100:
            raise ValueError("must be four increasing scores between 0 and 100, e.g. [20, 40, 60, 80]")
        return v


FACTORS = ("lateness", "trend", "severity", "utilisation", "disputes", "external")


# ----------------------------------------------------------------------------- [collections] (collections.md)

# kind -> the parameters it takes (collections.md "Strategy"); a rule names exactly these.
RULE_KINDS: dict[str, tuple[str, ...]] = {
    "overdue_at_least": ("amount",),
    "oldest_dpd_at_least": ("days",),
    "risk_class_in": ("classes",),
    "over_limit": (),
    "broken_promise": (),
    "no_contact_for": ("days",),
    "resubmission_due": (),
    "promise_due_within": ("days",),
    "nothing_collectible": (),
    "promise_pending": (),
}
RISK_CLASSES = ("A", "B", "C", "D", "E")


class CollectionRule(BaseModel):
    """One rule of the worklist's strategy: met or not per customer at T; its points count toward priority."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: str
    points: int = Field(0, ge=0, le=1000)
    amount: float | None = Field(None, ge=0)
    days: int | None = Field(None, ge=0, le=3650)
    classes: tuple[str, ...] | None = None
    exit: bool = False

    @model_validator(mode="after")
    def _kind_and_parameters(self) -> CollectionRule:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule kind '{self.kind}'; the kinds are {', '.join(RULE_KINDS)}")
        takes = RULE_KINDS[self.kind]
        given = {p for p in ("amount", "days", "classes") if getattr(self, p) is not None}
        missing, extra = [p for p in takes if p not in given], sorted(given - set(takes))
        if missing:
            raise ValueError(f"rule '{self.kind}' needs {' and '.join(missing)}, e.g. {RULE_EXAMPLES[self.kind]}")
        if extra:
            took = f"takes only {' and '.join(takes)}" if takes else "takes no parameter"
            raise ValueError(f"rule '{self.kind}' {took}, not {' or '.join(extra)}")
        if self.classes is not None:
            bad = [c for c in self.classes if c not in RISK_CLASSES]
            if bad or not self.classes:
                raise ValueError(f"rule 'risk_class_in' needs classes among {', '.join(RISK_CLASSES)}, not {', '.join(bad) or 'none'}")
        return self


RULE_EXAMPLES = {
    "overdue_at_least": '{ kind = "overdue_at_least", amount = 10000, points = 30 }',
    "oldest_dpd_at_least": '{ kind = "oldest_dpd_at_least", days = 60, points = 25 }',
    "risk_class_in": '{ kind = "risk_class_in", classes = ["D", "E"], points = 20 }',
    "no_contact_for": '{ kind = "no_contact_for", days = 14, points = 10 }',
    "promise_due_within": '{ kind = "promise_due_within", days = 2, points = 5 }',
}

# The default strategy of collections.md: 135 points over eight rules, and the two exit rules.
DEFAULT_RULES: tuple[CollectionRule, ...] = (
    CollectionRule(kind="overdue_at_least", amount=10_000, points=30),
    CollectionRule(kind="oldest_dpd_at_least", days=60, points=25),
    CollectionRule(kind="risk_class_in", classes=("D", "E"), points=20),
    CollectionRule(kind="broken_promise", points=15),
    CollectionRule(kind="over_limit", points=10),
    CollectionRule(kind="no_contact_for", days=14, points=10),
    CollectionRule(kind="resubmission_due", points=20),
    CollectionRule(kind="promise_due_within", days=2, points=5),
    CollectionRule(kind="nothing_collectible", exit=True),
    CollectionRule(kind="promise_pending", exit=True),
)


class CollectionsSettings(BaseModel):
    """The worklist's strategy and the promises' tolerance ([collections] table)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    rules: tuple[CollectionRule, ...] = Field(
        DEFAULT_RULES, description="[[collections.rules]]: the strategy; a list given here replaces the default whole, exit rules included."
    )
    promise_tolerance_days: int = Field(2, ge=0, le=60, description="Days after the promised date a payment still keeps the promise.")
    promise_kpi_days: int = Field(90, ge=1, le=3650, description="The promise KPIs count promises whose window ends in this many days to T.")

    @field_validator("rules")
    @classmethod
    def _some_points(cls, v: tuple[CollectionRule, ...]) -> tuple[CollectionRule, ...]:
        if not any(r.points > 0 for r in v if not r.exit):
            raise ValueError("the strategy needs at least one rule that is not an exit rule and has points above 0 (priority is a share of them)")
        return v


# ----------------------------------------------------------------------------- [dunning] and [mail] (dunning.md)


class DunningLevel(BaseModel):
    """One dunning level: from how many days past due, the fee per letter, and (optionally) its letter template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1, le=20)
    min_dpd: int = Field(ge=0, le=3650)
    fee: float = Field(0.0, ge=0, description="A fixed amount in base currency per letter of this level.")
    template: str | None = Field(None, description="The letter template's file name (data/templates/ first, then the built-in ones); default level<N>.html.")


class ReferenceRate(BaseModel):
    """A reference rate (percent per year) in force from a date on; statutory interest reads it on 1 January and 1 July."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: dt.date = Field(alias="from")
    rate: float = Field(ge=-5, le=100)


# The ECB main refinancing rate in force on 1 January and 1 July of each half-year (Late Payment
# Directive 2011/7/EU, art. 2(7)): 0.00 from March 2016 to 27 July 2022; later values as the ECB set them.
EU_REFERENCE_RATES: tuple[ReferenceRate, ...] = tuple(
    ReferenceRate(**{"from": dt.date.fromisoformat(d), "rate": r})
    for d, r in (
        ("2016-07-01", 0.00),
        ("2023-01-01", 2.50),
        ("2023-07-01", 4.00),
        ("2024-01-01", 4.50),
        ("2024-07-01", 4.25),
        ("2025-01-01", 3.15),
        ("2025-07-01", 2.15),
        ("2026-01-01", 2.15),
    )
)

DEFAULT_LEVELS: tuple[DunningLevel, ...] = (
    DunningLevel(level=1, min_dpd=7, fee=0),
    DunningLevel(level=2, min_dpd=21, fee=0),
    DunningLevel(level=3, min_dpd=45, fee=15),
)


class Company(BaseModel):
    """Who writes the letters (the `company` of a letter template)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("Our Company", description="The sender named in letters.")
    address: str = Field("", description="The sender's postal address (lines separated by newlines).")
    email: str = Field("", description="Where customers reply.")
    phone: str = Field("", description="A phone number for questions.")
    bank: str = Field("", description="Bank details for payment (IBAN, BIC).")


class DunningSettings(BaseModel):
    """The dunning policy ([dunning] table, dunning.md "Policy")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[DunningLevel, ...] = Field(DEFAULT_LEVELS, description="[[dunning.levels]]: level, min_dpd, fee, template; a list here replaces the default.")
    grace_days: int = Field(3, ge=0, le=365, description="An item is dunnable when dpd > grace_days (and dpd >= the first level's min_dpd).")
    min_amount: float = Field(50.0, ge=0, description="No letter when the customer's dunnable total (after credit notes) is below this (base currency).")
    interval_days: int = Field(14, ge=0, le=365, description="No letter to a customer whose last issued letter is fewer days before T.")
    deadline_days: int = Field(10, ge=0, le=365, description="The letter's new payment deadline = its date + deadline_days.")
    interest: Literal["none", "fixed", "statutory"] = Field(
        "none", description="Interest on late payment: none, fixed (fixed_rate) or statutory (reference rate + margin)."
    )
    fixed_rate: float | None = Field(None, ge=0, le=1, description="Annual rate for interest = fixed, as a share (0.10 = 10 %).")
    reference_rates: tuple[ReferenceRate, ...] = Field(
        EU_REFERENCE_RATES, description="[[dunning.reference_rates]] from, rate (percent): the reference rate table; default the ECB main refinancing rate."
    )
    margin_points: float = Field(8.0, ge=0, le=100, description="Percentage points added to the reference rate (EU Late Payment Directive: 8).")
    fixed_compensation: float = Field(0.0, ge=0, description="Charged once per invoice in the first letter naming it (EU B2B: 40), base currency.")
    company: Company = Field(default_factory=Company, description="The sender of the letters ([dunning.company]).")

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: tuple[DunningLevel, ...]) -> tuple[DunningLevel, ...]:
        if not v:
            raise ValueError("at least one level is needed, e.g. [[dunning.levels]] level = 1, min_dpd = 7")
        if [lv.level for lv in v] != list(range(1, len(v) + 1)):
            raise ValueError(f"levels must be numbered 1, 2, 3, ... in order, not {[lv.level for lv in v]}")
        if any(b.min_dpd <= a.min_dpd for a, b in zip(v, v[1:])):
            raise ValueError(f"min_dpd must increase from level to level, not {[lv.min_dpd for lv in v]}")
        return v

    @field_validator("reference_rates")
    @classmethod
    def _rates(cls, v: tuple[ReferenceRate, ...]) -> tuple[ReferenceRate, ...]:
        dates = [r.from_ for r in v]
        if len(set(dates)) != len(dates):
            raise ValueError("two reference rates have the same 'from' date")
        return tuple(sorted(v, key=lambda r: r.from_))

    @model_validator(mode="after")
    def _interest(self) -> DunningSettings:
        if self.interest == "fixed" and self.fixed_rate is None:
            raise ValueError("interest = 'fixed' needs fixed_rate (annual, e.g. 0.10 for 10 %)")
        if self.interest == "statutory" and not self.reference_rates:
            raise ValueError("interest = 'statutory' needs reference_rates, e.g. [{ from = 2024-07-01, rate = 4.25 }]")
        return self


class MailSettings(BaseModel):
    """The SMTP server letters are sent through ([mail] table); the password comes from $O2C_MAIL_PASSWORD."""

    host: str = Field("localhost", description="SMTP server host name.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port (25, 587 with starttls, 465 with ssl).")
    sender: str = Field("credit@example.com", alias="from", description="The sender address of the letters' e-mails; written `from = ...` (or `sender`).")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS before logging in.")
    ssl: bool = Field(False, description="Connect over TLS from the start (SMTPS, port 465).")
    user: str | None = Field(None, description="Log in as this user (password: environment variable O2C_MAIL_PASSWORD).")
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="Give up on the server after this many seconds (the letter is marked failed).")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _tls(self) -> MailSettings:
        if self.starttls and self.ssl:
            raise ValueError("choose starttls (port 587) or ssl (port 465), not both")
        return self


ROLE_NAMES = core.ROLE_NAMES


class CollectorPool(BaseModel):
    """One [[access.pools]] entry: the customers of these segments and/or regions belong to `collector`
    (both lists given: a customer must be in both; values match whatever their case and spaces)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    collector: str = Field(description="The collector's user name (the sign-in's email in oidc mode).")
    segments: tuple[str, ...] = Field((), description="Segments of the customer master; empty: any segment.")
    regions: tuple[str, ...] = Field((), description="Regions of the customer master; empty: any region.")

    @field_validator("collector")
    @classmethod
    def _named(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a pool needs a collector's user name")
        return v.strip()

    @model_validator(mode="after")
    def _some(self) -> CollectorPool:
        # A pool without either would silently take every customer: refused, with what to write instead.
        if not self.segments and not self.regions:
            raise ValueError('a pool needs segments, regions or both (e.g. segments = ["SMB"]); to give one collector everyone, list the segments')
        return self


class AccessSettings(BaseModel):
    """Login and roles (the [access] table); used in oidc mode, i.e. when [auth] is configured for st.login."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    roles: dict[str, str] = Field(
        default_factory=dict,
        description="Token group -> role (viewer, collector, credit_analyst, credit_manager, admin); a user's highest mapped role applies.",
    )
    role_claim: str = Field("groups", description="The ID token claim that lists the user's groups.")
    four_eyes_above: float | None = Field(None, ge=0, description="Requests above this amount (base currency) need two different approvers; none by default.")
    pools: tuple[CollectorPool, ...] = Field(
        (), description="[[access.pools]]: collectors' pools by segment and/or region, first match wins; a hand assignment wins over any pool."
    )
    cli_users: dict[str, str] = Field(
        default_factory=dict,
        description="oidc mode: who the command line may act as (`o2c --as NAME`) and with which role; none by default (the CLI then refuses writes).",
    )

    @field_validator("cli_users")
    @classmethod
    def _cli_roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted({r for r in v.values() if r not in ROLE_NAMES})
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}; the roles are {', '.join(ROLE_NAMES)}")
        if any(not name.strip() for name in v):
            raise ValueError("a user name is empty")
        return v

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted({r for r in v.values() if r not in ROLE_NAMES})
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}; the roles are {', '.join(ROLE_NAMES)}")
        return v


class LimitsSettings(BaseModel):
    """What the Data page accepts in one upload (the [limits] table); the other input limits are fixed, in
    dashboard/load/limits.py. Streamlit's own cap (server.maxUploadSize, .streamlit/config.toml) is 500 MB a file."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    upload_file_mb: int = Field(200, ge=1, le=500, description="Largest file an upload may hold, in MB (1 MB = 1,048,576 bytes).")
    upload_total_mb: int = Field(500, ge=1, description="Largest upload, all its files together, in MB.")


# ----------------------------------------------------------------------------- disputes and credit decisions

DISPUTE_REASONS = ("pricing", "quantity", "quality", "delivery", "duplicate billing", "tax", "terms", "other")


class DisputesSettings(BaseModel):
    """Dispute reasons and their deadlines ([disputes] table, disputes.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reasons: dict[str, int] = Field(
        default_factory=lambda: dict.fromkeys(DISPUTE_REASONS, 30),
        description="Reason -> SLA days (the case's deadline is opened_on + these days); the list a case's reason is chosen from.",
    )

    @field_validator("reasons")
    @classmethod
    def _reasons(cls, v: dict[str, int]) -> dict[str, int]:
        if not v:
            raise ValueError("needs at least one reason, e.g. { other = 30 }")
        bad = sorted(k for k, d in v.items() if not isinstance(d, int) or d < 0 or d > 3650)
        if bad:
            raise ValueError(f"SLA days must be whole days from 0 to 3650; not so for {', '.join(bad)}")
        if "other" not in v:
            raise ValueError("must keep the reason 'other' (an unmanaged dispute is opened with it until its reason is set)")
        return v


CLASS_LETTERS = ("A", "B", "C", "D", "E")


class CreditPolicySettings(BaseModel):
    """Limit proposals and the review schedule ([credit_policy] table, credit-decisions.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cover_days: int = Field(30, ge=0, le=3650, description="Days of sales the limit covers beyond the payment terms.")
    class_factor: dict[str, float] = Field(
        default_factory=lambda: {"A": 1.5, "B": 1.25, "C": 1.0, "D": 0.6, "E": 0.0},
        description="Risk class -> factor on the need; a customer without a computed class counts as C.",
    )
    rounding: float = Field(1000, gt=0, description="Proposals are rounded up to a multiple of this (base currency).")
    min_limit: float = Field(0, ge=0, description="The lowest limit proposed.")
    max_limit: float | None = Field(None, ge=0, description="The highest limit proposed; none by default.")
    thin_file_max: float = Field(10_000, ge=0, description="A thin-file customer (risk.md) is proposed at most this.")
    review_days: dict[str, int] = Field(
        default_factory=lambda: {"A": 365, "B": 270, "C": 180, "D": 90, "E": 30},
        description="Risk class -> days from the last review to the next (C when no class is computed).",
    )

    @field_validator("class_factor", "review_days")
    @classmethod
    def _every_class(cls, v: dict) -> dict:
        missing = [c for c in CLASS_LETTERS if c not in v]
        extra = sorted(set(v) - set(CLASS_LETTERS))
        if missing or extra:
            raise ValueError(f"needs exactly the classes A to E (missing {missing or 'none'}, unknown {extra or 'none'})")
        if any(x < 0 for x in v.values()):
            raise ValueError("values must be 0 or more")
        return v


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    base_currency: str = Field(core.BASE_CURRENCY, description="ISO 4217 code every figure is reported in.")
    aging_edges: tuple[int, ...] = Field(
        core.AGING_EDGES,
        description="Upper day-past-due edges of the aging buckets; the first bucket is 'not due' (dpd <= first edge).",
    )
    dso_window_days: int = Field(core.DSO_WINDOW_DAYS, ge=1, le=730, description="P, the DSO and CEI window in days.")
    payment_window_days: int = Field(core.PAYMENT_WINDOW_DAYS, ge=1, le=3650, description="W, the window for days-to-pay KPIs.")
    trend_months: int = Field(core.TREND_MONTHS, ge=1, le=36, description="Month-ends shown before the as-of date in trends.")
    cost_of_capital: float = Field(0.08, ge=0, le=1, description="Annual cost of capital for what-if financing effects.")
    risk: RiskSettings = Field(default_factory=RiskSettings, description="The risk scorecard ([risk] table).")
    forecast: ForecastSettings = Field(default_factory=ForecastSettings, description="The cash-in forecast ([forecast] table).")
    provisions: ProvisionSettings = Field(default_factory=ProvisionSettings, description="The provision matrix ([provisions] table).")
    db_url: str | None = Field(
        None, description="The workbench store: a SQLAlchemy URL (postgresql+psycopg://...); default SQLite in the data folder. O2C_DB_URL wins."
    )
    access: AccessSettings = Field(default_factory=AccessSettings, description="Login roles ([access] table).")
    limits: LimitsSettings = Field(default_factory=LimitsSettings, description="Upload sizes ([limits] table).")
    collections: CollectionsSettings = Field(default_factory=CollectionsSettings, description="The collections worklist and promises ([collections] table).")
    dunning: DunningSettings = Field(default_factory=DunningSettings, description="The dunning policy ([dunning] table).")
    mail: MailSettings = Field(default_factory=MailSettings, description="The SMTP server for letters ([mail] table).")

    disputes: DisputesSettings = Field(default_factory=DisputesSettings, description="Dispute reasons and deadlines ([disputes] table).")
    credit_policy: CreditPolicySettings = Field(default_factory=CreditPolicySettings, description="Limit proposals and reviews ([credit_policy] table).")

    @field_validator("base_currency")
    @classmethod
    def _iso_code(cls, v: str) -> str:
        v = v.strip().upper()
        if len(v) != 3 or not v.isalpha():
            raise ValueError("must be a three-letter ISO 4217 code such as USD or EUR")
        return v

    @field_validator("aging_edges")
    @classmethod
    def _edges(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or v[0] != 0:
            raise ValueError("must start with 0 (the 'not due' bucket is dpd <= 0)")
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("must be strictly increasing, e.g. [0, 30, 60, 90, 180]")
        return v

    @property
    def bucket_names(self) -> list[str]:
        """not_due, 1_30, 31_60, ..., 181_plus for the default edges."""
        return core.bucket_names(self.aging_edges)


def _constructed(model: type[BaseModel]) -> BaseModel:
    """`model` with every field at its default, nested tables too, without validation (the defaults are
    valid by construction; tests/test_settings_defaults.py checks the result equals a validated `model()`)."""
    values = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        if field.default_factory is not None and isinstance(ann, type) and issubclass(ann, BaseModel):
            values[name] = _constructed(ann)
        else:
            values[name] = field.get_default(call_default_factory=True)
    return model.model_construct(_fields_set=set(), **values)  # as model(): nothing set by the user


def defaults() -> Settings:
    """Settings() without pydantic's validation, for the common case of no settings file (a fresh `o2c
    kpis`). With defer_build a model's validation schema is built on its first validation only, so such a
    process never builds them (~10-40 ms on this machine); a settings file is still checked in full."""
    s = _constructed(Settings)
    assert isinstance(s, Settings)
    return s


def load_settings(data_dir: Path) -> Settings:
    path = settings_path(data_dir)
    if not path.exists():
        return defaults()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc}). Fix the syntax or delete the file to use the defaults.") from exc
    try:
        return Settings(**raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(file)"
            msg = "is not a known setting" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"{path}: setting '{key}' = {err.get('input')!r}: {msg}")
        raise SettingsError("\n".join(lines)) from exc
