"""The audit-log verifier: recompute the chain, check checkpoints, report the FIRST problem.

Problems, in the order the log is read (by sequence number):

* ``EDITED`` — an event whose stored hash does not match its content (or whose content no longer
  decodes): it was changed after it was written;
* ``REMOVED`` — a sequence number is missing, the log ends before a checkpoint or the recorded
  head, or an event's ``prev_hash`` matches no event at all (an event before it was deleted and
  the rest renumbered);
* ``REORDERED`` — an event's ``prev_hash`` is the hash of an event found *later* in the log;
* ``REWRITTEN`` — a checkpoint's hash differs from the chain at its sequence number (someone
  edited events and recomputed every hash after them);
* ``BAD_CHECKPOINT`` — a checkpoint whose signature does not verify, or made by an untrusted key.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from atlas_ca.audit.checkpoints import Checkpoint, SignatureVerifier
from atlas_ca.audit.events import GENESIS_HASH, ChainedEvent, ChainHead, UndecodableEvent

#: How far ahead the verifier looks to tell a reordering from a removal.
LOOKAHEAD = 256


class ProblemKind(enum.Enum):
    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    REWRITTEN = "rewritten"
    BAD_CHECKPOINT = "bad-checkpoint"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    seq: int
    detail: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    events_checked: int
    checkpoints_checked: int
    first_problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.first_problem is None


Row = ChainedEvent | UndecodableEvent


class _Rows:
    """An iterator with a bounded look-ahead window (the log is streamed, never listed)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self._it: Iterator[Row] = iter(rows)
        self._buf: deque[Row] = deque()

    def next(self) -> Row | None:
        if self._buf:
            return self._buf.popleft()
        return next(self._it, None)

    def ahead(self, n: int) -> list[Row]:
        while len(self._buf) < n:
            item = next(self._it, None)
            if item is None:
                break
            self._buf.append(item)
        return list(self._buf)


def verify_chain(
    events: Iterable[Row],
    checkpoints: Sequence[Checkpoint] = (),
    *,
    head: ChainHead | None = None,
    verify_signature: SignatureVerifier | None = None,
    trusted_keys: Collection[bytes] | None = None,
) -> VerificationReport:
    """Verify ``events`` in stored order (an :class:`UndecodableEvent` is a row that no longer
    decodes).

    ``checkpoints`` are checked against the chain (and their signatures with
    ``verify_signature`` when given; ``trusted_keys`` restricts the signer SPKIs). ``head`` is
    the recorded last event, if the store keeps one.
    """
    by_seq = {cp.seq: cp for cp in checkpoints}
    for checked_cps, cp in enumerate(sorted(checkpoints, key=lambda c: c.seq)):
        if trusted_keys is not None and cp.public_key_info not in trusted_keys:
            return VerificationReport(
                0, checked_cps, Problem(ProblemKind.BAD_CHECKPOINT, cp.seq, "untrusted key")
            )
        if verify_signature is not None and not verify_signature(
            cp.public_key_info, cp.signature_algorithm, cp.signed_bytes(), cp.signature
        ):
            return VerificationReport(
                0, checked_cps, Problem(ProblemKind.BAD_CHECKPOINT, cp.seq, "bad signature")
            )

    rows = _Rows(events)
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    cps_seen = 0

    def report(kind: ProblemKind, seq: int, detail: str) -> VerificationReport:
        return VerificationReport(checked, cps_seen, Problem(kind, seq, detail))

    while True:
        item = rows.next()
        if item is None:
            break
        if item.seq != expected_seq:
            if item.seq > expected_seq:
                return report(ProblemKind.REMOVED, expected_seq, f"sequence jumps to {item.seq}")
            return report(ProblemKind.REORDERED, item.seq, "sequence numbers out of order")
        if isinstance(item, UndecodableEvent) or not item.hash_is_consistent():
            return report(ProblemKind.EDITED, item.seq, "stored hash does not match the content")
        if item.prev_hash != prev_hash:
            later = any(
                isinstance(r, ChainedEvent) and r.hash == item.prev_hash
                for r in rows.ahead(LOOKAHEAD)
            )
            if later:
                return report(
                    ProblemKind.REORDERED, item.seq, "previous hash belongs to a later event"
                )
            return report(
                ProblemKind.REMOVED,
                item.seq,
                "previous hash matches no event: an event before this one is missing",
            )
        at_seq = by_seq.get(item.seq)
        if at_seq is not None:
            if at_seq.chain_hash != item.hash:
                return report(
                    ProblemKind.REWRITTEN,
                    item.seq,
                    "checkpoint hash differs: the log up to here was rewritten",
                )
            cps_seen += 1
        prev_hash = item.hash
        checked += 1
        expected_seq += 1

    last = expected_seq - 1
    beyond = [cp.seq for cp in checkpoints if cp.seq > last]
    if beyond:
        return report(ProblemKind.REMOVED, last + 1, f"log ends before checkpoint {min(beyond)}")
    if head is not None:
        if head.seq > last:
            return report(ProblemKind.REMOVED, last + 1, f"log ends before the head {head.seq}")
        if head.seq == last and head.hash != prev_hash:
            return report(ProblemKind.EDITED, last, "head hash differs from the last event")
    return VerificationReport(checked, cps_seen, None)


@runtime_checkable
class AuditStore(Protocol):
    """Where the log lives (the register's database implements it)."""

    def audit_head(self) -> ChainHead: ...

    def audit_events(self, from_seq: int = 1) -> Iterator[ChainedEvent | UndecodableEvent]:
        """The stored events from ``from_seq`` in sequence order, streamed."""
        ...

    def checkpoints(self) -> list[Checkpoint]: ...


def verify_store(
    store: AuditStore,
    *,
    verify_signature: SignatureVerifier | None = None,
    trusted_keys: Collection[bytes] | None = None,
) -> VerificationReport:
    """Verify the whole log of ``store`` against its checkpoints and recorded head."""
    head = store.audit_head()
    return verify_chain(
        store.audit_events(),
        store.checkpoints(),
        head=head,
        verify_signature=verify_signature,
        trusted_keys=trusted_keys,
    )
