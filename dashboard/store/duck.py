"""DuckDB connections of the core: what they cannot hold in memory goes inside the data folder.

An in-memory DuckDB database spills to `.tmp` in the working directory unless told
otherwise; a spill file once got committed to the repository that way. Every
connection the core opens goes through `connect` and names its spill folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb


def connect(temp_dir: Path, **config: Any) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection spilling to `temp_dir` (created here if need be), with `config`.

    The folder is made before DuckDB sees it, so DuckDB removes only its own files from it when
    done (several connections, in one process or several, may share it: their files carry their
    owner's id). A data folder that cannot be written to spills to the system's temp folder
    instead, never to the working directory.
    """
    try:
        temp_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        temp_dir = Path(tempfile.gettempdir()) / "o2c-duckdb"
        temp_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={**config, "temp_directory": str(temp_dir)})
