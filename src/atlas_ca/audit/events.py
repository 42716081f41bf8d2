"""Audit events, their canonical encoding and the Streebog-256 hash chain.

An event says *who* (an :class:`Actor`), *when*, *what* (an action name) and *to which objects*
(a small map of object ids). It never carries personal data in clear (R21): object ids are the
register's opaque identifiers (issuer key id, serial, subscriber id, order id), never a name, a
passport, a СНИЛС or a phone number; values are restricted to identifier characters, so free
text cannot slip in.

Canonical encoding (version 1) — the bytes that are hashed:
    JSON in the RFC 8785 (JCS) form for our value types: an object with the keys
    ``action``, ``actor``, ``at``, ``objects``, ``v`` in code-point order, no insignificant
    whitespace, strings as UTF-8 with only the escapes JSON requires; ``at`` is UTC written
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; ``objects`` maps id names to id strings; ``v`` is ``1``.

Chain: ``hash_n = Streebog-256(b"atlas-ca/audit/v1" || 0x00 || hash_(n-1) || canonical_n)``
with ``hash_0`` = 32 zero bytes. The event's sequence number is not hashed: the chain of
``prev_hash`` values fixes every event's position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from atlas_ca.gost import streebog256

CHAIN_DOMAIN = b"atlas-ca/audit/v1\x00"
GENESIS_HASH = bytes(32)
HASH_SIZE = 32

_ACTOR = re.compile(r"[a-z][a-z0-9-]{0,31}:[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}")
_OBJ_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_OBJ_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_text(at: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC); naive datetimes are refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_utc_text(text: str) -> datetime:
    """The inverse of :func:`utc_text` (strict about the shape, fast: no strptime)."""
    if len(text) != 27 or text[-1] != "Z" or text[10] != "T":
        raise ValueError(f"not a UTC time of the form YYYY-MM-DDTHH:MM:SS.ffffffZ: {text!r}")
    return datetime.fromisoformat(text)  # Python 3.11 reads the "Z" as UTC


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: ``kind:id``, e.g. ``registrar:R-17``, ``operator:ops-3``, ``system:issuance``.

    The id is an account id of the network, never a person's name or document number (R21).
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _ACTOR.fullmatch(self.value):
            raise ValueError(f"actor must look like 'kind:id', got {self.value!r}")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened, before it is chained."""

    at: datetime
    actor: Actor
    action: str
    objects: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        utc_text(self.at)
        if not _ACTION.fullmatch(self.action):
            raise ValueError(f"action must be dotted lower-case words, got {self.action!r}")
        clean: dict[str, str] = {}
        for key, value in self.objects.items():
            if not _OBJ_KEY.fullmatch(key):
                raise ValueError(f"object id name {key!r} is not an identifier")
            if not isinstance(value, str) or not _OBJ_VALUE.fullmatch(value):
                raise ValueError(f"object id {key!r} must be an identifier string (no free text)")
            clean[key] = value
        object.__setattr__(self, "objects", MappingProxyType(dict(sorted(clean.items()))))

    def canonical(self) -> bytes:
        """The version-1 canonical encoding (see the module docstring)."""
        doc = {
            "action": self.action,
            "actor": self.actor.value,
            "at": utc_text(self.at),
            "objects": dict(self.objects),
            "v": 1,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_canonical(cls, data: bytes) -> AuditEvent:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("v") != 1:
            raise ValueError("not a version-1 audit event")
        return cls(
            at=parse_utc_text(doc["at"]),
            actor=Actor(doc["actor"]),
            action=doc["action"],
            objects=doc["objects"],
        )


def chain_hash(prev_hash: bytes, event: AuditEvent) -> bytes:
    """``Streebog-256(domain || prev_hash || canonical(event))``."""
    if len(prev_hash) != HASH_SIZE:
        raise ValueError("prev_hash must be 32 bytes")
    return streebog256(CHAIN_DOMAIN + prev_hash + event.canonical())


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """An event at its place in the log: sequence number (from 1), previous hash, own hash."""

    seq: int
    event: AuditEvent
    prev_hash: bytes
    hash: bytes

    def hash_is_consistent(self) -> bool:
        return chain_hash(self.prev_hash, self.event) == self.hash


@dataclass(frozen=True, slots=True)
class UndecodableEvent:
    """A stored row at ``seq`` whose fields no longer make a valid event (it was edited)."""

    seq: int
    detail: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last event's sequence number and hash (``seq == 0`` and zero hash: empty log)."""

    seq: int
    hash: bytes


def chain_next(head: ChainHead, event: AuditEvent) -> ChainedEvent:
    """The event chained after ``head``."""
    return ChainedEvent(head.seq + 1, event, head.hash, chain_hash(head.hash, event))
