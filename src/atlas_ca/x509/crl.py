"""Certificate revocation lists (RFC 5280 §5): a streaming builder and a lazy parser.

Building
    :class:`CrlBuilder` is immutable in the ``cryptography`` style: every setter returns a new
    builder and may be called once. :meth:`CrlBuilder.sign` takes the signing key and an
    *iterable* of :class:`RevokedEntry`; each entry is encoded straight to DER bytes (see
    :mod:`atlas_ca.x509.der`) and appended to one ``bytearray`` (≈ 48 bytes an entry),
    never kept as an object. The buffer is needed because DER puts the length of
    ``revokedCertificates`` before its content. The TBS is then hashed in three pieces (header,
    entries, extensions) through :class:`~atlas_ca.hsm.base.PrehashSigningKey` when the key
    offers it, never joined (Ed25519 has no prehash: its TBS is joined once and signed whole).
    The signature is verified with the key's public half before the CRL is returned, and a key
    that is not the issuer certificate's is refused. The result, a :class:`SignedCrl`, writes
    itself to a binary stream (DER or PEM) without joining the parts.

    For large CRLs, ``sign(key, rows=...)`` takes :data:`RawEntry` tuples instead — serial as
    an int, octets or the register's hex text, revocation time as the content of its DER time,
    reason code — and writes each straight into the buffer: no :class:`RevokedEntry` or
    ``datetime`` per entry. Each value is still checked (set lookups for the calendar, a byte
    comparison with thisUpdate) and the DER is byte-for-byte that of the typed path.

    Bulkiest, ``sign(key, encoded=...)`` appends :class:`EncodedEntries` blocks: entries a
    register stored as DER at revocation (:func:`encode_entry`, the typed path's bytes), a
    fetch batch at a time — no Python object and no encoding per entry; the caller vouches
    that no entry in them is revoked after thisUpdate (the register checks it in its index).

    With ``sign(..., spool=file)`` the encoded entries go to that file (a temporary file the
    caller owns, e.g. ``tempfile.TemporaryFile``) as they are produced instead of staying in
    memory: DER needs their total length before them, so they are written once, then read
    back in pieces to be hashed and again to be written out (:class:`SpooledEntries`). The
    bytes are those of the in-memory path; what the process holds is a piece, not the CRL
    (≈ 48 bytes an entry: 12 MB for a CRL of 250,000, 61 MB for a million).

    Entries are written **in the order given** — a streamed CRL cannot be sorted without holding
    every entry — and duplicates are not detected; the register that feeds the builder owns
    both properties. Per RFC 5280 §5.3.1 ``reasonCode`` is omitted for ``unspecified``;
    ``removeFromCRL`` is accepted only in a delta CRL (§5.3.1). ``cRLNumber`` (non-critical,
    at most 20 octets, §5.2.3), ``authorityKeyIdentifier`` (§5.2.1) and ``nextUpdate``
    (§5.1.2.5) are required; ``deltaCRLIndicator`` (§5.2.4) and ``issuingDistributionPoint``
    (§5.2.5) are critical; ``freshestCRL`` (§5.2.6) is non-critical and refused in a delta CRL.
    Suspension (приостановление, 63-ФЗ art. 14) is an entry with reason ``certificateHold``;
    lifting it is the entry's absence from the next full CRL, or ``removeFromCRL`` in a delta.

Parsing
    :class:`CertificateRevocationList` reads the header fields and keeps the span of
    ``revokedCertificates`` as bytes: ``len()`` and :meth:`~CertificateRevocationList.lookup`
    walk the entries' TLV headers once into a compact offset array (4–8 bytes per entry), and
    ``lookup`` then finds a serial with a byte search confirmed against that array; iteration
    decodes one entry at a time. Bad input raises :class:`~atlas_ca.errors.DecodeError` (or its
    subclass :class:`UnsupportedCrlFeature`), never anything else.
"""

from __future__ import annotations

import binascii
import bisect
import enum
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any, BinaryIO, Final, NamedTuple

from atlas_ca import gost
from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1.oids import Extension
from atlas_ca.errors import AtlasCaError, DecodeError, Refused, SignatureInvalid, X509Error
from atlas_ca.hsm.base import PrehashSigningKey, SigningKey
from atlas_ca.limits import InputKind, check_size
from atlas_ca.x509 import der

# ``cryptography`` and :mod:`atlas_ca.x509.signatures` (which loads it) are imported where a
# non-GOST signature is checked, not here: a GOST CRL publication never needs them, and they
# are ≈ 16 MB of a publishing process's resident memory (docs/performance.md, "Partitioned
# CRLs, per partition"); tests/x509/test_crl_lean_imports.py holds the lean import set.

PEM_LABEL: Final = "X509 CRL"
_PEM_BEGIN: Final = b"-----BEGIN X509 CRL-----"
_PEM_END: Final = b"-----END X509 CRL-----"
_MAX_SERIAL_OCTETS: Final = 20  # RFC 5280 §4.1.2.2 (serials) and §5.2.3 (cRLNumber)


class UnsupportedCrlFeature(DecodeError):
    """A well-formed CRL uses something atlas_ca does not implement (e.g. indirect CRL entries)."""


class CrlIssuerMismatch(X509Error, Refused):
    """A CRL checked against a certificate that did not issue it (name or key identifier)."""


class RevocationReason(enum.IntEnum):
    """CRLReason (RFC 5280 §5.3.1); the value is the ENUMERATED code (7 is unused)."""

    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    #: Suspension (приостановление действия, 63-ФЗ art. 14): reversible.
    CERTIFICATE_HOLD = 6
    REMOVE_FROM_CRL = 8
    PRIVILEGE_WITHDRAWN = 9
    AA_COMPROMISE = 10


# ReasonFlags bit positions (RFC 5280 §4.2.1.13): not the CRLReason codes for the last two.
_REASON_FLAG_BIT: Final[dict[RevocationReason, int]] = {
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.CERTIFICATE_HOLD: 6,
    RevocationReason.PRIVILEGE_WITHDRAWN: 7,
    RevocationReason.AA_COMPROMISE: 8,
}
_FLAG_BIT_REASON: Final = {bit: reason for reason, bit in _REASON_FLAG_BIT.items()}


def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (a naive datetime has no UTC instant)")
    return moment.astimezone(UTC).replace(microsecond=0)


def _check_serial_like(value: int, what: str) -> None:
    if type(value) is not int:
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    if value.bit_length() // 8 + 1 > _MAX_SERIAL_OCTETS:
        raise ValueError(f"{what} {value:#x} does not fit in {_MAX_SERIAL_OCTETS} octets")


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One ``revokedCertificates`` entry (RFC 5280 §5.1.2.6, §5.3).

    ``revoked_at`` and ``invalidity_date`` are aware datetimes, kept in UTC to the second (the
    precision DER carries). ``reason`` ``None`` and ``UNSPECIFIED`` both encode as no
    ``reasonCode`` (§5.3.1); a parsed entry reports ``None`` then.
    """

    serial: int
    revoked_at: datetime
    reason: RevocationReason | None = None
    invalidity_date: datetime | None = None

    def __post_init__(self) -> None:
        _check_serial_like(self.serial, "serial")
        t = self.revoked_at
        if not (type(t) is datetime and t.tzinfo is UTC and not t.microsecond):
            object.__setattr__(self, "revoked_at", _utc(t, "revoked_at"))
        if self.reason is not None and not isinstance(self.reason, RevocationReason):
            raise TypeError(f"reason must be a RevocationReason, not {type(self.reason).__name__}")
        if self.invalidity_date is not None:
            object.__setattr__(
                self, "invalidity_date", _utc(self.invalidity_date, "invalidity_date")
            )


# --- CRL extension values ------------------------------------------------------------------


def _uri_names(uris: tuple[str, ...], what: str) -> bytes:
    out = []
    for uri in uris:
        if not isinstance(uri, str) or not uri or not uri.isascii() or ":" not in uri:
            raise ValueError(f"{what}: {uri!r} is not an ASCII URI with a scheme")
        out.append(der.tlv(0x86, uri.encode("ascii")))  # [6] uniformResourceIdentifier
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class IssuingDistributionPoint:
    """issuingDistributionPoint (RFC 5280 §5.2.5), always critical; ``full_name`` as URIs.

    At most one of the ``only_contains_*`` flags may be set, and the extension may not be
    empty (§5.2.5).
    """

    full_name: tuple[str, ...] = ()
    only_contains_user_certs: bool = False
    only_contains_ca_certs: bool = False
    only_some_reasons: frozenset[RevocationReason] | None = None
    indirect_crl: bool = False
    only_contains_attribute_certs: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "full_name", tuple(self.full_name))
        _uri_names(self.full_name, "issuingDistributionPoint fullName")
        flags = (
            self.only_contains_user_certs,
            self.only_contains_ca_certs,
            self.only_contains_attribute_certs,
        )
        if sum(flags) > 1:
            raise ValueError(
                "issuingDistributionPoint: at most one of onlyContainsUserCerts, "
                "onlyContainsCACerts and onlyContainsAttributeCerts may be TRUE (RFC 5280 §5.2.5)"
            )
        if self.only_some_reasons is not None:
            reasons = frozenset(self.only_some_reasons)
            bad = [r for r in reasons if r not in _REASON_FLAG_BIT]
            if bad or not reasons:
                raise ValueError(
                    "issuingDistributionPoint onlySomeReasons must be a non-empty set of "
                    f"ReasonFlags reasons, got {sorted(r.name for r in reasons)}"
                )
            object.__setattr__(self, "only_some_reasons", reasons)
        if (
            not self.full_name
            and not any(flags)
            and not self.indirect_crl
            and (self.only_some_reasons is None)
        ):
            raise ValueError("issuingDistributionPoint must not be empty (RFC 5280 §5.2.5)")

    def value_der(self) -> bytes:
        parts = []
        if self.full_name:
            parts.append(der.tlv(0xA0, der.tlv(0xA0, _uri_names(self.full_name, "fullName"))))
        if self.only_contains_user_certs:
            parts.append(b"\x81\x01\xff")
        if self.only_contains_ca_certs:
            parts.append(b"\x82\x01\xff")
        if self.only_some_reasons is not None:
            parts.append(_reason_flags(self.only_some_reasons, 0x83))
        if self.indirect_crl:
            parts.append(b"\x84\x01\xff")
        if self.only_contains_attribute_certs:
            parts.append(b"\x85\x01\xff")
        return der.encode_sequence(*parts)


@dataclass(frozen=True, slots=True)
class FreshestCrl:
    """freshestCRL (RFC 5280 §5.2.6): where the delta CRLs are; one DistributionPoint per URI."""

    uris: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "uris", tuple(self.uris))
        if not self.uris:
            raise ValueError("freshestCRL needs at least one URI")
        _uri_names(self.uris, "freshestCRL")

    def value_der(self) -> bytes:
        return der.encode_sequence(
            *(
                der.encode_sequence(der.tlv(0xA0, der.tlv(0xA0, _uri_names((uri,), "freshestCRL"))))
                for uri in self.uris
            )
        )


@dataclass(frozen=True, slots=True)
class CrlExtension:
    """A CRL extension as found: OID, criticality and the DER of ``extnValue``'s content."""

    oid: str
    critical: bool
    value: bytes


def _reason_flags(reasons: frozenset[RevocationReason], tag: int) -> bytes:
    bits = 0
    for reason in reasons:
        bits |= 1 << (15 - _REASON_FLAG_BIT[reason])  # bit 0 is the first bit of two octets
    raw = bits.to_bytes(2, "big").rstrip(b"\x00")
    unused = (len(raw) * 8 - 1 - max(_REASON_FLAG_BIT[r] for r in reasons)) if raw else 0
    return der.tlv(tag, bytes((unused,)) + raw)


# --- the builder ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fields:
    issuer: bytes | None = None
    key_identifier: bytes | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    crl_number: int | None = None
    delta_base: int | None = None
    idp: IssuingDistributionPoint | None = None
    freshest: FreshestCrl | None = None
    entries: tuple[RevokedEntry, ...] = field(default=())
    issuer_spki: bytes | None = None


@dataclass(frozen=True, slots=True)
class _Ready:
    """The builder's fields once every required one is set and checked."""

    issuer: bytes
    key_identifier: bytes
    this_update: datetime
    next_update: datetime
    crl_number: int
    delta_base: int | None
    idp: IssuingDistributionPoint | None
    freshest: FreshestCrl | None
    entries: tuple[RevokedEntry, ...]


class CrlBuilder:
    """Immutable builder of a v2 CRL; see the module docstring for the RFC 5280 rules applied.

    >>> builder = (CrlBuilder().issuer_certificate(ca_der).this_update(now)
    ...            .next_update(now + timedelta(days=1)).crl_number(42))
    >>> builder.sign(key, register.revoked_entries()).write_to(stream)
    """

    __slots__ = ("_f",)

    def __init__(self) -> None:
        self._f = _Fields()

    @classmethod
    def _with(cls, fields: _Fields) -> CrlBuilder:
        new = cls.__new__(cls)
        new._f = fields
        return new

    def _set(self, name: str, value: Any) -> CrlBuilder:
        if getattr(self._f, name) is not None:
            raise ValueError(f"{name} is already set; a CRL builder's fields are set once")
        return self._with(replace(self._f, **{name: value}))

    def issuer_name(self, name_der: bytes) -> CrlBuilder:
        """The issuer Name exactly as the DER of the issuer certificate's subject."""
        data = bytes(name_der)
        try:
            _, end = der.expect(data, 0, len(data), der.SEQUENCE, "issuer name")
        except DecodeError as exc:
            raise ValueError(f"issuer name is not a DER Name: {exc}") from exc
        if end != len(data):
            raise ValueError("issuer name has trailing bytes after the Name")
        return self._set("issuer", data)

    def authority_key_identifier(self, key_identifier: bytes) -> CrlBuilder:
        """authorityKeyIdentifier.keyIdentifier: the issuer certificate's SKI (RFC 5280 §5.2.1)."""
        kid = bytes(key_identifier)
        if not kid:
            raise ValueError("authorityKeyIdentifier must not be empty")
        return self._set("key_identifier", kid)

    def issuer_certificate(self, certificate_der: bytes) -> CrlBuilder:
        """Issuer name (byte-for-byte its subject) and AKI (its SKI) from the CA certificate.

        A certificate without subjectKeyIdentifier gets the RFC 5280 §4.2.1.2 method-1 value
        (SHA-1 of its subjectPublicKey bits), which is what such a CA's subscribers carry.
        """
        facts = issuer_facts(bytes(certificate_der))
        named = self.issuer_name(facts.subject_der).authority_key_identifier(facts.key_identifier)
        return self._with(replace(named._f, issuer_spki=facts.spki_der))

    def this_update(self, moment: datetime) -> CrlBuilder:
        return self._set("this_update", _utc(moment, "this_update"))

    def next_update(self, moment: datetime) -> CrlBuilder:
        return self._set("next_update", _utc(moment, "next_update"))

    def crl_number(self, number: int) -> CrlBuilder:
        """cRLNumber: monotonically increasing, shared by full and delta CRLs (§5.2.3)."""
        _check_serial_like(number, "cRLNumber")
        return self._set("crl_number", number)

    def delta_crl_indicator(self, base_crl_number: int) -> CrlBuilder:
        """Make this a delta CRL over the full CRL numbered ``base_crl_number`` (§5.2.4)."""
        _check_serial_like(base_crl_number, "deltaCRLIndicator")
        return self._set("delta_base", base_crl_number)

    def issuing_distribution_point(self, idp: IssuingDistributionPoint) -> CrlBuilder:
        if not isinstance(idp, IssuingDistributionPoint):
            raise TypeError("issuing_distribution_point takes an IssuingDistributionPoint")
        return self._set("idp", idp)

    def freshest_crl(self, freshest: FreshestCrl) -> CrlBuilder:
        if not isinstance(freshest, FreshestCrl):
            raise TypeError("freshest_crl takes a FreshestCrl")
        return self._set("freshest", freshest)

    def add_revoked_certificate(self, entry: RevokedEntry) -> CrlBuilder:
        """Add one entry (for small CRLs; stream large ones through :meth:`sign`)."""
        if not isinstance(entry, RevokedEntry):
            raise TypeError("add_revoked_certificate takes a RevokedEntry")
        return self._with(replace(self._f, entries=(*self._f.entries, entry)))

    # -- signing --

    def _checked(self) -> _Ready:
        f = self._f
        if (
            f.issuer is None
            or f.key_identifier is None
            or f.this_update is None
            or f.next_update is None
            or f.crl_number is None
        ):
            missing = [
                name
                for name, value in (
                    ("issuer name", f.issuer),
                    ("authority key identifier", f.key_identifier),
                    ("this_update", f.this_update),
                    ("next_update", f.next_update),
                    ("crl_number", f.crl_number),
                )
                if value is None
            ]
            raise ValueError(f"a CRL needs {', '.join(missing)} (RFC 5280 §5.1, §5.2)")
        if f.next_update <= f.this_update:
            raise ValueError(
                f"next_update {f.next_update.isoformat()} must be after "
                f"this_update {f.this_update.isoformat()}"
            )
        if f.delta_base is not None:
            if f.delta_base >= f.crl_number:
                raise ValueError(
                    f"a delta CRL's base CRL number {f.delta_base} must be below its own "
                    f"cRLNumber {f.crl_number} (RFC 5280 §5.2.4)"
                )
            if f.freshest is not None:
                raise ValueError("freshestCRL must not appear in a delta CRL (RFC 5280 §5.2.6)")
        return _Ready(
            f.issuer,
            f.key_identifier,
            f.this_update,
            f.next_update,
            f.crl_number,
            f.delta_base,
            f.idp,
            f.freshest,
            f.entries,
        )

    def sign(
        self,
        key: SigningKey,
        revoked: Iterable[RevokedEntry] = (),
        *,
        rows: Iterable[RawEntry] = (),
        encoded: Iterable[EncodedEntries] = (),
        spool: BinaryIO | None = None,
    ) -> SignedCrl:
        """Encode the entries added to the builder, then those of ``revoked``, then ``rows``,
        append the blocks of ``encoded``, and sign.

        ``revoked`` and ``rows`` are consumed once, in order; each entry becomes DER
        immediately. ``rows`` is the bulk path for large CRLs (see :data:`RawEntry`): no
        Python object per entry, and the same DER as the equal :class:`RevokedEntry` values.
        ``encoded`` is the bulkiest: entries stored as DER (:func:`encode_entry`), appended a
        block at a time (see :class:`EncodedEntries` for what the caller vouches for).
        ``spool``: a readable and writable binary file that receives the encoded entries
        instead of memory (see the module's docstring); it must stay open while the result
        is used.
        """
        f = self._checked()
        if self._f.issuer_spki is not None and self._f.issuer_spki != key.public_key_info:
            raise CrlIssuerMismatch(
                "the signing key is not the key of the issuer certificate given to the builder"
            )
        algorithm = key.signature_algorithm
        alg_der = _algorithm_identifier(algorithm)

        delta = f.delta_base is not None
        entries: bytearray | SpooledEntries
        if spool is None:
            entries = bytearray()
            count = _encode_entries(entries, f.entries, f.this_update, delta=delta)
            count += _encode_entries(entries, revoked, f.this_update, delta=delta)
            count += _encode_rows(entries, rows, f.this_update, delta=delta)
            count += _append_encoded(entries.extend, encoded)
        else:
            count, entries = _spool_entries(spool, f, revoked, rows, encoded)

        fields = [
            der.encode_integer(1),  # v2
            alg_der,
            f.issuer,
            der.encode_time(f.this_update),
            der.encode_time(f.next_update),
        ]
        revoked_header = der.header(der.SEQUENCE, len(entries)) if count else b""
        extensions = _crl_extensions(f)
        head_fields = b"".join(fields)
        tbs_len = len(head_fields) + len(revoked_header) + len(entries) + len(extensions)
        tbs_head = der.header(der.SEQUENCE, tbs_len) + head_fields + revoked_header
        if isinstance(key, PrehashSigningKey):
            hasher = key.new_hasher()
            hasher.update(tbs_head)
            for piece in _entry_pieces(entries):
                hasher.update(piece)
            hasher.update(extensions)
            digest = hasher.digest()
            signature = bytes(key.sign_digest(digest))
            checked = _digest_signature_verifies(key.public_key_info, algorithm, digest, signature)
        else:
            tbs = b"".join((tbs_head, bytes(entries), extensions))
            signature = bytes(key.sign(tbs))
            from atlas_ca.x509.signatures import verify_signature

            try:
                verify_signature(key.public_key_info, algorithm, tbs, signature)
                checked = True
            except SignatureInvalid:
                checked = False
        if not checked:
            raise SignatureInvalid(
                f"the signing key produced a CRL signature ({algorithm.value}) that does not "
                "verify with its own public key",
                algorithm=algorithm.value,
            )
        return SignedCrl(
            tbs_head=tbs_head,
            entries=entries,
            tbs_tail=extensions,
            algorithm=algorithm,
            algorithm_der=alg_der,
            signature=signature,
            entry_count=count,
            crl_number=f.crl_number,
        )


#: The hash (``cryptography.hazmat.primitives.hashes`` class name) of the prehashed algorithms.
_PREHASH: Final[dict[SignatureAlgorithm, str]] = {
    SignatureAlgorithm.ECDSA_SHA256: "SHA256",
    SignatureAlgorithm.ECDSA_SHA384: "SHA384",
    SignatureAlgorithm.RSA_SHA256: "SHA256",
}


def _digest_signature_verifies(
    spki_der: bytes, algorithm: SignatureAlgorithm, digest: bytes, signature: bytes
) -> bool:
    """Sign-then-verify for the streamed path: check ``signature`` over the TBS ``digest``.

    The TBS is not materialised again; the check is on the digest the key's own hasher gave.
    """
    gost_algorithms = (SignatureAlgorithm.GOST3410_2012_256, SignatureAlgorithm.GOST3410_2012_512)
    if algorithm not in _PREHASH and algorithm not in gost_algorithms:
        raise ValueError(f"a prehash key cannot sign with {algorithm.value}")
    if algorithm in gost_algorithms:
        try:
            public_gost = gost.GostPublicKey.from_spki_der(spki_der)
            return gost.verify_digest(public_gost, digest, signature)
        except (ValueError, AtlasCaError):
            return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        public = load_der_public_key(spki_der)
        prehashed = Prehashed(getattr(hashes, _PREHASH[algorithm])())
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, digest, ec.ECDSA(prehashed))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, digest, padding.PKCS1v15(), prehashed)
        else:
            return False
    except (InvalidSignature, ValueError, AtlasCaError):
        return False
    return True


def _algorithm_identifier(algorithm: SignatureAlgorithm) -> bytes:
    oid = der.encode_oid(algorithm.oid.dotted)
    return (
        der.encode_sequence(oid, b"\x05\x00") if algorithm.null_params else der.encode_sequence(oid)
    )


def _extension(oid_der: bytes, critical: bool, value: bytes) -> bytes:
    return der.encode_sequence(
        oid_der, der.encode_boolean(True) if critical else b"", der.encode_octet_string(value)
    )


def _crl_extensions(f: _Ready) -> bytes:
    exts = [
        _extension(
            der.encode_oid(Extension.AUTHORITY_KEY_IDENTIFIER.dotted),
            False,
            der.encode_sequence(der.tlv(0x80, f.key_identifier)),
        ),
        _extension(
            der.encode_oid(Extension.CRL_NUMBER.dotted), False, der.encode_integer(f.crl_number)
        ),
    ]
    if f.delta_base is not None:
        exts.append(
            _extension(
                der.encode_oid(Extension.DELTA_CRL_INDICATOR.dotted),
                True,
                der.encode_integer(f.delta_base),
            )
        )
    if f.idp is not None:
        exts.append(
            _extension(
                der.encode_oid(Extension.ISSUING_DISTRIBUTION_POINT.dotted), True, f.idp.value_der()
            )
        )
    if f.freshest is not None:
        exts.append(
            _extension(der.encode_oid(Extension.FRESHEST_CRL.dotted), False, f.freshest.value_der())
        )
    return der.tlv(0xA0, der.encode_sequence(*exts))


_REASON_EXT: Final[dict[RevocationReason | None, bytes]] = {
    reason: (
        b""
        if reason in (None, RevocationReason.UNSPECIFIED)
        else _extension(
            der.encode_oid(Extension.CRL_REASON.dotted), False, der.encode_enumerated(reason)
        )
    )
    for reason in (None, *RevocationReason)
}
_INVALIDITY_OID: Final = der.encode_oid(Extension.INVALIDITY_DATE.dotted)
_LEN: Final = tuple(bytes((i,)) for i in range(128))
_TWO: Final = tuple(b"%02d" % i for i in range(100))


def _encode_entries(
    out: bytearray, revoked: Iterable[RevokedEntry], this_update: datetime, *, delta: bool
) -> int:
    """Append each entry's DER to ``out``; return how many. The hot loop of a large CRL.

    An entry is at most 2 + 22 + 17 + 2 + 14 + 26 < 128 octets (serials are at most 20
    octets), so every length here is one octet. :class:`RevokedEntry` has already normalised
    its times to UTC whole seconds, so they are formatted from their fields directly.
    """
    reason_ext = _REASON_EXT
    length = _LEN
    two = _TWO
    join = b"".join
    remove = RevocationReason.REMOVE_FROM_CRL
    count = 0
    for entry in revoked:
        if type(entry) is not RevokedEntry:
            raise TypeError(f"revoked entries must be RevokedEntry, not {type(entry).__name__}")
        serial = entry.serial
        when = entry.revoked_at
        if when > this_update:
            raise ValueError(
                f"serial {serial:#x} is revoked at {when.isoformat()}, after this_update "
                f"{this_update.isoformat()}"
            )
        year = when.year
        if 2000 <= year <= 2049:
            t = join(
                (
                    b"\x17\x0d",
                    two[year - 2000],
                    two[when.month],
                    two[when.day],
                    two[when.hour],
                    two[when.minute],
                    two[when.second],
                    b"Z",
                )
            )
        else:
            t = der.encode_time(when)
        reason = entry.reason
        if reason is remove and not delta:
            raise ValueError(
                f"serial {serial:#x}: removeFromCRL is only allowed in a delta CRL "
                "(RFC 5280 §5.3.1)"
            )
        exts = reason_ext[reason]
        if entry.invalidity_date is not None:
            exts += der.encode_sequence(
                _INVALIDITY_OID,
                der.encode_octet_string(der.encode_generalized_time(entry.invalidity_date)),
            )
        content = serial.to_bytes(serial.bit_length() // 8 + 1, "big")
        n = len(content)
        if exts:
            e = len(exts)
            out += join(
                (
                    b"\x30",
                    length[4 + n + len(t) + e],
                    b"\x02",
                    length[n],
                    content,
                    t,
                    b"\x30",
                    length[e],
                    exts,
                )
            )
        else:
            out += join((b"\x30", length[2 + n + len(t)], b"\x02", length[n], content, t))
        count += 1
    return count


# --- the bulk (raw) entry path ----------------------------------------------------------------

RawEntry = tuple[int | bytes | str, bytes, int | None, bytes | None]
"""One ``revokedCertificates`` entry as plain values, for :meth:`CrlBuilder.sign`'s ``rows``:

``(serial, revoked_at, reason, invalidity_date)``

* ``serial`` — a positive ``int``; or its unsigned big-endian octets (``bytes``, leading zero
  octets allowed, as ``bytes.fromhex`` of a register's zero-padded serial gives); or those
  octets as hexadecimal text (``str``, as the register stores it). At most 20 octets as a DER
  INTEGER (RFC 5280 §4.1.2.2).
* ``revoked_at`` — the *content* of the DER time: UTCTime ``YYMMDDHHMMSSZ`` (13 octets, years
  1950–2049) or GeneralizedTime ``YYYYMMDDHHMMSSZ`` (15 octets); a GeneralizedTime of
  1950–2049 is written as the UTCTime RFC 5280 §4.1.2.5 requires, so a database can give
  every year in one form. An OpenSSL ``index.txt`` revocation time is already the UTCTime
  form; :func:`revocation_time` makes it from a datetime.
* ``reason`` — the CRLReason code (an ``int`` or :class:`RevocationReason`) or ``None``;
  ``None`` and 0 (unspecified) write no reasonCode (§5.3.1), 8 (removeFromCRL) only in a delta.
* ``invalidity_date`` — ``None``, or GeneralizedTime content ``YYYYMMDDHHMMSSZ`` (§5.3.2).

Each value is checked (well-formed time with a real calendar date, not after thisUpdate;
known reason; serial range) before it is written, so the path never emits invalid DER.
"""

_UTC_TAG: Final = b"\x17\x0d"
_GEN_TAG: Final = b"\x18\x0f"


def revocation_time(moment: datetime) -> bytes:
    """The :data:`RawEntry` time content of an aware ``moment`` (UTCTime or GeneralizedTime)."""
    return der.encode_time(_utc(moment, "revocation time"))[2:]


def _clock_table() -> tuple[frozenset[bytes], frozenset[bytes], frozenset[bytes]]:
    """Valid UTCTime dates ``YYMMDD`` (1950–2049), ``HHMM`` and ``SSZ`` (seconds 00–59).

    Set lookups validate a raw time for a fraction of the cost of parsing it; built on the
    first use of the raw path (≈ 37,000 short byte strings).
    """
    days = (31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    dates: set[bytes] = set()
    for year in range(1950, 2050):
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        for month in range(1, 13):
            last = days[month - 1] or (29 if leap else 28)
            dates.update(b"%02d%02d%02d" % (year % 100, month, d) for d in range(1, last + 1))
    hhmm = frozenset(b"%02d%02d" % (h, m) for h in range(24) for m in range(60))
    ssz = frozenset(b"%02dZ" % s for s in range(60))
    return frozenset(dates), hhmm, ssz


_CLOCK: tuple[frozenset[bytes], frozenset[bytes], frozenset[bytes]] | None = None


def _parse_raw_time(
    value: object, what: str, *, generalized: bool = False
) -> tuple[bytes, bytes, datetime]:
    """Check a raw time fully (the slow path): ``(tag, content, instant)`` to write.

    A GeneralizedTime of 1950–2049 is written as the UTCTime RFC 5280 §4.1.2.5 requires;
    ``generalized``: GeneralizedTime whatever the year (invalidityDate, RFC 5280 §5.3.2).
    """
    if not isinstance(value, bytes):
        raise TypeError(
            f"{what} must be bytes (UTCTime or GeneralizedTime content), not {type(value).__name__}"
        )
    text = value.decode("ascii", "replace")
    if len(value) == 13:
        digits, tag = value[:12], _UTC_TAG
    elif len(value) == 15:
        digits, tag = value[:14], _GEN_TAG
    else:
        raise ValueError(f"{what} {text!r} is neither YYMMDDHHMMSSZ nor YYYYMMDDHHMMSSZ")
    if not (digits.isdigit() and digits.isascii() and value.endswith(b"Z")):
        raise ValueError(f"{what} {text!r} is not digits ending in Z")
    try:
        moment = datetime.strptime(
            text, "%y%m%d%H%M%SZ" if tag is _UTC_TAG else "%Y%m%d%H%M%SZ"
        ).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{what} {text!r} is not a valid date and time: {exc}") from None
    if tag is _UTC_TAG and moment.year < 1950:
        moment = moment.replace(year=moment.year + 100)  # %y maps 00–68 to 2000–2068
    elif tag is _UTC_TAG and moment.year > 2049:
        moment = moment.replace(year=moment.year - 100)
    if generalized:
        if tag is not _GEN_TAG:
            raise ValueError(f"{what} {text!r} must be GeneralizedTime YYYYMMDDHHMMSSZ")
        return tag, value, moment
    if tag is _GEN_TAG and 1950 <= moment.year <= 2049:
        return _UTC_TAG, value[2:], moment
    return tag, value, moment


def _serial_content(serial: object) -> bytes:
    """The DER INTEGER content of a raw serial (the slow path: any form, every check)."""
    if type(serial) is int:
        value = serial
    elif type(serial) is bytes:
        value = int.from_bytes(serial, "big")
    elif type(serial) is str:
        if not serial or not all(c in _HEX_DIGITS for c in serial):
            raise ValueError(f"serial {serial!r} is not hexadecimal digits")
        try:
            value = int(serial, 16)
        except ValueError:
            raise ValueError(f"serial {serial!r} is not hexadecimal") from None
    else:
        raise TypeError(f"a raw serial must be int, bytes or hex str, not {type(serial).__name__}")
    if value <= 0:
        raise ValueError(f"serial {value:#x} must be positive (RFC 5280 §4.1.2.2)")
    if value.bit_length() // 8 + 1 > _MAX_SERIAL_OCTETS:
        raise ValueError(f"serial {value:#x} does not fit in {_MAX_SERIAL_OCTETS} octets")
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


_NO_REASON: Final = object()
_REASONS_BY_CODE: Final[dict[object, RevocationReason]] = {int(r): r for r in RevocationReason}
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_REASON_TYPES: Final = frozenset({int, RevocationReason, type(None)})


def _encode_rows(
    out: bytearray, rows: Iterable[RawEntry], this_update: datetime, *, delta: bool
) -> int:
    """Append each raw row's DER to ``out``; return how many. The hot loop of a large CRL.

    The common row — a 16-octet serial, a UTCTime, a reason, no invalidity date — is checked
    with set lookups and comparisons of byte strings and written with one ``join``; anything
    else (another serial form, a GeneralizedTime, a time after ``this_update`` by the byte
    comparison, a bad value) takes the slow path, which checks fully and raises
    ``TypeError``/``ValueError`` naming the entry.
    """
    global _CLOCK
    rows = iter(rows)
    first = next(rows, _NO_REASON)
    if first is _NO_REASON:
        return 0  # no rows: the tables below are not worth building (≈ 0.05–0.1 s)
    rows = chain((first,), rows)  # type: ignore[arg-type]
    if _CLOCK is None:
        _CLOCK = _clock_table()
    dates, hhmm, ssz = _CLOCK
    # reason code -> the entry's crlEntryExtensions TLV (empty for none / unspecified)
    reason_tail: dict[object, bytes] = {
        int(r): der.encode_sequence(ext) if ext else b""
        for r, ext in _REASON_EXT.items()
        if r is not None
    }
    reason_tail[None] = b""
    if not delta:
        del reason_tail[int(RevocationReason.REMOVE_FROM_CRL)]
    # Within 2000–2049 a UTCTime is after this_update exactly when its bytes are greater;
    # a greater byte string from another century goes to the slow path, which decides.
    limit = der.encode_time(this_update)[2:] if 2000 <= this_update.year <= 2049 else b""
    length = _LEN
    join = b"".join
    unhex = binascii.unhexlify
    no_reason = _NO_REASON
    utc_tag = _UTC_TAG
    reason_types = _REASON_TYPES
    count = 0
    serial: Any
    when: Any
    short: Any
    reason: Any
    content: bytes
    tail: Any
    for serial, when, reason, invalidity in rows:
        # serial -> DER INTEGER content
        t = type(serial)
        if t is bytes or t is str:
            try:
                content = (unhex(serial) if t is str else serial).lstrip(b"\x00")
            except (binascii.Error, ValueError):
                content = _serial_content(serial)
            if not content:
                content = _serial_content(serial)  # zero: refused there
            elif content[0] > 0x7F:
                content = b"\x00" + content
            if len(content) > _MAX_SERIAL_OCTETS:
                content = _serial_content(serial)  # too long: refused there
        elif t is int and serial > 0:
            content = serial.to_bytes(serial.bit_length() // 8 + 1, "big")
            if len(content) > _MAX_SERIAL_OCTETS:
                content = _serial_content(serial)
        else:
            content = _serial_content(serial)
        # revocation time: UTCTime content, or GeneralizedTime of 2000–2049 written as UTCTime
        try:
            short = when[2:] if len(when) == 15 and when[:2] == b"20" else when
            fast = (
                len(short) == 13
                and short[:6] in dates
                and short[6:10] in hhmm
                and short[10:] in ssz
                and not short > limit
                and (short is when or short < b"5")
            )
        except TypeError:
            fast = False
        if fast:
            tag = utc_tag
            tl = 15
        else:
            tag, short, moment = _parse_raw_time(when, f"serial {_hex(serial)}: revocation time")
            if moment > this_update:
                raise ValueError(
                    f"serial {_hex(serial)} is revoked at {moment.isoformat()}, after "
                    f"this_update {this_update.isoformat()}"
                )
            tl = 2 + len(short)
        # reason (and invalidity date)
        try:
            tail = reason_tail.get(reason, no_reason)
        except TypeError:
            tail = no_reason
        if tail is no_reason or type(reason) not in reason_types:
            if reason == RevocationReason.REMOVE_FROM_CRL and type(reason) is not bool:
                raise ValueError(
                    f"serial {_hex(serial)}: removeFromCRL is only allowed in a delta CRL "
                    "(RFC 5280 §5.3.1)"
                )
            raise ValueError(f"serial {_hex(serial)}: {reason!r} is not a CRLReason code")
        if invalidity is not None:
            _parse_raw_time(invalidity, f"serial {_hex(serial)}: invalidity date", generalized=True)
            tail = der.encode_sequence(
                _REASON_EXT[_REASONS_BY_CODE.get(reason)],
                der.encode_sequence(
                    _INVALIDITY_OID, der.encode_octet_string(_GEN_TAG + invalidity)
                ),
            )
        n = len(content)
        out += join(
            (
                b"\x30",
                length[2 + n + tl + len(tail)],
                b"\x02",
                length[n],
                content,
                tag,
                short,
                tail,
            )
        )
        count += 1
    return count


class EncodedEntries(NamedTuple):
    """Consecutive ``revokedCertificates`` entries already in DER, for :meth:`CrlBuilder.sign`'s
    ``encoded``: ``entries`` entries, ``der`` their encodings one after the other.

    The bulk form a register hands over when it stored each entry's DER at revocation time
    (:func:`encode_entry`): a block is appended as it is, so a million entries cost a few
    hundred appends, not a million Python objects. The builder checks the block's shape (bytes,
    a positive count, a SEQUENCE first, at least the minimal size per entry), not each entry:
    what is in a block must come from :func:`encode_entry` or :func:`encode_rows` for a CRL whose
    thisUpdate is not before any revocation time in it — the register's scan checks that with
    one indexed query (``CrlScan.listed_encoded``).
    """

    entries: int
    der: bytes


#: The smallest entry: SEQUENCE { INTEGER (1 octet), UTCTime } = 2 + 3 + 15 octets.
_MIN_ENTRY: Final = 20


def encode_entry(
    serial: int,
    revoked_at: datetime,
    reason: RevocationReason | None = None,
    invalidity_date: datetime | None = None,
) -> bytes:
    """The DER of one full-CRL entry (RFC 5280 §5.1.2.6, §5.3), as :meth:`CrlBuilder.sign`
    writes it: what a register stores at revocation so that publishing only appends.

    ``removeFromCRL`` is refused (§5.3.1: delta CRLs only; a delta CRL's entries are encoded
    when it is built).
    """
    entry = RevokedEntry(serial, revoked_at, reason, invalidity_date)
    out = bytearray()
    _encode_entries(out, (entry,), entry.revoked_at, delta=False)
    return bytes(out)


def encode_rows(
    rows: Iterable[RawEntry], this_update: datetime, *, delta: bool = False
) -> EncodedEntries:
    """Check and encode :data:`RawEntry` rows for a CRL of ``this_update`` (the bulk path's
    checks: a time after ``this_update``, a bad value → ``ValueError``/``TypeError``)."""
    out = bytearray()
    count = _encode_rows(out, rows, _utc(this_update, "this_update"), delta=delta)
    return EncodedEntries(count, bytes(out))


def _append_encoded(write: Callable[[bytes], object], blocks: Iterable[EncodedEntries]) -> int:
    count = 0
    for block in blocks:
        n, data = block
        if type(n) is not int or n < 1:
            raise ValueError(f"an encoded block must hold a positive count of entries, not {n!r}")
        if type(data) is not bytes:
            raise TypeError(f"an encoded block's DER must be bytes, not {type(data).__name__}")
        if len(data) < _MIN_ENTRY * n or data[0] != der.SEQUENCE:
            raise ValueError(f"an encoded block of {n} entries is not DER entries")
        write(data)
        count += n
    return count


#: Entries encoded between two writes to a spool (≈ 400 KB of DER).
_SPOOL_BATCH: Final = 8192
#: The pieces a spool is read back in.
_SPOOL_PIECE: Final = 1 << 20


def _spool_entries(
    spool: BinaryIO,
    f: _Ready,
    revoked: Iterable[RevokedEntry],
    rows: Iterable[RawEntry],
    encoded: Iterable[EncodedEntries],
) -> tuple[int, SpooledEntries]:
    """Encode the entries as :meth:`CrlBuilder.sign` does, into ``spool`` a batch at a time."""
    delta = f.delta_base is not None
    start = spool.tell()
    buffer = bytearray()
    count = 0
    typed: tuple[Iterable[RevokedEntry], ...] = (f.entries, revoked)
    for source in typed:
        items = iter(source)
        while batch := list(islice(items, _SPOOL_BATCH)):
            count += _encode_entries(buffer, batch, f.this_update, delta=delta)
            spool.write(buffer)
            buffer.clear()
    raw = iter(rows)
    while raw_batch := list(islice(raw, _SPOOL_BATCH)):
        count += _encode_rows(buffer, raw_batch, f.this_update, delta=delta)
        spool.write(buffer)
        buffer.clear()
    count += _append_encoded(spool.write, encoded)
    spool.flush()
    return count, SpooledEntries(spool, start, spool.tell() - start)


class SpooledEntries:
    """The content of ``revokedCertificates`` in a file (``sign(..., spool=...)``): its length,
    and its bytes read back in pieces of 1 MiB."""

    __slots__ = ("_file", "_length", "_start")

    def __init__(self, file: BinaryIO, start: int, length: int) -> None:
        self._file = file
        self._start = start
        self._length = length

    def __len__(self) -> int:
        return self._length

    def pieces(self) -> Iterator[bytes]:
        """The bytes, in order, in pieces; a short read (the file changed) raises."""
        self._file.seek(self._start)
        left = self._length
        while left:
            piece = self._file.read(min(left, _SPOOL_PIECE))
            if not piece:
                raise X509Error("the spooled CRL entries are shorter than written")
            left -= len(piece)
            yield piece

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces())


def _entry_pieces(entries: bytearray | SpooledEntries) -> Iterable[bytes | bytearray]:
    return entries.pieces() if isinstance(entries, SpooledEntries) else (entries,)


def _hex(serial: object) -> str:
    if type(serial) is int:
        return f"{serial:#x}"
    if type(serial) is bytes:
        return "0x" + serial.hex()
    return repr(serial)


# --- the signed result -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class SignedCrl:
    """A signed CRL held as its parts; :meth:`write_to` streams them without joining.

    ``entries`` is in memory, or in the spool file given to :meth:`CrlBuilder.sign` (read
    back in pieces each time the CRL is written).
    """

    tbs_head: bytes
    entries: bytearray | SpooledEntries = field(repr=False)
    tbs_tail: bytes
    algorithm: SignatureAlgorithm
    algorithm_der: bytes
    signature: bytes
    entry_count: int
    crl_number: int

    def _parts(self) -> Iterator[bytes | bytearray]:
        sig = der.encode_bit_string(self.signature)
        body = len(self.tbs_head) + len(self.entries) + len(self.tbs_tail)
        body += len(self.algorithm_der) + len(sig)
        yield der.header(der.SEQUENCE, body)
        yield self.tbs_head
        yield from _entry_pieces(self.entries)
        yield self.tbs_tail
        yield self.algorithm_der
        yield sig

    def der(self) -> bytes:
        return b"".join(self._parts())

    def pem(self) -> bytes:
        return _pem_encode(self.der())

    def write_to(self, stream: BinaryIO, *, pem: bool = False) -> int:
        """Write the CRL (DER, or PEM with ``pem=True``) to ``stream``; return bytes written."""
        if not pem:
            written = 0
            for part in self._parts():
                stream.write(part)
                written += len(part)
            return written
        return _write_pem(stream, self._parts())


def _pem_lines_strided(chunk: bytes) -> bytes:
    """Base64 of ``chunk`` in 64-character lines, each ending in a newline (pure Python).

    The lines are laid out by 65 strided slice copies (column ``j`` of every line at once)
    instead of one Python step per line: a 60 MB CRL has a million lines.
    """
    enc = binascii.b2a_base64(chunk, newline=False)
    lines, rest = divmod(len(enc), 64)
    body = lines * 64
    out = bytearray(lines * 65)
    for column in range(64):
        out[column::65] = enc[column:body:64]
    out[64::65] = b"\n" * lines
    if rest:
        out += enc[body:] + b"\n"
    return bytes(out)


class _OpenSslBase64:
    """libcrypto's PEM body encoder (``EVP_EncodeUpdate``/``EVP_EncodeFinal``, what
    ``PEM_write`` uses): 48 input bytes to a line of 64 characters and ``\\n``, the last
    partial line too — the layout of :func:`_pem_lines_strided`, in C: ≈ 14 ms instead of
    ≈ 40 ms for a 250,000-entry partition's 12 MB (docs/performance.md, "Issue 17, less CPU
    per partition"). libcrypto.so.3 is the library the gost engine already loads (ctypes:
    the standard library offers no line-broken base64 but MIME's 76 columns)."""

    __slots__ = ("_final", "_free", "_init", "_new", "_update")

    def __init__(self) -> None:
        import ctypes

        lib = ctypes.CDLL("libcrypto.so.3")
        ptr, out_len = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)
        self._new = lib.EVP_ENCODE_CTX_new
        self._new.restype, self._new.argtypes = ptr, []
        self._free = lib.EVP_ENCODE_CTX_free
        self._free.restype, self._free.argtypes = None, [ptr]
        self._init = lib.EVP_EncodeInit
        self._init.restype, self._init.argtypes = None, [ptr]
        self._update = lib.EVP_EncodeUpdate
        self._update.restype = ctypes.c_int
        self._update.argtypes = [ptr, ctypes.c_char_p, out_len, ctypes.c_char_p, ctypes.c_int]
        self._final = lib.EVP_EncodeFinal
        self._final.restype, self._final.argtypes = None, [ptr, ctypes.c_char_p, out_len]

    def lines(self, chunk: bytes) -> bytes:
        import ctypes

        if not chunk:
            return b""
        # 64 characters and a newline per 48 bytes, the last line, and EVP's slack
        out = ctypes.create_string_buffer((len(chunk) // 48 + 2) * 65 + 80)
        ctx = self._new()
        if not ctx:
            raise MemoryError("EVP_ENCODE_CTX_new failed")
        try:
            self._init(ctx)
            n, tail = ctypes.c_int(0), ctypes.c_int(0)
            if self._update(ctx, out, ctypes.byref(n), chunk, len(chunk)) != 1:
                raise X509Error("libcrypto's base64 encoder failed")
            rest = ctypes.cast(ctypes.addressof(out) + n.value, ctypes.c_char_p)
            self._final(ctx, rest, ctypes.byref(tail))
        finally:
            self._free(ctx)
        return ctypes.string_at(out, n.value + tail.value)


_openssl_base64: _OpenSslBase64 | bool | None = None  # None: not tried yet; False: unavailable


def _pem_lines(chunk: bytes) -> bytes:
    """Base64 of ``chunk`` in 64-character lines, each ending in a newline (RFC 7468 §2's
    strict layout, as OpenSSL writes it); libcrypto's encoder when it can be loaded, else the
    pure-Python one — the same bytes (tests/x509/test_crl_pem_lines.py)."""
    global _openssl_base64
    encoder = _openssl_base64
    if encoder is None:
        try:
            encoder = _OpenSslBase64()
        except (OSError, AttributeError):  # no libcrypto 3, or one without the EVP encoder
            encoder = False
        _openssl_base64 = encoder
    if encoder is False:
        return _pem_lines_strided(chunk)
    assert isinstance(encoder, _OpenSslBase64)
    if len(chunk) <= _PEM_BLOCK:
        return encoder.lines(chunk)
    # pieces of a multiple of 48 bytes: no line straddles two (and an int length for C)
    view = memoryview(chunk)
    return b"".join(
        encoder.lines(bytes(view[i : i + _PEM_BLOCK])) for i in range(0, len(chunk), _PEM_BLOCK)
    )


def _pem_encode(data: bytes) -> bytes:
    return _PEM_BEGIN + b"\n" + _pem_lines(data) + _PEM_END + b"\n"


# A multiple of 48 bytes, so that 64-character lines never straddle two blocks; 192 KiB keeps
# the PEM encoder's buffers (≈ 4 × a block) small beside the CRL.
_PEM_BLOCK: Final = 48 * 4096


def _write_pem(stream: BinaryIO, parts: Iterable[bytes | bytearray]) -> int:
    written = 0

    def out(b: bytes) -> None:
        nonlocal written
        stream.write(b)
        written += len(b)

    out(_PEM_BEGIN + b"\n")
    carry = b""
    for part in parts:
        view = memoryview(part)
        pos = 0
        if carry:
            need = _PEM_BLOCK - len(carry)
            carry += bytes(view[:need])
            pos = need
            if len(carry) < _PEM_BLOCK:
                continue
            out(_pem_lines(carry))
            carry = b""
        while len(view) - pos >= _PEM_BLOCK:
            out(_pem_lines(bytes(view[pos : pos + _PEM_BLOCK])))
            pos += _PEM_BLOCK
        carry = bytes(view[pos:])
    if carry:
        out(_pem_lines(carry))
    out(_PEM_END + b"\n")
    return written


def pem_to_der(data: bytes, label: str = PEM_LABEL) -> bytes:
    """The DER inside the first ``-----BEGIN {label}-----`` block of ``data``."""
    begin = f"-----BEGIN {label}-----".encode()
    end = f"-----END {label}-----".encode()
    start = data.find(begin)
    if start < 0:
        raise DecodeError(f"no '-----BEGIN {label}-----' line in the PEM input")
    stop = data.find(end, start)
    if stop < 0:
        raise DecodeError(f"PEM block {label} has no END line")
    body = memoryview(data)[start + len(begin) : stop]
    try:
        # Non-strict mode skips the line breaks without copying the (possibly 60 MB) body;
        # whatever else it tolerates cannot survive the strict DER parse and the signature.
        return binascii.a2b_base64(body)
    except binascii.Error as exc:
        raise DecodeError(f"PEM block {label} is not valid base64: {exc}") from exc


# --- issuer certificate facts --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuerFacts:
    """What a CRL needs from its issuer's certificate: subject, SPKI and key identifier, and
    whether basicConstraints says cA=TRUE (RFC 5280 §4.2.1.9)."""

    subject_der: bytes
    spki_der: bytes
    key_identifier: bytes
    has_ski: bool
    is_ca: bool = False


def issuer_facts(certificate: bytes) -> IssuerFacts:
    """Read subject, SPKI, SKI and basicConstraints' cA of a certificate (DER or PEM) by
    walking its DER."""
    data = (
        pem_to_der(certificate, "CERTIFICATE")
        if certificate.lstrip().startswith(b"-----")
        else (certificate)
    )
    what = "certificate"
    cs, ce = der.expect(data, 0, len(data), der.SEQUENCE, what)
    if ce != len(data):
        raise DecodeError("certificate: trailing bytes after the certificate")
    ts, te = der.expect(data, cs, ce, der.SEQUENCE, "tbsCertificate")
    fields = der.read_children(data, ts, te, "tbsCertificate")
    if fields and fields[0][0] == 0xA0:
        fields = fields[1:]
    if len(fields) < 6:
        raise DecodeError("tbsCertificate has fewer than the six required fields")
    _, s_start, _, s_end = fields[4]
    subject = data[s_start:s_end]
    tag, k_start, k_cs, k_end = fields[5]
    if tag != der.SEQUENCE or fields[4][0] != der.SEQUENCE:
        raise DecodeError("tbsCertificate subject or subjectPublicKeyInfo is not a SEQUENCE")
    spki = data[k_start:k_end]
    ski: bytes | None = None
    is_ca = False
    for tag, _, xs, xe in fields[6:]:
        if tag != 0xA3:
            continue
        es, ee = der.expect(data, xs, xe, der.SEQUENCE, "certificate extensions")
        for _, _, ecs, ece in der.read_children(data, es, ee, "certificate extension"):
            parts = der.read_children(data, ecs, ece, "certificate extension")
            if not parts or parts[0][0] != der.OID:
                raise DecodeError("certificate extension does not start with an OID")
            oid = der.read_oid(data, parts[0][2], parts[0][3], "extnID")
            if oid == Extension.BASIC_CONSTRAINTS.dotted:
                vtag, _, vs, ve = parts[-1]
                if vtag != der.OCTET_STRING:
                    raise DecodeError("basicConstraints extnValue is not an OCTET STRING")
                bs, be = der.expect(data, vs, ve, der.SEQUENCE, "basicConstraints")
                inner = der.read_children(data, bs, be, "basicConstraints")
                # cA BOOLEAN DEFAULT FALSE: present only when TRUE (DER, X.690 §11.5)
                is_ca = bool(inner) and inner[0][0] == 0x01
                is_ca = is_ca and data[inner[0][2] : inner[0][3]] == b"\xff"
                continue
            if oid != Extension.SUBJECT_KEY_IDENTIFIER.dotted:
                continue
            vtag, _, vs, ve = parts[-1]
            if vtag != der.OCTET_STRING:
                raise DecodeError("subjectKeyIdentifier extnValue is not an OCTET STRING")
            ks, ke = der.expect(data, vs, ve, der.OCTET_STRING, "subjectKeyIdentifier")
            ski = data[ks:ke]
    if ski is None:
        spki_parts = der.read_children(data, k_cs, k_end, "subjectPublicKeyInfo")
        if len(spki_parts) != 2 or spki_parts[1][0] != der.BIT_STRING:
            raise DecodeError("subjectPublicKeyInfo is not AlgorithmIdentifier + BIT STRING")
        bits = data[spki_parts[1][2] + 1 : spki_parts[1][3]]
        kid = hashlib.sha1(bits, usedforsecurity=False).digest()
        return IssuerFacts(subject, spki, kid, has_ski=False, is_ca=is_ca)
    return IssuerFacts(subject, spki, ski, has_ski=True, is_ca=is_ca)


# --- the lazy parser -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ext:
    oid: str
    critical: bool
    start: int
    end: int


_KNOWN_CRL_EXTENSIONS: Final = frozenset(
    o.dotted
    for o in (
        Extension.AUTHORITY_KEY_IDENTIFIER,
        Extension.CRL_NUMBER,
        Extension.DELTA_CRL_INDICATOR,
        Extension.ISSUING_DISTRIBUTION_POINT,
        Extension.FRESHEST_CRL,
        Extension.ISSUER_ALT_NAME,
        Extension.AUTHORITY_INFO_ACCESS,
    )
)


def _parse_extensions(data: bytes, start: int, end: int, what: str) -> tuple[_Ext, ...]:
    """An ``Extensions`` SEQUENCE at data[start:end] (the SEQUENCE TLV itself)."""
    ss, se = der.expect(data, start, end, der.SEQUENCE, what)
    if se != end:
        raise DecodeError(f"{what}: trailing bytes after the extensions")
    found: list[_Ext] = []
    seen: set[str] = set()
    for tag, _, cs, ce in der.read_children(data, ss, se, what):
        if tag != der.SEQUENCE:
            raise DecodeError(f"{what}: an extension is not a SEQUENCE")
        parts = der.read_children(data, cs, ce, what)
        if len(parts) not in (2, 3) or parts[0][0] != der.OID or parts[-1][0] != der.OCTET_STRING:
            raise DecodeError(f"{what}: an extension is not (OID, [critical], OCTET STRING)")
        oid = der.read_oid(data, parts[0][2], parts[0][3], what)
        critical = False
        if len(parts) == 3:
            if parts[1][0] != der.BOOLEAN:
                raise DecodeError(f"{what}: extension {oid} has a non-BOOLEAN critical field")
            critical = der.read_boolean(data, parts[1][2], parts[1][3], what)
            if not critical:
                raise DecodeError(f"{what}: extension {oid} encodes critical FALSE (not DER)")
        if oid in seen:
            raise DecodeError(f"{what}: extension {oid} appears twice (RFC 5280 §4.2)")
        seen.add(oid)
        found.append(_Ext(oid, critical, parts[-1][2], parts[-1][3]))
    return tuple(found)


def _single(data: bytes, start: int, end: int, tag: int, what: str) -> tuple[int, int]:
    cs, ce = der.expect(data, start, end, tag, what)
    if ce != end:
        raise DecodeError(f"{what}: trailing bytes after the value")
    return cs, ce


class CertificateRevocationList:
    """A parsed CRL that keeps its entries as DER and decodes them on demand."""

    __slots__ = (
        "_algorithm_oid",
        "_data",
        "_extensions",
        "_issuer",
        "_next_update",
        "_revoked",
        "_signature",
        "_starts",
        "_tbs",
        "_this_update",
        "_version",
    )

    def __init__(self, data: bytes) -> None:
        """Parse DER; prefer :meth:`from_der`, :meth:`from_pem` or :func:`load_crl`."""
        data = bytes(data)
        self._data = data
        self._starts: array[int] | None = None
        cs, ce = der.expect(data, 0, len(data), der.SEQUENCE, "CertificateList")
        if ce != len(data):
            raise DecodeError(f"CertificateList: {len(data) - ce} trailing bytes")
        top = der.read_children(data, cs, ce, "CertificateList", max_count=3)
        if len(top) != 3 or [t[0] for t in top] != [der.SEQUENCE, der.SEQUENCE, der.BIT_STRING]:
            raise DecodeError("CertificateList is not (tbsCertList, signatureAlgorithm, signature)")
        _, ts, tcs, te = top[0]
        self._tbs = (ts, te)
        outer_alg = data[top[1][1] : top[1][3]]
        sig_s, sig_e = top[2][2], top[2][3]
        if sig_e - sig_s < 1 or data[sig_s] != 0:
            raise DecodeError("signatureValue BIT STRING must have 0 unused bits")
        self._signature = data[sig_s + 1 : sig_e]

        fields = der.read_children(data, tcs, te, "tbsCertList", max_count=7)
        i = 0
        self._version = 1
        if i < len(fields) and fields[i][0] == der.INTEGER:
            self._version = der.read_integer(data, fields[i][2], fields[i][3], "version") + 1
            if self._version != 2:
                raise DecodeError(f"tbsCertList version field says v{self._version}, expected v2")
            i += 1
        if i + 3 > len(fields):
            raise DecodeError("tbsCertList lacks signature, issuer or thisUpdate")
        tag, s, cs2, e = fields[i]
        if tag != der.SEQUENCE or data[s:e] != outer_alg:
            raise DecodeError(
                "tbsCertList signature differs from signatureAlgorithm (RFC 5280 §5.1.1.2)"
            )
        alg_parts = der.read_children(data, cs2, e, "signature algorithm", max_count=2)
        if not alg_parts or alg_parts[0][0] != der.OID:
            raise DecodeError("signature AlgorithmIdentifier does not start with an OID")
        self._algorithm_oid = der.read_oid(
            data, alg_parts[0][2], alg_parts[0][3], "signature algorithm"
        )
        tag, s, _, e = fields[i + 1]
        if tag != der.SEQUENCE:
            raise DecodeError("tbsCertList issuer is not a Name (SEQUENCE)")
        self._issuer = data[s:e]
        tag, _, s, e = fields[i + 2]
        self._this_update = der.read_time(data, tag, s, e, "thisUpdate")
        i += 3
        self._next_update: datetime | None = None
        if i < len(fields) and fields[i][0] in (der.UTC_TIME, der.GENERALIZED_TIME):
            tag, _, s, e = fields[i]
            self._next_update = der.read_time(data, tag, s, e, "nextUpdate")
            i += 1
        self._revoked: tuple[int, int] | None = None
        if i < len(fields) and fields[i][0] == der.SEQUENCE:
            self._revoked = (fields[i][2], fields[i][3])
            i += 1
        self._extensions: tuple[_Ext, ...] = ()
        if i < len(fields) and fields[i][0] == 0xA0:
            self._extensions = _parse_extensions(data, fields[i][2], fields[i][3], "crlExtensions")
            if self._version != 2:
                raise DecodeError("a v1 CRL cannot carry crlExtensions")
            i += 1
        if i != len(fields):
            raise DecodeError(f"tbsCertList has an unexpected field with tag 0x{fields[i][0]:02x}")
        for ext in self._extensions:
            if ext.critical and ext.oid not in _KNOWN_CRL_EXTENSIONS:
                raise UnsupportedCrlFeature(f"critical CRL extension {ext.oid} is not supported")

    @classmethod
    def from_der(cls, data: bytes) -> CertificateRevocationList:
        check_size(data, InputKind.CRL, der=True)
        return cls(data)

    @classmethod
    def from_pem(cls, data: bytes) -> CertificateRevocationList:
        return cls(pem_to_der(data))

    # -- header fields --

    @property
    def der(self) -> bytes:
        return self._data

    @property
    def version(self) -> int:
        return self._version

    @property
    def issuer_der(self) -> bytes:
        """The issuer Name's DER, exactly as encoded in the CRL."""
        return self._issuer

    @property
    def this_update(self) -> datetime:
        return self._this_update

    @property
    def next_update(self) -> datetime | None:
        return self._next_update

    @property
    def signature_algorithm(self) -> SignatureAlgorithm | None:
        """The algorithm, or ``None`` when its OID (see :attr:`signature_oid`) is unknown."""
        return SignatureAlgorithm.from_oid(self._algorithm_oid)

    @property
    def signature_oid(self) -> str:
        return self._algorithm_oid

    @property
    def signature(self) -> bytes:
        return self._signature

    @property
    def tbs_der(self) -> bytes:
        return self._data[self._tbs[0] : self._tbs[1]]

    @property
    def extensions(self) -> tuple[CrlExtension, ...]:
        return tuple(
            CrlExtension(e.oid, e.critical, self._data[e.start : e.end]) for e in self._extensions
        )

    def _ext(self, oid: str) -> _Ext | None:
        for ext in self._extensions:
            if ext.oid == oid:
                return ext
        return None

    def _int_ext(self, oid: str, what: str) -> int | None:
        ext = self._ext(oid)
        if ext is None:
            return None
        s, e = _single(self._data, ext.start, ext.end, der.INTEGER, what)
        value = der.read_integer(self._data, s, e, what)
        if value < 0:
            raise DecodeError(f"{what} is negative ({value})")
        return value

    @property
    def crl_number(self) -> int | None:
        return self._int_ext(Extension.CRL_NUMBER.dotted, "cRLNumber")

    @property
    def delta_crl_indicator(self) -> int | None:
        """The base CRL number when this is a delta CRL, else ``None``."""
        return self._int_ext(Extension.DELTA_CRL_INDICATOR.dotted, "deltaCRLIndicator")

    @property
    def is_delta(self) -> bool:
        return self._ext(Extension.DELTA_CRL_INDICATOR.dotted) is not None

    @property
    def authority_key_identifier(self) -> bytes | None:
        """authorityKeyIdentifier.keyIdentifier, if present."""
        ext = self._ext(Extension.AUTHORITY_KEY_IDENTIFIER.dotted)
        if ext is None:
            return None
        data = self._data
        s, e = _single(data, ext.start, ext.end, der.SEQUENCE, "authorityKeyIdentifier")
        for tag, _, cs, ce in der.read_children(data, s, e, "authorityKeyIdentifier"):
            if tag == 0x80:
                return data[cs:ce]
        return None

    @property
    def issuing_distribution_point(self) -> IssuingDistributionPoint | None:
        ext = self._ext(Extension.ISSUING_DISTRIBUTION_POINT.dotted)
        if ext is None:
            return None
        data = self._data
        what = "issuingDistributionPoint"
        s, e = _single(data, ext.start, ext.end, der.SEQUENCE, what)
        kw: dict[str, object] = {}
        flags = {0x81: "only_contains_user_certs", 0x82: "only_contains_ca_certs"}
        flags |= {0x84: "indirect_crl", 0x85: "only_contains_attribute_certs"}
        for tag, _, cs, ce in der.read_children(data, s, e, what):
            if tag == 0xA0:
                kw["full_name"] = _decode_dp_name(data, cs, ce, what)
            elif tag in flags:
                if not der.read_boolean(data, cs, ce, what):
                    raise DecodeError(f"{what}: a DEFAULT FALSE flag is encoded (not DER)")
                kw[flags[tag]] = True
            elif tag == 0x83:
                kw["only_some_reasons"] = _decode_reason_flags(data, cs, ce, what)
            else:
                raise DecodeError(f"{what}: unexpected field tag 0x{tag:02x}")
        try:
            return IssuingDistributionPoint(**kw)  # type: ignore[arg-type]
        except ValueError as exc:
            raise DecodeError(f"{what}: {exc}") from exc

    @property
    def freshest_crl(self) -> FreshestCrl | None:
        ext = self._ext(Extension.FRESHEST_CRL.dotted)
        if ext is None:
            return None
        data = self._data
        what = "freshestCRL"
        s, e = _single(data, ext.start, ext.end, der.SEQUENCE, what)
        uris: list[str] = []
        for tag, _, cs, ce in der.read_children(data, s, e, what):
            if tag != der.SEQUENCE:
                raise DecodeError(f"{what}: a DistributionPoint is not a SEQUENCE")
            for ftag, _, fs, fe in der.read_children(data, cs, ce, what):
                if ftag == 0xA0:
                    uris.extend(_decode_dp_name(data, fs, fe, what))
        try:
            return FreshestCrl(tuple(uris))
        except ValueError as exc:
            raise DecodeError(f"{what}: {exc}") from exc

    # -- entries --

    def _index(self) -> array[int]:
        if self._starts is not None:
            return self._starts
        starts: array[int] = array("I" if len(self._data) < 2**32 else "Q")
        if self._revoked is not None:
            data = self._data
            pos, end = self._revoked
            append = starts.append
            while pos < end:
                if data[pos] != der.SEQUENCE or pos + 1 >= end:
                    raise DecodeError(
                        f"revokedCertificates: entry at offset {pos} is not a SEQUENCE"
                    )
                lb = data[pos + 1]
                if lb < 0x80:
                    cs, ce = pos + 2, pos + 2 + lb
                    if ce > end:
                        raise DecodeError(f"revokedCertificates: entry at {pos} is truncated")
                else:
                    _, cs, ce = der.read_header(data, pos, end, "revokedCertificates")
                if cs >= ce or data[cs] != der.INTEGER:
                    raise DecodeError(
                        f"revokedCertificates: entry at offset {pos} does not start with a serial"
                    )
                append(pos)
                pos = ce
        self._starts = starts
        return starts

    def __len__(self) -> int:
        return len(self._index())

    def __iter__(self) -> Iterator[RevokedEntry]:
        if self._revoked is None:
            return
        data = self._data
        pos, end = self._revoked
        while pos < end:
            tag, cs, ce = der.read_header(data, pos, end, "revokedCertificates")
            if tag != der.SEQUENCE:
                raise DecodeError(f"revokedCertificates: entry at offset {pos} is not a SEQUENCE")
            yield _decode_entry(data, cs, ce)
            pos = ce

    def lookup(self, serial: int) -> RevokedEntry | None:
        """The entry for ``serial``, or ``None`` if the CRL does not list it."""
        if self._revoked is None or type(serial) is not int:
            return None
        starts = self._index()
        data = self._data
        pattern = der.encode_integer(serial)
        lo, end = self._revoked
        pos = data.find(pattern, lo, end)
        while pos >= 0:
            for hdr in (2, 3, 4):
                s = pos - hdr
                i = bisect.bisect_left(starts, s)
                if i < len(starts) and starts[i] == s:
                    _, cs, ce = der.read_header(data, s, end, "revokedCertificates")
                    if cs == pos:
                        return _decode_entry(data, cs, ce)
            pos = data.find(pattern, pos + 1, end)
        return None

    # -- verification --

    def verify(self, spki_der: bytes) -> None:
        """Check the signature with the issuer's SubjectPublicKeyInfo (DER).

        Raises :class:`~atlas_ca.errors.SignatureInvalid` when it does not verify and
        :class:`UnsupportedCrlFeature` for a signature algorithm atlas_ca does not know.
        """
        algorithm = self.signature_algorithm
        if algorithm is None:
            raise UnsupportedCrlFeature(
                f"CRL signature algorithm {self._algorithm_oid} is not supported"
            )
        from atlas_ca.x509.signatures import verify_signature

        verify_signature(spki_der, algorithm, self.tbs_der, self._signature)

    def verify_issued_by(self, certificate: bytes) -> None:
        """Check that ``certificate`` (DER or PEM) issued this CRL, then the signature.

        The CRL issuer must equal the certificate's subject byte for byte, and when the CRL
        has an authorityKeyIdentifier and the certificate a subjectKeyIdentifier they must match.
        """
        facts = issuer_facts(bytes(certificate))
        if facts.subject_der != self._issuer:
            raise CrlIssuerMismatch("the CRL issuer name differs from the certificate's subject")
        aki = self.authority_key_identifier
        if aki is not None and facts.has_ski and aki != facts.key_identifier:
            raise CrlIssuerMismatch(
                f"the CRL's authorityKeyIdentifier {aki.hex()} differs from the certificate's "
                f"subjectKeyIdentifier {facts.key_identifier.hex()}"
            )
        self.verify(facts.spki_der)

    def __repr__(self) -> str:
        return (
            f"CertificateRevocationList(crl_number={self.crl_number!r}, "
            f"this_update={self._this_update.isoformat()}, delta={self.is_delta}, "
            f"bytes={len(self._data)})"
        )


def _decode_dp_name(data: bytes, start: int, end: int, what: str) -> tuple[str, ...]:
    """DistributionPointName's content (inside its explicit [0]): fullName URIs only."""
    parts = der.read_children(data, start, end, what, max_count=1)
    if len(parts) != 1:
        raise DecodeError(f"{what}: DistributionPointName must hold one choice")
    tag, _, cs, ce = parts[0]
    if tag != 0xA0:
        raise UnsupportedCrlFeature(f"{what}: nameRelativeToCRLIssuer is not supported")
    uris = []
    for ntag, _, ns, ne in der.read_children(data, cs, ce, what):
        if ntag != 0x86:
            raise UnsupportedCrlFeature(
                f"{what}: only URI general names are supported, found tag 0x{ntag:02x}"
            )
        raw = data[ns:ne]
        if not raw.isascii():
            raise DecodeError(f"{what}: URI is not IA5String")
        uris.append(raw.decode("ascii"))
    return tuple(uris)


def _decode_reason_flags(
    data: bytes, start: int, end: int, what: str
) -> frozenset[RevocationReason]:
    if end - start < 1 or data[start] > 7:
        raise DecodeError(f"{what}: ReasonFlags BIT STRING has a bad unused-bits octet")
    bits = int.from_bytes(data[start + 1 : end], "big")
    width = (end - start - 1) * 8
    reasons = set()
    for i in range(width):
        if bits >> (width - 1 - i) & 1:
            if i not in _FLAG_BIT_REASON:
                raise DecodeError(f"{what}: ReasonFlags bit {i} is not a defined reason")
            reasons.add(_FLAG_BIT_REASON[i])
    return frozenset(reasons)


#: The whole crlEntryExtensions content of an entry whose only extension is a reasonCode.
_REASON_BY_EXT: Final = {
    _extension(
        der.encode_oid(Extension.CRL_REASON.dotted), False, der.encode_enumerated(reason)
    ): reason
    for reason in RevocationReason
}


def _decode_entry(data: bytes, start: int, end: int) -> RevokedEntry:
    """One entry from its content span; the common shapes take a fast path.

    Fast: a short serial, a UTCTime, and either no extensions or exactly one reasonCode —
    what this builder, OpenSSL and certtool write. Anything else, including anything the fast
    path is unsure of, goes through :func:`_decode_entry_fully`, which validates every field.
    """
    if end - start > 4 and data[start] == der.INTEGER:
        n = data[start + 1]
        ts = start + 2 + n
        if 0 < n <= 20 and ts + 15 <= end and data[ts] == der.UTC_TIME and data[ts + 1] == 13:
            te = ts + 15
            reason: RevocationReason | None = None
            ok = te == end
            if not ok and data[te] == der.SEQUENCE and te + 2 + data[te + 1] == end:
                reason = _REASON_BY_EXT.get(data[te + 2 : end])
                ok = reason is not None
            t = data[ts + 2 : te]
            first = data[start + 2]
            if (
                ok
                and first < 0x80
                and (first or n == 1 or data[start + 3] >= 0x80)
                and t[12] == 0x5A
                and t[:12].isdigit()
            ):
                yy = (t[0] - 48) * 10 + t[1] - 48
                try:
                    revoked_at = datetime(
                        yy + (1900 if yy >= 50 else 2000),
                        (t[2] - 48) * 10 + t[3] - 48,
                        (t[4] - 48) * 10 + t[5] - 48,
                        (t[6] - 48) * 10 + t[7] - 48,
                        (t[8] - 48) * 10 + t[9] - 48,
                        (t[10] - 48) * 10 + t[11] - 48,
                        tzinfo=UTC,
                    )
                except ValueError:
                    pass  # the full decoder reports the bad date
                else:
                    if reason is RevocationReason.UNSPECIFIED:
                        reason = None
                    serial = int.from_bytes(data[start + 2 : ts], "big")
                    return RevokedEntry(serial, revoked_at, reason)
    return _decode_entry_fully(data, start, end)


def _decode_entry_fully(data: bytes, start: int, end: int) -> RevokedEntry:
    what = "revokedCertificates entry"
    parts = der.read_children(data, start, end, what, max_count=3)
    if len(parts) not in (2, 3) or parts[0][0] != der.INTEGER:
        raise DecodeError(f"{what} at offset {start} is not (serial, revocationDate, [extensions])")
    serial = der.read_integer(data, parts[0][2], parts[0][3], what)
    tag, _, ts, te = parts[1]
    revoked_at = der.read_time(data, tag, ts, te, what)
    reason: RevocationReason | None = None
    invalidity: datetime | None = None
    if len(parts) == 3:
        if parts[2][0] != der.SEQUENCE:
            raise DecodeError(f"{what}: crlEntryExtensions is not a SEQUENCE")
        for ext in _parse_extensions(data, parts[2][1], parts[2][3], "crlEntryExtensions"):
            if ext.oid == Extension.CRL_REASON.dotted:
                s, e = _single(data, ext.start, ext.end, der.ENUMERATED, "reasonCode")
                code = der.read_integer(data, s, e, "reasonCode")
                try:
                    reason = RevocationReason(code)
                except ValueError:
                    raise DecodeError(f"reasonCode {code} is not a CRLReason") from None
            elif ext.oid == Extension.INVALIDITY_DATE.dotted:
                s, e = _single(data, ext.start, ext.end, der.GENERALIZED_TIME, "invalidityDate")
                invalidity = der.read_time(data, der.GENERALIZED_TIME, s, e, "invalidityDate")
            elif ext.critical:
                raise UnsupportedCrlFeature(
                    f"critical CRL entry extension {ext.oid} is not supported"
                )
    if serial < 0 or serial.bit_length() // 8 + 1 > _MAX_SERIAL_OCTETS:
        raise UnsupportedCrlFeature(f"{what}: serial {serial} is outside RFC 5280's range")
    if reason is RevocationReason.UNSPECIFIED:
        reason = None
    return RevokedEntry(serial, revoked_at, reason, invalidity)


def load_crl(data: bytes) -> CertificateRevocationList:
    """Parse a CRL given as DER or PEM."""
    if data.lstrip()[:5] == b"-----":
        return CertificateRevocationList.from_pem(data)
    return CertificateRevocationList.from_der(data)


__all__ = [
    "PEM_LABEL",
    "CertificateRevocationList",
    "CrlBuilder",
    "CrlExtension",
    "CrlIssuerMismatch",
    "EncodedEntries",
    "FreshestCrl",
    "IssuerFacts",
    "IssuingDistributionPoint",
    "RawEntry",
    "RevocationReason",
    "RevokedEntry",
    "SignedCrl",
    "SpooledEntries",
    "UnsupportedCrlFeature",
    "encode_entry",
    "encode_rows",
    "issuer_facts",
    "load_crl",
    "pem_to_der",
    "revocation_time",
]
