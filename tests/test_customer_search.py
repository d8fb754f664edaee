"""The customer search finds what was typed, character for character: % and _ are not wildcards."""

from dashboard.metrics.customer import find

LEDGER = {
    "invoices": """
invoice_id,customer_id,invoice_date,due_date,amount
I1,C1,2026-01-01,2026-01-31,100
""",
    "customers": """
customer_id,name,segment
C1,Acme,SMB
C2,50% Off Ltd,SMB
C3,Under_Score GmbH,Enterprise
C_4,Plain,SMB
CX4,Other,SMB
""",
}


def test_percent_and_underscore_are_characters_not_wildcards(ledger):
    eng = ledger(LEDGER)
    ids = lambda text: find(eng, text)["customer_id"].to_list()  # noqa: E731
    assert ids("%") == ["C2"]  # LIKE '%%%' matched every customer
    assert ids("_") == ["C3", "C_4"]  # LIKE '%_%' matched every customer
    assert ids("c_4") == ["C_4"]  # LIKE would also match CX4
    assert ids("50% off") == ["C2"]
    # case-insensitive, an exact id first, then by id
    assert ids("C1") == ["C1"]
    assert ids("c") == ["C1", "C2", "C3", "CX4", "C_4"]  # every id has a c; exact 'c' is none
    assert ids("zzz") == []
