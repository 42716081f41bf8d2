"""Every public error is importable from ``atlas_ca.errors`` (issue 12): the package is walked
for AtlasCaError subclasses, and each must be the very class ``atlas_ca.errors`` gives under
its name — defined there, or re-exported from the module that defines it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import atlas_ca
import atlas_ca.errors as errors
from atlas_ca.errors import AtlasCaError


def _error_classes() -> dict[str, type[AtlasCaError]]:
    """Every AtlasCaError subclass defined in a module of atlas_ca, by ``module:name``."""
    found: dict[str, type[AtlasCaError]] = {}
    modules = [atlas_ca.__name__] + [
        info.name for info in pkgutil.walk_packages(atlas_ca.__path__, "atlas_ca.")
    ]
    for name in modules:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, AtlasCaError)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}:{value.__qualname__}"] = value
    return found


ERRORS = _error_classes()


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    """The walk itself works: errors of errors.py, the domain, profiles, x509 and services."""
    modules = {key.split(":")[0] for key in ERRORS}
    assert {
        "atlas_ca.errors",
        "atlas_ca.domain.subscribers",
        "atlas_ca.domain.otp",
        "atlas_ca.profiles.planning",
        "atlas_ca.x509.crl",
        "atlas_ca.services.files",
    } <= modules
    assert len(ERRORS) > 100


@pytest.mark.parametrize("key", sorted(ERRORS))
def test_every_error_is_importable_from_atlas_ca_errors(key: str) -> None:
    cls = ERRORS[key]
    assert not cls.__name__.startswith("_"), f"{key}: an error raised to callers is public"
    assert getattr(errors, cls.__name__, None) is cls, (
        f"{key} is not importable from atlas_ca.errors: define it there, or add it to "
        "atlas_ca.errors._ELSEWHERE (and the TYPE_CHECKING imports)"
    )


def test_error_names_are_unique_across_the_package() -> None:
    """One name, one class: ``from atlas_ca.errors import X`` cannot be ambiguous."""
    by_name: dict[str, list[str]] = {}
    for key, cls in ERRORS.items():
        by_name.setdefault(cls.__name__, []).append(key)
    assert {n: keys for n, keys in by_name.items() if len(keys) > 1} == {}


def test_every_reexport_names_an_error_defined_where_it_says() -> None:
    """No stale entry: each re-exported name is an AtlasCaError defined in the module named."""
    for name, module in errors._ELSEWHERE.items():
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, AtlasCaError)
        assert cls.__module__ == module, f"{name} is defined in {cls.__module__}, not {module}"
        assert name in dir(errors)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchError"):
        errors.NoSuchError  # noqa: B018
    with pytest.raises(ImportError):
        exec("from atlas_ca.errors import NoSuchError", {})


def test_the_errors_module_imports_nothing_of_the_package_at_run_time() -> None:
    """Every module imports atlas_ca.errors, so it imports none of them (no cycle, no HSM, no
    click): the re-exports are typed by imports under TYPE_CHECKING and loaded on first use."""
    tree = ast.parse(Path(errors.__file__).read_text(encoding="utf-8"))
    runtime: list[str] = []
    for node in tree.body:  # module level; the TYPE_CHECKING block is skipped
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                runtime += [alias.name for alias in inner.names]
            elif isinstance(inner, ast.ImportFrom) and inner.module:
                runtime.append(inner.module)
    assert "importlib" in runtime  # the walk sees the module's imports
    assert [m for m in runtime if m.split(".")[0] == "atlas_ca"] == []


def test_a_reexport_is_loaded_on_first_use() -> None:
    code = (
        "import sys, atlas_ca.errors\n"
        "print('atlas_ca.domain.workdays' in sys.modules)\n"
        "from atlas_ca.errors import CalendarError\n"
        "print('atlas_ca.domain.workdays' in sys.modules, CalendarError.__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    if out[0] == "True":  # the package's __init__ loaded the domain already: nothing to show
        assert out[1] == "True atlas_ca.domain.workdays"
    else:
        assert out == ["False", "True atlas_ca.domain.workdays"]
