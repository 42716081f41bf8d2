"""Publication of full and delta CRLs from the register into the directory a CDP URL serves.

One publication, under an exclusive lock on the publication directory::

    number   the register allocates the next cRLNumber of the issuer (a counter row updated
             in its own transaction: strictly increasing, never repeated, whatever the number
             of publishers; the ``crls`` primary key refuses a number recorded twice)
    scan     a consistent snapshot of the issuer's statuses is streamed from the register
             (server-side cursor / batched fetch) straight into the streaming CRL builder:
             each entry becomes DER at once, no list of rows is ever built; a full CRL's
             entries come as the register stored them at revocation (their DER, schema 7),
             a fetch batch at a time, and are appended as they are — to an anonymous
             temporary file in the publication directory, not to memory (the process holds a
             fetch batch, never the CRL: ≈ 33 MB whatever its size)
    sign     the CA key signs the TBS, hashed in pieces (read back from that file) when the
             key can sign a digest
    verify   the signature is checked with the CA certificate's public key
    write    to a temporary file in the same directory, fsync, ``os.replace``, fsync of the
             directory: readers see the old CRL or the new one, never a part
    record   the CRL (number, times, the scan's change mark, base number for a delta) and the
             ``crl.published`` audit event go to the register

The directory lock orders the publishers that share a directory, so the file there only ever
moves to a higher number; a crash after *number* leaves a gap in the numbers, which RFC 5280
allows (§5.2.3 asks for increasing numbers, not consecutive ones). The file is written before
it is recorded, so every recorded CRL (and so every base of a delta) was published.

Partitioned CRLs (``CaConfig.crl_partitions``, RFC 5280 §5.2.5): partition *p* holds the
serials of its range, its full and delta CRLs carry an issuingDistributionPoint naming the
partition's URL (the CDP of its certificates) and go to the file that URL names (the delta to
``<name>-delta.<ext>``). CRL numbers come from the issuer's one counter, so each partition's
numbers increase too. A partition's delta refers to the full CRL published for it now — the
number in that file, looked up in the register for its change mark.

The publisher needs of the CA only its key, its certificate's bytes and its partitioning
(:class:`CrlIssuer`): a process that publishes imports neither the certificate model nor
``cryptography`` (tests/services/test_crl_publication_lean.py).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.audit.events import Actor
from atlas_ca.errors import (
    CertificateKeyMismatch,
    CrlPartitionUnknown,
    CrlPublicationFailed,
    RecordNotFound,
    SignatureInvalid,
)
from atlas_ca.gost import GostPublicKey, verify_digest
from atlas_ca.hsm.base import Hasher, PrehashSigningKey, SigningKey
from atlas_ca.services.files import PUBLIC_DIR, PUBLIC_FILE, make_directory
from atlas_ca.services.ports import Clock, StepHook, write_atomically
from atlas_ca.storage.ports import (
    CertificateStatus,
    CrlRecord,
    IssuerKeyId,
    Register,
    RevocationReason,
    SerialRange,
    StatusEntry,
)
from atlas_ca.x509 import crl as x509crl

if TYPE_CHECKING:
    # Not imported at run time: the certificate model, the profiles and ``cryptography`` are
    # ≈ 20 MB of a publishing process (docs/performance.md, "Partitioned CRLs, per
    # partition"); tests/services/test_crl_publication_lean.py holds the lean import set.
    from atlas_ca.profiles.config import CrlPartitioning
    from atlas_ca.services.ca import CertificateAuthority

SYSTEM_ACTOR = Actor("system:crl")
LOCK_NAME = ".atlas-crl-publish.lock"


@dataclass(frozen=True, slots=True)
class CrlPolicy:
    """How often CRLs are published and where: ``nextUpdate = thisUpdate + validity``.

    The defaults follow common practice of accredited CAs (a full CRL valid for a week, a
    delta for a day); the operator publishes again well before ``nextUpdate``.
    """

    full_validity: timedelta = timedelta(days=7)
    delta_validity: timedelta = timedelta(days=1)
    file_name: str = "ca.crl"
    delta_file_name: str = "ca-delta.crl"
    pem: bool = False

    def __post_init__(self) -> None:
        if self.full_validity <= timedelta(0) or self.delta_validity <= timedelta(0):
            raise ValueError("CRL validity periods must be positive")
        for name in (self.file_name, self.delta_file_name):
            if not name or "/" in name or name.startswith("."):
                raise ValueError(f"{name!r} is not a plain file name")
        if self.file_name == self.delta_file_name:
            raise ValueError("the full and the delta CRL need different file names")


@dataclass(frozen=True, slots=True)
class CrlIssuer:
    """What publishing CRLs needs of a CA: its key, its certificate (DER or PEM) and its CRL
    partitioning — without the certificate model (:class:`CertificateAuthority` is accepted
    too, and reduced to this).

    Checked as :class:`~atlas_ca.services.ca.CertificateAuthority` checks them: the key is the
    certificate's key, and the certificate says basicConstraints cA=TRUE. :attr:`issuer_id`
    is the certificate's subjectKeyIdentifier (or its RFC 5280 §4.2.1.2 method-1 SHA-1), as
    the register knows the CA.
    """

    key: SigningKey = field(repr=False)
    certificate: bytes = field(repr=False)
    partitions: CrlPartitioning | None = None
    certificate_der: bytes = field(init=False, repr=False)
    public_key_info: bytes = field(init=False, repr=False)
    issuer_id: IssuerKeyId = field(init=False)

    def __post_init__(self) -> None:
        facts = x509crl.issuer_facts(self.certificate)
        der = self.certificate
        if der.lstrip().startswith(b"-----"):
            der = x509crl.pem_to_der(der, "CERTIFICATE")
        if self.key.public_key_info != facts.spki_der:
            raise CertificateKeyMismatch(
                "the CA key is not the key of the CA certificate (check [ca] key_uri and "
                "certificate: they name different keys)"
            )
        if not facts.is_ca:
            raise ValueError("the CA certificate has no basicConstraints cA=TRUE")
        object.__setattr__(self, "certificate_der", bytes(der))
        object.__setattr__(self, "public_key_info", facts.spki_der)
        object.__setattr__(self, "issuer_id", IssuerKeyId.from_bytes(facts.key_identifier))

    @classmethod
    def of(cls, ca: CertificateAuthority) -> CrlIssuer:
        """The CRL issuer of ``ca``."""
        return cls(ca.key, ca.certificate.der, ca.config.crl_partitions)


@dataclass(frozen=True, slots=True)
class PublishedCrl:
    """One CRL as published: its number (and base number for a delta), times, file, size."""

    number: int
    base_number: int | None
    this_update: datetime
    next_update: datetime
    path: Path
    entries: int
    size: int
    partition: int | None = None


def _changed_entries(
    entries: Iterable[StatusEntry], this_update: datetime
) -> Iterator[x509crl.RevokedEntry]:
    """A delta CRL's entries: a VALID status is a suspension lifted (removeFromCRL)."""
    entry_cls = x509crl.RevokedEntry
    valid = CertificateStatus.VALID
    remove = RevocationReason.REMOVE_FROM_CRL
    for serial, status, reason, revoked_at, invalidity in entries:
        if status is valid or revoked_at is None:
            yield entry_cls(serial, this_update, remove)
        else:
            yield entry_cls(serial, revoked_at, reason, invalidity)


@dataclass(frozen=True, slots=True)
class _Partition:
    number: int
    url: str
    serials: SerialRange
    file_name: str
    delta_file_name: str


class _DigestRecorder:
    """The CA key, remembering the digest it was asked to sign (to verify the signature over
    exactly that digest without hashing a large CRL twice)."""

    def __init__(self, key: PrehashSigningKey) -> None:
        self._key = key
        self.digest: bytes | None = None

    @property
    def key_type(self) -> KeyType:
        return self._key.key_type

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return self._key.signature_algorithm

    @property
    def public_key_info(self) -> bytes:
        return self._key.public_key_info

    @property
    def qualified_use_allowed(self) -> bool:
        return self._key.qualified_use_allowed

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def new_hasher(self) -> Hasher:
        return self._key.new_hasher()

    def sign_digest(self, digest: bytes) -> bytes:
        self.digest = digest
        return self._key.sign_digest(digest)


class CrlPublisher:
    """Publishes one CA's CRLs from the register into ``directory``."""

    def __init__(
        self,
        *,
        ca: CertificateAuthority | CrlIssuer,
        register: Register,
        directory: str | os.PathLike[str],
        clock: Clock,
        policy: CrlPolicy | None = None,
        actor: Actor = SYSTEM_ACTOR,
        on_step: StepHook | None = None,
    ) -> None:
        self._ca = ca if isinstance(ca, CrlIssuer) else CrlIssuer.of(ca)
        self._register = register
        self.directory = Path(directory)
        self._clock = clock
        self.policy = policy or CrlPolicy()
        self._actor = actor
        self._on_step = on_step
        try:
            make_directory(self.directory, PUBLIC_DIR)
        except OSError as exc:
            raise CrlPublicationFailed(
                f"the publication directory {self.directory} cannot be created: {exc.strerror}",
                path=str(self.directory),
            ) from exc

    def _done(self, step: str) -> None:
        if self._on_step is not None:
            self._on_step(step)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CrlPublicationFailed(
                f"the publication directory {self.directory} cannot be locked: {exc.strerror}",
                path=str(self.directory),
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    @contextmanager
    def _spool(self) -> Iterator[BinaryIO]:
        """An anonymous temporary file in the publication directory for the CRL's entries
        while it is built (``CrlBuilder.sign(spool=...)``): the process holds pieces of the
        CRL, not all of it; the file is gone when closed, whatever happens."""
        try:
            with tempfile.TemporaryFile(dir=self.directory, prefix=".atlas-crl-entries.") as f:
                yield f
        except OSError as exc:
            raise CrlPublicationFailed(
                f"the CRL could not be built in {self.directory} ({exc.strerror}); the "
                "published file is unchanged",
                path=str(self.directory),
            ) from exc

    def publish_full(self, partition: int | None = None) -> PublishedCrl:
        """A full CRL of every revoked and suspended certificate, to ``policy.file_name``;
        of a partitioned CA (``CaConfig.crl_partitions``), of one ``partition``, to the file
        its URL names."""
        return self._publish(delta=False, partition=self._partition(partition))

    def publish_delta(self, partition: int | None = None) -> PublishedCrl:
        """A delta CRL of the changes since the latest full CRL, to ``policy.delta_file_name``;
        of a partitioned CA, of one ``partition`` since its published full CRL."""
        return self._publish(delta=True, partition=self._partition(partition))

    @property
    def partitions(self) -> int | None:
        """How many CRL partitions this CA publishes (``None``: one CRL, not partitioned)."""
        parts = self._ca.partitions
        return None if parts is None else parts.count

    def publish_partitions(self, *, delta: bool = False) -> list[PublishedCrl]:
        """Every partition's full (or delta) CRL, one after the other."""
        parts = self._ca.partitions
        if parts is None:
            raise CrlPartitionUnknown(
                "this CA's CRLs are not partitioned (CaConfig.crl_partitions)", partition="all"
            )
        publish = self.publish_delta if delta else self.publish_full
        return [publish(p) for p in range(parts.count)]

    def _partition(self, partition: int | None) -> _Partition | None:
        parts = self._ca.partitions
        if parts is None:
            if partition is not None:
                raise CrlPartitionUnknown(
                    f"partition {partition!r}: this CA's CRLs are not partitioned"
                    " (CaConfig.crl_partitions)",
                    partition=partition,
                )
            return None
        if partition is None:
            raise CrlPartitionUnknown(
                f"this CA publishes {parts.count} CRL partitions: name the partition"
                f" (0..{parts.count - 1})",
                partitions=parts.count,
            )
        if type(partition) is not int or not 0 <= partition < parts.count:
            raise CrlPartitionUnknown(
                f"partition {partition!r} does not exist: this CA publishes partitions"
                f" 0..{parts.count - 1}",
                partition=partition,
                partitions=parts.count,
            )
        low, high = parts.serial_range(partition)
        name = parts.file_name(partition)
        stem, dot, suffix = name.rpartition(".")
        delta_name = f"{stem}-delta{dot}{suffix}" if stem else f"{name}-delta"
        return _Partition(partition, parts.url(partition), SerialRange(low, high), name, delta_name)

    def _partition_base(self, part: _Partition) -> CrlRecord:
        """The base of a partition's delta: the full CRL published for it now (its file)."""
        issuer = self._ca.issuer_id
        path = self.directory / part.file_name
        try:
            published = x509crl.load_crl(path.read_bytes())
        except FileNotFoundError:
            raise RecordNotFound(
                f"a delta CRL needs a full CRL to refer to: publish partition {part.number}'s "
                "full CRL first",
                issuer=issuer.value,
                partition=part.number,
            ) from None
        idp = published.issuing_distribution_point
        number = published.crl_number
        if published.is_delta or number is None or idp is None or idp.full_name != (part.url,):
            raise CrlPublicationFailed(
                f"{path} is not the full CRL of partition {part.number} ({part.url})",
                path=str(path),
            )
        base = self._register.get_crl(issuer, number)
        if base.base_number is not None:
            raise CrlPublicationFailed(
                f"CRL {number} in {path} is recorded as a delta CRL", path=str(path)
            )
        return base

    def _publish(self, *, delta: bool, partition: _Partition | None) -> PublishedCrl:
        issuer = self._ca.issuer_id
        policy = self.policy
        with self._locked():
            base: CrlRecord | None = None
            if delta and partition is not None:
                base = self._partition_base(partition)
            elif delta:
                base = self._register.latest_crl(issuer, full_only=True)
                if base is None:
                    raise RecordNotFound(
                        "a delta CRL needs a full CRL to refer to: publish a full CRL first",
                        issuer=issuer.value,
                    )
            number = self._register.next_crl_number(issuer)
            self._done("number")
            this_update = self._clock.now().replace(microsecond=0)
            next_update = this_update + (policy.delta_validity if delta else policy.full_validity)
            builder = (
                x509crl.CrlBuilder()
                .issuer_certificate(self._ca.certificate_der)
                .this_update(this_update)
                .next_update(next_update)
                .crl_number(number)
            )
            if base is not None:
                builder = builder.delta_crl_indicator(base.number)
            serials = None
            if partition is not None:
                # RFC 5280 §5.2.5: the scope of the partition's full and delta CRLs alike.
                builder = builder.issuing_distribution_point(
                    x509crl.IssuingDistributionPoint(full_name=(partition.url,))
                )
                serials = partition.serials
            key = self._ca.key
            recorder = _DigestRecorder(key) if isinstance(key, PrehashSigningKey) else None
            if partition is not None:
                name = partition.delta_file_name if delta else partition.file_name
            else:
                name = policy.delta_file_name if delta else policy.file_name
            path = self.directory / name
            with self._spool() as spool:
                with self._register.crl_scan(issuer) as scan:
                    if base is None:
                        # the bulk path: entries as the register stored them, appended in blocks
                        blocks = scan.listed_encoded(this_update, serials)
                        signed = builder.sign(recorder or key, encoded=blocks, spool=spool)
                    else:
                        changes = scan.changes_since(base.number, serials)
                        entries = _changed_entries(changes, this_update)
                        signed = builder.sign(recorder or key, entries, spool=spool)
                    mark = scan.change_mark
                self._done("sign")
                self._verify(signed, None if recorder is None else recorder.digest)
                self._done("verify")
                size = self._write(path, signed)
            self._done("write")
            record = CrlRecord(
                issuer,
                number,
                this_update,
                next_update,
                mark,
                None if base is None else base.number,
            )
            self._register.record_crl(record, at=this_update, actor=self._actor)
            self._done("record")
        return PublishedCrl(
            number,
            record.base_number,
            this_update,
            next_update,
            path,
            signed.entry_count,
            size,
            None if partition is None else partition.number,
        )

    def _verify(self, signed: x509crl.SignedCrl, digest: bytes | None) -> None:
        """The CRL's signature, checked with the CA certificate's key before it is written.

        For a GOST key that signed a digest, over that digest (the TBS was hashed once, in
        pieces, while signing); otherwise over the whole TBS.
        """
        spki = self._ca.public_key_info
        if digest is not None and self._ca.key.key_type.is_gost:
            if not verify_digest(GostPublicKey.from_spki_der(spki), digest, signed.signature):
                raise SignatureInvalid("the CA key produced a CRL signature that does not verify")
            return
        from atlas_ca.x509.signatures import verify_signature

        tbs = b"".join((signed.tbs_head, bytes(signed.entries), signed.tbs_tail))
        verify_signature(spki, signed.algorithm, tbs, signed.signature)

    def _write(self, path: Path, signed: x509crl.SignedCrl) -> int:
        written = 0

        def write(fd: int) -> None:
            nonlocal written
            with open(fd, "wb", closefd=False) as stream:
                written = signed.write_to(stream, pem=self.policy.pem)

        try:
            write_atomically(path, write, mode=PUBLIC_FILE)  # a web server serves it
        except OSError as exc:
            raise CrlPublicationFailed(
                f"the CRL could not be written to {path} ({exc.strerror}); the published file "
                "is unchanged",
                path=str(path),
            ) from exc
        return written


__all__ = ["LOCK_NAME", "CrlIssuer", "CrlPolicy", "CrlPublisher", "PublishedCrl"]
