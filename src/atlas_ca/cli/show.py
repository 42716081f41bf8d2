"""``atlas-ca show FILE [--json]``: a certificate, request or CRL, decoded for a human or a tool."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1.oids import RuAttribute
from atlas_ca.cli.errors import handle_errors
from atlas_ca.domain.masking import mask_inn_person, mask_snils
from atlas_ca.errors import DecodeError, InvalidPublicKey
from atlas_ca.limits import InputKind, read_input
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.crl import CertificateRevocationList
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.der import canonical_booleans, check_der
from atlas_ca.x509.extensions import (
    AuthorityInformationAccess,
    AuthorityKeyIdentifier,
    BasicConstraints,
    CertificatePolicies,
    CrlDistributionPoints,
    ExtendedKeyUsage,
    Extension,
    IdentificationKind,
    IssuerSignTool,
    KeyUsage,
    PrivateKeyUsagePeriod,
    SubjectAlternativeName,
    SubjectKeyIdentifier,
    SubjectSignTool,
    UnrecognizedExtension,
)
from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.names import Name, NameAttribute, oid_of
from atlas_ca.x509.pem import PemLabel, label_text, pem_encode, read_der_or_pem

Artifact = Certificate | CertificationRequest | CertificateRevocationList


def load_artifact(data: bytes) -> Artifact:
    """A certificate, request or CRL from PEM (by its label) or DER (by trying each)."""
    label, der = read_der_or_pem(data)
    if label is PemLabel.CERTIFICATE:
        return Certificate.from_der(der)
    if label is PemLabel.CERTIFICATE_REQUEST:
        return CertificationRequest.from_der(der)
    if label is PemLabel.X509_CRL:
        return CertificateRevocationList.from_der(der)
    if label is not None:
        raise DecodeError(f"PEM block {label_text(label)} is not a certificate, request or CRL")
    errors = []
    for parser in (Certificate.from_der, CertificationRequest.from_der):
        try:
            return parser(der)
        except InvalidPublicKey:
            raise  # readable, but its key is refused: say so rather than "not a certificate"
        except DecodeError as exc:
            errors.append(str(exc))
    try:
        return CertificateRevocationList.from_der(der)
    except DecodeError as exc:
        errors.append(str(exc))
    raise DecodeError(f"not a certificate, request or CRL in DER or PEM ({errors[0]})")


def read_artifact(data: bytes) -> tuple[Artifact, tuple[str, ...]]:
    """:func:`load_artifact` for showing: also reads an object whose only flaw is a non-DER
    BOOLEAN (OpenSSL and certtool read those), with a warning saying so. What we sign and
    what we accept for issuance stay strict DER (:func:`load_artifact` and the services)."""
    try:
        return load_artifact(data), ()
    except DecodeError as strict:
        label, der = read_der_or_pem(data)
        fixed = canonical_booleans(der)
        if fixed is None:
            raise
        try:
            check_der(fixed, "input")
        except DecodeError:
            raise strict from None
        if label is not None and not isinstance(label, PemLabel):
            raise
        artifact = load_artifact(fixed if label is None else pem_encode(fixed, label))
        return artifact, (f"not DER, read as DER would have it: {strict}",)


def _key_warnings(info: PublicKeyInfo) -> list[str]:
    if info.key_type is KeyType.GOST3410_2001:
        return ["GOST R 34.10-2001 key: not for qualified use since 2019-01-01"]
    if info.on_test_curve:
        return ["key on a GOST test parameter set (the standard's examples): never a real key"]
    return []


def _time(t: Any) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_extension(ext: Extension) -> dict[str, Any]:
    oid = oid_of(ext.oid_dotted)
    out: dict[str, Any] = {"oid": oid.dotted, "name": oid.name, "critical": ext.critical}
    value: Any
    if isinstance(ext, BasicConstraints):
        value = {"ca": ext.ca, "path_length": ext.path_length}
    elif isinstance(ext, KeyUsage):
        value = sorted(b.name.lower() for b in ext.usages)
    elif isinstance(ext, ExtendedKeyUsage):
        value = [p.name for p in ext.purposes]
    elif isinstance(ext, SubjectKeyIdentifier):
        value = ext.digest.hex()
    elif isinstance(ext, AuthorityKeyIdentifier):
        value = {
            "key_id": ext.key_id.hex() if ext.key_id is not None else None,
            "issuer": [str(n) for n in ext.issuer],
            "serial": f"{ext.serial_number:x}" if ext.serial_number is not None else None,
        }
    elif isinstance(ext, CrlDistributionPoints):
        value = [[str(n) for n in p.full_name] for p in ext.points]
    elif isinstance(ext, AuthorityInformationAccess):
        value = [{"method": d.method.name, "location": str(d.location)} for d in ext.descriptions]
    elif isinstance(ext, CertificatePolicies):
        value = [
            {"policy": p.policy.name, "oid": p.policy.dotted, "cps": list(p.cps_uris)}
            for p in ext.policies
        ]
    elif isinstance(ext, PrivateKeyUsagePeriod):
        value = {"not_before": _time(ext.not_before), "not_after": _time(ext.not_after)}
    elif isinstance(ext, SubjectAlternativeName):
        value = [str(n) for n in ext.names]
    elif isinstance(ext, SubjectSignTool):
        value = ext.tool
    elif isinstance(ext, IssuerSignTool):
        value = {
            "sign_tool": ext.sign_tool,
            "ca_tool": ext.ca_tool,
            "sign_tool_cert": ext.sign_tool_cert,
            "ca_tool_cert": ext.ca_tool_cert,
        }
    elif isinstance(ext, IdentificationKind):
        value = {"kind": int(ext.kind), "meaning": ext.kind.name.lower()}
    elif isinstance(ext, UnrecognizedExtension):
        value = {"der": ext.value.hex()}
    else:  # pragma: no cover - every typed extension is listed above
        value = ext.value_der().hex()
    out["value"] = value
    return out


def _key(info: PublicKeyInfo) -> dict[str, Any]:
    return {"type": info.key_type.value, "parameters": info.parameters}


def _masked(attribute: NameAttribute) -> str:
    """A person's СНИЛС and ИНН are masked (R21); an organisation's ИНН ("00" + 10 digits in
    the INN attribute, pre-2021 practice) and every other attribute print as they are."""
    value = attribute.value
    if attribute.oid.dotted == RuAttribute.SNILS.dotted:
        return mask_snils(value)
    if attribute.oid.dotted == RuAttribute.INN.dotted and not value.startswith("00"):
        return mask_inn_person(value)
    return value


def _name(name: Name, unmask: bool) -> str:
    return str(name) if unmask else name.rfc4514(_masked)


def describe(artifact: Artifact, *, unmask: bool = False) -> dict[str, Any]:
    """A JSON-ready description of ``artifact``; a person's СНИЛС and ИНН masked unless
    ``unmask``."""
    if isinstance(artifact, Certificate):
        return {
            "type": "certificate",
            "version": artifact.version,
            "serial": f"{artifact.serial_number:x}",
            "subject": _name(artifact.subject, unmask),
            "issuer": _name(artifact.issuer, unmask),
            "not_before": _time(artifact.not_before),
            "not_after": _time(artifact.not_after),
            "signature_algorithm": artifact.signature_algorithm.value,
            "public_key": _key(artifact.public_key),
            "extensions": [describe_extension(e) for e in artifact.extensions],
            "sha256": artifact.fingerprint().hex(),
            **_warnings(_key_warnings(artifact.public_key)),
        }
    if isinstance(artifact, CertificationRequest):
        return {
            "type": "request",
            "subject": _name(artifact.subject, unmask),
            "signature_algorithm": artifact.signature_algorithm.value,
            "public_key": _key(artifact.public_key),
            "extensions": [describe_extension(e) for e in artifact.extensions],
            "attributes": [oid_of(a).name for a in artifact.attribute_oids],
            **_warnings(_key_warnings(artifact.public_key)),
        }
    alg = artifact.signature_algorithm
    return {
        "type": "crl",
        "version": artifact.version,
        "issuer": _name(Name.from_der(artifact.issuer_der), unmask),
        "this_update": _time(artifact.this_update),
        "next_update": _time(artifact.next_update),
        "crl_number": artifact.crl_number,
        "delta_of": artifact.delta_crl_indicator,
        "signature_algorithm": alg.value if alg is not None else artifact.signature_oid,
        "revoked": len(artifact),
    }


def _warnings(found: list[str]) -> dict[str, Any]:
    return {"warnings": found} if found else {}


def _text(d: dict[str, Any]) -> str:
    lines: list[str] = []
    for key, value in d.items():
        if key == "warnings":
            lines.extend(f"warning: {w}" for w in value)
        elif key == "extensions":
            lines.append("extensions:")
            for e in value:
                crit = " (critical)" if e["critical"] else ""
                lines.append(f"  {e['name']}{crit}: {json.dumps(e['value'], ensure_ascii=False)}")
        elif key == "public_key":
            params = f" ({value['parameters']})" if value["parameters"] else ""
            lines.append(f"public_key: {value['type']}{params}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--unmask",
    is_flag=True,
    help="Print a person's СНИЛС and ИНН in full (masked by default, R21 / 152-ФЗ).",
)
@handle_errors
def show(file: Path, as_json: bool, unmask: bool) -> None:
    """Decode a certificate, certificate request or CRL (PEM or DER)."""
    data = read_input(file, InputKind.ANY_ARTIFACT)
    artifact, warnings = read_artifact(data)
    d = describe(artifact, unmask=unmask)
    if warnings:
        d["warnings"] = [*warnings, *d.get("warnings", [])]
        if "sha256" in d:  # the fingerprint of the bytes as they are, not of the DER form
            d["sha256"] = hashlib.sha256(read_der_or_pem(data)[1]).hexdigest()
    click.echo(json.dumps(d, ensure_ascii=False, indent=2) if as_json else _text(d))


__all__ = ["describe", "describe_extension", "load_artifact", "read_artifact", "show"]
