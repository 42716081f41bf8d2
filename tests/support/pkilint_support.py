"""pkilint (PKIX / RFC 5280 validators) over our certificates and CRLs, with the Russian
attributes and extensions registered so that pkilint decodes them instead of flagging them.

``pkix_findings(der)`` and ``crl_findings(der)`` return the findings of severity ERROR or
FATAL as ``"SEVERITY code at path: message"`` lines: an empty list means pkilint is clean.
"""

from __future__ import annotations

from pkilint import document, loader, pkix
from pkilint.pkix import certificate, crl, extension, name
from pkilint.validation import ValidationFindingSeverity
from pyasn1.type import char, constraint, namedtype, univ
from pyasn1_alt_modules import rfc5280

from atlas_ca.asn1 import oids

_SEVERE = (ValidationFindingSeverity.ERROR, ValidationFindingSeverity.FATAL)


class _NumericId(char.NumericString):
    """OGRN, SNILS, INNLE, OGRNIP, INN (Order 795: NumericString; PrintableString is read too
    by our linter, but we emit NumericString)."""


class _IssuerSignTool(univ.Sequence):
    componentType = namedtype.NamedTypes(  # noqa: N815 - pyasn1 names it so
        namedtype.NamedType(
            "signTool",
            char.UTF8String().subtype(subtypeSpec=constraint.ValueSizeConstraint(1, 200)),
        ),
        namedtype.NamedType(
            "cATool", char.UTF8String().subtype(subtypeSpec=constraint.ValueSizeConstraint(1, 200))
        ),
        namedtype.NamedType(
            "signToolCert",
            char.UTF8String().subtype(subtypeSpec=constraint.ValueSizeConstraint(1, 100)),
        ),
        namedtype.NamedType(
            "cAToolCert",
            char.UTF8String().subtype(subtypeSpec=constraint.ValueSizeConstraint(1, 100)),
        ),
    )


def _oid(o: oids.Oid) -> univ.ObjectIdentifier:
    return univ.ObjectIdentifier(o.dotted)


RU_ATTRIBUTES = {
    _oid(o): _NumericId()
    for o in (
        oids.RuAttribute.OGRN,
        oids.RuAttribute.SNILS,
        oids.RuAttribute.INNLE,
        oids.RuAttribute.OGRNIP,
        oids.RuAttribute.INN,
    )
}
RU_EXTENSIONS = {
    _oid(oids.RuExtension.SUBJECT_SIGN_TOOL): char.UTF8String(),
    _oid(oids.RuExtension.ISSUER_SIGN_TOOL): _IssuerSignTool(),
    _oid(oids.RuExtension.IDENTIFICATION_KIND): univ.Integer(),
    _oid(oids.Extension.PRIVATE_KEY_USAGE_PERIOD): rfc5280.PrivateKeyUsagePeriod(),
}
ATTRIBUTES = {**name.ATTRIBUTE_TYPE_MAPPINGS, **RU_ATTRIBUTES}
EXTENSIONS = {**extension.EXTENSION_MAPPINGS, **RU_EXTENSIONS}


def _severe(results: list[object]) -> list[str]:
    out = []
    for result in results:
        for finding in result.finding_descriptions:  # type: ignore[attr-defined]
            if finding.finding.severity in _SEVERE:
                where = result.node.path  # type: ignore[attr-defined]
                out.append(
                    f"{finding.finding.severity.name} {finding.finding.code} at {where}: "
                    f"{finding.message or ''}"
                )
    return out


def pkix_findings(der: bytes) -> list[str]:
    """pkilint's RFC 5280 certificate validators (``lint_pkix_cert``) over ``der``."""
    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(ATTRIBUTES, EXTENSIONS),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )
    doc = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    return _severe(validator.validate(doc.root))


def crl_findings(der: bytes) -> list[str]:
    """pkilint's RFC 5280 CRL validators (``lint_crl -t CRL -p PKIX``) over ``der``."""
    validator = crl.create_pkix_crl_validator_container(
        [pkix.create_attribute_decoder(ATTRIBUTES), pkix.create_extension_decoder(EXTENSIONS)],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )
    doc = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    return _severe(validator.validate(doc.root))


__all__ = ["crl_findings", "document", "pkix_findings"]
