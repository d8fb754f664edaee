"""The core never imports Streamlit: the CLI, tests and jobs compute exactly what the pages show."""

import subprocess
import sys

from conftest import REPO


def test_core_does_not_import_streamlit():
    code = (
        "import sys, pkgutil, importlib, dashboard\n"
        "for m in pkgutil.iter_modules(dashboard.__path__):\n"
        "    importlib.import_module('dashboard.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'streamlit' or n.startswith('streamlit.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_every_query_file_declares_its_parameters_and_is_used():
    from dashboard import queries

    names = sorted(p.stem for p in queries.QUERY_DIR.glob("*.sql"))
    source = "".join(p.read_text() for p in (REPO / "dashboard").glob("*.py"))
    for name in names:
        text = queries.sql(name)
        assert text.startswith("--"), f"{name}.sql has no header comment"
        assert "Grain" in text, f"{name}.sql does not state its grain"
        used = f'"{name}"' in source or f"'{name}'" in source or name.removeprefix("derive_") in source
        assert used, f"{name}.sql is never used"
