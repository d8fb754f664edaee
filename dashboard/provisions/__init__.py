"""The IFRS 9 provision matrix from the ledger's own history (provisions.md)."""
