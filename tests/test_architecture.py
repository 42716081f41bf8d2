"""Dependencies point inwards: the layers' import rules, checked on the source (style lesson 13)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "atlas_ca"

# package -> the atlas_ca packages and third-party top-level modules it may import
RULES: dict[str, tuple[set[str], set[str]]] = {
    # The domain is pure: the standard library, identifier/calendar libraries, our errors.
    "domain": ({"atlas_ca.errors", "atlas_ca.domain"}, {"stdnum", "phonenumbers", "holidays"}),
    # Profiles decide what a certificate says; they never reach an HSM, storage or the CLI.
    "profiles": (
        {
            "atlas_ca.errors",
            "atlas_ca.asn1",
            "atlas_ca.algorithms",
            "atlas_ca.x509",
            "atlas_ca.gost",
            "atlas_ca.domain",
            "atlas_ca.profiles",
            "atlas_ca.hsm.base",
        },
        {"asn1crypto"},
    ),
    # The GOST primitives know nothing of certificates, keys in HSMs or storage.
    "gost": (
        {"atlas_ca.errors", "atlas_ca.asn1", "atlas_ca.algorithms", "atlas_ca.gost"},
        {"asn1crypto", "gostcrypto"},
    ),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _allowed(module: str, internal: set[str], external: set[str]) -> bool:
    top = module.split(".")[0]
    if top == "atlas_ca":
        return any(module == p or module.startswith(p + ".") for p in internal)
    return top in sys.stdlib_module_names or top in external or top == "__future__"


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    internal, external = RULES[package]
    pkg_dir = SRC / package
    violations = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted(pkg_dir.rglob("*.py"))
        for module in sorted(_imports(path))
        if not _allowed(module, internal, external)
    ]
    assert violations == []


def test_the_domain_reads_no_clock_and_no_randomness() -> None:
    """Time and randomness are parameters of domain functions, never globals (style lesson 13)."""
    forbidden = (
        "datetime.now(",
        "date.today(",
        "datetime.utcnow(",
        "time.time(",
        "secrets.",
        "random.random(",
        "os.urandom(",
    )
    offenders = [
        f"{path.relative_to(SRC)}: {needle}"
        for path in sorted((SRC / "domain").rglob("*.py"))
        for needle in forbidden
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
