"""The core never imports Streamlit or the pages: the CLI, tests and jobs compute exactly what the pages show.

Two checks, as each misses what the other sees: import-linter (in .ci/run and here) reads every
import statement, including those inside functions that a run never reaches; the fresh-interpreter
test imports every module of the core and looks at what actually got loaded.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REPO


def test_core_does_not_import_streamlit_at_run_time():
    code = (
        "import sys, pkgutil, importlib, dashboard\n"
        "for m in pkgutil.walk_packages(dashboard.__path__, 'dashboard.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('streamlit', 'pages'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_import_contract_holds_for_every_import_statement():
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists() or shutil.which("lint-imports"), "import-linter is a dev dependency"
    out = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "1 kept, 0 broken" in out.stdout


def test_every_query_file_declares_its_parameters_and_is_used():
    from dashboard.store import sql

    names = sorted(p.relative_to(sql.QUERY_DIR).with_suffix("").as_posix() for p in sql.QUERY_DIR.rglob("*.sql"))
    assert names, "no query files found"
    source = "".join(p.read_text() for p in (REPO / "dashboard").rglob("*.py"))
    for name in names:
        text = sql.sql(name)
        assert text.startswith("--"), f"{name}.sql has no header comment"
        assert "Grain" in text or name == "macros", f"{name}.sql does not state its grain"
        folder, _, leaf = name.partition("/")
        # derive/<table> files are run by the name of the table they build
        used = f'"{name}"' in source or f"'{name}'" in source or (folder == "derive" and re.search(rf"['\"]{leaf}['\"]", source))
        assert used, f"{name}.sql is never used"
