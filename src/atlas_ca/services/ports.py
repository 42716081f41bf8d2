"""Ports of the services (a clock, randomness, one-time-code challenges, the certificate outbox)
and their plain adapters.

Time and randomness are constructor parameters of every service: production passes
:class:`SystemClock` and ``secrets.token_bytes``, tests a fixed clock and a seeded source.

The *outbox* closes the gap between "the HSM signed" and "the register stored": the issuance
service writes the signed certificate to the outbox before the database transaction that
stores it, so a crash in between leaves an open intent **and** the certificate on disk, and the
resolver completes the intent from it. Nothing leaves the service before the register has the
certificate.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from atlas_ca.errors import RecordNotFound, StorageUnavailable
from atlas_ca.services.files import PRIVATE_DIR, make_directory
from atlas_ca.storage.ports import IssuerKeyId, serial_text

if TYPE_CHECKING:  # annotations only: the CRL publisher imports this module and needs no OTP
    from atlas_ca.domain.ids import ChallengeId
    from atlas_ca.domain.otp import OtpChallenge, OtpVerification

RandomBytes = Callable[[int], bytes]
"""``n -> n`` random bytes from a CSPRNG (``secrets.token_bytes``); a parameter, never global."""

StepHook = Callable[[str], None]
"""Called with the name of each pipeline step once it is done (fault-injection seam)."""


@runtime_checkable
class Clock(Protocol):
    """The only source of "now" a service has."""

    def now(self) -> datetime:
        """A timezone-aware datetime."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ChallengeStore(Protocol):
    """Where one-time-code challenges live between sending and presenting the code (R7).

    ``save`` stores a new challenge; a code is presented with ``present``, which reads the
    challenge, checks the code and stores the outcome (attempt counted, or code spent) as one
    atomic step: of concurrent presentations of the right code one is accepted, and no wrong
    attempt is lost.
    """

    def get(self, challenge_id: ChallengeId) -> OtpChallenge:
        """The challenge, or :class:`~atlas_ca.errors.RecordNotFound`."""
        ...

    def save(self, challenge: OtpChallenge) -> None: ...

    def present(
        self, challenge_id: ChallengeId, check: Callable[[OtpChallenge], OtpVerification]
    ) -> OtpVerification:
        """Apply ``check`` (a pure :func:`~atlas_ca.domain.otp.verify_code`) to the stored
        challenge and store the challenge it returns, atomically; the verification."""
        ...


class InMemoryChallengeStore:
    """A thread-safe :class:`ChallengeStore` in a dict (one process: the demo, the tests)."""

    def __init__(self) -> None:
        self._items: dict[ChallengeId, OtpChallenge] = {}
        self._lock = threading.Lock()

    def get(self, challenge_id: ChallengeId) -> OtpChallenge:
        with self._lock:
            found = self._items.get(challenge_id)
        if found is None:
            raise RecordNotFound(
                "no one-time-code challenge with this id", challenge=challenge_id.value
            )
        return found

    def save(self, challenge: OtpChallenge) -> None:
        with self._lock:
            self._items[challenge.id] = challenge

    def present(
        self, challenge_id: ChallengeId, check: Callable[[OtpChallenge], OtpVerification]
    ) -> OtpVerification:
        with self._lock:
            found = self._items.get(challenge_id)
            if found is None:
                raise RecordNotFound(
                    "no one-time-code challenge with this id", challenge=challenge_id.value
                )
            checked = check(found)
            self._items[challenge_id] = checked.challenge
        return checked


class CertificateOutbox(Protocol):
    """Durable storage of signed certificates between signing and the register's commit."""

    def put(self, issuer: IssuerKeyId, serial: int, der: bytes) -> None:
        """Store durably (the write is on disk when this returns)."""
        ...

    def get(self, issuer: IssuerKeyId, serial: int) -> bytes | None: ...

    def remove(self, issuer: IssuerKeyId, serial: int) -> None: ...

    def entries(self) -> Iterator[tuple[IssuerKeyId, int]]:
        """Every certificate still in the outbox."""
        ...


_OUTBOX_NAME = re.compile(r"([0-9a-f]{8,128})-([0-9a-f]{40})\.der")


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(
    path: Path, write: Callable[[int], None], *, durable: bool = True, mode: int = 0o600
) -> None:
    """Write a file so readers see the old or the new content, never a part: ``write(fd)`` fills
    a temporary file in the same directory, which is renamed over ``path`` — after an fsync of
    the file, and followed by an fsync of the directory, when ``durable``. The file gets
    ``mode`` whatever the umask (0600 by default; 0644 for public artifacts such as CRLs)."""
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            os.fchmod(fd, mode)
            write(fd)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_directory(directory)


class DirectoryOutbox:
    """A :class:`CertificateOutbox` in a directory: ``<issuer>-<serial>.der``, written atomically
    (temporary file, rename). Share the directory between the nodes whose intents one resolver
    resolves.

    Not fsync'd unless ``durable=True``: the register's consistency never depends on the
    outbox — a certificate is returned only after the register stored it, and the resolver
    voids an intent whose file is missing or is not the recorded TBS signed by the CA. A
    killed process leaves its file in the page cache (the resolver completes the intent); only
    a power cut between the write and the commit can lose it, and then the intent is voided
    instead of completed. ``durable=True`` closes that window too, for two fsyncs per issuance.
    """

    def __init__(self, directory: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.directory = Path(directory)
        self.durable = durable
        try:  # signed certificates carry personal data: 0700, files 0600
            make_directory(self.directory, PRIVATE_DIR)
        except OSError as exc:
            raise StorageUnavailable(
                f"the certificate outbox {self.directory} cannot be created: {exc.strerror}",
                path=str(self.directory),
            ) from exc

    def _path(self, issuer: IssuerKeyId, serial: int) -> Path:
        return self.directory / f"{issuer.value}-{serial_text(serial)}.der"

    def put(self, issuer: IssuerKeyId, serial: int, der: bytes) -> None:
        path = self._path(issuer, serial)

        def write(fd: int) -> None:
            view = memoryview(der)
            while view:
                view = view[os.write(fd, view) :]

        try:
            write_atomically(path, write, durable=self.durable)
        except OSError as exc:
            raise StorageUnavailable(
                f"the certificate outbox {self.directory} refused the write: {exc.strerror}",
                path=str(self.directory),
            ) from exc

    def get(self, issuer: IssuerKeyId, serial: int) -> bytes | None:
        try:
            return self._path(issuer, serial).read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, issuer: IssuerKeyId, serial: int) -> None:
        """Not fsync'd: a removal lost in a power cut leaves a file the resolver cleans."""
        with contextlib.suppress(FileNotFoundError):
            self._path(issuer, serial).unlink()

    def entries(self) -> Iterator[tuple[IssuerKeyId, int]]:
        for path in sorted(self.directory.iterdir()):
            m = _OUTBOX_NAME.fullmatch(path.name)
            if m is not None:
                yield IssuerKeyId(m.group(1)), int(m.group(2), 16)


__all__ = [
    "CertificateOutbox",
    "ChallengeStore",
    "Clock",
    "DirectoryOutbox",
    "InMemoryChallengeStore",
    "RandomBytes",
    "StepHook",
    "SystemClock",
    "fsync_directory",
    "write_atomically",
]
