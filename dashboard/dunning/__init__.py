"""Dunning (dunning.md): the proposal of a run with interest and fees, its review, the letters issued and sent.

policy      the rate of each day (half-year reference rate + margin, or a fixed rate), the levels
proposal    the dry run at T: letters per customer with items, and customers skipped with reasons
runs        the store: draft runs, review, issue (immutable once issued), blocks, the customer's level
letters     HTML and PDF from the level's Jinja template
mail        sending a letter through SMTP, marking it sent or failed
"""
