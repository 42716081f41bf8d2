"""Registrar attestation: the verified record, DER-encoded, signed as detached CMS (R5).

After a registrar compared a subscriber's data with the originals
(:func:`atlas_ca.domain.verification.complete_verification`), the verified record is encoded
canonically (DER, schema below) and signed with the registrar's key as a CMS ``SignedData``
(RFC 5652) with detached content and the signed attributes contentType, messageDigest and
signingTime. The algorithms are those OpenSSL's gost engine writes and reads (checked with
``openssl cms -sign`` on this platform):

* digestAlgorithm ``id-tc26-gost3411-12-256`` (or ``-512`` for a 512-bit key), parameters NULL;
* signatureAlgorithm the key's algorithm ``id-tc26-gost3410-12-256`` (``-512``), parameters
  NULL, as RFC 4490 §3.2 does for GOST R 34.10-2001 and the gost engine does for 2012;
* signature: the same ``s || r`` octets as an X.509 signatureValue (RFC 9215 §3.2).

Schema of the record (version 1)::

    VerifiedRecord ::= SEQUENCE {
        version             INTEGER (1),
        subscriber          UTF8String,
        kind                UTF8String,      -- INDIVIDUAL | ENTREPRENEUR | ORGANISATION
        identificationKind  INTEGER (0..3),  -- as in the identificationKind extension
        registrar           UTF8String,
        verifiedAt          GeneralizedTime, -- UTC
        person        [0] IMPLICIT Person OPTIONAL,
        ogrnip        [1] IMPLICIT NumericString OPTIONAL,
        organisation  [2] IMPLICIT Organisation OPTIONAL }
    Person ::= SEQUENCE {
        surname UTF8String, givenName UTF8String, patronymic UTF8String OPTIONAL,
        birthDate PrintableString,  -- YYYYMMDD
        passportSeries NumericString, passportNumber NumericString,
        passportIssued PrintableString,  -- YYYYMMDD
        passportIssuerCode PrintableString,  -- NNN-NNN
        inn NumericString, snils NumericString }
    Organisation ::= SEQUENCE {
        inn NumericString, kpp PrintableString,
        ogrn NumericString OPTIONAL, fullName UTF8String OPTIONAL }

The verifier checks the structure, the message digest of the record, the signature over the
signed attributes and — when given the registrar's certificate — that this certificate signed.
Given a :class:`atlas_ca.trust.PathValidator` it also walks the registrar's chain up to the
trust store with revocation (RFC 5280 §6, §6.3) at the signing time, as remote renewal does for
a subscriber (:mod:`atlas_ca.services.renewal`): a revoked, expired or untrusted registrar
certificate makes the attestation invalid.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import cms, core

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1.oids import Cms, GostAlgorithm
from atlas_ca.domain.identifiers import (
    InnLegal,
    InnPerson,
    Kpp,
    Ogrn,
    Ogrnip,
    Passport,
    Snils,
)
from atlas_ca.domain.ids import RegistrarId, SubscriberId
from atlas_ca.domain.registrars import Registrar, require_can_verify
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    IdentificationMethod,
    IdentityData,
    IndividualData,
    OrganisationData,
    PersonName,
    Subscriber,
    SubscriberKind,
)
from atlas_ca.domain.verification import VerifiedRecord, verified_record
from atlas_ca.errors import (
    AtlasCaError,
    DecodeError,
    PathValidationFailed,
    Refused,
    SignatureInvalid,
)
from atlas_ca.hsm.base import SigningKey
from atlas_ca.trust import PathValidator
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.cms import GOST_CMS_ALGORITHMS, gost_digest, sign_signed_data
from atlas_ca.x509.der import check_der
from atlas_ca.x509.keys import public_key_source
from atlas_ca.x509.signatures import verify_signature

__all__ = [
    "RECORD_VERSION",
    "Attestation",
    "AttestationInfo",
    "AttestationInvalid",
    "AttestationRefused",
    "attest_verification",
    "decode_record",
    "encode_record",
    "sign_record",
    "verify_attestation",
]

RECORD_VERSION = 1


class AttestationRefused(Refused):
    """The attestation cannot be made: wrong key, non-qualified key, registrar mismatch (R5)."""


class AttestationInvalid(SignatureInvalid):
    """A registrar attestation that does not verify against the record (R5)."""


# --- the record's ASN.1 ---------------------------------------------------------------------


class _Person(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("surname", core.UTF8String),
        ("given_name", core.UTF8String),
        ("patronymic", core.UTF8String, {"optional": True}),
        ("birth_date", core.PrintableString),
        ("passport_series", core.NumericString),
        ("passport_number", core.NumericString),
        ("passport_issued", core.PrintableString),
        ("passport_issuer_code", core.PrintableString),
        ("inn", core.NumericString),
        ("snils", core.NumericString),
    ]


class _Organisation(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("inn", core.NumericString),
        ("kpp", core.PrintableString),
        ("ogrn", core.NumericString, {"optional": True}),
        ("full_name", core.UTF8String, {"optional": True}),
    ]


class _VerifiedRecord(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("version", core.Integer),
        ("subscriber", core.UTF8String),
        ("kind", core.UTF8String),
        ("identification_kind", core.Integer),
        ("registrar", core.UTF8String),
        ("verified_at", core.GeneralizedTime),
        ("person", _Person, {"implicit": 0, "optional": True}),
        ("ogrnip", core.NumericString, {"implicit": 1, "optional": True}),
        ("organisation", _Organisation, {"implicit": 2, "optional": True}),
    ]


def _ymd(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def _parse_ymd(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=dt.UTC).date()


def _person_value(p: IndividualData) -> dict[str, Any]:
    value: dict[str, Any] = {
        "surname": p.name.surname,
        "given_name": p.name.given_name,
        "birth_date": _ymd(p.birth_date),
        "passport_series": p.passport.series,
        "passport_number": p.passport.number,
        "passport_issued": _ymd(p.passport.issue_date),
        "passport_issuer_code": p.passport.issuer_code,
        "inn": p.inn.value,
        "snils": p.snils.value,
    }
    if p.name.patronymic:
        value["patronymic"] = p.name.patronymic
    return value


def encode_record(record: VerifiedRecord) -> bytes:
    """The canonical DER of a verified record (schema in the module docstring)."""
    value: dict[str, Any] = {
        "version": RECORD_VERSION,
        "subscriber": record.subscriber.value,
        "kind": record.kind.name,
        "identification_kind": int(record.method),
        "registrar": record.registrar.value,
        "verified_at": record.verified_at.astimezone(dt.UTC),
    }
    data = record.data
    if isinstance(data, EntrepreneurData):
        value["person"] = _person_value(data.person)
        value["ogrnip"] = data.ogrnip.value
    elif isinstance(data, IndividualData):
        value["person"] = _person_value(data)
    else:
        org: dict[str, Any] = {"inn": data.inn.value, "kpp": data.kpp.value}
        if data.ogrn is not None:
            org["ogrn"] = data.ogrn.value
        if data.full_name is not None:
            org["full_name"] = data.full_name
        value["organisation"] = org
    der: bytes = _VerifiedRecord(value).dump(force=True)
    return der


def decode_record(der: bytes) -> VerifiedRecord:
    """Read a record written by :func:`encode_record`; identifiers are validated again."""
    check_der(der, "verified record")
    try:
        parsed = _VerifiedRecord.load(der, strict=True)
        native = parsed.native
        if parsed.dump(force=True) != der:
            raise DecodeError("verified record: not the canonical DER encoding")
        if native["version"] != RECORD_VERSION:
            raise DecodeError(f"verified record: version {native['version']} is not supported")
        kind = SubscriberKind[native["kind"]]
        data: IdentityData
        if native["organisation"] is not None:
            o = native["organisation"]
            data = OrganisationData(
                InnLegal(o["inn"]),
                Kpp(o["kpp"]),
                Ogrn(o["ogrn"]) if o["ogrn"] is not None else None,
                o["full_name"],
            )
        else:
            p = native["person"]
            person = IndividualData(
                name=PersonName(p["surname"], p["given_name"], p["patronymic"]),
                birth_date=_parse_ymd(p["birth_date"]),
                passport=Passport(
                    p["passport_series"],
                    p["passport_number"],
                    _parse_ymd(p["passport_issued"]),
                    p["passport_issuer_code"],
                ),
                inn=InnPerson(p["inn"]),
                snils=Snils(p["snils"]),
            )
            data = (
                EntrepreneurData(person, Ogrnip(native["ogrnip"]))
                if native["ogrnip"] is not None
                else person
            )
        return VerifiedRecord(
            subscriber=SubscriberId(native["subscriber"]),
            kind=kind,
            data=data,
            method=IdentificationMethod(native["identification_kind"]),
            registrar=RegistrarId(native["registrar"]),
            verified_at=native["verified_at"],
        )
    except AtlasCaError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f"verified record: cannot decode ({type(exc).__name__})") from exc


# --- signing --------------------------------------------------------------------------------

_SIGNER_CERT = "registrar attestation signer certificate"
_GOST = GOST_CMS_ALGORITHMS
_SIG_FOR_KEY_OID = {
    GostAlgorithm.GOST3410_2012_256.dotted: SignatureAlgorithm.GOST3410_2012_256,
    GostAlgorithm.GOST3410_2012_512.dotted: SignatureAlgorithm.GOST3410_2012_512,
}
_DIGEST_FOR_KEY_OID = {
    GostAlgorithm.GOST3410_2012_256.dotted: GostAlgorithm.GOST3411_2012_256.dotted,
    GostAlgorithm.GOST3410_2012_512.dotted: GostAlgorithm.GOST3411_2012_512.dotted,
}


_streebog = gost_digest


def sign_record(
    record_der: bytes,
    key: SigningKey,
    certificate_der: bytes,
    *,
    at: dt.datetime,
    require_qualified: bool = True,
) -> bytes:
    """Detached CMS SignedData (DER) over ``record_der`` by ``key``, which ``certificate_der``
    certifies; ``at`` is the signingTime. The certificate is embedded in the SignedData.

    ``require_qualified`` refuses keys outside a certified HSM (the software backend), as a
    registrar's signature under R5 must be qualified; tests pass False.
    """
    if at.tzinfo is None:
        raise AttestationRefused("the signing time must be timezone-aware")
    if key.key_type not in _GOST:
        raise AttestationRefused(
            f"a registrar attestation is signed with GOST R 34.10-2012, not {key.key_type.value}"
            " (R5)"
        )
    if require_qualified and not key.qualified_use_allowed:
        raise AttestationRefused(
            "this key is not in a certified HSM; a registrar's signature must be qualified (R5)"
        )
    with public_key_source(_SIGNER_CERT):
        cert = Certificate.from_der(certificate_der)
    if cert.public_key_info != key.public_key_info:
        raise AttestationRefused("the registrar's certificate does not certify this key (R5)")
    if not cert.validity.contains(at):
        raise AttestationRefused(
            f"the registrar's certificate is not valid at {at.isoformat()} (R5)"
        )
    return sign_signed_data(record_der, key, cert, detached=True, signing_time=at)


@dataclass(frozen=True, slots=True)
class Attestation:
    """A verified record and the registrar's detached signature of it."""

    record: VerifiedRecord
    record_der: bytes
    signature_der: bytes


def attest_verification(
    subscriber: Subscriber,
    registrar: Registrar,
    key: SigningKey,
    *,
    at: dt.datetime,
    require_qualified: bool = True,
) -> Attestation:
    """R5: the registrar who completed the verification signs the verified record."""
    record = verified_record(subscriber)
    if record.registrar != registrar.id:
        raise AttestationRefused(
            f"subscriber {subscriber.id} was verified by registrar {record.registrar}, "
            f"not {registrar.id}; only that registrar signs the record (R5)"
        )
    require_can_verify(registrar)
    certificate = registrar.signing_certificate
    if certificate is None:  # require_can_verify refuses this already; kept for the type
        raise AttestationRefused(f"registrar {registrar.id} has no signing certificate (R5)")
    record_der = encode_record(record)
    signature = sign_record(
        record_der, key, certificate, at=at, require_qualified=require_qualified
    )
    return Attestation(record, record_der, signature)


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttestationInfo:
    """What a valid attestation says: who signed, when, and the record's digest."""

    signer: Certificate
    signing_time: dt.datetime
    digest_algorithm: str
    record_digest: bytes


def _invalid(message: str) -> AttestationInvalid:
    return AttestationInvalid(f"registrar attestation: {message} (R5)")


def _attr(attrs: Any, dotted: str) -> Any:
    found = [a for a in attrs if a["type"].dotted == dotted]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        raise _invalid(f"needs exactly one signed attribute {dotted}")
    return found[0]["values"][0]


def verify_attestation(
    record_der: bytes,
    signature_der: bytes,
    *,
    registrar_certificate: bytes | Certificate | None = None,
    validator: PathValidator | None = None,
    at: dt.datetime | None = None,
) -> AttestationInfo:
    """Check a detached CMS attestation of ``record_der``; return what it says.

    Raises :class:`AttestationInvalid` if the digest, the signature or the signer does not
    match, :class:`~atlas_ca.errors.DecodeError` if the CMS cannot be read. With
    ``registrar_certificate`` the signer must be that certificate; without it the certificate
    embedded in the SignedData is used. With ``validator`` the signer's certificate must
    validate up to its trust anchors, revocation included, at ``at`` (default: the signing
    time); the SignedData's other certificates help build the path.
    """
    check_der(signature_der, "registrar attestation")
    try:
        info = cms.ContentInfo.load(signature_der, strict=True)
        if info["content_type"].dotted != Cms.SIGNED_DATA.dotted:
            raise _invalid("not a CMS SignedData")
        sd = info["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].dotted != Cms.DATA.dotted:
            raise _invalid("encapsulated content type is not id-data")
        if eci["content"].native is not None:
            raise _invalid("content is attached; an attestation is detached")
        signers = list(sd["signer_infos"])
        if len(signers) != 1:
            raise _invalid(f"{len(signers)} signers; an attestation has exactly one")
        si = signers[0]
        attrs = si["signed_attrs"]
        if not isinstance(attrs, cms.CMSAttributes) or len(attrs) == 0:
            raise _invalid("no signed attributes")
        key_oid = si["signature_algorithm"]["algorithm"].dotted
        digest_oid = si["digest_algorithm"]["algorithm"].dotted
        if key_oid not in _SIG_FOR_KEY_OID or _DIGEST_FOR_KEY_OID[key_oid] != digest_oid:
            raise _invalid(f"algorithms {key_oid}/{digest_oid} are not a GOST R 34.10-2012 pair")
        if _attr(attrs, Cms.CONTENT_TYPE.dotted).dotted != Cms.DATA.dotted:
            raise _invalid("signed contentType is not id-data")
        claimed = bytes(_attr(attrs, Cms.MESSAGE_DIGEST.dotted).native)
        signing_time = _attr(attrs, Cms.SIGNING_TIME.dotted).native
        sid = si["sid"]
        if sid.name != "issuer_and_serial_number":
            raise _invalid("the signer must be named by issuer and serial number")
        issuer_der = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        with public_key_source(_SIGNER_CERT):
            embedded = [
                Certificate.from_der(c.chosen.dump())
                for c in (sd["certificates"] or [])
                if c.name == "certificate"
            ]
        signed_attrs_der = b"\x31" + attrs.dump()[1:]  # [0] IMPLICIT -> SET OF (RFC 5652 §5.4)
        signature = bytes(si["signature"].native)
    except AtlasCaError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise DecodeError(
            f"registrar attestation: cannot decode the CMS ({type(exc).__name__})"
        ) from exc

    if registrar_certificate is not None:
        with public_key_source(_SIGNER_CERT):
            trusted = (
                registrar_certificate
                if isinstance(registrar_certificate, Certificate)
                else Certificate.from_der(registrar_certificate)
            )
        candidates = [trusted]
    else:
        candidates = embedded
    signer = next(
        (c for c in candidates if c.issuer.der == issuer_der and c.serial_number == serial),
        None,
    )
    if signer is None:
        raise _invalid("signed by a certificate other than the registrar's")
    if not isinstance(signing_time, dt.datetime) or not signer.validity.contains(signing_time):
        raise _invalid(
            f"signingTime {signing_time} is outside the validity of the registrar's certificate"
        )
    actual = _streebog(digest_oid, record_der)
    if not hmac.compare_digest(actual, claimed):
        raise _invalid("the record does not match the signed message digest")
    try:
        verify_signature(
            signer.public_key_info, _SIG_FOR_KEY_OID[key_oid], signed_attrs_der, signature
        )
    except SignatureInvalid as exc:
        raise _invalid(f"the signature does not verify: {exc}") from exc
    if validator is not None:
        when = at if at is not None else signing_time
        try:
            validator.validate(signer, at=when, chain=[c.der for c in embedded if c != signer])
        except PathValidationFailed as exc:
            raise _invalid(
                f"the registrar's certificate does not validate at {when:%Y-%m-%d %H:%M:%SZ}: {exc}"
            ) from exc
    return AttestationInfo(
        signer=signer,
        signing_time=signing_time,
        digest_algorithm=digest_oid,
        record_digest=actual,
    )
