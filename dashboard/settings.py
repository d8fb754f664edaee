"""What a finance team tunes, in one TOML file with documented defaults.

The file is `<data dir>/settings.toml` (or the path in `O2C_SETTINGS`).
Every key is optional; unknown keys are refused so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class SettingsError(ValueError):
    """A settings file that cannot be used, with a message for a person."""


class RiskSettings(BaseModel):
    """The scorecard of risk.md: each factor's points rise linearly from 0 to 100 between two values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    "overdue_at_least": "{ kind = \"overdue_at_least\", amount = 10000, points = 30 }",
    "oldest_dpd_at_least": "{ kind = \"oldest_dpd_at_least\", days = 60, points = 25 }",
    "risk_class_in": "{ kind = \"risk_class_in\", classes = [\"D\", \"E\"], points = 20 }",
    "no_contact_for": "{ kind = \"no_contact_for\", days = 14, points = 10 }",
    "promise_due_within": "{ kind = \"promise_due_within\", days = 2, points = 5 }",
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

    model_config = ConfigDict(extra="forbid", frozen=True)

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


ROLE_NAMES = ("viewer", "collector", "credit_analyst", "credit_manager", "admin")


class AccessSettings(BaseModel):
    """Login and roles (the [access] table); used in oidc mode, i.e. when [auth] is configured for st.login."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[str, str] = Field(
        default_factory=dict,
        description="Token group -> role (viewer, collector, credit_analyst, credit_manager, admin); a user's highest mapped role applies.",
    )
    role_claim: str = Field("groups", description="The ID token claim that lists the user's groups.")
    four_eyes_above: float | None = Field(None, ge=0, description="Requests above this amount (base currency) need two different approvers; none by default.")

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted({r for r in v.values() if r not in ROLE_NAMES})
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}; the roles are {', '.join(ROLE_NAMES)}")
        return v


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
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_currency: str = Field("USD", description="ISO 4217 code every figure is reported in.")
    aging_edges: tuple[int, ...] = Field(
        (0, 30, 60, 90, 180),
        description="Upper day-past-due edges of the aging buckets; the first bucket is 'not due' (dpd <= first edge).",
    )
    dso_window_days: int = Field(90, ge=1, le=730, description="P, the DSO and CEI window in days.")
    payment_window_days: int = Field(365, ge=1, le=3650, description="W, the window for days-to-pay KPIs.")
    trend_months: int = Field(12, ge=1, le=36, description="Month-ends shown before the as-of date in trends.")
    cost_of_capital: float = Field(0.08, ge=0, le=1, description="Annual cost of capital for what-if financing effects.")
    risk: RiskSettings = Field(default_factory=RiskSettings, description="The risk scorecard ([risk] table).")
    db_url: str | None = Field(
        None, description="The workbench store: a SQLAlchemy URL (postgresql+psycopg://...); default SQLite in the data folder. O2C_DB_URL wins."
    )
    access: AccessSettings = Field(default_factory=AccessSettings, description="Login roles ([access] table).")
    collections: CollectionsSettings = Field(default_factory=CollectionsSettings, description="The collections worklist and promises ([collections] table).")
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
        e = self.aging_edges
        return ["not_due"] + [f"{a + 1}_{b}" for a, b in zip(e, e[1:])] + [f"{e[-1] + 1}_plus"]


def settings_path(data_dir: Path) -> Path:
    return Path(os.environ.get("O2C_SETTINGS", data_dir / "settings.toml"))


def load_settings(data_dir: Path) -> Settings:
    path = settings_path(data_dir)
    if not path.exists():
        return Settings()
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
