"""Dispute cases (disputes.md): the workbench's cases on ledger documents, their amounts at any date, the KPIs."""
