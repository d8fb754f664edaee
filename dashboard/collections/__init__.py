"""Collections (collections.md): the live worklist and promises to pay.

worklist.py   facts per customer at T, the strategy's rules and points, priority, order, exits
promises.py   promises to pay: record, evaluate against the snapshot (open / kept / partially kept / broken), KPIs
followup.py   a customer's resubmission date and dunning block (workbench writes)
"""
