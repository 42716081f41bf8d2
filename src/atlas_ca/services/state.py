"""Durable records of the identity and commercial side, next to the register of certificates.

Subscribers, registrars, authorities, orders, personal accounts and one-time-code challenges
are frozen domain dataclasses. An operator's CLI runs one command per process, so they must
outlive the process: :class:`RecordStore` is the port, :class:`SqliteRecordStore` and
:class:`~atlas_ca.services.state_postgres.PostgresRecordStore` the adapters (chosen by
:func:`open_record_store` from the register's location), a table ``atlas_records`` of
**canonical JSON** documents in the same database as the register (one backup covers both).

The JSON codec (:func:`encode`/:func:`decode`) is generic over the domain's value types:
dataclasses by their fields, enums by value, ``datetime``/``date``/``Decimal``/``bytes``/
``frozenset`` with a one-key tag; tuples become arrays and come back as tuples. Only classes
defined in :mod:`atlas_ca.domain` are ever instantiated by :func:`decode`, and constructing
them re-runs their validation (``__post_init__``): a tampered record fails loudly.
Documents are written with sorted keys and no insignificant whitespace, so equal objects give
equal bytes.

Personal data is in these documents (the register is the operator's protected store, 152-ФЗ);
nothing here prints or logs them.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import pkgutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from atlas_ca.domain.ids import ChallengeId
from atlas_ca.domain.otp import OtpChallenge, OtpVerification
from atlas_ca.errors import DecodeError, RecordChanged, RecordNotFound, StorageUnavailable
from atlas_ca.storage.sqlite import create_private

T = TypeVar("T")

_DOMAIN_PACKAGE = "atlas_ca.domain"


class RecordKind(enum.Enum):
    """What a record holds; the key space of each kind is its own."""

    SUBSCRIBER = "subscriber"
    REGISTRAR = "registrar"
    AUTHORITY = "authority"
    ORDER = "order"
    ACCOUNT = "account"
    CHALLENGE = "challenge"
    REFUND = "refund"


# --- the codec ------------------------------------------------------------------------------


def _class_key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


_CLASSES: dict[str, type] = {}
_classes_lock = threading.Lock()


def _domain_classes() -> dict[str, type]:
    """Every dataclass and enum defined in a module of :mod:`atlas_ca.domain`."""
    with _classes_lock:
        if _CLASSES:
            return _CLASSES
        package = importlib.import_module(_DOMAIN_PACKAGE)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{_DOMAIN_PACKAGE}.{info.name}")
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and value.__module__ == module.__name__
                    and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum))
                ):
                    _CLASSES[_class_key(value)] = value
        return _CLASSES


def _to_json(value: object) -> Any:
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, enum.Enum):
            return {"$enum": _class_key(type(value)), "value": value.value}
        return value
    if isinstance(value, float):
        raise TypeError("floats are not stored: money and times have their own types")
    if isinstance(value, enum.Enum):
        return {"$enum": _class_key(type(value)), "value": _to_json(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith(_DOMAIN_PACKAGE + "."):
            raise TypeError(f"{cls.__qualname__} is not a domain value type")
        fields = {
            f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        return {"$type": _class_key(cls), "fields": fields}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError("naive datetimes are not stored")
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, frozenset):
        items = [_to_json(v) for v in value]
        return {"$frozenset": sorted(items, key=lambda x: json.dumps(x, sort_keys=True))}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        raise TypeError("mappings are not stored: domain objects hold tuples of pairs")
    raise TypeError(f"{type(value).__qualname__} cannot be stored as a record")


def _from_json(data: Any) -> Any:
    if data is None or isinstance(data, bool | int | str):
        return data
    if isinstance(data, list):
        return tuple(_from_json(v) for v in data)
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise DecodeError("a stored record holds a value of an unknown shape")
    classes = _domain_classes()
    if "$type" in data:
        cls = classes.get(str(data["$type"]))
        fields = data.get("fields")
        if cls is None or not dataclasses.is_dataclass(cls) or not isinstance(fields, dict):
            raise DecodeError(f"a stored record names an unknown type {data['$type']!r}")
        return cls(**{str(k): _from_json(v) for k, v in fields.items()})
    if "$enum" in data:
        cls = classes.get(str(data["$enum"]))
        if cls is None or not issubclass(cls, enum.Enum):
            raise DecodeError(f"a stored record names an unknown enum {data['$enum']!r}")
        return cls(_from_json(data.get("value")))
    ((tag, raw),) = data.items()
    if tag == "$datetime" and isinstance(raw, str):
        return dt.datetime.fromisoformat(raw)
    if tag == "$date" and isinstance(raw, str):
        return dt.date.fromisoformat(raw)
    if tag == "$decimal" and isinstance(raw, str):
        return Decimal(raw)
    if tag == "$bytes" and isinstance(raw, str):
        return base64.b64decode(raw, validate=True)
    if tag == "$frozenset" and isinstance(raw, list):
        return frozenset(_from_json(v) for v in raw)
    raise DecodeError(f"a stored record holds an unknown tag {tag!r}")


def encode(value: object) -> str:
    """Canonical JSON of a domain value (sorted keys, no spaces, UTF-8 text)."""
    return json.dumps(_to_json(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode(text: str) -> object:
    """The domain value :func:`encode` wrote; :class:`DecodeError` for anything else."""
    try:
        return _from_json(json.loads(text))
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"a stored record cannot be read: {exc}") from exc


# --- the port and its SQLite adapter --------------------------------------------------------


class RecordStore(Protocol):
    """Durable domain records by kind and key."""

    def put(self, kind: RecordKind, key: str, value: object, *, at: dt.datetime) -> None:
        """Insert or replace the record ``key`` of ``kind``."""
        ...

    def put_all(
        self,
        records: Sequence[tuple[RecordKind, str, object]],
        *,
        at: dt.datetime,
        unchanged: Sequence[tuple[RecordKind, str, object | None]] = (),
    ) -> None:
        """Insert or replace several records in one transaction: all of them or none (e.g. an
        order paid from a personal account and the debited account). Each ``unchanged`` entry
        is the value a record had when it was read (``None``: absent); if the stored record is
        different, another writer came first: :class:`RecordChanged` and nothing is written."""
        ...

    def find(self, kind: RecordKind, key: str) -> object | None: ...

    def keys(self, kind: RecordKind) -> list[str]: ...

    def close(self) -> None: ...


def get_record(store: RecordStore, kind: RecordKind, key: str, expected: type[T]) -> T:
    """The record ``key`` of ``kind`` as an ``expected``; RecordNotFound if there is none."""
    found = store.find(kind, key)
    if found is None:
        raise RecordNotFound(f"no {kind.value} {key!r} in the register", kind=kind.value, key=key)
    if not isinstance(found, expected):
        raise DecodeError(f"the stored {kind.value} {key!r} is not a {expected.__name__}")
    return found


def expected_documents(
    unchanged: Sequence[tuple[RecordKind, str, object | None]],
) -> list[tuple[RecordKind, str, str | None]]:
    """The documents ``put_all(unchanged=...)`` expects, in (kind, key) order (a fixed lock
    order); both adapters check them with :func:`require_same_document`."""
    found = [(k, key, None if v is None else encode(v)) for k, key, v in unchanged]
    return sorted(found, key=lambda item: (item[0].value, item[1]))


def require_same_document(
    kind: RecordKind, key: str, expected: str | None, stored: str | None
) -> None:
    if stored != expected:
        raise RecordChanged(
            f"the {kind.value} {key!r} changed after this command read it (another command or "
            "node wrote it first); nothing was written: run the command again",
            kind=kind.value,
            key=key,
        )


_UPSERT = (
    "INSERT INTO atlas_records (kind, key, document, updated_at) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET "
    "document = excluded.document, updated_at = excluded.updated_at"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS atlas_records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
"""


class SqliteRecordStore:
    """:class:`RecordStore` in the register's SQLite file (table ``atlas_records``)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(str(path).removeprefix("sqlite://"))
        try:
            create_private(self.path)  # personal data: 0600 whatever the umask (152-ФЗ)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_ms / 1000, isolation_level=None
            )
            self._conn.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(
                f"the record store {self.path} cannot be opened: {exc}", path=str(self.path)
            ) from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteRecordStore({str(self.path)!r})"

    def put(self, kind: RecordKind, key: str, value: object, *, at: dt.datetime) -> None:
        self.put_all([(kind, key, value)], at=at)

    def put_all(
        self,
        records: Sequence[tuple[RecordKind, str, object]],
        *,
        at: dt.datetime,
        unchanged: Sequence[tuple[RecordKind, str, object | None]] = (),
    ) -> None:
        rows = [(kind.value, key, encode(value), at.isoformat()) for kind, key, value in records]
        expected = expected_documents(unchanged)
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")  # writers queue here: the check holds
                try:
                    for kind, key, document in expected:
                        row = self._conn.execute(
                            "SELECT document FROM atlas_records WHERE kind = ? AND key = ?",
                            (kind.value, key),
                        ).fetchone()
                        require_same_document(
                            kind, key, document, None if row is None else str(row[0])
                        )
                    self._conn.executemany(_UPSERT, rows)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageUnavailable(
                f"the record store {self.path} refused a write: {exc}", path=str(self.path)
            ) from exc

    def find(self, kind: RecordKind, key: str) -> object | None:
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT document FROM atlas_records WHERE kind = ? AND key = ?",
                    (kind.value, key),
                ).fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(
                f"the record store {self.path} cannot be read: {exc}", path=str(self.path)
            ) from exc
        return None if row is None else decode(str(row[0]))

    def keys(self, kind: RecordKind) -> list[str]:
        try:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT key FROM atlas_records WHERE kind = ? ORDER BY key", (kind.value,)
                ).fetchall()
        except sqlite3.Error as exc:
            raise StorageUnavailable(
                f"the record store {self.path} cannot be read: {exc}", path=str(self.path)
            ) from exc
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class RecordChallengeStore:
    """The issuance and revocation services' :class:`~atlas_ca.services.ports.ChallengeStore`
    on a :class:`RecordStore`, so a code sent by one command is checked by the next.

    :meth:`present` is a compare-and-swap on the challenge's document (R7): the new state is
    written with ``put_all(unchanged=[what was read])``, so of two processes that read the
    same challenge only the first write goes through; the other re-reads and checks its code
    against what the first wrote (spent, or one attempt more). A challenge is written at most
    ``max_attempts + 1`` times in its life (each wrong attempt, then the use; a used, expired
    or dead one is never written), so a presentation loses the race at most that often.
    """

    def __init__(self, store: RecordStore, *, clock_now: dt.datetime) -> None:
        self._store = store
        self._at = clock_now

    def get(self, challenge_id: ChallengeId) -> OtpChallenge:
        return get_record(self._store, RecordKind.CHALLENGE, challenge_id.value, OtpChallenge)

    def save(self, challenge: OtpChallenge) -> None:
        self._store.put(RecordKind.CHALLENGE, challenge.id.value, challenge, at=self._at)

    def present(
        self, challenge_id: ChallengeId, check: Callable[[OtpChallenge], OtpVerification]
    ) -> OtpVerification:
        """Read the challenge, ``check`` the code, write the outcome only if nobody wrote the
        challenge in between; otherwise start again from what the other writer stored."""
        key = challenge_id.value
        lost = 0
        while True:
            read = self.get(challenge_id)
            checked = check(read)
            if checked.challenge == read:  # used, expired or dead: nothing to count
                return checked
            try:
                self._store.put_all(
                    [(RecordKind.CHALLENGE, key, checked.challenge)],
                    at=self._at,
                    unchanged=[(RecordKind.CHALLENGE, key, read)],
                )
            except RecordChanged:
                lost += 1
                if lost > read.max_attempts + 1:  # more writes than a challenge can have
                    raise StorageUnavailable(
                        f"the one-time-code challenge {key!r} kept changing while it was "
                        "checked; nothing was accepted",
                        challenge=key,
                    ) from None
                continue
            return checked


def iter_records(store: RecordStore, kind: RecordKind, expected: type[T]) -> Iterator[T]:
    for key in store.keys(kind):
        yield get_record(store, kind, key, expected)


def open_record_store(location: str | Path) -> RecordStore:
    """The record store next to the register at ``location``, chosen as
    :func:`atlas_ca.storage.open_register` chooses the register: ``postgresql://...`` /
    ``postgres://...`` is the PostgreSQL database, anything else a SQLite file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from atlas_ca.services.state_postgres import PostgresRecordStore

        return PostgresRecordStore(text)
    return SqliteRecordStore(text)


__all__ = [
    "RecordChallengeStore",
    "RecordKind",
    "RecordStore",
    "SqliteRecordStore",
    "decode",
    "encode",
    "expected_documents",
    "get_record",
    "iter_records",
    "open_record_store",
    "require_same_document",
]
