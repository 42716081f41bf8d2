"""``atlas-ca verify``: is this certificate valid, up to which trust anchor, checked how?

A certificate is validated with RFC 5280 path validation and revocation (:mod:`atlas_ca.trust`):
the path and every check are printed; exit 1 names the failing check. A request is checked
for its proof of possession; a CRL against its issuer (``--issuer``). Exit codes: 0 valid,
1 invalid, 2 unreadable input or usage, 3 environment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from atlas_ca.cli.errors import handle_errors
from atlas_ca.cli.show import load_artifact
from atlas_ca.errors import DecodeError, InvalidPublicKey, PathValidationFailed
from atlas_ca.limits import InputKind, read_input
from atlas_ca.trust import (
    PathValidator,
    PolicyInputs,
    RevocationMode,
    ValidatedPath,
    load_certificate,
)
from atlas_ca.trust.store import TrustStore, read_objects
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import CertificateRevocationList
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.pem import PemLabel, read_der_or_pem
from atlas_ca.x509.verify import CertificateInvalid, check_validity, require_crl_issuer

_PATH = click.Path(dir_okay=False, path_type=Path)


def parse_time(value: str) -> datetime:
    """ISO 8601; a time without an offset is UTC."""
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from exc
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _z(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _certificates(paths: tuple[Path, ...]) -> list[bytes]:
    out: list[bytes] = []
    for p in paths:
        certs, _ = read_objects(p)
        out.extend(certs)
    return out


def _crls(paths: tuple[Path, ...]) -> list[bytes]:
    out: list[bytes] = []
    for p in paths:
        certs, crls = read_objects(p)
        if certs:
            raise DecodeError(f"{p}: --crl expects CRLs, found a certificate")
        out.extend(crls)
    return out


def _is_certificate(data: bytes) -> bool:
    """Certificates go to path validation, read by the trust layer (any algorithm)."""
    label, der = read_der_or_pem(data)
    if label is not None:
        return label is PemLabel.CERTIFICATE
    try:
        artifact = load_artifact(data)
    except InvalidPublicKey:
        raise  # a weak or invalid key is refused, never read around (issue 15 item 1)
    except DecodeError:
        load_certificate(der)  # a certificate our x509 layer does not issue (e.g. GOST 2001)
        return True
    return isinstance(artifact, Certificate)


def _role(index: int, total: int) -> str:
    if index == 0:
        return "trust anchor"
    return "target" if index == total - 1 else "intermediate"


def path_json(path: ValidatedPath) -> dict[str, Any]:
    total = len(path.certificates)
    return {
        "valid": True,
        "at": _z(path.at),
        "path": [
            {
                "role": _role(i, total),
                "subject": c.subject,
                "issuer": c.issuer,
                "serial": f"{c.serial:x}",
                "not_before": _z(c.not_before),
                "not_after": _z(c.not_after),
                "signature_algorithm": c.signature_algorithm,
            }
            for i, c in enumerate(path.certificates)
        ],
        "checks": {check.value: "ok" for check in path.checks},
        "revocation": path.revocation.value,
        "policies": sorted(path.policies),
        "qualified_use": path.qualified_use_ok,
        "notes": list(path.notes),
    }


def _print_path(path: ValidatedPath) -> None:
    total = len(path.certificates)
    click.echo("path (trust anchor first):")
    for i, c in enumerate(path.certificates):
        click.echo(f"  {i} {_role(i, total)}: {c.subject}")
        click.echo(
            f"      serial {c.serial:x}, valid {_z(c.not_before)} … {_z(c.not_after)}, "
            f"{c.signature_algorithm}"
        )
    click.echo("checks:")
    for check in path.checks:
        click.echo(f"  {check.value}: ok")
    if path.revocation is RevocationMode.OFF:
        click.echo("  revocation: NOT CHECKED (--revocation off)")
    else:
        click.echo(f"revocation mode: {path.revocation.value}")
    if path.policies:
        click.echo(f"policies: {', '.join(sorted(path.policies))}")
    for note in path.notes:
        click.echo(f"note: {note}")
    click.echo(f"OK: {path.target.label} is valid at {_z(path.at)}")


def _verify_crl(
    artifact: CertificateRevocationList, issuer_path: Path | None, at: datetime
) -> None:
    if issuer_path is None:
        raise click.UsageError("--issuer is required to verify a CRL")
    issuer = Certificate.load(read_input(issuer_path, InputKind.CERTIFICATE))
    check_validity(issuer, at)
    require_crl_issuer(issuer)
    artifact.verify_issued_by(issuer.der)
    if artifact.this_update > at:
        raise CertificateInvalid(
            f"the CRL is not yet valid at {at:%Y-%m-%d %H:%M:%SZ} "
            f"(thisUpdate {artifact.this_update:%Y-%m-%d %H:%M:%SZ})"
        )
    if artifact.next_update is not None and artifact.next_update < at:
        raise CertificateInvalid(
            f"the CRL is stale at {at:%Y-%m-%d %H:%M:%SZ} "
            f"(nextUpdate {artifact.next_update:%Y-%m-%d %H:%M:%SZ})"
        )
    click.echo("OK: the CRL is signed by the issuer and current")


@click.command()
@click.argument("file", type=_PATH)
@click.option(
    "--chain",
    "chain",
    multiple=True,
    type=_PATH,
    help="Intermediate or cross-certificates for path building (repeatable; bundles).",
)
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=_PATH,
    help="Trust anchor certificate(s) (repeatable; PEM bundles allowed).",
)
@click.option(
    "--trust-store",
    "trust_store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Trust store directory: anchors (top level or anchors/), certs/, crls/.",
)
@click.option(
    "--issuer",
    "issuer_path",
    type=_PATH,
    help="The issuer: trust anchor for a certificate, signer of a CRL.",
)
@click.option(
    "--crl", "crl_files", multiple=True, type=_PATH, help="CRLs, full or delta (repeatable)."
)
@click.option(
    "--ocsp",
    type=click.Choice(["auto", "off"]),
    default="off",
    show_default=True,
    help="auto: fetch OCSP responses and CRLs the certificates point to (network).",
)
@click.option(
    "--revocation",
    type=click.Choice([m.value for m in RevocationMode]),
    default=RevocationMode.REQUIRE.value,
    show_default=True,
    help="require: every certificate below the anchor needs a CRL or OCSP answer.",
)
@click.option("--at", "at_text", help="Validation time, ISO 8601 (default: now, UTC).")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    help="Initial policy set (OID, repeatable; default anyPolicy).",
)
@click.option("--explicit-policy", is_flag=True, help="Require a valid policy (RFC 5280 §6.1.1).")
@click.option("--inhibit-policy-mapping", is_flag=True, help="Initial policy-mapping inhibit.")
@click.option("--inhibit-any-policy", is_flag=True, help="Initial anyPolicy inhibit.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def verify(
    file: Path,
    chain: tuple[Path, ...],
    trust: tuple[Path, ...],
    trust_store: Path | None,
    issuer_path: Path | None,
    crl_files: tuple[Path, ...],
    ocsp: str,
    revocation: str,
    at_text: str | None,
    policies: tuple[str, ...],
    explicit_policy: bool,
    inhibit_policy_mapping: bool,
    inhibit_any_policy: bool,
    as_json: bool,
) -> None:
    """Validate a certificate up to a trust anchor, printing the path and each check.

    \b
      atlas-ca verify person.pem --trust-store /etc/atlas-ca/trust --crl ca.crl
      atlas-ca verify person.pem --chain ca.pem --trust root.pem --crl root.crl --crl ca.crl \\
          --policy 1.2.643.100.113.1 --explicit-policy --json

    A request is checked for its proof of possession; a CRL against --issuer.
    """
    at = parse_time(at_text) if at_text else datetime.now(UTC)
    data = read_input(file, InputKind.ANY_ARTIFACT)
    if not _is_certificate(data):
        artifact = load_artifact(data)
        if isinstance(artifact, CertificationRequest):
            artifact.verify()
            click.echo("OK: the request is signed by its own key")
            return
        assert isinstance(artifact, CertificateRevocationList)
        _verify_crl(artifact, issuer_path, at)
        return

    store = TrustStore(())
    if trust_store is not None:
        store = store.merged(TrustStore.from_directory(trust_store))
    if trust or issuer_path is not None:
        anchors = (*trust, *((issuer_path,) if issuer_path is not None else ()))
        store = store.merged(TrustStore.from_files(anchors))
    if not store.anchors:
        raise click.UsageError(
            "give the trust anchors: --trust FILE, --trust-store DIR or --issuer"
        )
    validator = PathValidator(
        store.anchors,
        intermediates=[*store.certificates, *_certificates(chain)],
        crls=[*store.crls, *_crls(crl_files)],
        fetch=ocsp == "auto",
        revocation=RevocationMode(revocation),
    )
    policy = PolicyInputs(
        initial_policies=frozenset(policies) if policies else None,
        explicit_policy=explicit_policy,
        inhibit_policy_mapping=inhibit_policy_mapping,
        inhibit_any_policy=inhibit_any_policy,
    )
    try:
        path = validator.validate(data, at=at, policy=policy)
    except PathValidationFailed as exc:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "valid": False,
                        "at": _z(at),
                        "check": exc.context.get("check"),
                        "certificate": exc.context.get("certificate"),
                        "error": str(exc),
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        raise
    if as_json:
        click.echo(json.dumps(path_json(path), ensure_ascii=False, indent=2))
    else:
        _print_path(path)


__all__ = ["parse_time", "path_json", "verify"]
