"""The 13-week cash-in forecast and its backtest (forecast.md)."""
