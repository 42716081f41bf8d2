"""Fixtures shared by tests/storage and tests/audit: one register per test, on SQLite and on
PostgreSQL (a fresh database per session, a fresh schema per test)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import pytest
from psycopg import conninfo, sql

from atlas_ca.audit import Actor
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.storage import (
    IssuedCertificate,
    IssuerKeyId,
    NewIntent,
    ProfileName,
)
from atlas_ca.storage._sql import SqlRegister, StepHook
from atlas_ca.storage.postgres import PostgresRegister
from atlas_ca.storage.sqlite import SqliteRegister
from support import atlas_testing


def _root_conftest() -> ModuleType:
    """The shared test support (tests/atlas_testing.py; it used to live in tests/conftest.py)."""
    return atlas_testing


def missing(what: str) -> None:
    """atlas_testing.missing(): skip locally, fail when CI=true."""
    atlas_testing.missing(what)


T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ISSUER = IssuerKeyId("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
OTHER_ISSUER = IssuerKeyId("00112233445566778899aabbccddeeff00112233")
ACTOR = Actor("system:issuance")
OPERATOR = Actor("operator:ops-3")
PG_ENV = "ATLAS_CA_TEST_PG_DSN"


def new_intent(serial: int, **kw: Any) -> NewIntent:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "serial": serial,
        "tbs_digest": (serial % (1 << 256)).to_bytes(32, "big"),
        "subscriber": SubscriberId(f"sub-{serial % 97}"),
        "profile": ProfileName("qualified-person"),
        "created_at": T0,
        "order": OrderId(f"ord-{serial}"),
    }
    values.update(kw)
    return NewIntent(**values)


def issued(intent: NewIntent, **kw: Any) -> IssuedCertificate:
    values: dict[str, Any] = {
        "issuer": intent.issuer,
        "serial": intent.serial,
        "der": b"\x30\x82fake-der-" + intent.serial.to_bytes(20, "big"),
        "subject_key_id": intent.serial.to_bytes(20, "big"),
        "subscriber": intent.subscriber,
        "profile": intent.profile,
        "not_before": intent.created_at,
        "not_after": intent.created_at + timedelta(days=365),
        "issued_at": intent.created_at + timedelta(seconds=1),
        "order": intent.order,
    }
    values.update(kw)
    return IssuedCertificate(**values)


@dataclass
class Store:
    """Where one test's register lives, and how to reach it raw (to tamper with it)."""

    kind: str
    location: str
    opened: list[SqlRegister] = field(default_factory=list)

    def open(self, on_step: StepHook | None = None) -> SqlRegister:
        reg: SqlRegister
        if self.kind == "sqlite":
            reg = SqliteRegister(self.location, opened_at=T0, on_step=on_step)
        else:
            reg = PostgresRegister(self.location, opened_at=T0, on_step=on_step)
        self.opened.append(reg)
        return reg

    def raw(self, sql_text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement outside the register (autocommit), as an intruder or admin would."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.location, isolation_level=None)
            try:
                return conn.execute(sql_text, params).fetchall()
            finally:
                conn.close()
        with psycopg.connect(self.location, autocommit=True) as pg:
            cur = pg.execute(sql_text.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def close_all(self) -> None:
        for reg in self.opened:
            with contextlib.suppress(Exception):  # a test may have broken it on purpose
                reg.close()


@dataclass
class PgServer:
    admin_dsn: str
    db_dsn: str
    dbname: str
    counter: int = 0

    def new_schema(self) -> str:
        self.counter += 1
        schema = f"t{self.counter}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.db_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return conninfo.make_conninfo(self.db_dsn, options=f"-c search_path={schema}")


def pg_url(dsn: str) -> str:
    """A key=value PostgreSQL DSN as the ``postgresql://`` URL a register location must be
    (open_register and open_record_store tell PostgreSQL by the scheme); options such as the
    test's search_path go into the query string."""
    params = conninfo.conninfo_to_dict(dsn)
    user = quote(str(params.pop("user", "postgres")), safe="")
    password = params.pop("password", None)
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    host = params.pop("host", "127.0.0.1")
    port = params.pop("port", 5432)
    dbname = quote(str(params.pop("dbname", "postgres")), safe="")
    query = urlencode({k: str(v) for k, v in params.items()}, quote_via=quote)
    return f"postgresql://{auth}@{host}:{port}/{dbname}" + (f"?{query}" if query else "")


def pg_server_fixture() -> Iterator[PgServer | None]:
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        yield None
        return
    dbname = f"atlas_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    server = PgServer(dsn, conninfo.make_conninfo(dsn, dbname=dbname), dbname)
    try:
        yield server
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    yield from pg_server_fixture()


def make_store(kind: str, pg: PgServer | None, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return Store("sqlite", str(tmp_path / "register.sqlite3"))
    if pg is None:
        missing(f"PostgreSQL ({PG_ENV})")
        raise AssertionError  # unreachable
    return Store("postgres", pg.new_schema())


@pytest.fixture(params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, pg_server: PgServer | None, tmp_path: Path
) -> Iterator[Store]:
    s = make_store(request.param, pg_server, tmp_path)
    try:
        yield s
    finally:
        s.close_all()


@pytest.fixture
def register(store: Store) -> SqlRegister:
    return store.open()


Opener = Callable[..., SqlRegister]


def fill_revoked(store: Store, n: int, *, issuer: str = ISSUER.value, first: int = 1) -> None:
    """``n`` completed intents and revoked certificates, generated inside the database (no
    Python list of rows anywhere), serials ``first .. first+n-1``, last_change 1 .. n."""
    if store.kind == "sqlite":
        gen = "WITH RECURSIVE g(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM g WHERE i < ?) "
        when = "'2026-11-25T12:00:00.000000Z'"
        serial = "printf('%040x', i)"
        blob = "zeroblob(32)"
        conn = sqlite3.connect(store.location, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                gen + "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber,"
                f" profile, state, created_at) SELECT ?, {serial}, {blob}, 'sub-1',"
                f" 'qualified-person', 'completed', {when} FROM g",
                (first, first + n - 1, issuer),
            )
            conn.execute(
                gen + "INSERT INTO certificates (issuer, serial, der, subject_key_id, subscriber,"
                " profile, not_before, not_after, issued_at, status, status_changed_at, reason,"
                f" revocation_date, last_change) SELECT ?, {serial}, x'3000', x'01', 'sub-1',"
                f" 'qualified-person', {when}, {when}, {when}, 'revoked', {when}, 1, {when}, i"
                " FROM g",
                (first, first + n - 1, issuer),
            )
            conn.execute(
                "INSERT INTO issuer_changes (issuer, last_change) VALUES (?, ?)"
                " ON CONFLICT (issuer) DO UPDATE SET last_change = excluded.last_change",
                (issuer, first + n - 1),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    with psycopg.connect(store.location, autocommit=True) as pg, pg.transaction():
        when = "timestamptz '2026-11-25 12:00:00+00'"
        serial = "lpad(to_hex(i), 40, '0')"
        pg.execute(
            "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, profile,"
            f" state, created_at) SELECT %s, {serial}, decode(repeat('00', 32), 'hex'), 'sub-1',"
            f" 'qualified-person', 'completed', {when} FROM generate_series(%s::bigint, %s) AS i",
            (issuer, first, first + n - 1),
        )
        pg.execute(
            "INSERT INTO certificates (issuer, serial, der, subject_key_id, subscriber, profile,"
            " not_before, not_after, issued_at, status, status_changed_at, reason,"
            f" revocation_date, last_change) SELECT %s, {serial}, '\\x3000', '\\x01', 'sub-1',"
            f" 'qualified-person', {when}, {when}, {when}, 'revoked', {when}, 1, {when}, i"
            " FROM generate_series(%s::bigint, %s) AS i",
            (issuer, first, first + n - 1),
        )
        pg.execute(
            "INSERT INTO issuer_changes (issuer, last_change) VALUES (%s, %s)"
            " ON CONFLICT (issuer) DO UPDATE SET last_change = excluded.last_change",
            (issuer, first + n - 1),
        )
        pg.execute("ANALYZE certificates")
