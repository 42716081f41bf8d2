"""Dependencies point inwards: the layers' import rules, checked on the source (style lesson 13)."""

from __future__ import annotations

import ast
import subprocess
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


# The CLI is a shell: it parses arguments, calls the facade (atlas_ca.app) or a service, and
# prints. It reaches no domain internals, storage, HSM or X.509 machinery itself (issue 12).
CLI_ALLOWED = (
    {
        "atlas_ca.cli",
        "atlas_ca.app",
        "atlas_ca.services",
        "atlas_ca.errors",
        "atlas_ca.limits",  # reading input files within their size limits (presentation)
        "atlas_ca.__version__",
    },
    {"click"},
)

# Files of the CLI still importing beyond CLI_ALLOWED: module prefix -> why. The list is
# expected to shrink; a new entry needs a reason, and an entry no longer needed fails the test.
CLI_EXEMPTIONS: dict[str, dict[str, str]] = {
    # TEMPORARY (h12t moved the use cases to services/certificates.py and ca_setup.py): the
    # commands still build the services' argument values (ids, phone, Address, Organisation)
    # and print storage records; expected to go when the services take and give plain values
    "certificates.py": dict.fromkeys(
        ("atlas_ca.domain", "atlas_ca.profiles.planning", "atlas_ca.storage"),
        "argument values and printed records of issue/revoke/suspend/resume",
    ),
    "init.py": dict.fromkeys(
        ("atlas_ca.domain", "atlas_ca.profiles.planning"),
        "the CA's Organisation and identifiers built from the arguments of init",
    ),
    # Remote renewal (R20) is services/renewal.py's RemoteRenewal (AtlasCA.renewal); the
    # command builds its argument values (ids) and prints the serial as certificates.py does
    "renew.py": dict.fromkeys(
        ("atlas_ca.domain.ids", "atlas_ca.storage.ports"),
        "argument values of renew and the printed serial",
    ),
    # Diagnostics of the parts themselves: doctor reports the HSM, the GOST engine and the
    # tools, `audit checkpoint` signs with an HSM key (AtlasCA.verify_audit is the library's)
    "doctor.py": dict.fromkeys(
        (
            "atlas_ca.audit",
            "atlas_ca.gost",
            "atlas_ca.hsm",
            "atlas_ca.x509.certificate",
        ),
        "doctor and audit inspect the HSM, the engine and the chain themselves",
    ),
    # Token management is a tool for the HSM itself (no use case of the service standard)
    "hsm.py": dict.fromkeys(
        ("atlas_ca.algorithms", "atlas_ca.hsm"), "token management works on the HSM itself"
    ),
    # Inspection tools: they parse, lint, validate and print objects others made; their
    # "service" is the X.509 / profile / trust API itself
    "show.py": dict.fromkeys(
        ("atlas_ca.algorithms", "atlas_ca.asn1", "atlas_ca.domain.masking", "atlas_ca.x509"),
        "show prints certificates, CRLs and CSRs field by field",
    ),
    "lint.py": dict.fromkeys(
        ("atlas_ca.profiles", "atlas_ca.x509.pem"), "lint runs the profile linters on files"
    ),
    "verify.py": dict.fromkeys(
        ("atlas_ca.trust", "atlas_ca.x509"), "verify runs path validation on files"
    ),
    # TEMPORARY: the status server's signers are built from the configuration in the command
    "serve.py": {
        **dict.fromkeys(
            ("atlas_ca.asn1.oids", "atlas_ca.hsm", "atlas_ca.profiles", "atlas_ca.status"),
            "the OCSP/TSA signers are wired in the command, not yet through the facade",
        ),
        # the granian runner: its worker factory re-reads the [serve] table the CLI parses
        "granian": "atlas-ca serve --server granian runs the status app under granian",
    },
}

# Services hold the use cases: they use the domain and the ports, never the CLI, the facade,
# the demo or a concrete database driver.
SERVICES_ALLOWED = (
    {
        "atlas_ca.errors",
        "atlas_ca.domain",
        "atlas_ca.services",
        "atlas_ca.profiles",
        "atlas_ca.x509",
        "atlas_ca.hsm",
        "atlas_ca.storage.ports",
        "atlas_ca.audit",
        "atlas_ca.gost",
        "atlas_ca.trust",
        "atlas_ca.asn1",
        "atlas_ca.algorithms",
        "atlas_ca.limits",
    },
    {"asn1crypto"},
)
SERVICES_EXEMPTIONS: dict[str, dict[str, str]] = {}


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


def _exempt(module: str, allowed: dict[str, str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in allowed)


@pytest.mark.parametrize(
    ("package", "rules", "exemptions"),
    [
        ("cli", CLI_ALLOWED, CLI_EXEMPTIONS),
        ("services", SERVICES_ALLOWED, SERVICES_EXEMPTIONS),
    ],
)
def test_the_cli_and_the_services_keep_to_their_layer(
    package: str,
    rules: tuple[set[str], set[str]],
    exemptions: dict[str, dict[str, str]],
) -> None:
    """The CLI imports the facade, services, errors and presentation helpers; the services the
    domain and the ports. Each exemption is named with its reason and must still be needed."""
    internal, external = rules
    violations: list[str] = []
    unused: list[str] = []
    for path in sorted((SRC / package).rglob("*.py")):
        if SRC / "cli" / "demo" in path.parents:
            continue  # the demo drives every layer on purpose; nothing outside cli imports it
        allowed = exemptions.get(path.name, {})
        used: set[str] = set()
        for module in sorted(_imports(path)):
            if _allowed(module, internal, external):
                continue
            if _exempt(module, allowed):
                used.update(p for p in allowed if module == p or module.startswith(p + "."))
                continue
            violations.append(f"{package}/{path.name} imports {module}")
        unused.extend(f"{package}/{path.name}: {p}" for p in sorted(set(allowed) - used))
    assert violations == []
    assert unused == [], "exemptions no longer needed: remove them"
    assert set(exemptions) <= {p.name for p in (SRC / package).rglob("*.py")}


def test_the_cli_holds_no_use_case_of_the_identity_and_money_side() -> None:
    """cli/subscriber.py and cli/order.py parse and print; the rules run in the services."""
    for name in ("subscriber.py", "order.py", "config.py"):
        assert name not in CLI_EXEMPTIONS
        for module in _imports(SRC / "cli" / name):
            assert not module.startswith(("atlas_ca.domain", "atlas_ca.storage", "atlas_ca.hsm"))


def test_the_facade_is_a_library_module() -> None:
    """atlas_ca.app wires services; it imports no CLI, demo, click or database driver."""
    for module in _imports(SRC / "app.py"):
        assert not module.startswith(("atlas_ca.cli", "atlas_ca.cli.demo.scenario")), module
        assert module.split(".")[0] not in {"click", "psycopg", "sqlite3"}, module


def test_import_atlas_ca_stays_light() -> None:
    """``import atlas_ca`` (and the facade) loads neither click nor psycopg: a SQLite-only
    library user needs neither (issue 12)."""
    code = (
        "import sys, atlas_ca; light = sorted(sys.modules);"
        "atlas_ca.open; import atlas_ca.app;"
        "print([m for m in sys.modules if m.split('.')[0] in ('click', 'psycopg')],"
        " [m for m in light if m.startswith('atlas_ca.')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] []"
