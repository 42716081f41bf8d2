"""Packaging (issue 12): the core library installs and imports without the CLI's and
PostgreSQL's dependencies; the console script names the missing extra instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A meta-path finder that makes click and psycopg (and gunicorn) look uninstalled.
BLOCK = textwrap.dedent(
    """
    import importlib.abc, sys
    class _Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("click", "psycopg", "gunicorn"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, _Absent())
    """
)


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    assert isinstance(project, dict)
    return project


def test_core_dependencies_name_neither_click_nor_psycopg() -> None:
    project = _project()
    core = " ".join(str(d) for d in project["dependencies"])  # type: ignore[attr-defined]
    assert "click" not in core
    assert "psycopg" not in core
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert any("click" in d for d in extras["cli"])
    assert any("psycopg" in d for d in extras["postgres"])
    assert "atlas-ca[cli,postgres,server]" in extras["dev"]


def test_the_library_imports_and_keeps_a_sqlite_register_without_click_or_psycopg(
    tmp_path: Path,
) -> None:
    done = _run(
        """
        import datetime as dt
        import atlas_ca, atlas_ca.errors, atlas_ca.services.issuance, atlas_ca.storage
        from atlas_ca.storage import open_register
        register = open_register("register.sqlite", opened_at=dt.datetime.now(dt.UTC))
        register.close()
        assert "click" not in sys.modules and "psycopg" not in sys.modules
        print("ok")
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert (tmp_path / "register.sqlite").is_file()


def test_the_console_script_names_the_missing_cli_extra(tmp_path: Path) -> None:
    done = _run(
        """
        from atlas_ca.console import main
        main()
        """,
        tmp_path,
    )
    assert done.returncode == 3
    assert (
        done.stderr.strip()
        == "atlas-ca: the command line needs the [cli] extra: pip install 'atlas-ca[cli]'"
    )
    assert "Traceback" not in done.stderr


def test_the_console_script_runs_the_command_line_when_click_is_there(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "atlas_ca.console", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("atlas-ca, version ")
