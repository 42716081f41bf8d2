"""The register of certificates: a port (:mod:`atlas_ca.storage.ports`) and two adapters.

* :class:`~atlas_ca.storage.sqlite.SqliteRegister` — one SQLite file, the embedded default;
* :class:`~atlas_ca.storage.postgres.PostgresRegister` — PostgreSQL, for several issuing nodes.

:func:`open_register` picks the adapter from a location: ``postgresql://...`` /
``postgres://...`` is a PostgreSQL DSN, anything else (``sqlite:///path`` or a plain path) a
SQLite file. Both migrate the schema on open and refuse a database newer than the code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from atlas_ca.errors import StorageUnavailable
from atlas_ca.storage._sql import SqlRegister, StepHook
from atlas_ca.storage.ports import (
    AuditStore,
    CaCertificate,
    CertificateRecord,
    CertificateStatus,
    CrlRecord,
    CrlScan,
    IdempotencyKey,
    Intent,
    IntentOutcome,
    IntentState,
    IssuanceReads,
    IssuedCertificate,
    IssuerKeyId,
    NewIntent,
    OrderUsage,
    ProfileName,
    RecordKind,
    RecordStore,
    Register,
    Revocation,
    RevocationReason,
    StatusChange,
    StatusEntry,
)
from atlas_ca.storage.records import POSTGRES_MISSING, open_record_store


def open_register(
    location: str | Path, *, opened_at: datetime, on_step: StepHook | None = None
) -> SqlRegister:
    """Open (and migrate) the register at ``location``; ``opened_at`` stamps applied migrations."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            from atlas_ca.storage.postgres import PostgresRegister
        except ImportError as exc:
            raise StorageUnavailable(POSTGRES_MISSING) from exc

        return PostgresRegister(text, opened_at=opened_at, on_step=on_step)
    from atlas_ca.storage.sqlite import SqliteRegister

    return SqliteRegister(text.removeprefix("sqlite://"), opened_at=opened_at, on_step=on_step)


__all__ = [
    "AuditStore",
    "CaCertificate",
    "CertificateRecord",
    "CertificateStatus",
    "CrlRecord",
    "CrlScan",
    "IdempotencyKey",
    "Intent",
    "IntentOutcome",
    "IntentState",
    "IssuanceReads",
    "IssuedCertificate",
    "IssuerKeyId",
    "NewIntent",
    "OrderUsage",
    "ProfileName",
    "RecordKind",
    "RecordStore",
    "Register",
    "Revocation",
    "RevocationReason",
    "StatusChange",
    "StatusEntry",
    "open_record_store",
    "open_register",
]


def _conforms(register: SqlRegister) -> Register:
    """mypy checks here that both adapters (one SqlRegister) satisfy the Register port."""
    return register
