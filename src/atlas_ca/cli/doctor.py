"""``atlas-ca doctor``: is this machine ready to run the CA? And ``atlas-ca audit verify``.

doctor checks the GOST engine in use, the PKCS#11 module and its tokens' GOST mechanisms, the
register, the CA certificate, and the outside verifiers (OpenSSL with the gost engine,
GnuTLS certtool). Exit 0 when every required check passed, 3 when one did not.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from atlas_ca.audit import verify_store, x509_signature_verifier
from atlas_ca.cli.config import (
    OperatorConfig,
    Workspace,
    config_option,
    json_option,
    load_config,
    pin_from_environment,
)
from atlas_ca.cli.demo.scenario import find_verifiers
from atlas_ca.cli.errors import handle_errors
from atlas_ca.cli.hsm import module_path, token_reports
from atlas_ca.errors import AtlasCaError, Refused, Unavailable
from atlas_ca.gost import active_engine
from atlas_ca.hsm import open_key
from atlas_ca.hsm.pkcs11 import MODULE_ENV, module_for
from atlas_ca.hsm.uri import Pkcs11Uri
from atlas_ca.limits import InputKind, read_input
from atlas_ca.x509.certificate import Certificate


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _guard(name: str, fn: Callable[[], str], *, required: bool = True) -> Check:
    try:
        return Check(name, True, fn(), required)
    except (AtlasCaError, OSError) as exc:
        return Check(name, False, " ".join(str(exc).split()), required)


def run_checks(config: OperatorConfig, config_path: Path | None) -> list[Check]:
    """Every check of ``doctor``; nothing here raises."""
    checks = [_guard("gost engine", lambda: f"{active_engine()} (atlas_ca.gost.active_engine)")]

    def pkcs11() -> str:
        path = module_path(None, config_path)
        reports = token_reports(path)
        if not reports:
            raise Unavailable(f"{path}: no token present")
        parts = [
            f"{r.label!r}: {len(r.gost_mechanisms)} GOST mechanisms "
            f"({', '.join(m.split(' ')[0] for m in r.gost_mechanisms) or 'none'})"
            for r in reports
        ]
        if not any(r.gost_mechanisms for r in reports):
            raise Unavailable(f"{path}: no token offers GOST mechanisms")
        return f"{path}; " + "; ".join(parts)

    checks.append(_guard("pkcs11 module", pkcs11))

    def key_module() -> str:
        """Which module the CA key is looked for in: the key URI's module-path wins over
        ATLAS_CA_PKCS11_MODULE (docs/hsm.md) — said here, never silently."""
        uri = config.key_uri
        if uri is None or not uri.startswith("pkcs11:"):
            return "the CA key is not a pkcs11: URI"
        path, source = module_for(Pkcs11Uri.parse(uri))
        ignored = os.environ.get(MODULE_ENV)
        note = f"; {MODULE_ENV}={ignored} is not used for it" if "wins" in source else ""
        return f"{path} ({source}){note}"

    checks.append(_guard("ca key module", key_module, required=False))

    def database() -> str:
        location = config.register
        if "://" not in location and not Path(location).exists():
            raise Unavailable(f"{location} does not exist (atlas-ca init creates the register)")
        with Workspace(config) as ws:
            return f"{config.register}: schema version {ws.register.schema_version}"

    checks.append(_guard("register", database))

    def certificate() -> str:
        cert = Certificate.load(read_input(config.require_certificate(), InputKind.CERTIFICATE))
        if not cert.is_ca:
            raise Refused("the configured certificate is not a CA certificate")
        return f"{config.certificate}: CA until {cert.not_after.date().isoformat()}"

    checks.append(_guard("ca certificate", certificate, required=config.certificate is not None))
    with tempfile.TemporaryDirectory(prefix="atlas-ca-doctor-") as tmp:
        verifiers = find_verifiers(Path(tmp))

        def openssl() -> str:
            if verifiers.openssl is None:
                raise Unavailable("openssl not found on PATH")
            if not verifiers.gost_engine_available():
                raise Unavailable(
                    f"{verifiers.openssl}: the gost engine does not load "
                    "(Debian package libengine-gost-openssl)"
                )
            version = verifiers.run_openssl(["version"]).output.strip()
            return f"{verifiers.openssl} ({version}) with the gost engine"

        checks.append(_guard("openssl + gost engine", openssl))

        def certtool() -> str:
            if verifiers.certtool is None:
                raise Unavailable("certtool not found on PATH (Debian package gnutls-bin)")
            first = verifiers.run_certtool(["--version"]).output.splitlines()[:1]
            return f"{verifiers.certtool} ({first[0].strip() if first else 'version unknown'})"

        checks.append(_guard("certtool", certtool, required=False))
    return checks


@click.command("doctor")
@config_option
@json_option
@handle_errors
def doctor(config_path: Path | None, as_json: bool) -> None:
    """Check the environment: GOST engine, PKCS#11 module and mechanisms, register, verifiers.

    Exit 0 when every required check passed, 3 otherwise (certtool is optional).

    \b
    Examples:
      atlas-ca doctor
      atlas-ca doctor --config /etc/atlas-ca/atlas-ca.toml --json
    """
    config = load_config(config_path)
    checks = run_checks(config, config_path)
    failed = [c for c in checks if c.required and not c.ok]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": not failed,
                    "checks": [
                        {"name": c.name, "ok": c.ok, "required": c.required, "detail": c.detail}
                        for c in checks
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for c in checks:
            mark = "ok" if c.ok else ("FAILED" if c.required else "missing")
            click.echo(f"[{mark}] {c.name}: {c.detail}")
    if failed:
        raise Unavailable(
            "not ready: " + ", ".join(c.name for c in failed) + " (see the checks above)"
        )


@click.group("audit")
def audit() -> None:
    """The hash-chained audit log of the register."""


def _trusted_keys(config: OperatorConfig, certificates: tuple[Path, ...]) -> list[bytes] | None:
    """SPKIs whose checkpoint signatures count: --trusted-cert files, else the CA's."""
    paths = list(certificates)
    if not paths and config.certificate is not None and config.certificate.exists():
        paths = [config.certificate]
    if not paths:
        return None
    return [Certificate.load(read_input(p, InputKind.CERTIFICATE)).public_key_info for p in paths]


@audit.command("verify")
@click.option(
    "--trusted-cert",
    "trusted",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Certificate whose key may sign checkpoints (default: the CA certificate).",
)
@config_option
@json_option
@handle_errors
def audit_verify(trusted: tuple[Path, ...], config_path: Path | None, as_json: bool) -> None:
    """Verify the audit log's hash chain, its signed checkpoints and its recorded head.

    Checkpoint signatures are checked, and must be made by the CA's key (or a key of a
    --trusted-cert). Exit 0 when the log is intact, 1 at the first broken link (named with its
    sequence number).

    \b
    Examples:
      atlas-ca audit verify --config /etc/atlas-ca/atlas-ca.toml
      atlas-ca audit verify --trusted-cert audit-signer.pem --json
    """
    config = load_config(config_path)
    keys = _trusted_keys(config, trusted)
    with Workspace(config) as ws:
        report = verify_store(
            ws.register, verify_signature=x509_signature_verifier, trusted_keys=keys
        )
    problem = report.first_problem
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "events": report.events_checked,
                    "checkpoints": report.checkpoints_checked,
                    "problem": None
                    if problem is None
                    else {"kind": problem.kind.value, "seq": problem.seq, "detail": problem.detail},
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(
            f"{report.events_checked} events, {report.checkpoints_checked} checkpoints checked"
        )
    if problem is not None:
        raise Refused(
            f"the audit log is broken at event {problem.seq}: {problem.kind.value}: "
            f"{problem.detail}"
        )
    if not as_json:
        click.echo("OK: the audit log is intact")


@audit.command("checkpoint")
@click.option("--key-uri", help="Key that signs the checkpoint (default: the CA key).")
@config_option
@json_option
@handle_errors
def audit_checkpoint(key_uri: str | None, config_path: Path | None, as_json: bool) -> None:
    """Sign the audit chain's head with an HSM key and record the checkpoint.

    Keep a copy of the printed hash elsewhere: with it, a rewrite of the log up to that
    event is detected even if every hash after the edit was recomputed.

    \b
    Examples:
      atlas-ca audit checkpoint --config /etc/atlas-ca/atlas-ca.toml
    """
    config = load_config(config_path)
    with Workspace(config) as ws:
        uri = key_uri or config.require_key_uri()
        key = open_key(uri, pin=pin_from_environment())
        label = getattr(key, "label", None) or "ca"
        checkpoint = ws.register.checkpoint(key, at=ws.now(), key_id=str(label))
    data = {
        "seq": checkpoint.seq,
        "chain_hash": checkpoint.chain_hash.hex(),
        "at": checkpoint.at.isoformat(),
        "key_id": checkpoint.key_id,
    }
    if as_json:
        click.echo(json.dumps(data))
    else:
        click.echo(
            f"checkpoint at event {checkpoint.seq}: {checkpoint.chain_hash.hex()} "
            f"(signed by {checkpoint.key_id})"
        )


__all__ = ["Check", "audit", "doctor", "run_checks"]
