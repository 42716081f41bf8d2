"""Fixtures of the acceptance tests through the facade: a CA (software GOST key, self-signed
root written as the operator's TOML configuration), a registrar with a key and a certificate
of that CA, a settable clock, an SMS inbox, and a fresh register on SQLite or PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

import atlas_ca
from atlas_ca.algorithms import KeyType
from atlas_ca.app import AtlasCA, AtlasConfig
from atlas_ca.asn1.oids import NameAttribute
from atlas_ca.cli.demo.scenario import DEMO_CA, DEMO_CONFIG
from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.hsm.software import SoftwareKey, generate_software_key, open_software_key
from atlas_ca.profiles.planning import issue_certificate, plan_ca_certificate
from atlas_ca.services.identity import new_registrar
from atlas_ca.x509.certificate import Certificate, CertificateBuilder, random_serial
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.extensions import KeyUsage, KeyUsageBit
from atlas_ca.x509.names import Name
from support.atlas_testing import missing
from support.person_samples import PERSON

PG_ENV = "ATLAS_CA_TEST_PG_DSN"
REGISTRAR = "reg-1"
REGISTRAR_PERSON = "sub-registrar"  # the registrar's own subscriber id (R4, R5)

ANSWERS = [{"field": f, "confirmed": True} for f in ("person", "passport", "inn", "snils")]
TARIFFS = {
    "products": [
        {
            "code": "kep-issue",
            "name": "Квалифицированный сертификат ЭП",
            "kind": "certificate_issuance",
        },
        {"code": "kavista-licence", "name": "Серийный номер «Кависта»", "kind": "software_licence"},
        {"code": "kep-renew", "name": "Продление сертификата ЭП", "kind": "certificate_renewal"},
    ],
    "plans": [{"id": "basic", "name": "Базовый"}],
    "prices": [
        {"plan": "basic", "product": "kep-issue", "from": "2025-01-01", "price": "3600.00"},
        {"plan": "basic", "product": "kavista-licence", "from": "2025-01-01", "price": "1500.00"},
        {"plan": "basic", "product": "kep-renew", "from": "2025-01-01", "price": "1800.00"},
    ],
}


class SetClock:
    """A clock the test moves (aware datetimes)."""

    def __init__(self, now: dt.datetime) -> None:
        self.at = now

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += dt.timedelta(**kw)


@dataclass
class Inbox:
    """The SMS gateway of the tests: keeps every message; ``code()`` is the last code sent."""

    sent: list[tuple[MobilePhone, str]] = field(default_factory=list)

    def send(self, phone: MobilePhone, text: str) -> None:
        self.sent.append((phone, text))

    def code(self) -> str:
        found = re.search(r"\b(\d{6})\b", self.sent[-1][1])
        assert found is not None, self.sent[-1][1]
        return found.group(1)


@dataclass(frozen=True)
class Pki:
    """The CA of the tests and a registrar of it (software keys: qualified=False)."""

    base: Path
    key_uri: str
    ca_cert: Path
    registrar_key: SoftwareKey
    registrar_cert: Certificate
    other_key: SoftwareKey
    started: dt.datetime


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("app-pki")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    uri = generate_software_key(
        base / "ca.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
    )
    (base / "ca.pw").write_text("pw")
    uri += f"?pin-source=file:{base / 'ca.pw'}"
    ca_key = open_software_key(uri)
    config = dataclasses.replace(DEMO_CONFIG, allow_unqualified_keys=True)
    root = issue_certificate(
        plan_ca_certificate(DEMO_CA, ca_key.public_key_info, config, ca_key, not_before=now),
        ca_key,
        serial=random_serial(),
        self_signed=True,
    )
    (base / "ca.pem").write_bytes(root.pem())

    def key(name: str) -> SoftwareKey:
        made = generate_software_key(
            base / f"{name}.key", KeyType.GOST3410_2012_256, password="t", iterations=1000
        )
        return open_software_key(made, password="t")

    registrar_key = key("registrar")
    registrar_cert = (
        CertificateBuilder()
        .subject_name(Name.build([(NameAttribute.COMMON_NAME, "Петрова Анна (регистратор)")]))
        .issuer_certificate(root)
        .public_key(registrar_key.public_key_info)
        .serial_number(random_serial())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            KeyUsage(
                True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT})
            )
        )
        .sign(ca_key)
    )
    return Pki(base, uri, base / "ca.pem", registrar_key, registrar_cert, key("other"), now)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str | None]:
    """A PostgreSQL database of this session (URL), dropped at the end; None without a DSN."""
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        yield None
        return
    name = f"h12s_app_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo.conninfo_to_dict(dsn)
    try:
        user, host = params.get("user", "postgres"), params.get("host", "127.0.0.1")
        yield f"postgresql://{user}@{host}:{params.get('port', 5432)}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def register_location(kind: str, pg: str | None, where: Path) -> str:
    """A register of ``kind`` with no records (SQLite: a new file; PostgreSQL: the session's
    database with its record table emptied)."""
    if kind == "sqlite":
        return str(where / f"register-{uuid.uuid4().hex[:8]}.sqlite")
    if pg is None:
        missing(f"PostgreSQL ({PG_ENV})")
        raise AssertionError  # unreachable: missing() skips or fails
    with psycopg.connect(pg, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('atlas_records')").fetchone()
        if exists is not None and exists[0] is not None:
            conn.execute("DELETE FROM atlas_records")
    return pg


def write_config(pki: Pki, location: str, where: Path) -> Path:
    """The operator's TOML file of the test CA (the same file the CLI reads)."""
    tools = DEMO_CONFIG.issuer_tools

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def lst(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(q(i) for i in items) + "]"

    tariffs = "\n".join(
        f"{name} = ["
        + ", ".join("{" + ", ".join(f"{k} = {q(v)}" for k, v in row.items()) + "}" for row in rows)
        + "]"
        for name, rows in TARIFFS.items()
    )
    path = where / f"atlas-ca-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(
        "[register]\n"
        f"location = {q(location)}\n\n"
        "[ca]\n"
        f"key_uri = {q(pki.key_uri)}\n"
        f"certificate = {q(str(pki.ca_cert))}\n"
        f"outbox = {q(str(where / 'outbox'))}\n"
        f"crl_dir = {q(str(where / 'crl'))}\n\n"
        "[ca.profile]\n"
        "allow_unqualified_keys = true\n"
        f"ca_sign_tool = {q(DEMO_CONFIG.ca_sign_tool)}\n"
        'policy_classes = ["KC1", "KC2"]\n'
        f"crl_urls = {lst(tuple(DEMO_CONFIG.crl_urls))}\n"
        f"ocsp_urls = {lst(tuple(DEMO_CONFIG.ocsp_urls))}\n"
        f"ca_issuers_urls = {lst(tuple(DEMO_CONFIG.ca_issuers_urls))}\n\n"
        "[ca.profile.issuer_tools]\n"
        f"sign_tool = {q(tools.sign_tool)}\n"
        f"ca_tool = {q(tools.ca_tool)}\n"
        f"sign_tool_certificate = {q(tools.sign_tool_certificate)}\n"
        f"ca_tool_certificate = {q(tools.ca_tool_certificate)}\n\n"
        f"[tariffs]\n{tariffs}\n"
    )
    return path


@dataclass
class Desk:
    """The facade over a fresh register, its clock and SMS inbox."""

    ca: AtlasCA
    clock: SetClock
    inbox: Inbox
    config: Path


def open_desk(pki: Pki, kind: str, pg: str | None, where: Path) -> Desk:
    clock = SetClock(pki.started + dt.timedelta(minutes=30))
    inbox = Inbox()
    config = write_config(pki, register_location(kind, pg, where), where)
    ca = atlas_ca.open(config, clock=clock, sms=inbox, environ={})
    ca.add_registrar(
        new_registrar(
            REGISTRAR,
            surname="Петрова",
            given_name="Анна",
            office_id="office-vl",
            office_name="Владивосток, офис",
            certificate=pki.registrar_cert.der,
            person=REGISTRAR_PERSON,
        )
    )
    return Desk(ca, clock, inbox, config)


@pytest.fixture(params=["sqlite", "postgres"])
def desk(
    request: pytest.FixtureRequest, pki: Pki, pg_dsn: str | None, tmp_path: Path
) -> Iterator[Desk]:
    opened = open_desk(pki, request.param, pg_dsn, tmp_path)
    try:
        yield opened
    finally:
        opened.ca.close()


def new_key_and_csr(where: Path, name: str) -> tuple[SoftwareKey, bytes]:
    """A fresh GOST key and its CSR (one key, one certificate: each issuance needs its own)."""
    uri = generate_software_key(
        where / f"{name}.key", KeyType.GOST3410_2012_256, password="s", iterations=1000
    )
    key = open_software_key(uri, password="s")
    return key, CsrBuilder().subject_name(Name.build([])).sign(key).der


def new_csr(where: Path, name: str) -> bytes:
    """A CSR of a fresh GOST key."""
    return new_key_and_csr(where, name)[1]


def verified(desk: Desk, pki: Pki, sid: str, phone: str = "+79241112233") -> None:
    """R1, R2, R5 through the facade: registered with data, checked, verified and signed."""
    desk.ca.add_subscriber(sid, phone=phone, data=PERSON)
    desk.ca.record_checks(sid, ANSWERS)
    desk.ca.verify_subscriber(
        sid, registrar=REGISTRAR, key=pki.registrar_key, require_qualified=False
    )


__all__ = ["AtlasConfig"]
