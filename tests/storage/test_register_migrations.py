"""Versioned schema migrations: an older database upgrades on open, a newer one is refused."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from psycopg import conninfo

from atlas_ca.audit import verify_chain
from atlas_ca.errors import SchemaTooNew, Unavailable
from atlas_ca.storage import CertificateStatus, IntentState, RevocationReason, open_register
from atlas_ca.storage import postgres as pg_adapter
from atlas_ca.storage import sqlite as sqlite_adapter
from atlas_ca.storage._sql import latest_version, migrations
from atlas_ca.storage.ports import serial_text
from support.registers import ACTOR, ISSUER, OPERATOR, PG_ENV, T0, PgServer, Store, missing


def migrate_to(store: Store, version: int) -> int:
    if store.kind == "sqlite":
        return sqlite_adapter.migrate(store.location, applied_at=T0, target=version)
    return pg_adapter.migrate(store.location, applied_at=T0, target=version)


def ts(store: Store, text: str) -> object:
    return text if store.kind == "sqlite" else T0


LATEST = latest_version("sqlite")


def test_the_migration_steps_of_both_dialects_have_the_same_numbers() -> None:
    steps = {d: [(v, n) for v, n, _ in migrations(d)] for d in ("sqlite", "postgres")}
    assert steps["sqlite"] == steps["postgres"]
    assert [v for v, _ in steps["sqlite"]] == list(range(1, LATEST + 1))
    assert steps["sqlite"][:5] == [  # shipped steps never change their number or name
        (1, "0001_register"),
        (2, "0002_audit"),
        (3, "0003_crl_scan_index"),
        (4, "0004_order_entitlements"),
        (5, "0005_key_uniqueness_ca_certificates"),
    ]
    assert [n for _, n in steps["sqlite"] if n.endswith("_records")] != []  # issue 12
    assert latest_version("sqlite") == latest_version("postgres") == LATEST
    assert {n.split("_", 1)[1] for _, n in steps["sqlite"][5:]} >= {"records", "crl_entries"}


def test_a_version_1_register_upgrades_on_open_and_keeps_its_data(store: Store) -> None:
    assert migrate_to(store, 1) == 1
    tables = (
        "SELECT count(*) FROM sqlite_master WHERE name = 'audit_events'"
        if store.kind == "sqlite"
        else "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_events'"
        " AND table_schema = current_schema()"
    )
    assert store.raw(tables) == [(0,)]  # a real version-1 schema: no audit log yet
    # Data written by a version-1 node, in the version-1 layout.
    when = "2026-11-25T12:00:00.000000Z"
    serial = serial_text(42)
    store.raw(
        "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, order_id, profile,"
        " state, created_at, resolved_at) VALUES (?, ?, ?, 'sub-1', 'ord-1', 'qualified-person',"
        " 'completed', ?, ?)",
        (ISSUER.value, serial, bytes(32), ts(store, when), ts(store, when)),
    )
    store.raw(
        "INSERT INTO certificates (issuer, serial, der, subject_key_id, subscriber, order_id,"
        " profile, not_before, not_after, issued_at, status, status_changed_at)"
        " VALUES (?, ?, ?, ?, 'sub-1', 'ord-1', 'qualified-person', ?, ?, ?, 'valid', ?)",
        (ISSUER.value, serial, b"\x30\x03old", b"\x01" * 20, *[ts(store, when)] * 4),
    )
    store.raw(
        "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, order_id, profile,"
        " state, created_at) VALUES (?, ?, ?, 'sub-2', NULL, 'qualified-person', 'open', ?)",
        (ISSUER.value, serial_text(43), bytes(32), ts(store, when)),
    )

    reg = store.open()  # current code: upgrades to the latest version
    assert reg.schema_version == LATEST
    assert [r[0] for r in store.raw("SELECT version FROM atlas_schema ORDER BY version")] == list(
        range(1, LATEST + 1)
    )
    old = reg.get_certificate(ISSUER, 42)
    assert old.der == b"\x30\x03old"
    assert old.issued_at == T0
    (pending,) = reg.open_intents()
    assert (pending.serial, pending.state) == (43, IntentState.OPEN)
    reg.revoke(ISSUER, 42, reason=RevocationReason.SUPERSEDED, revocation_date=T0, actor=OPERATOR)
    reg.void_intent(ISSUER, 43, at=T0, actor=ACTOR)
    assert reg.get_certificate(ISSUER, 42).status is CertificateStatus.REVOKED
    assert verify_chain(reg.audit_events(), head=reg.audit_head()).ok
    assert reg.audit_head().seq == 2


def test_opening_twice_migrates_once(store: Store) -> None:
    store.open().close()
    store.open()
    assert store.raw("SELECT count(*) FROM atlas_schema") == [(LATEST,)]


def test_a_register_from_a_newer_atlas_ca_is_refused_with_a_clear_message(store: Store) -> None:
    store.open().close()
    store.raw(
        "INSERT INTO atlas_schema (version, name, applied_at) VALUES (?, ?, ?)",
        (LATEST + 1, "from_the_future", ts(store, "2027-01-01T00:00:00.000000Z")),
    )
    with pytest.raises(SchemaTooNew) as caught:
        store.open()
    assert isinstance(caught.value, Unavailable)
    assert f"schema version {LATEST + 1}" in str(caught.value)
    assert "upgrade atlas_ca" in str(caught.value)
    assert caught.value.context["found"] == LATEST + 1
    assert caught.value.context["supported"] == LATEST
    assert store.raw("SELECT count(*) FROM atlas_schema") == [(LATEST + 1,)]  # nothing touched


def test_open_register_picks_the_adapter_from_the_location(
    tmp_path: Path, pg_server: PgServer | None
) -> None:
    for location in (tmp_path / "a.sqlite3", f"sqlite://{tmp_path / 'b.sqlite3'}"):
        with open_register(location, opened_at=T0) as reg:
            assert isinstance(reg, sqlite_adapter.SqliteRegister)
            assert reg.schema_version == LATEST
    assert (tmp_path / "b.sqlite3").exists()
    if pg_server is None:
        missing(f"PostgreSQL ({PG_ENV})")
        return
    # open_register recognises PostgreSQL by a URL; a key=value DSN is rewritten as one.
    params = conninfo.conninfo_to_dict(pg_server.admin_dsn)
    user = quote(str(params.get("user", "postgres")))
    password = params.get("password")
    auth = f"{user}:{quote(str(password))}" if password else user
    host = params.get("host", "127.0.0.1")
    test_db = f"postgresql://{auth}@{host}:{params.get('port', 5432)}/{pg_server.dbname}"
    with open_register(test_db, opened_at=T0) as reg:
        assert isinstance(reg, pg_adapter.PostgresRegister)
        assert reg.schema_version == LATEST
        assert "@" not in repr(reg)
