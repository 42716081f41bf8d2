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
    # ASN.1 declarations stand alone.
    "asn1": ({"atlas_ca.errors", "atlas_ca.asn1"}, {"asn1crypto"}),
    # Key backends sign; they know GOST math and key encodings, not certificates or storage.
    "hsm": (
        {
            "atlas_ca.errors",
            "atlas_ca.asn1",
            "atlas_ca.algorithms",
            "atlas_ca.gost",
            "atlas_ca.hsm",
        },
        {"PyKCS11", "cryptography", "asn1crypto"},
    ),
    # The X.509 engine encodes and verifies; it signs only through the SigningKey port.
    "x509": (
        {
            "atlas_ca.errors",
            "atlas_ca.asn1",
            "atlas_ca.algorithms",
            "atlas_ca.gost",
            "atlas_ca.hsm.base",
            "atlas_ca.x509",
            "atlas_ca.limits",  # input size limits: stdlib and errors only
        },
        {"asn1crypto", "cryptography"},
    ),
    # The audit chain hashes and checks signatures; it knows no register or service.
    "audit": (
        {
            "atlas_ca.errors",
            "atlas_ca.audit",
            "atlas_ca.gost",
            "atlas_ca.algorithms",
            "atlas_ca.hsm.base",
            "atlas_ca.x509.signatures",
        },
        set(),
    ),
    # Storage adapters serve the services' ports; no profiles, services or CLI.
    "storage": (
        {
            "atlas_ca.errors",
            "atlas_ca.storage",
            "atlas_ca.audit",
            "atlas_ca.domain.ids",
            "atlas_ca.hsm.base",
            "atlas_ca.x509.crl",
            "atlas_ca.algorithms",
        },
        {"psycopg"},
    ),
    # Trust judges certificates others made: path validation (pyhanko-certvalidator with GOST
    # plugged in), trust stores, signed requests; no storage, services, profiles or CLI.
    "trust": (
        {
            "atlas_ca.errors",
            "atlas_ca.asn1",
            "atlas_ca.algorithms",
            "atlas_ca.gost",
            "atlas_ca.hsm.base",
            "atlas_ca.x509",
            "atlas_ca.domain.masking",
            "atlas_ca.trust",
            "atlas_ca.limits",  # bounded reads of trust-store files: stdlib and errors only
        },
        {"asn1crypto", "cryptography", "pyhanko_certvalidator"},
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
            if node.module == "atlas_ca":  # `from atlas_ca import gost` imports atlas_ca.gost
                found.update(f"atlas_ca.{alias.name}" for alias in node.names)
            else:
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


def test_nothing_but_the_cli_imports_the_cli() -> None:
    # console.py is the `atlas-ca` script: it imports the CLI only once click is known present.
    offenders = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted(SRC.rglob("*.py"))
        if (SRC / "cli") not in path.parents and path != SRC / "console.py"
        for module in sorted(_imports(path))
        if module == "atlas_ca.cli" or module.startswith("atlas_ca.cli.")
    ]
    assert offenders == []


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


# --- database drivers (issue 12, one schema owner) ------------------------------------------
DRIVERS = {"sqlite3", "psycopg", "psycopg_binary", "psycopg_c", "psycopg_pool"}


def test_no_layer_but_storage_imports_a_database_driver() -> None:
    """sqlite3 and psycopg are the storage adapters' business (lazy imports inside functions
    count too): services, CLI and the rest reach a database only through storage's ports."""
    offenders = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted(SRC.rglob("*.py"))
        if (SRC / "storage") not in path.parents
        for module in sorted(_imports(path))
        if module.split(".")[0] in DRIVERS
    ]
    assert offenders == []


def test_only_the_adapters_of_storage_import_a_database_driver() -> None:
    """Inside storage, the port, the record store and the SQL logic stay driver-free, so
    importing them never needs psycopg (a SQLite-only install has none)."""
    adapters = {"sqlite.py": {"sqlite3"}, "postgres.py": {"psycopg"}}
    offenders = [
        f"storage/{path.name} imports {module}"
        for path in sorted((SRC / "storage").rglob("*.py"))
        for module in sorted(_imports(path))
        if module.split(".")[0] in DRIVERS - adapters.get(path.name, set())
    ]
    assert offenders == []
