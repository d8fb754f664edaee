"""The team's workbench (access.md): identity and roles, the transactional store, the audit trail,
and the services that write to it (notes, contacts, assignments; later promises, cases, decisions).

Snapshots stay immutable files; what the credit team does lives here, keyed by the ledger's own ids.
Pages and the CLI call the services, which take the acting user, check the role, write in one
transaction and append the audit event; nothing else writes SQL to the store.
"""
