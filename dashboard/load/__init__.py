"""Loading an extract: the ledger contract, layouts, reading, parsing, checks, the validation report, ingest, the demo ledger."""
