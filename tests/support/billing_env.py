"""Fixtures of the billing service's tests: a record store of each dialect (SQLite file,
PostgreSQL database of its own), a settable clock, a catalogue with every product kind, and
registered subscribers (verified or not)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.domain.ids import ProductCode, SubscriberId, TariffPlanId
from atlas_ca.domain.money import Money
from atlas_ca.domain.subscribers import SubscriberKind, register
from atlas_ca.domain.tariffs import (
    EXEMPT_SOFTWARE_REGISTER,
    Catalogue,
    PriceVersion,
    Product,
    ProductKind,
    TariffPlan,
)
from atlas_ca.services.billing import BillingService
from atlas_ca.storage import RecordKind, RecordStore, open_record_store
from support.atlas_testing import missing

PG_ENV = "ATLAS_CA_TEST_PG_DSN"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

KEP = ProductCode("kep-issue")
RENEW = ProductCode("kep-renew")
LICENCE = ProductCode("kavista-licence")
SUBSCRIPTION = ProductCode("mail-agent-year")
SERVICE = ProductCode("consulting")
BASIC = TariffPlanId("basic")

CATALOGUE = Catalogue(
    products=[
        Product(KEP, "Квалифицированный сертификат ЭП", ProductKind.CERTIFICATE_ISSUANCE),
        Product(RENEW, "Продление сертификата", ProductKind.CERTIFICATE_RENEWAL),
        Product(
            LICENCE,
            "Серийный номер «Кависта»",
            ProductKind.SOFTWARE_LICENCE,
            EXEMPT_SOFTWARE_REGISTER,
        ),
        Product(SUBSCRIPTION, "Почтовый агент, год", ProductKind.SUBSCRIPTION),
        Product(SERVICE, "Консультация", ProductKind.SERVICE),
    ],
    plans=[TariffPlan(BASIC, "Базовый")],
    prices=[
        PriceVersion(BASIC, KEP, dt.date(2025, 1, 1), Money(Decimal("3600.00"))),
        PriceVersion(BASIC, RENEW, dt.date(2025, 1, 1), Money(Decimal("2400.00"))),
        PriceVersion(BASIC, LICENCE, dt.date(2025, 1, 1), Money(Decimal("1500.00"))),
        PriceVersion(BASIC, SUBSCRIPTION, dt.date(2025, 1, 1), Money(Decimal("1200.00"))),
        PriceVersion(BASIC, SERVICE, dt.date(2025, 1, 1), Money(Decimal("500.00"))),
    ],
)

VERIFIED = SubscriberId("sub-v")
NEWCOMER = SubscriberId("sub-new")  # registered, not verified (R3)
OTHER = SubscriberId("sub-o")


class SetClock:
    """A clock the test moves (aware datetimes)."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.at = now

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += dt.timedelta(**kw)


@dataclass
class Desk:
    """A billing service over a real record store, its clock and the store itself."""

    billing: BillingService
    clock: SetClock
    records: RecordStore
    issued: dict[str, int]


def seed_subscribers(records: RecordStore) -> None:
    for sid in (VERIFIED, OTHER):
        sub = verified_subscriber(sid.value, at=T0 - dt.timedelta(days=30))
        records.put(RecordKind.SUBSCRIBER, sid.value, sub, at=T0)
    newcomer = register(NEWCOMER, SubscriberKind.INDIVIDUAL, MobilePhone("+79241234567"), at=T0)
    records.put(RecordKind.SUBSCRIBER, NEWCOMER.value, newcomer, at=T0)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A PostgreSQL database for this session (URL), dropped at the end; None without a DSN."""
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        yield None
        return
    name = f"atlas_billing_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo.conninfo_to_dict(dsn)
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    try:
        yield f"postgresql://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def fresh_store(kind: str, pg: str | None, where: Path) -> RecordStore:
    """An empty record store of ``kind``."""
    if kind == "sqlite":
        return open_record_store(where / f"records-{uuid.uuid4().hex[:8]}.sqlite", opened_at=T0)
    if pg is None:
        missing(f"PostgreSQL ({PG_ENV})")
        raise AssertionError  # unreachable: missing() skips or fails
    store = open_record_store(pg, opened_at=T0)
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("DELETE FROM atlas_records")
    return store


def make_desk(records: RecordStore, clock: SetClock | None = None) -> Desk:
    clock = clock or SetClock()
    issued: dict[str, int] = {}
    billing = BillingService(
        records,
        clock=clock,
        catalogue=CATALOGUE,
        issued_count=lambda order: issued.get(order.value, 0),
    )
    seed_subscribers(records)
    return Desk(billing, clock, records, issued)


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest, pg_database: str | None, tmp_path: Path) -> Iterator[Desk]:
    records = fresh_store(request.param, pg_database, tmp_path)
    try:
        yield make_desk(records)
    finally:
        records.close()
