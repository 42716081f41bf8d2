"""``atlas-ca lint FILE [--profile NAME|auto] [--policy conformance|issuance] [--json]``.

``--policy conformance`` (the default, for certificates of other CAs) weighs each finding by
the strength of its source; ``--policy issuance`` applies our own, stricter issuance policy
(what the pre-issuance gate refuses).

Exit codes: 0 when there is no error finding (warnings and notices allowed), 1 with at least
one error finding, 2 when the file cannot be read or is not a certificate, CRL or request (also
an unknown profile name). A certificate's profile is detected (individual / ИП / legal
entity / CA / OCSP / TSA / unknown) unless ``--profile`` names one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from atlas_ca.cli.errors import ExitCode, handle_errors
from atlas_ca.errors import DecodeError
from atlas_ca.limits import InputKind, read_input
from atlas_ca.profiles import PROFILES
from atlas_ca.profiles.lint import (
    LintReport,
    Policy,
    Target,
    lint_crl_der,
    lint_csr_der,
    lint_der,
)
from atlas_ca.x509.pem import PemLabel, label_text, read_der_or_pem


@click.command("lint")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--profile",
    "profile",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", *PROFILES]),
    help="Profile to check against; 'auto' detects it from the certificate.",
)
@click.option(
    "--policy",
    "policy",
    default=Policy.CONFORMANCE.value,
    show_default=True,
    type=click.Choice([p.value for p in Policy]),
    help="conformance: is it conformant (foreign certificates); issuance: would our CA issue it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def lint(file: Path, profile: str, policy: str, as_json: bool) -> None:
    """Lint a certificate, CRL or certificate request (PEM or DER).

    Certificates are checked against the qualified-certificate profiles, CRLs against RFC 5280
    §5 and Russian practice, requests against RFC 2986 and the GOST key rules.
    """
    label, der = read_der_or_pem(read_input(file, InputKind.ANY_ARTIFACT))
    report = _lint_any(label, der, profile, Policy(policy))
    if as_json:
        click.echo(report.to_json())
    else:
        what = "object" if report.profile in _DOCUMENTS else "profile"
        click.echo(f"{what}: {report.profile}; policy: {report.policy.value}")
        for f in report.findings:
            click.echo(f"{f.severity.value:7} {f.code}  {f.path}: {f.message}  [{f.source}]")
        click.echo(
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
            f"{len(report.notices)} notice(s)"
        )
    sys.exit(int(ExitCode.OK if report.ok else ExitCode.REFUSED))


_DOCUMENTS = frozenset({Target.CRL.value, Target.REQUEST.value})


def _lint_any(label: PemLabel | str | None, der: bytes, profile: str, policy: Policy) -> LintReport:
    if label is PemLabel.CERTIFICATE:
        return lint_der(der, profile, policy)
    if label is PemLabel.X509_CRL:
        return lint_crl_der(der, policy)
    if label is PemLabel.CERTIFICATE_REQUEST:
        return lint_csr_der(der, policy)
    if label is not None:
        raise DecodeError(
            f"PEM block {label_text(label)} is not a certificate, CRL or certificate request"
        )
    problems: list[str] = []
    attempts: tuple[Callable[[], LintReport], ...] = (
        lambda: lint_der(der, profile, policy),
        lambda: lint_crl_der(der, policy),
        lambda: lint_csr_der(der, policy),
    )
    for attempt in attempts:
        try:
            return attempt()
        except DecodeError as exc:
            problems.append(str(exc))
    raise DecodeError(f"not a certificate, CRL or certificate request ({problems[0]})")


__all__ = ["lint"]
