"""The register of certificates as a port: record types and the :class:`Register` Protocol.

The issuance service drives it in this order (Boulder-style, style lesson 10)::

    outcome = register.record_intent(NewIntent(...), actor=...)  # serial + TBS digest, first
    # ... sign with the HSM, verify the signature ...
    register.complete_intent(IssuedCertificate(...), actor=...)  # certificate in, intent done
    # on restart: for each register.open_intents(): complete_intent(...) or void_intent(...)

Serials are plain positive ``int`` (at most 20 octets once DER-encoded, RFC 5280 §4.1.2.2) and are
unique per issuer for ever: a voided serial stays taken. Every datetime is timezone-aware; the
register never reads a clock — the caller passes the time of each change.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol, TypeVar, runtime_checkable

from atlas_ca.audit.checkpoints import Checkpoint
from atlas_ca.audit.events import Actor, AuditEvent, ChainedEvent
from atlas_ca.audit.verify import AuditStore as AuditStore
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.errors import AtlasCaError, DecodeError, RecordNotFound
from atlas_ca.hsm.base import SigningKey
from atlas_ca.x509.crl import EncodedEntries as EncodedEntries
from atlas_ca.x509.crl import RevocationReason as RevocationReason

MAX_SERIAL = (1 << 159) - 1  # 20 octets of a positive DER INTEGER
_HEX = re.compile(r"[0-9a-f]{8,128}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_IDEMPOTENCY = re.compile(r"[\x21-\x7e]{8,200}")


def check_serial(serial: int) -> int:
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 < serial <= MAX_SERIAL:
        raise ValueError("a certificate serial must be a positive integer of at most 20 octets")
    return serial


def serial_text(serial: int) -> str:
    """The stored form of a serial: 40 lower-case hex digits, so text order is numeric order."""
    return format(check_serial(serial), "040x")


def _aware(at: datetime | None, what: str) -> None:
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError(f"{what} must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True, order=True)
class IssuerKeyId:
    """The issuing CA, named by its key identifier (subjectKeyIdentifier of the CA certificate)
    in lower-case hex."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _HEX.fullmatch(self.value):
            raise ValueError("an issuer key id is 4–64 bytes written in lower-case hex")

    @classmethod
    def from_bytes(cls, key_id: bytes) -> IssuerKeyId:
        return cls(key_id.hex())

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ProfileName:
    """The certificate profile an issuance used (a name of :mod:`atlas_ca.profiles`)."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _NAME.fullmatch(self.value):
            raise ValueError("a profile name is 1–64 identifier characters")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client-chosen key: a retried request carrying it finds the first request's result."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _IDEMPOTENCY.fullmatch(self.value):
            raise ValueError("an idempotency key is 8–200 printable ASCII characters")


class CertificateStatus(enum.Enum):
    VALID = "valid"
    SUSPENDED = "suspended"  # certificateHold
    REVOKED = "revoked"


class IntentState(enum.Enum):
    OPEN = "open"
    COMPLETED = "completed"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class NewIntent:
    """What the service records before the HSM signs: the serial and the TBS digest."""

    issuer: IssuerKeyId
    serial: int
    tbs_digest: bytes
    subscriber: SubscriberId
    profile: ProfileName
    created_at: datetime
    order: OrderId | None = None
    idempotency_key: IdempotencyKey | None = None
    request_digest: bytes = b""
    """Digest of the request the idempotency key stands for; a retry must present the same."""
    order_quota: int | None = None
    """With ``order``: record the intent only while the order has fewer live (open or
    completed) intents than this, counted in the recording transaction (OrderQuotaReached)."""
    key_hash: bytes | None = None
    """SHA-256 of the canonical public key being certified (``x509.key_identity``): recorded
    only if no live (open or completed) intent of the issuer has it (KeyAlreadyCertified)."""

    def __post_init__(self) -> None:
        check_serial(self.serial)
        _aware(self.created_at, "created_at")
        if len(self.tbs_digest) not in (32, 64):
            raise ValueError("tbs_digest must be a Streebog-256 or -512 digest")
        if self.key_hash is not None and (
            not isinstance(self.key_hash, bytes) or len(self.key_hash) != 32
        ):
            raise ValueError("key_hash must be a SHA-256 digest")
        if self.order_quota is not None:
            quota = self.order_quota
            if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
                raise ValueError("order_quota must be a non-negative int")
            if self.order is None:
                raise ValueError("an order quota needs the intent's order")


@dataclass(frozen=True, slots=True)
class Intent:
    issuer: IssuerKeyId
    serial: int
    tbs_digest: bytes
    subscriber: SubscriberId
    profile: ProfileName
    order: OrderId | None
    state: IntentState
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A signed, verified certificate to store; it completes the open intent of its serial."""

    issuer: IssuerKeyId
    serial: int
    der: bytes
    subject_key_id: bytes
    subscriber: SubscriberId
    profile: ProfileName
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    order: OrderId | None = None

    def __post_init__(self) -> None:
        check_serial(self.serial)
        for name in ("not_before", "not_after", "issued_at"):
            _aware(getattr(self, name), name)
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be after not_before")
        if not self.der:
            raise ValueError("der is empty")


@dataclass(frozen=True, slots=True)
class Revocation:
    reason: RevocationReason
    revocation_date: datetime
    invalidity_date: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.revocation_date, "revocation_date")
        _aware(self.invalidity_date, "invalidity_date")


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    issuer: IssuerKeyId
    serial: int
    der: bytes
    subject_key_id: bytes
    subscriber: SubscriberId
    profile: ProfileName
    order: OrderId | None
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    status: CertificateStatus
    status_changed_at: datetime
    revocation: Revocation | None
    """For REVOKED the revocation; for SUSPENDED reason CERTIFICATE_HOLD and the hold date."""


@dataclass(frozen=True, slots=True)
class OrderUsage:
    """What the register holds under one order, every issuer together: intents by state and
    the certificates stored (one per completed intent)."""

    order: OrderId
    open: int
    completed: int
    voided: int
    certificates: int

    @property
    def live(self) -> int:
        """Issuances that hold one of the order's certificates: issued or being issued."""
        return self.open + self.completed


@dataclass(frozen=True, slots=True)
class CaCertificate:
    """A certificate of the CA's own key, kept in the register (``fingerprint`` is SHA-256 of
    ``der``); ``issuer`` is the key identifier it certifies."""

    issuer: IssuerKeyId
    der: bytes = field(repr=False)
    not_before: datetime
    not_after: datetime
    stored_at: datetime

    def __post_init__(self) -> None:
        for name in ("not_before", "not_after", "stored_at"):
            _aware(getattr(self, name), name)
        if not isinstance(self.der, bytes) or not self.der:
            raise ValueError("a CA certificate needs its DER")

    @property
    def fingerprint(self) -> bytes:
        return hashlib.sha256(self.der).digest()


@dataclass(frozen=True, slots=True)
class IntentOutcome:
    """``created`` is False when an idempotency key found an earlier request's intent."""

    intent: Intent
    created: bool
    certificate: CertificateRecord | None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One row of a certificate's status history; ``change_no`` increases per issuer."""

    issuer: IssuerKeyId
    serial: int
    change_no: int
    old_status: CertificateStatus
    new_status: CertificateStatus
    revocation: Revocation | None
    changed_at: datetime
    actor: Actor


class StatusEntry(NamedTuple):
    """What a CRL (or a delta CRL) says about one serial — a named tuple, because the CRL
    publisher reads a million of them and a tuple is built several times faster than a frozen
    dataclass.

    REVOKED: ``reason`` and ``revocation_date`` (``invalidity_date`` if known); SUSPENDED:
    reason CERTIFICATE_HOLD and the hold date; in a delta, VALID means "removed from hold"
    (write reason removeFromCRL) and carries no reason or date.
    """

    serial: int
    status: CertificateStatus
    reason: RevocationReason | None
    revocation_date: datetime | None
    invalidity_date: datetime | None


@dataclass(frozen=True, slots=True)
class CrlRecord:
    """A published CRL. ``change_mark`` is :attr:`CrlScan.change_mark` of the scan it was built
    from; ``base_number`` is set for a delta CRL (the number of its base CRL)."""

    issuer: IssuerKeyId
    number: int
    this_update: datetime
    next_update: datetime
    change_mark: int
    base_number: int | None = None

    def __post_init__(self) -> None:
        _aware(self.this_update, "this_update")
        _aware(self.next_update, "next_update")
        if self.number < 1 or self.change_mark < 0:
            raise ValueError("CRL number must be ≥ 1 and change_mark ≥ 0")
        if self.next_update <= self.this_update:
            raise ValueError("next_update must be after this_update")
        if self.base_number is not None and not 1 <= self.base_number < self.number:
            raise ValueError("a delta CRL's base number must be below its own number")


@dataclass(frozen=True, slots=True)
class SerialRange:
    """Serials ``low <= serial < high``: one CRL partition's share of the issuer's serials
    (a range, so the scan reads one stretch of the serial-ordered index)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 1 <= self.low < self.high <= MAX_SERIAL + 1:
            raise ValueError(f"not a range of serials: [{self.low:#x}, {self.high:#x})")


class CrlRow(NamedTuple):
    """One full-CRL entry as the CRL encoder takes it (:data:`atlas_ca.x509.crl.RawEntry`):
    the serial as stored (40 hex digits), the revocation and invalidity dates as
    GeneralizedTime content ``YYYYMMDDHHMMSSZ`` (the encoder writes 1950–2049 as UTCTime),
    the CRLReason code. Derived by the database from the stored row: no datetime, no enum
    per entry."""

    serial: str
    revoked_at: bytes
    reason: int | None
    invalidity_date: bytes | None


class CrlScan(Protocol):
    """A consistent snapshot of one issuer's statuses, read in a streaming way."""

    @property
    def change_mark(self) -> int:
        """The last status change included in this snapshot (record it with the CRL)."""
        ...

    def listed(self, serials: SerialRange | None = None) -> Iterator[StatusEntry]:
        """Every REVOKED and SUSPENDED serial of the issuer (within ``serials``), in serial
        order, streamed."""
        ...

    def listed_rows(self, serials: SerialRange | None = None) -> Iterator[CrlRow]:
        """What :meth:`listed` lists, as :class:`CrlRow` values for the CRL encoder."""
        ...

    def listed_encoded(
        self, this_update: datetime, serials: SerialRange | None = None
    ) -> Iterator[EncodedEntries]:
        """What :meth:`listed` lists, as DER ready for a full CRL of ``this_update``: each
        entry as the register stored it at revocation (:func:`atlas_ca.x509.crl.encode_entry`),
        in blocks. Rows without a stored entry, or revoked after ``this_update``, are encoded
        (and checked) on the way, so the result is that of :meth:`listed_rows` byte for byte."""
        ...

    def changes_since(
        self, base_number: int, serials: SerialRange | None = None
    ) -> Iterator[StatusEntry]:
        """Current status of each serial (within ``serials``) changed after the base CRL was
        built (for a delta)."""
        ...


@dataclass(frozen=True, slots=True)
class IssuanceReads:
    """What :meth:`Register.issuance_reads` found: what ``find_idempotent``, ``order_usage``
    and ``key_holder`` return, read together. ``known`` is the earlier request's outcome under
    the idempotency key; when there is one, the others are not reported (``usage`` and
    ``key_holder`` None)."""

    known: IntentOutcome | None
    usage: OrderUsage | None
    key_holder: int | None


@runtime_checkable
class Register(AuditStore, Protocol):
    """The register of certificates (SQLite and PostgreSQL adapters share one test suite)."""

    @property
    def schema_version(self) -> int: ...

    # --- issuance ------------------------------------------------------------------------------
    def record_intent(self, intent: NewIntent, *, actor: Actor) -> IntentOutcome:
        """Take the serial and record the intent (+ idempotency key, + audit event) atomically.

        Raises SerialCollision if the serial was ever used for this issuer; with an idempotency
        key already used for the same request returns that request's outcome (``created`` False),
        for a different request raises DuplicateIdempotencyKey. With ``order_quota``, raises
        OrderQuotaReached when the order already has that many live intents: the count and the
        insert are one transaction under a per-order lock, so concurrent requests cannot both
        take the order's last unit.
        """
        ...

    def record_intents(
        self, intents: Sequence[NewIntent], *, actor: Actor
    ) -> list[IntentOutcome | AtlasCaError]:
        """Group commit: each intent as ``record_intent`` records it, all in one transaction.

        A member the register refuses (SerialCollision, OrderQuotaReached, KeyAlreadyCertified,
        DuplicateIdempotencyKey) gets its error in its place and nothing of it is written; any
        other failure writes nothing of the batch and raises (issue 17)."""
        ...

    def order_usage(self, order: OrderId) -> OrderUsage:
        """Intents (by state) and certificates recorded under ``order``, every issuer together."""
        ...

    def key_holder(self, issuer: IssuerKeyId, key_hash: bytes) -> int | None:
        """The serial of the live (open or completed) intent of ``issuer`` that certifies the
        key with ``key_hash``, or None: a read before the code is spent; ``record_intent``
        decides atomically."""
        ...

    def issuance_reads(
        self,
        issuer: IssuerKeyId,
        order: OrderId,
        key_hash: bytes,
        idempotency_key: IdempotencyKey | None = None,
    ) -> IssuanceReads:
        """The reads of an issuance's *prepare* sent together: ``find_idempotent`` (with a
        key), and unless it found the earlier request, ``order_usage(order)`` and
        ``key_holder(issuer, key_hash)`` (issue 17: one round trip per request instead of
        several; on PostgreSQL one pipeline, not one snapshot). Advisory, like each of them:
        ``record_intent`` decides atomically."""
        ...

    def store_ca_certificate(self, certificate: CaCertificate) -> bool:
        """Keep a CA certificate of ``certificate.issuer``; False if it was already kept."""
        ...

    def ca_certificates(self, issuer: IssuerKeyId | None = None) -> list[CaCertificate]:
        """The CA certificates kept (of ``issuer``), latest ``not_before`` first."""
        ...

    def complete_intent(self, certificate: IssuedCertificate, *, actor: Actor) -> CertificateRecord:
        """Store the certificate and mark its open intent completed (one transaction)."""
        ...

    def complete_intents(
        self, certificates: Sequence[IssuedCertificate], *, actor: Actor
    ) -> list[CertificateRecord | AtlasCaError]:
        """Group commit of ``complete_intent``: one transaction; IntentNotOpen/RecordNotFound
        refuse one member, any other failure writes nothing and raises (issue 17)."""
        ...

    def write_batch(
        self,
        intents: Sequence[NewIntent],
        certificates: Sequence[IssuedCertificate],
        *,
        actor: Actor,
    ) -> tuple[list[IntentOutcome | AtlasCaError], list[CertificateRecord | AtlasCaError]]:
        """``complete_intents`` and ``record_intents`` in ONE transaction (issue 17): the
        issuance service's group commit of *store* and *record* together."""
        ...

    def void_intent(
        self, issuer: IssuerKeyId, serial: int, *, at: datetime, actor: Actor
    ) -> Intent:
        """Close an open intent without a certificate; the serial is never reused."""
        ...

    def get_intent(self, issuer: IssuerKeyId, serial: int) -> Intent: ...

    def open_intents(self, issuer: IssuerKeyId | None = None) -> list[Intent]: ...

    def find_idempotent(self, key: IdempotencyKey) -> IntentOutcome | None: ...

    # --- certificates and status ---------------------------------------------------------------
    def get_certificate(self, issuer: IssuerKeyId, serial: int) -> CertificateRecord: ...

    def change_mark(self, issuer: IssuerKeyId) -> int:
        """The issuer's status-change counter: it grows with every revoke, suspend and resume
        of the issuer's certificates (what OCSP responders poll to refresh cached answers)."""
        ...

    def certificates_of(self, subscriber: SubscriberId) -> list[CertificateRecord]: ...

    def revoke(
        self,
        issuer: IssuerKeyId,
        serial: int,
        *,
        reason: RevocationReason,
        revocation_date: datetime,
        invalidity_date: datetime | None = None,
        actor: Actor,
    ) -> CertificateRecord: ...

    def suspend(
        self, issuer: IssuerKeyId, serial: int, *, at: datetime, actor: Actor
    ) -> CertificateRecord: ...

    def resume(
        self, issuer: IssuerKeyId, serial: int, *, at: datetime, actor: Actor
    ) -> CertificateRecord: ...

    def status_history(self, issuer: IssuerKeyId, serial: int) -> list[StatusChange]: ...

    # --- CRLs ----------------------------------------------------------------------------------
    def next_crl_number(self, issuer: IssuerKeyId) -> int:
        """Allocate the next CRL number of ``issuer``: strictly increasing, never repeated."""
        ...

    def record_crl(self, crl: CrlRecord, *, at: datetime, actor: Actor) -> None: ...

    def get_crl(self, issuer: IssuerKeyId, number: int) -> CrlRecord: ...

    def latest_crl(self, issuer: IssuerKeyId, *, full_only: bool = False) -> CrlRecord | None: ...

    def crl_scan(self, issuer: IssuerKeyId) -> AbstractContextManager[CrlScan]:
        """A snapshot of ``issuer``'s statuses on its own connection, for the CRL publisher."""
        ...

    # --- audit ---------------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> ChainedEvent:
        """Append an event of the caller's own (e.g. an HSM failure) to the chain."""
        ...

    def checkpoint(self, key: SigningKey, *, at: datetime, key_id: str) -> Checkpoint:
        """Sign the current chain head with an HSM key and record the checkpoint."""
        ...

    def record_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def close(self) -> None: ...


# --- the record store (issue 12: one schema owner) -----------------------------------------
# The port of the identity and commercial records, next to the Register's: services import it
# from here without importing an adapter (atlas_ca.storage.records, .sqlite, .postgres), and
# the adapters in storage can name RecordKind without importing services (a layer rule).

_T = TypeVar("_T")


class RecordKind(enum.Enum):
    """What a record holds; the key space of each kind is its own."""

    SUBSCRIBER = "subscriber"
    REGISTRAR = "registrar"
    AUTHORITY = "authority"
    ORDER = "order"
    ACCOUNT = "account"
    CHALLENGE = "challenge"
    REFUND = "refund"


class RecordStore(Protocol):
    """Durable domain records by kind and key (table ``atlas_records``, migration 0006), as
    canonical JSON in the register's database: one backup covers both."""

    def put(self, kind: RecordKind, key: str, value: object, *, at: datetime) -> None:
        """Insert or replace the record ``key`` of ``kind``."""
        ...

    def put_all(
        self,
        records: Sequence[tuple[RecordKind, str, object]],
        *,
        at: datetime,
        unchanged: Sequence[tuple[RecordKind, str, object | None]] = (),
    ) -> None:
        """Insert or replace several records in one transaction: all of them or none (e.g. an
        order paid from a personal account and the debited account). Each ``unchanged`` entry
        is the value a record had when it was read (``None``: absent); if the stored record is
        different, another writer came first: :class:`~atlas_ca.errors.RecordChanged` and
        nothing is written."""
        ...

    def find(self, kind: RecordKind, key: str) -> object | None: ...

    def keys(self, kind: RecordKind) -> list[str]:
        """The keys of ``kind`` in byte order (the same order in SQLite and PostgreSQL)."""
        ...

    def close(self) -> None: ...


def get_record(store: RecordStore, kind: RecordKind, key: str, expected: type[_T]) -> _T:
    """The record ``key`` of ``kind`` as an ``expected``; RecordNotFound if there is none."""
    found = store.find(kind, key)
    if found is None:
        raise RecordNotFound(f"no {kind.value} {key!r} in the register", kind=kind.value, key=key)
    if not isinstance(found, expected):
        raise DecodeError(f"the stored {kind.value} {key!r} is not a {expected.__name__}")
    return found


def iter_records(store: RecordStore, kind: RecordKind, expected: type[_T]) -> Iterator[_T]:
    for key in store.keys(kind):
        yield get_record(store, kind, key, expected)
