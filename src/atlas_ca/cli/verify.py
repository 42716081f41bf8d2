"""``atlas-ca verify FILE --issuer CA.pem [--at TIME]``: exit 0 valid, 1 invalid, 2 unreadable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from atlas_ca.cli.errors import handle_errors
from atlas_ca.cli.show import load_artifact
from atlas_ca.limits import InputKind, read_input
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import CertificateRevocationList
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.extensions import KeyUsageBit
from atlas_ca.x509.verify import (
    CertificateInvalid,
    check_validity,
    require_crl_issuer,
    require_key_usage,
    verify_issued_by,
)


def parse_time(value: str) -> datetime:
    """ISO 8601; a time without an offset is UTC."""
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from exc
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--issuer",
    "issuer_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Issuer certificate (PEM or DER); required for certificates and CRLs.",
)
@click.option("--at", "at_text", help="Verification time, ISO 8601 (default: now, UTC).")
@handle_errors
def verify(file: Path, issuer_path: Path | None, at_text: str | None) -> None:
    """Verify a certificate or CRL against its issuer, or a request's proof of possession."""
    at = parse_time(at_text) if at_text else datetime.now(UTC)
    artifact = load_artifact(read_input(file, InputKind.ANY_ARTIFACT))
    if isinstance(artifact, CertificationRequest):
        artifact.verify()
        click.echo("OK: the request is signed by its own key")
        return
    if issuer_path is None:
        raise click.UsageError("--issuer is required to verify a certificate or CRL")
    issuer = Certificate.load(read_input(issuer_path, InputKind.CERTIFICATE))
    check_validity(issuer, at)
    if isinstance(artifact, CertificateRevocationList):
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
        return
    check_validity(artifact, at)
    if artifact != issuer:
        require_key_usage(issuer, KeyUsageBit.KEY_CERT_SIGN)
    verify_issued_by(artifact, issuer)
    click.echo(f"OK: certificate {artifact.serial_number:x} is valid and signed by the issuer")


__all__ = ["parse_time", "verify"]
