"""What a finance team tunes, in one TOML file with documented defaults.

The file is `<data dir>/settings.toml` (or the path in `O2C_SETTINGS`).
Every key is optional; unknown keys are refused so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(ValueError):
    """A settings file that cannot be used, with a message for a person."""


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
