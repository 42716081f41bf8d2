"""Build the TBS of a CRL from the register's listed entries (typed), from its CRL rows
(the bulk path) and from its stored entries (``encoded``), with a throw-away ECDSA key, for
comparing them byte for byte."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.storage.ports import CrlRow, StatusEntry
from atlas_ca.x509.crl import CrlBuilder, EncodedEntries, RevokedEntry, SignedCrl

THIS_UPDATE = datetime(2070, 1, 1, tzinfo=UTC)


class _Key:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.key_type = KeyType.EC_P256
        self.signature_algorithm = SignatureAlgorithm.ECDSA_SHA256
        self.public_key_info = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.qualified_use_allowed = False

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))


def _ca(key: _Key) -> bytes:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "register test CA")])
    public = key.private.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2080, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key.private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _tbs(signed: SignedCrl) -> bytes:
    return bytes(signed.tbs_head) + bytes(signed.entries) + bytes(signed.tbs_tail)


def _builder(key: _Key, this_update: datetime) -> CrlBuilder:
    return (
        CrlBuilder()
        .issuer_certificate(_ca(key))
        .this_update(this_update)
        .next_update(this_update + timedelta(days=1))
        .crl_number(5)
    )


def typed_and_encoded_tbs(
    listed: Iterable[StatusEntry],
    blocks: Iterable[EncodedEntries],
    this_update: datetime = THIS_UPDATE,
) -> tuple[bytes, bytes]:
    key = _Key()
    builder = _builder(key, this_update)
    typed = builder.sign(
        key,  # type: ignore[arg-type]
        (RevokedEntry(e.serial, e.revocation_date, e.reason, e.invalidity_date) for e in listed),  # type: ignore[arg-type]
    )
    encoded = builder.sign(key, encoded=blocks)  # type: ignore[arg-type]
    return _tbs(typed), _tbs(encoded)


def typed_and_raw_tbs(listed: Iterable[StatusEntry], rows: Iterable[CrlRow]) -> tuple[bytes, bytes]:
    key = _Key()
    builder = (
        CrlBuilder()
        .issuer_certificate(_ca(key))
        .this_update(THIS_UPDATE)
        .next_update(THIS_UPDATE + timedelta(days=1))
        .crl_number(5)
    )
    typed = builder.sign(
        key,  # type: ignore[arg-type]
        (RevokedEntry(e.serial, e.revocation_date, e.reason, e.invalidity_date) for e in listed),  # type: ignore[arg-type]
    )
    raw = builder.sign(key, rows=rows)  # type: ignore[arg-type]
    return _tbs(typed), _tbs(raw)
