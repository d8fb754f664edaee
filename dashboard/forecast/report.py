"""`o2c forecast`: the forecast at T with its backtest, as forecast.md's JSON and as text for a person."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from dashboard.forecast.backtest import METHOD_WORDS, Backtest, BacktestJson, backtest, best_text
from dashboard.forecast.cashin import Forecast, WeekJson, forecast
from dashboard.metrics.kpis import ALL, Engine, Filters
from dashboard.present.formatting import money


class ForecastJson(TypedDict):
    """forecast.md "Output": the keys of `o2c forecast --json`."""

    as_of: str
    weeks: list[WeekJson]
    later: float
    doubtful: float
    credit_notes: float
    backtest: BacktestJson


def forecast_json(fc: Forecast, bt: Backtest) -> ForecastJson:
    r2 = lambda x: round(x, 2) + 0.0  # noqa: E731
    return ForecastJson(
        as_of=fc.as_of.isoformat(),
        weeks=fc.weeks_json(),
        later=r2(fc.later),
        doubtful=r2(fc.doubtful),
        credit_notes=r2(fc.credit_notes),
        backtest=bt.to_json(),
    )


def forecast_text(fc: Forecast, bt: Backtest, currency: str) -> str:
    lines = [f"Cash-in forecast as of {fc.as_of} ({currency}), from {fc.documents:,} open documents:"]
    lines += [f"  week {k:>2}  {a} to {b}  {money(x, currency):>22}" for k, a, b, x in fc.weeks]
    lines += [
        f"  later (after week 13)           {money(fc.later, currency):>22}",
        f"  doubtful (no history this late) {money(fc.doubtful, currency):>22}",
        f"  credit notes (not cash-in)      {money(fc.credit_notes, currency):>22}",
        "",
        best_text(bt),
    ]
    for m, s in bt.scores.items():
        if s.wape is not None:
            lines.append(f"  {METHOD_WORDS[m]:<55} WAPE {s.wape:.4f}  bias {s.bias:+.4f}")
    return "\n".join(lines)


def run(eng: Engine, t: dt.date | None = None, f: Filters = ALL) -> tuple[ForecastJson, str]:
    fc, bt = forecast(eng, t, f), backtest(eng, t, f)
    return forecast_json(fc, bt), forecast_text(fc, bt, eng.settings.base_currency)
