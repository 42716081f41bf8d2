# ruff: noqa: S608 — f-strings here only splice module constants (column lists, FOR UPDATE)
"""The register's logic over SQL, shared by the SQLite and PostgreSQL adapters.

An adapter supplies a :class:`Database`: transactions (with its own locking discipline and
driver-error mapping), a snapshot session for streaming reads, and the conversion of times.
Statements here use ``?`` placeholders; the PostgreSQL adapter rewrites them to ``%s``.

Concurrency: every writer locks the rows it derives numbers from (``issuer_changes``,
``crl_numbers``, ``audit_head``) with ``UPDATE ... RETURNING`` / ``SELECT ... FOR UPDATE``
(PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway), always in the order
counters → certificate → audit head, so there is no lock cycle. Serial uniqueness is the
primary key of ``issuance_intents``. ``record_intent`` first locks the order's row of
``order_issuances`` (an upsert that also counts the new intent and returns the order's live
count, schema v8), checks it against the caller's quota and inserts: one order's intents are
recorded one at a time, so two requests cannot both take its last certificate. Completing or
voiding an intent moves the same row's counters in its transaction, so they always equal the
counts of the order's intents by state (no ``count(*)``, linear in the order's size).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime, timedelta
from functools import partial
from importlib import resources
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple, Protocol, TypeVar

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.audit.checkpoints import Checkpoint, sign_checkpoint
from atlas_ca.audit.events import (
    Actor,
    AuditEvent,
    ChainedEvent,
    ChainHead,
    UndecodableEvent,
    chain_next,
)
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.errors import (
    AtlasCaError,
    CrlNumberConflict,
    DuplicateIdempotencyKey,
    IntentNotOpen,
    KeyAlreadyCertified,
    OrderQuotaReached,
    RecordNotFound,
    SerialCollision,
    StorageReadOnly,
    StorageUnavailable,
)
from atlas_ca.hsm.base import SigningKey
from atlas_ca.storage.lifecycle import StatusAction, next_status
from atlas_ca.storage.ports import (
    MAX_SERIAL,
    CaCertificate,
    CertificateRecord,
    CertificateStatus,
    CrlRecord,
    CrlRow,
    EncodedEntries,
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
    Revocation,
    RevocationReason,
    SerialRange,
    StatusChange,
    StatusEntry,
    check_serial,
    serial_text,
)
from atlas_ca.x509.crl import encode_entry, encode_rows

T = TypeVar("T")
U = TypeVar("U")
Row = tuple[Any, ...]
StepHook = Callable[[str], None]
"""Fault-injection seam: called with a step name inside write transactions (tests kill or
break the database there); ``None`` in production."""

MAX_ATTEMPTS = 5
#: What refuses one member of a batch (``record_intents``, ``complete_intents``) and not the
#: others: the batch is written again without it, and the error is its result.
_MEMBER_REFUSALS = (
    SerialCollision,
    OrderQuotaReached,
    KeyAlreadyCertified,
    DuplicateIdempotencyKey,
    IntentNotOpen,
    RecordNotFound,
)
# Dictionary lookups: calling an Enum by value costs more than the rest of a scanned row.
_STATUSES = {s.value: s for s in CertificateStatus}
_REASONS = {int(r): r for r in RevocationReason}


# --- migrations ----------------------------------------------------------------------------


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of every shipped migration of ``dialect``, in order."""
    folder = resources.files("atlas_ca.storage").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort()
    if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations are not numbered 1..n")
    return found


def latest_version(dialect: str) -> int:
    return len(migrations(dialect))


# --- the adapter's side --------------------------------------------------------------------


class Cursor(Protocol):
    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute; the number of rows affected."""
        ...

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """Rows fetched in batches as they are consumed."""
        ...

    def batches(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Row]]:
        """The rows in the driver's fetch batches (for the CRL scan: one step per batch)."""
        ...

    def send(self, statements: Sequence[Statement]) -> list[list[Row] | int]:
        """Run ``statements`` in order (PostgreSQL: pipelined, one round trip for all); for
        each, its rows if it returns any (``returning``), else the number of rows affected."""
        ...


class Statement(NamedTuple):
    sql: str
    params: Sequence[Any]
    returning: bool = False


class Retry(Exception):
    """Raised inside a transaction to roll it back and run the operation again."""


class _WithoutRefused(Exception):
    """A batch member was refused: roll the batch back and write it again without that one."""


class _NotPlain(Exception):
    """The set-based batch met something only the member-by-member path decides (a refusal,
    a conflict, a damaged counter): roll it back and let that path write the batch."""


class Database(ABC):
    """What an adapter provides to :class:`SqlRegister`."""

    for_update: str = ""
    #: Whether a data-modifying statement may sit in a WITH clause (PostgreSQL): the audit
    #: event and the audit head are then written in one statement, one round trip.
    writable_ctes: bool = False
    #: The columns of a :class:`~atlas_ca.storage.ports.CrlRow`, derived in SQL from
    #: ``serial``, ``revocation_date``, ``reason`` and ``invalidity_date``.
    crl_row_columns: str

    @abstractmethod
    def write(self) -> AbstractContextManager[Cursor]:
        """A write transaction; driver errors become StorageUnavailable/StorageReadOnly; a
        transient conflict (serialisation failure, deadlock) becomes :class:`Retry`."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Cursor]:
        """A read-only transaction on the register's connection."""

    def read_together(self, statements: Sequence[Statement]) -> list[list[Row] | int]:
        """Read-only ``statements`` sent together (:meth:`Cursor.send`). Not one snapshot for
        all of them where the adapter can send them cheaper without (PostgreSQL)."""
        with self.read() as cur:
            return cur.send(statements)

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[Cursor]:
        """A consistent read-only snapshot on a connection of its own (for long streams)."""

    @abstractmethod
    def ts(self, at: datetime) -> Any:
        """A datetime as the database stores it."""

    @abstractmethod
    def from_ts(self, value: Any) -> datetime: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def lock_name(self, cur: Cursor, name: str) -> None:
        """Hold a lock on ``name`` until the write transaction ends (it covers a row not yet
        written, which ``FOR UPDATE`` cannot): the record store's checked writes."""


# --- row mapping ---------------------------------------------------------------------------

_INTENT_COLS = (
    "issuer, serial, tbs_digest, subscriber, profile, order_id, state, created_at, resolved_at"
)
_CERT_COLS = (
    "issuer, serial, der, subject_key_id, subscriber, profile, order_id, not_before, not_after,"
    " issued_at, status, status_changed_at, reason, revocation_date, invalidity_date"
)
_AUDIT_COLS = "seq, at, actor, action, objects, prev_hash, hash"
_CP_COLS = "seq, chain_hash, at, key_id, public_key_info, signature_algorithm, signature"


def _opt_order(value: str | None) -> OrderId | None:
    return None if value is None else OrderId(value)


#: Rows per statement of a set-based batch write: far below SQLite's and PostgreSQL's limits
#: on bound parameters (32,766 and 65,535) at the widest row (15 columns).
_ROWS_PER_STATEMENT = 256


def _placeholders(width: int, rows: int) -> str:
    one = "(" + ", ".join("?" * width) + ")"
    return ", ".join([one] * rows)


def _statements(
    template: str, width: int, rows: Sequence[Sequence[Any]], *, returning: bool = False
) -> list[Statement]:
    """``template`` (its ``{}`` the VALUES rows) over ``rows``, at most
    :data:`_ROWS_PER_STATEMENT` a statement."""
    out = []
    for at in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[at : at + _ROWS_PER_STATEMENT]
        params = [v for row in chunk for v in row]
        out.append(Statement(template.format(_placeholders(width, len(chunk))), params, returning))
    return out


def _affected(results: Sequence[list[Row] | int]) -> int:
    return sum(r for r in results if isinstance(r, int))


#: The order's counters (schema v8): one row, whatever the order's size.
_ORDER_USAGE = (
    "SELECT open_intents, completed_intents, voided_intents FROM order_issuances WHERE order_id = ?"
)
_KEY_HOLDER = (
    "SELECT serial FROM issuance_intents WHERE issuer = ? AND key_hash = ? AND state <> 'voided'"
)
_IDEMPOTENT = "SELECT issuer, serial FROM idempotency_keys WHERE key = ?"


def _usage(order: OrderId, row: Row | None) -> OrderUsage:
    opened, completed, voided = (0, 0, 0) if row is None else map(int, row)
    # One certificate per completed intent, stored in the transaction that completes it.
    return OrderUsage(
        order, open=opened, completed=completed, voided=voided, certificates=completed
    )


def _intent_event(intent: NewIntent, actor: Actor) -> AuditEvent:
    objects = {
        "issuer": intent.issuer.value,
        "serial": serial_text(intent.serial),
        "subscriber": intent.subscriber.value,
    }
    if intent.order is not None:
        objects["order"] = intent.order.value
    return AuditEvent(intent.created_at, actor, "issuance.intent", objects)


def _issued_event(certificate: IssuedCertificate, actor: Actor) -> AuditEvent:
    c = certificate
    return AuditEvent(
        c.issued_at,
        actor,
        "certificate.issued",
        {
            "issuer": c.issuer.value,
            "serial": serial_text(c.serial),
            "subscriber": c.subscriber.value,
        },
    )


def _recorded(intent: NewIntent) -> IntentOutcome:
    """The outcome of an intent just recorded (open, created by this request)."""
    i = intent
    state = IntentState.OPEN
    return IntentOutcome(
        Intent(i.issuer, i.serial, i.tbs_digest, i.subscriber, i.profile, i.order, state,
               i.created_at, None),
        True,
        None,
    )  # fmt: skip


def _issued_record(certificate: IssuedCertificate) -> CertificateRecord:
    """The register's record of a certificate just stored (valid, as issued)."""
    c = certificate
    return CertificateRecord(
        c.issuer,
        c.serial,
        c.der,
        c.subject_key_id,
        c.subscriber,
        c.profile,
        c.order,
        c.not_before,
        c.not_after,
        c.issued_at,
        CertificateStatus.VALID,
        c.issued_at,
        None,
    )


class SqlRegister:
    """The :class:`~atlas_ca.storage.ports.Register` over a :class:`Database`."""

    def __init__(self, db: Database, schema_version: int, on_step: StepHook | None) -> None:
        self._db = db
        self._schema_version = schema_version
        self._on_step = on_step

    # --- plumbing ------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self._schema_version

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqlRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _step(self, name: str) -> None:
        if self._on_step is not None:
            self._on_step(name)

    def _write(self, op: str, fn: Callable[[Cursor], T]) -> T:
        for _ in range(MAX_ATTEMPTS):
            try:
                with self._db.write() as cur:
                    return fn(cur)
            except Retry:
                continue
        raise StorageUnavailable(
            f"{op}: the database kept reporting conflicts; nothing was written", operation=op
        )

    def _intent(self, row: Row) -> Intent:
        db = self._db
        return Intent(
            issuer=IssuerKeyId(row[0]),
            serial=int(row[1], 16),
            tbs_digest=bytes(row[2]),
            subscriber=SubscriberId(row[3]),
            profile=ProfileName(row[4]),
            order=_opt_order(row[5]),
            state=IntentState(row[6]),
            created_at=db.from_ts(row[7]),
            resolved_at=None if row[8] is None else db.from_ts(row[8]),
        )

    def _revocation(self, reason: Any, rev: Any, inv: Any) -> Revocation | None:
        if reason is None:
            return None
        db = self._db
        return Revocation(
            _REASONS[int(reason)],
            db.from_ts(rev),
            None if inv is None else db.from_ts(inv),
        )

    def _certificate(self, row: Row) -> CertificateRecord:
        db = self._db
        return CertificateRecord(
            issuer=IssuerKeyId(row[0]),
            serial=int(row[1], 16),
            der=bytes(row[2]),
            subject_key_id=bytes(row[3]),
            subscriber=SubscriberId(row[4]),
            profile=ProfileName(row[5]),
            order=_opt_order(row[6]),
            not_before=db.from_ts(row[7]),
            not_after=db.from_ts(row[8]),
            issued_at=db.from_ts(row[9]),
            status=CertificateStatus(row[10]),
            status_changed_at=db.from_ts(row[11]),
            revocation=self._revocation(row[12], row[13], row[14]),
        )

    def _audit(self, cur: Cursor, event: AuditEvent) -> ChainedEvent:
        head = cur.one(f"SELECT seq, hash FROM audit_head WHERE id = 1{self._db.for_update}")
        if head is None:
            raise StorageUnavailable("the audit head row is missing: the schema is damaged")
        chained = chain_next(ChainHead(int(head[0]), bytes(head[1])), event)
        values = self._audit_values(chained, event)
        if self._db.writable_ctes:  # PostgreSQL: the event and the new head in one round trip
            cur.run(
                "WITH head AS (UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1)"
                f" INSERT INTO audit_events ({_AUDIT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (chained.seq, chained.hash, *values),
            )
            return chained
        cur.run(f"INSERT INTO audit_events ({_AUDIT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)", values)
        cur.run("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (chained.seq, chained.hash))
        return chained

    def _audit_values(self, chained: ChainedEvent, event: AuditEvent) -> tuple[Any, ...]:
        return (
            chained.seq,
            self._db.ts(event.at),
            event.actor.value,
            event.action,
            json.dumps(dict(event.objects), sort_keys=True, separators=(",", ":")),
            chained.prev_hash,
            chained.hash,
        )

    # --- issuance ------------------------------------------------------------------------------

    def _outcome(self, cur: Cursor, issuer: str, serial: str) -> IntentOutcome:
        row = cur.one(
            f"SELECT {_INTENT_COLS} FROM issuance_intents WHERE issuer = ? AND serial = ?",
            (issuer, serial),
        )
        if row is None:
            raise StorageUnavailable("an idempotency key points at a missing intent")
        cert = cur.one(
            f"SELECT {_CERT_COLS} FROM certificates WHERE issuer = ? AND serial = ?",
            (issuer, serial),
        )
        return IntentOutcome(
            self._intent(row), False, None if cert is None else self._certificate(cert)
        )

    def record_intent(self, intent: NewIntent, *, actor: Actor) -> IntentOutcome:
        return self._write("record_intent", lambda cur: self._record_intent_in(cur, intent, actor))

    def record_intents(
        self, intents: Sequence[NewIntent], *, actor: Actor
    ) -> list[IntentOutcome | AtlasCaError]:
        """Group commit (issue 17): record several intents in ONE transaction (one fsync).

        Each intent is recorded exactly as :meth:`record_intent` does: an intent the register
        refuses (SerialCollision, OrderQuotaReached, KeyAlreadyCertified,
        DuplicateIdempotencyKey) leaves nothing and its error takes its place in the result, in
        order; the others commit together. Any other failure (the
        database, the commit) rolls back the whole transaction and raises: no intent of the
        batch is written, and the caller fails every member.
        """
        plain = self._plain_batch("record_intents", intents, (), actor)
        if plain is not None:
            return list(plain[0])
        return self._batch(
            "record_intents",
            intents,
            lambda cur, i: self._record_intent_in(cur, i, actor),
            self._lock_orders,
        )

    def write_batch(
        self,
        intents: Sequence[NewIntent],
        certificates: Sequence[IssuedCertificate],
        *,
        actor: Actor,
    ) -> tuple[list[IntentOutcome | AtlasCaError], list[CertificateRecord | AtlasCaError]]:
        """Group commit of both issuance writes in ONE transaction: the intents recorded (as
        :meth:`record_intents`), then the certificates completed (as :meth:`complete_intents`);
        the results in the order given.

        The lock order of the module docstring (counters → certificate → audit head) holds for
        the whole transaction, which matters once several processes write batches at once
        (``atlas-ca serve`` workers, issue 17): the order counters' rows are locked before
        anything takes the audit head — intents before certificates, and with intents of
        several orders all their rows first, by order id — so two batches never each hold one
        and wait for the other's. (Certificates first made exactly that cycle with a batch of
        another process: PostgreSQL finds a deadlock only after ``deadlock_timeout``, 1 s, and
        one batch runs again.)"""

        def member(cur: Cursor, item: NewIntent | IssuedCertificate) -> Any:
            if isinstance(item, NewIntent):
                return self._record_intent_in(cur, item, actor)
            return self._complete_intent_in(cur, item, actor)

        plain = self._plain_batch("write_batch", intents, certificates, actor)
        if plain is not None:
            return list(plain[0]), list(plain[1])
        items: list[NewIntent | IssuedCertificate] = [*intents, *certificates]
        results = self._batch("write_batch", items, member, self._lock_orders)
        n = len(intents)
        return results[:n], results[n:]

    def _plain_batch(
        self,
        op: str,
        intents: Sequence[NewIntent],
        certificates: Sequence[IssuedCertificate],
        actor: Actor,
    ) -> tuple[list[IntentOutcome], list[CertificateRecord]] | None:
        """A batch written with a fixed number of set-based statements, whatever its size
        (issue 17), or ``None`` when it needs the member-by-member path.

        The transaction holds the register's write lock (SQLite) or the orders' rows and the
        audit head (PostgreSQL) from its first statement to its commit, and concurrent
        batches — other worker processes — wait for exactly that span. Member by member a
        batch of 15 took about 60 statements on SQLite and 25 round trips on PostgreSQL, and
        each one gives the interpreter lock away to the request threads doing CPU work and
        waits to get it back; measured: a batch held the register for ≈ 30–60 ms of which
        ≈ 5 ms was its own CPU. Here it is about nine statements: the orders' counters
        (locked first, sorted: the lock order of the module docstring), the intents, their
        idempotency keys, the completed intents, their counters, the certificates, then the
        audit head and the chained events. Anything only the member-by-member path decides —
        a quota reached, a serial or key or idempotency key already taken, an intent not open
        or not matching its certificate, a damaged counter — rolls this transaction back
        (nothing of it was committed) and returns ``None``; the caller then writes the batch
        as before, with each refusal in its member's place. The chain, the counters and the
        rows are the same as that path writes (tests/storage/test_register_plain_batch.py)."""
        if not intents and not certificates:
            return None
        try:
            return self._write(
                op, lambda cur: self._plain_batch_in(cur, op, intents, certificates, actor)
            )
        except _NotPlain:
            return None

    def _plain_batch_in(
        self,
        cur: Cursor,
        op: str,
        intents: Sequence[NewIntent],
        certificates: Sequence[IssuedCertificate],
        actor: Actor,
    ) -> tuple[list[IntentOutcome], list[CertificateRecord]]:
        db = self._db
        added: dict[str, int] = {}  # intents recorded per order
        done: dict[str, int] = {}  # intents completed per order
        for intent in intents:
            if intent.order is not None:
                added[intent.order.value] = added.get(intent.order.value, 0) + 1
        for cert in certificates:
            if cert.order is not None:
                done[cert.order.value] = done.get(cert.order.value, 0) + 1
        orders = sorted(added.keys() | done.keys())
        # One send (one libpq pipeline on PostgreSQL) for the data: first the orders' counters
        # counted up for the intents and locked (in order-id order: the lock order), the
        # intents, and the intents completed — only those open and naming the certificate's
        # subscriber, profile and order.
        first: list[Statement] = []
        if orders:
            first += _statements(
                "INSERT INTO order_issuances (order_id, recorded, open_intents) VALUES {}"
                " ON CONFLICT (order_id) DO UPDATE"
                " SET recorded = order_issuances.recorded + excluded.recorded,"
                " open_intents = order_issuances.open_intents + excluded.open_intents"
                " RETURNING order_id, recorded, open_intents, completed_intents",
                3,
                [(o, added.get(o, 0), added.get(o, 0)) for o in orders],
                returning=True,
            )
        counted = len(first)
        first += _statements(
            f"INSERT INTO issuance_intents ({_INTENT_COLS}, key_hash) VALUES {{}}"
            " ON CONFLICT DO NOTHING",
            10,
            [
                (
                    i.issuer.value,
                    serial_text(i.serial),
                    i.tbs_digest,
                    i.subscriber.value,
                    i.profile.value,
                    None if i.order is None else i.order.value,
                    "open",
                    db.ts(i.created_at),
                    None,
                    i.key_hash,
                )
                for i in intents
            ],
        )
        recorded = len(first)
        first += _statements(
            # VALUES columns are column1… in both dialects; no WITH in front: Python's sqlite3
            # reports no rowcount for a statement that does not start with its verb.
            "UPDATE issuance_intents SET state = 'completed', resolved_at = v.column3"
            " FROM (VALUES {}) AS v WHERE issuer = v.column1 AND serial = v.column2"
            " AND state = 'open' AND subscriber = v.column4 AND profile = v.column5"
            " AND coalesce(order_id, '') = coalesce(v.column6, '')",
            6,
            [
                (
                    c.issuer.value,
                    serial_text(c.serial),
                    db.ts(c.issued_at),
                    c.subscriber.value,
                    c.profile.value,
                    None if c.order is None else c.order.value,
                )
                for c in certificates
            ],
        )
        # The rest of the transaction's data in the same send: idempotency keys and
        # certificates only for intents that exist (no foreign-key error: a batch that would
        # refuse a member must roll back to the long path, not fail), the completed intents'
        # counters never below zero (a damaged counter goes the long way, which says so), and
        # the audit head, locked last.
        keyed = [i for i in intents if i.idempotency_key is not None]
        exists = (
            " WHERE EXISTS (SELECT 1 FROM issuance_intents i"
            " WHERE i.issuer = v.column{} AND i.serial = v.column{})"
        )
        claimed = len(first)
        first += _statements(
            "INSERT INTO idempotency_keys (key, request_digest, issuer, serial, created_at)"
            " SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM (VALUES {}) AS v"
            + exists.format(3, 4)
            + " ON CONFLICT (key) DO NOTHING",
            5,
            [
                (
                    i.idempotency_key.value,  # type: ignore[union-attr]
                    i.request_digest,
                    i.issuer.value,
                    serial_text(i.serial),
                    db.ts(i.created_at),
                )
                for i in keyed
            ],
        )
        moved = len(first)
        first += _statements(
            "UPDATE order_issuances SET open_intents = open_intents - v.column2,"
            " completed_intents = completed_intents + v.column2 FROM (VALUES {}) AS v"
            " WHERE order_id = v.column1 AND open_intents >= v.column2",
            2,
            sorted(done.items()),
        )
        stored = len(first)
        first += _statements(
            f"INSERT INTO certificates ({_CERT_COLS}) SELECT v.column1, v.column2, v.column3,"
            " v.column4, v.column5, v.column6, v.column7, v.column8, v.column9, v.column10,"
            " 'valid', v.column11, NULL, NULL, NULL FROM (VALUES {}) AS v"
            + exists.format(1, 2)
            + " ON CONFLICT DO NOTHING",
            11,
            [
                (
                    c.issuer.value,
                    serial_text(c.serial),
                    c.der,
                    c.subject_key_id,
                    c.subscriber.value,
                    c.profile.value,
                    None if c.order is None else c.order.value,
                    db.ts(c.not_before),
                    db.ts(c.not_after),
                    db.ts(c.issued_at),
                    db.ts(c.issued_at),
                )
                for c in certificates
            ],
        )
        first.append(
            Statement(f"SELECT seq, hash FROM audit_head WHERE id = 1{db.for_update}", (), True)
        )
        results = cur.send(first)
        counts = {
            str(r[0]): (int(r[1]), int(r[2]), int(r[3]))
            for rows in results[:counted]
            if isinstance(rows, list)
            for r in rows
        }
        if _affected(results[counted:recorded]) != len(intents):
            raise _NotPlain  # a serial or a key already taken
        if _affected(results[recorded:claimed]) != len(certificates):
            raise _NotPlain  # an intent missing, no longer open, named twice, or not matching
        if _affected(results[claimed:moved]) != len(keyed):
            raise _NotPlain  # a key used before: its earlier outcome is the answer
        if _affected(results[moved:stored]) != len(done):
            raise _NotPlain  # fewer open intents counted than completed: damaged
        if _affected(results[stored:-1]) != len(certificates):
            raise _NotPlain
        seen: dict[str, int] = {}
        for intent in intents:  # R10: each intent against its order's live count
            if intent.order is None:
                continue
            order = intent.order.value
            before = seen.get(order, 0)
            seen[order] = before + 1
            _, opened, completed = counts[order]
            live = opened + completed - added[order] + before
            if intent.order_quota is not None and live >= intent.order_quota:
                raise _NotPlain
        for _ in intents:
            self._step("record_intent:inserted")
        for _ in certificates:
            self._step("complete_intent:certificate-inserted")
        head = results[-1]
        if not isinstance(head, list) or not head:
            raise StorageUnavailable("the audit head row is missing: the schema is damaged")
        events = [_intent_event(i, actor) for i in intents]
        events += [_issued_event(c, actor) for c in certificates]
        cur.send(self._chained(ChainHead(int(head[0][0]), bytes(head[0][1])), events))
        self._step(f"{op}:before-commit")
        return [_recorded(i) for i in intents], [_issued_record(c) for c in certificates]

    def _chained(self, last: ChainHead, events: Sequence[AuditEvent]) -> list[Statement]:
        """The statements that write ``events`` chained after ``last`` and move the head: the
        chain :meth:`_audit` writes one event at a time."""
        values = []
        for event in events:
            chained = chain_next(last, event)
            values.append(self._audit_values(chained, event))
            last = ChainHead(chained.seq, chained.hash)
        head = Statement(
            "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (last.seq, last.hash)
        )
        events_sql = f"INSERT INTO audit_events ({_AUDIT_COLS}) VALUES {{}}"
        return [*_statements(events_sql, 7, values), head]

    def _lock_orders(self, cur: Cursor, members: Sequence[object]) -> None:
        """Lock the counter rows of the orders of a batch's intents and certificates
        (``members``: those the pass writes, refused ones left out; completing an intent moves
        its order's counters too, schema v8), by order id, before any member takes the audit
        head (see :meth:`write_batch`). One order: its first member's counter update is the
        batch's first lock anyway, nothing to do."""
        orders = sorted(
            {
                m.order.value
                for m in members
                if isinstance(m, NewIntent | IssuedCertificate) and m.order is not None
            }
        )
        if len(orders) < 2:
            return
        for order in orders:
            cur.one(
                "INSERT INTO order_issuances (order_id, recorded) VALUES (?, 0)"
                " ON CONFLICT (order_id) DO UPDATE SET recorded = order_issuances.recorded"
                " RETURNING recorded",
                (order,),
            )

    def _batch(
        self,
        op: str,
        items: Sequence[U],
        member: Callable[[Cursor, U], T],
        first: Callable[[Cursor, Sequence[U]], None] | None = None,
    ) -> list[T | AtlasCaError]:
        """Every member in one transaction. A refused member is rare (a serial collision, a
        quota reached, a key or idempotency key already used): instead of a savepoint around
        each member (two round trips each on PostgreSQL) the whole transaction is rolled back
        and run again without the refused member, whose error is kept in its place — the
        refusal depended only on the register and the members before it, which the next pass
        writes again. At most one more pass per refused member."""
        refused: dict[int, AtlasCaError] = {}

        def tx(cur: Cursor) -> list[T | AtlasCaError]:
            results: list[T | AtlasCaError] = []
            if first is not None:  # locks to take before any member (write_batch)
                first(cur, [m for i, m in enumerate(items) if i not in refused])
            for i, item in enumerate(items):
                if i in refused:
                    results.append(refused[i])
                    continue
                try:
                    results.append(member(cur, item))
                except _MEMBER_REFUSALS as exc:
                    refused[i] = exc
                    raise _WithoutRefused from exc
            self._step(f"{op}:before-commit")
            return results

        for _ in range(len(items) + 1):
            try:
                return self._write(op, tx)
            except _WithoutRefused:
                continue
        raise AssertionError("unreachable: each pass refuses a member not refused before")

    def _record_intent_in(self, cur: Cursor, intent: NewIntent, actor: Actor) -> IntentOutcome:
        issuer, serial = intent.issuer.value, serial_text(intent.serial)
        key = intent.idempotency_key
        order = None if intent.order is None else intent.order.value
        # Without an idempotency key this transaction either records the intent or raises (and
        # rolls back): the order's counter is then counted up in the same statement that locks
        # it, one round trip fewer (issue 17); with a key it may return an earlier outcome.
        count_now = 1 if key is None else 0
        live = 0
        if order is not None:
            # The order's row is locked first (counters first, as everywhere here): every
            # intent of the order is recorded, completed or voided under this lock, and its
            # counters (schema v8) change in the same transaction, so they are the order's
            # counts as of every transaction that committed before this one.
            row = cur.one(
                "INSERT INTO order_issuances (order_id, recorded, open_intents) VALUES (?, ?, ?)"
                " ON CONFLICT (order_id) DO UPDATE"
                " SET recorded = order_issuances.recorded + excluded.recorded,"
                " open_intents = order_issuances.open_intents + excluded.open_intents"
                " RETURNING open_intents + completed_intents",
                (order, count_now, count_now),
            )
            live = (0 if row is None else int(row[0])) - count_now  # before this intent
        if key is not None:
            known = cur.one(
                "SELECT request_digest, issuer, serial FROM idempotency_keys WHERE key = ?",
                (key.value,),
            )
            if known is not None:
                if bytes(known[0]) != intent.request_digest:
                    raise DuplicateIdempotencyKey(
                        "this idempotency key was used for a different request",
                        issuer=issuer,
                    )
                return self._outcome(cur, known[1], known[2])
        if intent.order_quota is not None and order is not None and live >= intent.order_quota:
            raise OrderQuotaReached(
                f"order {order} already has {live} live intent(s), its quota is"
                f" {intent.order_quota}; nothing was recorded",
                order=order,
                live=live,
                quota=intent.order_quota,
            )
        # No separate look-up of the key first (issue 17: one statement fewer): the key's unique
        # index refuses a second live intent for it, and the look-up below says which it was.
        # DO NOTHING on any conflict: the serial's primary key, or the key's unique index
        # (issuance_intents_key, v5) when a concurrent request for the same key committed
        # first (PostgreSQL waits for it on the index; SQLite's writers are serialised)
        inserted = cur.one(
            f"INSERT INTO issuance_intents ({_INTENT_COLS}, key_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, 'open', ?, NULL, ?)"
            " ON CONFLICT DO NOTHING RETURNING serial",
            (
                issuer,
                serial,
                intent.tbs_digest,
                intent.subscriber.value,
                intent.profile.value,
                None if intent.order is None else intent.order.value,
                self._db.ts(intent.created_at),
                intent.key_hash,
            ),
        )
        if inserted is None:
            if intent.key_hash is not None:
                self._require_new_key(cur, issuer, intent.key_hash)
            raise SerialCollision(
                "serial already used for this issuer; draw a new one",
                issuer=issuer,
                serial=serial,
            )
        self._step("record_intent:inserted")
        if order is not None and not count_now:
            cur.run(
                "UPDATE order_issuances SET recorded = recorded + 1,"
                " open_intents = open_intents + 1 WHERE order_id = ?",
                (order,),
            )
        if key is not None:
            claimed = cur.one(
                "INSERT INTO idempotency_keys (key, request_digest, issuer, serial, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
                (
                    key.value,
                    intent.request_digest,
                    issuer,
                    serial,
                    self._db.ts(intent.created_at),
                ),
            )
            if claimed is None:  # a concurrent request with the same key won: look again
                raise Retry
        self._audit(cur, _intent_event(intent, actor))
        self._step("record_intent:before-commit")
        return _recorded(intent)

    def _key_holder(self, cur: Cursor, issuer: str, key_hash: bytes) -> str | None:
        row = cur.one(_KEY_HOLDER, (issuer, key_hash))
        return None if row is None else str(row[0])

    def _require_new_key(self, cur: Cursor, issuer: str, key_hash: bytes) -> None:
        holder = self._key_holder(cur, issuer, key_hash)
        if holder is not None:
            raise KeyAlreadyCertified(
                f"this public key is already certified by this CA (certificate {holder}); a"
                " verification key is certified once: the applicant needs a new key pair",
                issuer=issuer,
                serial=holder,
            )

    def key_holder(self, issuer: IssuerKeyId, key_hash: bytes) -> int | None:
        with self._db.read() as cur:
            holder = self._key_holder(cur, issuer.value, key_hash)
        return None if holder is None else int(holder, 16)

    def store_ca_certificate(self, certificate: CaCertificate) -> bool:
        db = self._db

        def tx(cur: Cursor) -> bool:
            row = cur.one(
                "INSERT INTO ca_certificates (issuer, fingerprint, der, not_before, not_after,"
                " stored_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (issuer, fingerprint) DO NOTHING RETURNING issuer",
                (
                    certificate.issuer.value,
                    certificate.fingerprint,
                    certificate.der,
                    db.ts(certificate.not_before),
                    db.ts(certificate.not_after),
                    db.ts(certificate.stored_at),
                ),
            )
            return row is not None

        return self._write("store_ca_certificate", tx)

    def ca_certificates(self, issuer: IssuerKeyId | None = None) -> list[CaCertificate]:
        db = self._db
        where, params = ("", ()) if issuer is None else (" WHERE issuer = ?", (issuer.value,))
        with db.read() as cur:
            rows = cur.all(
                "SELECT issuer, der, not_before, not_after, stored_at FROM ca_certificates"
                f"{where} ORDER BY not_before DESC, stored_at DESC",
                params,
            )
        return [
            CaCertificate(
                IssuerKeyId(r[0]), bytes(r[1]), db.from_ts(r[2]), db.from_ts(r[3]), db.from_ts(r[4])
            )
            for r in rows
        ]

    def order_usage(self, order: OrderId) -> OrderUsage:
        with self._db.read() as cur:
            return self._order_usage(cur, order)

    def issuance_reads(
        self,
        issuer: IssuerKeyId,
        order: OrderId,
        key_hash: bytes,
        idempotency_key: IdempotencyKey | None = None,
    ) -> IssuanceReads:
        # Issue 17: prepare's two or three read transactions as one (the same statements).
        # The statements go out together (one libpq pipeline on PostgreSQL: one round trip
        # instead of five with BEGIN and COMMIT); the idempotency key's answer, when there is
        # one, wins. Not one snapshot on PostgreSQL: these are prepare's early refusals, and
        # record decides the quota and the key again, atomically.
        reads = [
            Statement(_ORDER_USAGE, (order.value,), True),
            Statement(_KEY_HOLDER, (issuer.value, key_hash), True),
        ]
        if idempotency_key is not None:
            reads.append(Statement(_IDEMPOTENT, (idempotency_key.value,), True))
        found = self._db.read_together(reads)
        if idempotency_key is not None:
            known = found[2]
            if isinstance(known, list) and known:
                with self._db.read() as cur:
                    return IssuanceReads(self._outcome(cur, *known[0]), None, None)
        usage, holder = found[0], found[1]
        assert isinstance(usage, list)
        assert isinstance(holder, list)
        return IssuanceReads(
            None,
            _usage(order, usage[0] if usage else None),
            int(holder[0][0], 16) if holder else None,
        )

    def _order_usage(self, cur: Cursor, order: OrderId) -> OrderUsage:
        return _usage(order, cur.one(_ORDER_USAGE, (order.value,)))

    def _lock_open_intent(self, cur: Cursor, issuer: str, serial: str) -> Intent:
        row = cur.one(
            f"SELECT {_INTENT_COLS} FROM issuance_intents WHERE issuer = ? AND serial = ?"
            f"{self._db.for_update}",
            (issuer, serial),
        )
        if row is None:
            raise RecordNotFound("no issuance intent for this serial", issuer=issuer, serial=serial)
        found = self._intent(row)
        if found.state is not IntentState.OPEN:
            raise IntentNotOpen(
                f"the intent is already {found.state.value}",
                issuer=issuer,
                serial=serial,
                state=found.state.value,
            )
        return found

    def complete_intent(self, certificate: IssuedCertificate, *, actor: Actor) -> CertificateRecord:
        return self._write(
            "complete_intent", lambda cur: self._complete_intent_in(cur, certificate, actor)
        )

    def complete_intents(
        self, certificates: Sequence[IssuedCertificate], *, actor: Actor
    ) -> list[CertificateRecord | AtlasCaError]:
        """Group commit of *store* (issue 17): several certificates stored and their intents
        completed in ONE transaction, each as :meth:`complete_intent` does (an intent no longer
        open — IntentNotOpen, RecordNotFound — is that member's error, nothing of it written);
        any other failure writes nothing of the batch and raises."""
        plain = self._plain_batch("complete_intents", (), certificates, actor)
        if plain is not None:
            return list(plain[1])
        return self._batch(
            "complete_intents",
            certificates,
            lambda cur, c: self._complete_intent_in(cur, c, actor),
        )

    def _complete_intent_in(
        self, cur: Cursor, certificate: IssuedCertificate, actor: Actor
    ) -> CertificateRecord:
        c = certificate
        issuer, serial = c.issuer.value, serial_text(c.serial)
        db = self._db
        order = None if c.order is None else c.order.value
        cert_values = (
            issuer,
            serial,
            c.der,
            c.subject_key_id,
            c.subscriber.value,
            c.profile.value,
            order,
            db.ts(c.not_before),
            db.ts(c.not_after),
            db.ts(c.issued_at),
            db.ts(c.issued_at),
        )
        complete = (
            "UPDATE issuance_intents SET state = 'completed', resolved_at = ?"
            " WHERE issuer = ? AND serial = ? AND state = 'open'"
        )
        # The order's counters (schema v8) move with the intent's state, under the order row's
        # lock, taken first (counters → certificate → audit head).
        count = (
            "UPDATE order_issuances SET open_intents = open_intents - 1,"
            " completed_intents = completed_intents + 1 WHERE order_id = ?"
        )
        if db.writable_ctes:
            # PostgreSQL (issue 17): the counters, the intent completed and read back, and the
            # certificate inserted in one statement — one round trip instead of three. The
            # intent must carry the counted order; a mismatch or an intent no longer open
            # writes no certificate, and the checks below raise (the transaction undoes the
            # counters).
            if order is None:
                head, match = "WITH ", " AND order_id IS NULL"
                params: tuple[str, ...] = ()
            else:
                # Counted only while the intent is open under this order (an intent no longer
                # open must not take the counter below zero before the check below refuses it).
                head = (
                    f"WITH o AS ({count} AND EXISTS (SELECT 1 FROM issuance_intents"
                    " WHERE issuer = ? AND serial = ? AND state = 'open' AND order_id = ?)"
                    " RETURNING order_id), "
                )
                match = " AND order_id = (SELECT order_id FROM o)"
                params = (order, issuer, serial, order)
            row = cur.one(
                f"{head}i AS ({complete}{match} RETURNING {_INTENT_COLS}),"
                f" c AS (INSERT INTO certificates ({_CERT_COLS})"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'valid', ?, NULL, NULL, NULL FROM i)"
                " SELECT * FROM i",
                (
                    *params,
                    db.ts(c.issued_at),
                    issuer,
                    serial,
                    *cert_values,
                ),
            )
        else:
            # SQLite: writers are serialised, so the intent goes first, and its counters
            # only once it was open and its order is the certificate's.
            row = cur.one(
                f"{complete} RETURNING {_INTENT_COLS}", (db.ts(c.issued_at), issuer, serial)
            )
            if (
                row is not None
                and order is not None
                and row[5] == order
                and not cur.run(count, (order,))
            ):
                row = None  # no counter row: the checks below say why
        intent = (
            self._intent(row) if row is not None else self._lock_open_intent(cur, issuer, serial)
        )
        if (intent.subscriber, intent.profile, intent.order) != (
            c.subscriber,
            c.profile,
            c.order,
        ):
            raise IntentNotOpen(
                "the certificate's subscriber, profile or order differs from its intent",
                issuer=issuer,
                serial=serial,
            )
        if row is None:  # the intent is open and matches: its order has no counter row
            raise StorageUnavailable(
                f"order {order} has no row in order_issuances: the register is damaged",
                operation="complete_intent",
            )
        if not db.writable_ctes:
            cur.run(
                f"INSERT INTO certificates ({_CERT_COLS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'valid', ?, NULL, NULL, NULL)",
                cert_values,
            )
        self._step("complete_intent:certificate-inserted")
        self._audit(cur, _issued_event(c, actor))
        self._step("complete_intent:before-commit")
        return _issued_record(c)

    def void_intent(
        self, issuer: IssuerKeyId, serial: int, *, at: datetime, actor: Actor
    ) -> Intent:
        iss, ser = issuer.value, serial_text(serial)

        def tx(cur: Cursor) -> Intent:
            intent = self._lock_open_intent(cur, iss, ser)
            cur.run(
                "UPDATE issuance_intents SET state = 'voided', resolved_at = ?"
                " WHERE issuer = ? AND serial = ?",
                (self._db.ts(at), iss, ser),
            )
            if intent.order is not None:  # the order's counters (schema v8)
                cur.run(
                    "UPDATE order_issuances SET open_intents = open_intents - 1,"
                    " voided_intents = voided_intents + 1 WHERE order_id = ?",
                    (intent.order.value,),
                )
            self._audit(
                cur, AuditEvent(at, actor, "issuance.voided", {"issuer": iss, "serial": ser})
            )
            return Intent(
                intent.issuer,
                intent.serial,
                intent.tbs_digest,
                intent.subscriber,
                intent.profile,
                intent.order,
                IntentState.VOIDED,
                intent.created_at,
                at,
            )

        return self._write("void_intent", tx)

    def get_intent(self, issuer: IssuerKeyId, serial: int) -> Intent:
        with self._db.read() as cur:
            row = cur.one(
                f"SELECT {_INTENT_COLS} FROM issuance_intents WHERE issuer = ? AND serial = ?",
                (issuer.value, serial_text(serial)),
            )
        if row is None:
            raise RecordNotFound("no issuance intent for this serial", issuer=issuer.value)
        return self._intent(row)

    def open_intents(self, issuer: IssuerKeyId | None = None) -> list[Intent]:
        sql = f"SELECT {_INTENT_COLS} FROM issuance_intents WHERE state = 'open'"
        params: tuple[str, ...] = ()
        if issuer is not None:
            sql += " AND issuer = ?"
            params = (issuer.value,)
        with self._db.read() as cur:
            rows = cur.all(sql + " ORDER BY created_at, issuer, serial", params)
        return [self._intent(r) for r in rows]

    def find_idempotent(self, key: IdempotencyKey) -> IntentOutcome | None:
        with self._db.read() as cur:
            return self._find_idempotent(cur, key)

    def _find_idempotent(self, cur: Cursor, key: IdempotencyKey) -> IntentOutcome | None:
        known = cur.one(_IDEMPOTENT, (key.value,))
        return None if known is None else self._outcome(cur, known[0], known[1])

    # --- certificates and status ---------------------------------------------------------------

    def get_certificate(self, issuer: IssuerKeyId, serial: int) -> CertificateRecord:
        with self._db.read() as cur:
            row = cur.one(
                f"SELECT {_CERT_COLS} FROM certificates WHERE issuer = ? AND serial = ?",
                (issuer.value, serial_text(serial)),
            )
        if row is None:
            raise RecordNotFound("no certificate with this serial", issuer=issuer.value)
        return self._certificate(row)

    def change_mark(self, issuer: IssuerKeyId) -> int:
        """The issuer's status-change counter (0 before any change): one primary-key read."""
        with self._db.read() as cur:
            row = cur.one(
                "SELECT last_change FROM issuer_changes WHERE issuer = ?", (issuer.value,)
            )
        return 0 if row is None else int(row[0])

    def certificates_of(self, subscriber: SubscriberId) -> list[CertificateRecord]:
        with self._db.read() as cur:
            rows = cur.all(
                f"SELECT {_CERT_COLS} FROM certificates WHERE subscriber = ?"
                " ORDER BY issued_at, issuer, serial",
                (subscriber.value,),
            )
        return [self._certificate(r) for r in rows]

    def _change_status(
        self,
        issuer: IssuerKeyId,
        serial: int,
        action: StatusAction,
        revocation: Revocation | None,
        at: datetime,
        actor: Actor,
    ) -> CertificateRecord:
        iss, ser = issuer.value, serial_text(serial)
        db = self._db

        def tx(cur: Cursor) -> CertificateRecord:
            # The per-issuer change counter is locked first: status changes of one issuer
            # commit in change_no order, which the delta-CRL query relies on.
            counter = cur.one(
                "INSERT INTO issuer_changes (issuer, last_change) VALUES (?, 1)"
                " ON CONFLICT (issuer) DO UPDATE SET last_change = issuer_changes.last_change + 1"
                " RETURNING last_change",
                (iss,),
            )
            assert counter is not None
            change_no = int(counter[0])
            row = cur.one(
                f"SELECT {_CERT_COLS} FROM certificates WHERE issuer = ? AND serial = ?"
                f"{db.for_update}",
                (iss, ser),
            )
            if row is None:
                raise RecordNotFound("no certificate with this serial", issuer=iss, serial=ser)
            current = self._certificate(row)
            new = next_status(
                current.status,
                action,
                None if revocation is None else revocation.reason,
                issuer=iss,
                serial=ser,
            )
            reason = None if revocation is None else int(revocation.reason)
            rev_date = None if revocation is None else db.ts(revocation.revocation_date)
            inv = (
                None
                if revocation is None or revocation.invalidity_date is None
                else db.ts(revocation.invalidity_date)
            )
            # The entry a full CRL will list, encoded now (schema 7): publishing appends it.
            crl_entry = (
                None
                if revocation is None
                else encode_entry(
                    serial,
                    revocation.revocation_date,
                    revocation.reason,
                    revocation.invalidity_date,
                )
            )
            cur.run(
                "UPDATE certificates SET status = ?, status_changed_at = ?, reason = ?,"
                " revocation_date = ?, invalidity_date = ?, last_change = ?, crl_entry = ?"
                " WHERE issuer = ? AND serial = ?",
                (new.value, db.ts(at), reason, rev_date, inv, change_no, crl_entry, iss, ser),
            )
            cur.run(
                "INSERT INTO status_history (issuer, change_no, serial, old_status, new_status,"
                " reason, revocation_date, invalidity_date, changed_at, actor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    iss,
                    change_no,
                    ser,
                    current.status.value,
                    new.value,
                    reason,
                    rev_date,
                    inv,
                    db.ts(at),
                    actor.value,
                ),
            )
            self._step("status:history-written")
            objects = {"issuer": iss, "serial": ser}
            if revocation is not None:
                objects["reason"] = revocation.reason.name.lower()
            self._audit(cur, AuditEvent(at, actor, f"certificate.{action.value}", objects))
            self._step("status:before-commit")
            return CertificateRecord(
                current.issuer,
                current.serial,
                current.der,
                current.subject_key_id,
                current.subscriber,
                current.profile,
                current.order,
                current.not_before,
                current.not_after,
                current.issued_at,
                new,
                at,
                revocation,
            )

        return self._write(f"certificate.{action.value}", tx)

    def revoke(
        self,
        issuer: IssuerKeyId,
        serial: int,
        *,
        reason: RevocationReason,
        revocation_date: datetime,
        invalidity_date: datetime | None = None,
        actor: Actor,
    ) -> CertificateRecord:
        revocation = Revocation(RevocationReason(reason), revocation_date, invalidity_date)
        return self._change_status(
            issuer, serial, StatusAction.REVOKE, revocation, revocation_date, actor
        )

    def suspend(
        self, issuer: IssuerKeyId, serial: int, *, at: datetime, actor: Actor
    ) -> CertificateRecord:
        hold = Revocation(RevocationReason.CERTIFICATE_HOLD, at)
        return self._change_status(issuer, serial, StatusAction.SUSPEND, hold, at, actor)

    def resume(
        self, issuer: IssuerKeyId, serial: int, *, at: datetime, actor: Actor
    ) -> CertificateRecord:
        return self._change_status(issuer, serial, StatusAction.RESUME, None, at, actor)

    def status_history(self, issuer: IssuerKeyId, serial: int) -> list[StatusChange]:
        with self._db.read() as cur:
            rows = cur.all(
                "SELECT change_no, old_status, new_status, reason, revocation_date,"
                " invalidity_date, changed_at, actor FROM status_history"
                " WHERE issuer = ? AND serial = ? ORDER BY change_no",
                (issuer.value, serial_text(serial)),
            )
        return [
            StatusChange(
                issuer,
                serial,
                int(r[0]),
                CertificateStatus(r[1]),
                CertificateStatus(r[2]),
                self._revocation(r[3], r[4], r[5]),
                self._db.from_ts(r[6]),
                Actor(r[7]),
            )
            for r in rows
        ]

    # --- CRLs ----------------------------------------------------------------------------------

    def next_crl_number(self, issuer: IssuerKeyId) -> int:
        def tx(cur: Cursor) -> int:
            row = cur.one(
                "INSERT INTO crl_numbers (issuer, last_number) VALUES (?, 1)"
                " ON CONFLICT (issuer) DO UPDATE SET last_number = crl_numbers.last_number + 1"
                " RETURNING last_number",
                (issuer.value,),
            )
            assert row is not None
            return int(row[0])

        return self._write("next_crl_number", tx)

    def record_crl(self, crl: CrlRecord, *, at: datetime, actor: Actor) -> None:
        iss = crl.issuer.value
        db = self._db

        def tx(cur: Cursor) -> None:
            allocated = cur.one("SELECT last_number FROM crl_numbers WHERE issuer = ?", (iss,))
            if allocated is None or crl.number > int(allocated[0]):
                raise CrlNumberConflict(
                    "CRL number was not allocated with next_crl_number",
                    issuer=iss,
                    number=crl.number,
                )
            if crl.base_number is not None:
                base = cur.one(
                    "SELECT change_mark FROM crls WHERE issuer = ? AND number = ?",
                    (iss, crl.base_number),
                )
                if base is None or int(base[0]) > crl.change_mark:
                    raise CrlNumberConflict(
                        "the base CRL of this delta is unknown or newer than the delta",
                        issuer=iss,
                        number=crl.number,
                    )
            done = cur.one(
                "INSERT INTO crls (issuer, number, this_update, next_update, base_number,"
                " change_mark, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (issuer, number) DO NOTHING RETURNING number",
                (
                    iss,
                    crl.number,
                    db.ts(crl.this_update),
                    db.ts(crl.next_update),
                    crl.base_number,
                    crl.change_mark,
                    db.ts(at),
                ),
            )
            if done is None:
                raise CrlNumberConflict(
                    "this CRL number is already recorded", issuer=iss, number=crl.number
                )
            objects = {"issuer": iss, "crl_number": str(crl.number)}
            if crl.base_number is not None:
                objects["base_crl_number"] = str(crl.base_number)
            self._audit(cur, AuditEvent(at, actor, "crl.published", objects))

        self._write("record_crl", tx)

    def _crl(self, row: Row) -> CrlRecord:
        db = self._db
        return CrlRecord(
            IssuerKeyId(row[0]),
            int(row[1]),
            db.from_ts(row[2]),
            db.from_ts(row[3]),
            int(row[5]),
            None if row[4] is None else int(row[4]),
        )

    _CRL_COLS = "issuer, number, this_update, next_update, base_number, change_mark"

    def get_crl(self, issuer: IssuerKeyId, number: int) -> CrlRecord:
        with self._db.read() as cur:
            row = cur.one(
                f"SELECT {self._CRL_COLS} FROM crls WHERE issuer = ? AND number = ?",
                (issuer.value, number),
            )
        if row is None:
            raise RecordNotFound("no such CRL", issuer=issuer.value, number=number)
        return self._crl(row)

    def latest_crl(self, issuer: IssuerKeyId, *, full_only: bool = False) -> CrlRecord | None:
        where = " AND base_number IS NULL" if full_only else ""
        with self._db.read() as cur:
            row = cur.one(
                f"SELECT {self._CRL_COLS} FROM crls WHERE issuer = ?{where}"
                " ORDER BY number DESC LIMIT 1",
                (issuer.value,),
            )
        return None if row is None else self._crl(row)

    @contextmanager
    def crl_scan(self, issuer: IssuerKeyId) -> Iterator[_SqlCrlScan]:
        with suppress(StorageReadOnly):  # a read-only register: the scan encodes on the way
            self._fill_crl_entries(issuer)
        with self._db.snapshot() as cur:
            row = cur.one(
                "SELECT last_change FROM issuer_changes WHERE issuer = ?", (issuer.value,)
            )
            yield _SqlCrlScan(self, cur, issuer, 0 if row is None else int(row[0]))

    _FILL_BATCH = 5000

    def _fill_crl_entries(self, issuer: IssuerKeyId) -> int:
        """Store the CRL entry of listed rows that have none (rows listed before schema 7),
        in write transactions of :attr:`_FILL_BATCH` rows; returns how many were filled.

        Free when nothing is pending (one step in the ``certificates_crl_pending`` index). A
        row whose stored values cannot be encoded is left as it is: the scan encodes it on
        the way and reports the error there.
        """
        iss = issuer.value
        db = self._db
        with db.read() as cur:
            if _pending(cur, iss, "") is None:
                return 0
        batch = self._FILL_BATCH

        def tx(cur: Cursor, after: str) -> tuple[int, str | None]:
            rows = cur.all(
                "SELECT serial, reason, revocation_date, invalidity_date, last_change"
                " FROM certificates"
                " WHERE issuer = ? AND status <> 'valid' AND crl_entry IS NULL AND serial > ?"
                f" ORDER BY serial LIMIT {batch}",
                (iss, after),
            )
            done = 0
            for ser, reason, rev, inv, change in rows:
                try:
                    entry = encode_entry(
                        int(ser, 16),
                        db.from_ts(rev),
                        None if reason is None else _REASONS[int(reason)],
                        None if inv is None else db.from_ts(inv),
                    )
                except (ValueError, TypeError, KeyError):
                    continue  # the scan encodes this row on the way and reports it
                # only the row as read: a status change since then wrote its own entry
                done += cur.run(
                    "UPDATE certificates SET crl_entry = ? WHERE issuer = ? AND serial = ?"
                    " AND crl_entry IS NULL AND status <> 'valid' AND last_change = ?",
                    (entry, iss, ser, change),
                )
            return done, (str(rows[-1][0]) if len(rows) == batch else None)

        filled = 0
        last: str | None = ""
        while last is not None:
            done, last = self._write("crl.fill_entries", partial(tx, after=last))
            filled += done
        return filled

    def _entries(self, rows: Iterator[Row]) -> Iterator[StatusEntry]:
        """Rows of ``_ENTRY_COLS`` as StatusEntry values (the CRL hot loop: kept flat)."""
        from_ts = self._db.from_ts
        statuses, reasons = _STATUSES, _REASONS
        for serial, status, reason, rev, inv in rows:
            yield StatusEntry(
                int(serial, 16),
                statuses[status],
                None if reason is None else reasons[reason],
                None if rev is None else from_ts(rev),
                None if inv is None else from_ts(inv),
            )

    # --- audit ---------------------------------------------------------------------------------

    def append_audit(self, event: AuditEvent) -> ChainedEvent:
        return self._write("append_audit", lambda cur: self._audit(cur, event))

    def audit_head(self) -> ChainHead:
        with self._db.read() as cur:
            row = cur.one("SELECT seq, hash FROM audit_head WHERE id = 1")
        if row is None:
            raise StorageUnavailable("the audit head row is missing: the schema is damaged")
        return ChainHead(int(row[0]), bytes(row[1]))

    def audit_events(self, from_seq: int = 1) -> Iterator[ChainedEvent | UndecodableEvent]:
        with self._db.snapshot() as cur:
            for row in cur.stream(
                f"SELECT {_AUDIT_COLS} FROM audit_events WHERE seq >= ? ORDER BY seq", (from_seq,)
            ):
                seq = int(row[0])
                try:
                    objects = json.loads(row[4])
                    if not isinstance(objects, dict):
                        raise ValueError("objects is not a map")
                    event = AuditEvent(self._db.from_ts(row[1]), Actor(row[2]), row[3], objects)
                except (ValueError, TypeError) as exc:
                    yield UndecodableEvent(seq, str(exc))
                    continue
                yield ChainedEvent(seq, event, bytes(row[5]), bytes(row[6]))

    def checkpoint(self, key: SigningKey, *, at: datetime, key_id: str) -> Checkpoint:
        """Sign the current chain head with ``key`` (an HSM key) and record the checkpoint."""
        cp = sign_checkpoint(self.audit_head(), key, at=at, key_id=key_id)
        self.record_checkpoint(cp)
        return cp

    def record_checkpoint(self, checkpoint: Checkpoint) -> None:
        cp = checkpoint

        def tx(cur: Cursor) -> None:
            cur.run(
                f"INSERT INTO audit_checkpoints ({_CP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    cp.seq,
                    cp.chain_hash,
                    self._db.ts(cp.at),
                    cp.key_id,
                    cp.public_key_info,
                    cp.signature_algorithm.value,
                    cp.signature,
                ),
            )

        self._write("record_checkpoint", tx)

    def checkpoints(self) -> list[Checkpoint]:
        with self._db.read() as cur:
            rows = cur.all(f"SELECT {_CP_COLS} FROM audit_checkpoints ORDER BY seq")
        return [
            Checkpoint(
                int(r[0]),
                bytes(r[1]),
                self._db.from_ts(r[2]),
                r[3],
                bytes(r[4]),
                SignatureAlgorithm(r[5]),
                bytes(r[6]),
            )
            for r in rows
        ]


_ENTRY_COLS = "serial, status, reason, revocation_date, invalidity_date"
# The full CRL's scan; migration 0003's covering index serves it without the table rows.
_LISTED_SQL = (
    f"SELECT {_ENTRY_COLS} FROM certificates WHERE issuer = ? AND status <> 'valid'"
    " AND last_change <= ? ORDER BY serial"
)


#: The full CRL's scan as stored DER entries (schema 7's covering index carries them).
_LISTED_DER_SQL = (
    "SELECT crl_entry FROM certificates WHERE issuer = ? AND status <> 'valid'"
    " AND last_change <= ? ORDER BY serial"
)
_ENCODE_BATCH = 2000


#: A listed row without a stored CRL entry (one step in ``certificates_crl_pending``).
_PENDING_SQL = (
    "SELECT 1 FROM certificates WHERE issuer = ? AND status <> 'valid'"
    " AND crl_entry IS NULL LIMIT 1"
)
#: A listed row revoked at or after the given time (one step in ``certificates_crl_latest``).
_REVOKED_SINCE_SQL = (
    "SELECT 1 FROM certificates WHERE issuer = ? AND status <> 'valid'"
    " AND revocation_date >= ? LIMIT 1"
)


def _pending(cur: Cursor, issuer: str, where: str, params: Sequence[Any] = ()) -> Row | None:
    """A listed row of ``issuer`` (within the range ``where``) without a stored CRL entry."""
    return cur.one(_PENDING_SQL.replace(" LIMIT", where + " LIMIT"), (issuer, *params))


def listed_rows_sql(columns: str, where: str = "") -> str:
    """The full CRL's scan as CrlRows (``columns``: the adapter's ``crl_row_columns``); the
    same rows, order and covering index as :data:`_LISTED_SQL`."""
    return (
        f"SELECT {columns} FROM certificates WHERE issuer = ? AND status <> 'valid'"
        f" AND last_change <= ?{where} ORDER BY serial"
    )


class _SqlCrlScan:
    def __init__(self, reg: SqlRegister, cur: Cursor, issuer: IssuerKeyId, mark: int) -> None:
        self._reg = reg
        self._cur = cur
        self._issuer = issuer
        self._mark = mark

    @property
    def change_mark(self) -> int:
        return self._mark

    def _range(self, serials: SerialRange | None) -> tuple[str, tuple[str, ...]]:
        if serials is None:
            return "", ()
        if serials.high > MAX_SERIAL:
            return " AND serial >= ?", (serial_text(serials.low),)
        return " AND serial >= ? AND serial < ?", (
            serial_text(serials.low),
            serial_text(serials.high),
        )

    def listed(self, serials: SerialRange | None = None) -> Iterator[StatusEntry]:
        where, params = self._range(serials)
        rows = self._cur.stream(
            _LISTED_SQL.replace(" ORDER BY", where + " ORDER BY"),
            (self._issuer.value, self._mark, *params),
        )
        yield from self._reg._entries(rows)

    def listed_rows(self, serials: SerialRange | None = None) -> Iterator[CrlRow]:
        """The listed entries as the database derives them for the CRL encoder: the rows of
        the cursor are handed on as they come (the CRL hot path: nothing built per row)."""
        where, params = self._range(serials)
        sql = listed_rows_sql(self._reg._db.crl_row_columns, where)
        return self._cur.stream(sql, (self._issuer.value, self._mark, *params))  # type: ignore[return-value]

    def listed_encoded(
        self, this_update: datetime, serials: SerialRange | None = None
    ) -> Iterator[EncodedEntries]:
        """The stored entries (schema 7) in blocks of the driver's fetch batches: one column
        of the covering index, joined per batch — the full CRL's hot path costs a fetch per
        row and nothing else. Two index steps first decide whether every stored entry may be
        used as it is: none missing, none revoked after ``this_update`` (to the second, as DER
        keeps it); otherwise the rows are encoded and checked on the way
        (:func:`~atlas_ca.x509.crl.encode_rows`), which raises for a revocation after
        ``this_update`` as the builder does."""
        iss = self._issuer.value
        where, params = self._range(serials)
        db = self._reg._db
        after = db.ts(this_update.replace(microsecond=0) + timedelta(seconds=1))
        cur = self._cur
        if (
            _pending(cur, iss, where, params) is not None
            or cur.one(_REVOKED_SINCE_SQL, (iss, after)) is not None
        ):
            rows = self.listed_rows(serials)
            while block := list(islice(rows, _ENCODE_BATCH)):
                yield encode_rows(block, this_update)
            return
        join = b"".join
        first = itemgetter(0)
        sql = _LISTED_DER_SQL.replace(" ORDER BY", where + " ORDER BY")
        for batch in cur.batches(sql, (iss, self._mark, *params)):
            yield EncodedEntries(len(batch), join(map(first, batch)))

    def changes_since(
        self, base_number: int, serials: SerialRange | None = None
    ) -> Iterator[StatusEntry]:
        base = self._cur.one(
            "SELECT change_mark FROM crls WHERE issuer = ? AND number = ?",
            (self._issuer.value, base_number),
        )
        if base is None:
            raise RecordNotFound("no such base CRL", issuer=self._issuer.value, number=base_number)
        where, params = self._range(serials)
        rows = self._cur.stream(
            f"SELECT {_ENTRY_COLS} FROM certificates WHERE issuer = ? AND last_change > ?"
            f" AND last_change <= ?{where} ORDER BY serial",
            (self._issuer.value, int(base[0]), self._mark, *params),
        )
        yield from self._reg._entries(rows)


__all__ = ["Database", "Retry", "SqlRegister", "StepHook", "check_serial", "latest_version"]
