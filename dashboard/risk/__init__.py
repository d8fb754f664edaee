"""The risk scorecard, the at-risk list and its backtest (risk.md)."""
