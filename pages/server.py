"""The app side's launcher (not a page): `o2c serve` becomes this program.

Streamlit runs in this process after the heavy libraries, the core and the pages' caches are
loaded, so the first visitor waits for none of them (measured here: first overview 3.2 s ->
2.2 s without the imports up front, and the snapshot of a 10M-document ledger opens at start,
not on the first visit). The core (`dashboard/`) never imports Streamlit or this package.

    python -m pages.server --port 8501      (data folder from $O2C_DATA)
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# An installed wheel ships the router and the Streamlit config inside this package; a checkout
# keeps them at the top of the repository (where `streamlit run app.py` finds them too).
ROOT = HERE if (HERE / "app.py").is_file() else HERE.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="o2c serve")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    args = p.parse_args(argv)
    # Streamlit imports pandas on a page's first table (measured: ~1 s of the first visit).
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import polars  # noqa: F401
    import pyarrow  # noqa: F401
    from streamlit.web import cli as streamlit_cli

    from dashboard.workbench.identity import secrets_file
    from pages import common

    # What is imported now lives as long as the server: moved out of the garbage collector's
    # generations, so later collections do not walk these modules' objects again and again
    # (the data, below, stays collectable: an old snapshot's engine must be freed).
    gc.freeze()
    print("Opening the current snapshot...", file=sys.stderr)
    logging.disable(logging.WARNING)  # Streamlit's "no runtime / no script run context": expected outside a run
    try:
        common.warm()
    finally:
        logging.disable(logging.NOTSET)
    os.chdir(ROOT)  # Streamlit reads .streamlit/config.toml from the working folder
    secrets = secrets_file(Path(os.environ.get("O2C_DATA", "data")).resolve())
    print(f"Dashboard on http://localhost:{args.port}  (Ctrl+C stops it)", file=sys.stderr)
    sys.argv = [
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    if secrets is not None:
        sys.argv += ["--secrets.files", str(secrets)]
    routed_by_navigation()
    try:
        return streamlit_cli.main()
    except KeyboardInterrupt:
        return 0


def routed_by_navigation() -> None:
    """Tell Streamlit before its first session that this app routes with st.navigation (app.py).

    Streamlit decides once per process whether an app is an old-style multipage app: the first session
    sets `PagesManager.uses_pages_directory` to whether `<app.py's folder>/pages` exists
    (streamlit/runtime/pages_manager.py), and only a call of st.navigation sets it back to False. While it
    is True the script runner runs its own list of pages/*.py instead of app.py (`_mpa_v1` in
    runtime/scriptrunner/script_runner.py). A first visit to `/` runs app.py, which calls st.navigation;
    but a first visit to a deep link (/exposure) ran pages/exposure.py without the router, st.navigation
    never ran, and every later session saw the folder's files as pages until a restart. Our pages/ is
    the dashboard's package, never an old-style page folder: the flag is False from the start.
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


if __name__ == "__main__":
    sys.exit(main())
