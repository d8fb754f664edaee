"""Receivables figures over a snapshot: the KPI engine (kpis.md), exposure against limits, customer view, snapshot comparison."""
