"""The audit log: append-only, hash-chained with Streebog-256, with HSM-signed checkpoints.

The log lives in the register's database (see :mod:`atlas_ca.storage`), so every change of the
register is written together with its audit event in one transaction.
"""

from atlas_ca.audit.checkpoints import (
    Checkpoint,
    SignatureVerifier,
    checkpoint_due,
    sign_checkpoint,
    x509_signature_verifier,
)
from atlas_ca.audit.events import (
    GENESIS_HASH,
    Actor,
    AuditEvent,
    ChainedEvent,
    ChainHead,
    UndecodableEvent,
    chain_hash,
)
from atlas_ca.audit.verify import (
    AuditStore,
    Problem,
    ProblemKind,
    VerificationReport,
    verify_chain,
    verify_store,
)

__all__ = [
    "GENESIS_HASH",
    "Actor",
    "AuditEvent",
    "AuditStore",
    "ChainHead",
    "ChainedEvent",
    "Checkpoint",
    "Problem",
    "ProblemKind",
    "SignatureVerifier",
    "UndecodableEvent",
    "VerificationReport",
    "chain_hash",
    "checkpoint_due",
    "sign_checkpoint",
    "verify_chain",
    "verify_store",
    "x509_signature_verifier",
]
