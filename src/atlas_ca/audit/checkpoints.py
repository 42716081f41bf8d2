"""Signed checkpoints of the audit chain.

A checkpoint states "the event with sequence number ``seq`` has chain hash ``chain_hash``",
signed by an HSM key (a :class:`~atlas_ca.hsm.base.SigningKey`). Whoever keeps a copy of a
checkpoint (or its signature) can later prove that the log up to ``seq`` was not rewritten, even
by someone who recomputed every hash after an edit.

Signed bytes (canonical JSON, same rules as the events):
``{"at":"<UTC>","chain_hash":"<hex>","key_id":"<id>","seq":N,"type":"atlas-ca/audit-checkpoint","v":1}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.audit.events import ChainHead, utc_text
from atlas_ca.hsm.base import SigningKey


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    chain_hash: bytes
    at: datetime
    key_id: str
    public_key_info: bytes
    signature_algorithm: SignatureAlgorithm
    signature: bytes

    def signed_bytes(self) -> bytes:
        return checkpoint_payload(self.seq, self.chain_hash, self.at, self.key_id)


def checkpoint_payload(seq: int, chain_hash: bytes, at: datetime, key_id: str) -> bytes:
    doc = {
        "at": utc_text(at),
        "chain_hash": chain_hash.hex(),
        "key_id": key_id,
        "seq": seq,
        "type": "atlas-ca/audit-checkpoint",
        "v": 1,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign_checkpoint(head: ChainHead, key: SigningKey, *, at: datetime, key_id: str) -> Checkpoint:
    """Sign the chain head with ``key``; ``key_id`` names the key (e.g. its PKCS#11 URI label)."""
    if head.seq < 1:
        raise ValueError("an empty audit log has nothing to checkpoint")
    payload = checkpoint_payload(head.seq, head.hash, at, key_id)
    return Checkpoint(
        seq=head.seq,
        chain_hash=head.hash,
        at=at,
        key_id=key_id,
        public_key_info=key.public_key_info,
        signature_algorithm=key.signature_algorithm,
        signature=key.sign(payload),
    )


class SignatureVerifier(Protocol):
    """Checks a signature made by the key whose SubjectPublicKeyInfo DER is given."""

    def __call__(
        self,
        public_key_info: bytes,
        algorithm: SignatureAlgorithm,
        data: bytes,
        signature: bytes,
    ) -> bool: ...


def x509_signature_verifier(
    public_key_info: bytes, algorithm: SignatureAlgorithm, data: bytes, signature: bytes
) -> bool:
    """A :class:`SignatureVerifier` backed by :func:`atlas_ca.x509.signatures.verify_signature`
    (GOST through :mod:`atlas_ca.gost`, the others through cryptography)."""
    from atlas_ca.errors import DecodeError, SignatureInvalid
    from atlas_ca.x509.signatures import verify_signature

    try:
        verify_signature(public_key_info, algorithm, data, signature)
    except (SignatureInvalid, DecodeError):
        return False
    return True


def checkpoint_due(
    head: ChainHead,
    last: Checkpoint | None,
    *,
    now: datetime,
    every_events: int = 1000,
    every: timedelta = timedelta(hours=1),
) -> bool:
    """The periodic policy: a checkpoint is due when events were appended since the last one
    and either ``every_events`` of them accumulated or ``every`` has passed since it."""
    if every_events < 1 or every <= timedelta(0):
        raise ValueError("every_events must be ≥ 1 and every positive")
    if head.seq == 0 or (last is not None and last.seq >= head.seq):
        return False
    if last is None:
        return True
    return head.seq - last.seq >= every_events or now - last.at >= every
