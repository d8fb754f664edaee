"""The settings a short command reads, without a validation framework (a fresh `o2c kpis`).

`dashboard.settings` defines every setting as a pydantic model and checks a settings file in full;
importing pydantic and building its models costs ~100 ms, more than the headline's own arithmetic at
a date. The few settings the headline reads have their defaults here, once (the pydantic model takes
its defaults from these constants), and `headline_settings` reads them: the defaults when there is no
settings file, otherwise the file checked in full by `dashboard.settings.load_settings`, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.settings import Settings

BASE_CURRENCY = "USD"
AGING_EDGES = (0, 30, 60, 90, 180)
DSO_WINDOW_DAYS = 90
PAYMENT_WINDOW_DAYS = 365
TREND_MONTHS = 12
ROLE_NAMES = ("viewer", "collector", "credit_analyst", "credit_manager", "admin")  # [access]: validated in settings.py


class SettingsError(ValueError):
    """A settings file that cannot be used, with a message for a person."""


def settings_path(data_dir: Path) -> Path:
    return Path(os.environ.get("O2C_SETTINGS", data_dir / "settings.toml"))


def bucket_names(edges: tuple[int, ...]) -> list[str]:
    """not_due, 1_30, 31_60, ..., 181_plus for the default edges."""
    return ["not_due"] + [f"{a + 1}_{b}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1] + 1}_plus"]


@dataclass(frozen=True)
class HeadlineSettings:
    """What the headline and the decision check of `o2c kpis` read of Settings (same names, same meaning)."""

    base_currency: str = BASE_CURRENCY
    aging_edges: tuple[int, ...] = AGING_EDGES
    dso_window_days: int = DSO_WINDOW_DAYS
    payment_window_days: int = PAYMENT_WINDOW_DAYS
    trend_months: int = TREND_MONTHS
    db_url: str | None = None

    @property
    def bucket_names(self) -> list[str]:
        return bucket_names(self.aging_edges)

    @classmethod
    def of(cls, s: Settings) -> HeadlineSettings:
        return cls(s.base_currency, tuple(s.aging_edges), s.dso_window_days, s.payment_window_days, s.trend_months, s.db_url)


def headline_settings(data_dir: Path) -> HeadlineSettings:
    """The defaults without a settings file; with one, the file checked in full (SettingsError as for every command)."""
    if not settings_path(data_dir).exists():
        return HeadlineSettings()
    from dashboard.settings import load_settings

    return HeadlineSettings.of(load_settings(data_dir))
