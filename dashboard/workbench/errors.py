"""The workbench's refusals, importable without the database libraries (the CLI catches them on every path)."""


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message says which and how to fix it."""


class Refused(ValueError):
    """A write the rules do not allow (bad input); the message says what and how to fix it."""


class Conflict(RuntimeError):
    """The object was changed by someone else since it was read: reload, then edit again."""
