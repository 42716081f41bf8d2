"""Test support is one package, imported one way (issue 12): every helper module of the suite
lives in ``tests/support/`` and is imported as ``support.<module>``; no test reaches into a
sibling folder through ``sys.path``."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"


def _suite_files() -> list[Path]:
    return [p for p in TESTS.rglob("*.py") if "vectors" not in p.relative_to(TESTS).parts]


def test_every_helper_module_is_in_the_support_package() -> None:
    stray = [
        str(p.relative_to(TESTS))
        for p in _suite_files()
        if p.parent != SUPPORT
        and not p.name.startswith("test_")
        and p.name not in ("conftest.py", "__init__.py")
    ]
    assert stray == []
    assert (SUPPORT / "__init__.py").is_file()


def test_helpers_are_imported_as_support_modules_only() -> None:
    helpers = {p.stem for p in SUPPORT.glob("*.py") if p.name != "__init__.py"}
    bare: list[str] = []
    for path in _suite_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bare += [f"{path.name}: import {a.name}" for a in node.names if a.name in helpers]
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module in helpers or node.module == "conftest")
            ):
                bare.append(f"{path.name}: from {node.module} import ...")
    assert bare == []


def test_no_test_edits_sys_path_to_reach_a_sibling_folder() -> None:
    offenders = [
        str(p.relative_to(TESTS))
        for p in _suite_files()
        if p.parent != SUPPORT
        and p != Path(__file__).resolve()
        and "sys.path.insert" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
