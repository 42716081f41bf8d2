"""CRL publication from the register, on SQLite and PostgreSQL: full and delta CRLs with the
register's statuses, nextUpdate per policy, atomic replacement of the published file, and
cRLNumbers strictly increasing with several publisher processes at once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.audit.events import Actor
from atlas_ca.errors import CrlPublicationFailed, RecordNotFound
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import RevocationReason
from atlas_ca.storage._sql import SqlRegister
from atlas_ca.x509 import crl as x509crl
from atlas_ca.x509.certificate import Certificate
from support.issuance_env import CONFIG, FakeClock, World, make_world, registers, software_key

pg_server = registers.pg_server
store = registers.store
OPERATOR = ByOperator(Actor("operator:ops-3"))


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


def _publisher(w: World, directory: Path, **kw: Any) -> CrlPublisher:
    return CrlPublisher(ca=w.ca, register=w.register, directory=directory, clock=w.clock, **kw)


def _issue(w: World, n: int) -> list[int]:
    return [w.service().issue(w.request()).certificate.serial_number for _ in range(n)]


def _revocations(w: World) -> RevocationService:
    return RevocationService(
        issuer=w.ca.issuer_id, register=w.register, challenges=w.challenges, clock=w.clock
    )


def test_a_full_crl_lists_the_revoked_and_suspended_certificates(
    world: World, tmp_path: Path
) -> None:
    revoked, held, valid = _issue(world, 3)
    world.clock.advance(hours=1)
    compromised = world.clock.now() - dt.timedelta(minutes=30)
    service = _revocations(world)
    service.revoke(
        revoked, reason=RevocationReason.KEY_COMPROMISE, by=OPERATOR, invalidity_date=compromised
    )
    service.suspend(held, by=OPERATOR)
    published = _publisher(world, tmp_path / "pub").publish_full()

    crl = x509crl.load_crl(published.path.read_bytes())
    crl.verify_issued_by(world.ca.certificate.der)
    assert published.path == tmp_path / "pub" / "ca.crl"
    assert crl.crl_number == published.number == 1
    assert not crl.is_delta
    assert len(crl) == published.entries == 2
    assert crl.next_update is not None
    assert crl.next_update - crl.this_update == dt.timedelta(days=7)
    entry = crl.lookup(revoked)
    assert entry is not None
    assert entry.reason is x509crl.RevocationReason.KEY_COMPROMISE
    assert entry.invalidity_date == compromised.replace(microsecond=0)
    hold = crl.lookup(held)
    assert hold is not None
    assert hold.reason is x509crl.RevocationReason.CERTIFICATE_HOLD
    assert crl.lookup(valid) is None
    recorded = world.register.latest_crl(world.ca.issuer_id)
    assert recorded is not None
    assert (recorded.number, recorded.base_number) == (1, None)
    last = [e.event for e in world.register.audit_events() if hasattr(e, "event")][-1]
    assert (last.action, last.objects["crl_number"]) == ("crl.published", "1")


def test_a_delta_crl_carries_the_changes_since_its_base(world: World, tmp_path: Path) -> None:
    first, second, third = _issue(world, 3)
    service = _revocations(world)
    service.revoke(first, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    service.suspend(second, by=OPERATOR)
    publisher = _publisher(world, tmp_path / "pub")
    base = publisher.publish_full()
    world.clock.advance(hours=2)
    service.resume(second, by=OPERATOR)
    service.revoke(third, reason=RevocationReason.CESSATION_OF_OPERATION, by=OPERATOR)
    delta = publisher.publish_delta()

    crl = x509crl.load_crl(delta.path.read_bytes())
    crl.verify_issued_by(world.ca.certificate.der)
    assert delta.path.name == "ca-delta.crl"
    assert crl.delta_crl_indicator == base.number == delta.base_number
    assert crl.crl_number == delta.number > base.number
    assert crl.next_update is not None
    assert crl.next_update - crl.this_update == dt.timedelta(days=1)
    assert {e.serial: e.reason for e in crl} == {
        second: x509crl.RevocationReason.REMOVE_FROM_CRL,
        third: x509crl.RevocationReason.CESSATION_OF_OPERATION,
    }
    # The full CRL file is untouched by the delta.
    assert x509crl.load_crl(base.path.read_bytes()).crl_number == base.number


def test_a_delta_needs_a_full_crl_first(world: World, tmp_path: Path) -> None:
    with pytest.raises(RecordNotFound, match="full CRL first"):
        _publisher(world, tmp_path / "pub").publish_delta()


def test_the_policy_sets_next_update_and_the_encoding(world: World, tmp_path: Path) -> None:
    policy = CrlPolicy(full_validity=dt.timedelta(hours=36), file_name="atlas.crl", pem=True)
    published = _publisher(world, tmp_path / "pub", policy=policy).publish_full()
    data = published.path.read_bytes()
    assert data.startswith(b"-----BEGIN X509 CRL-----")
    assert published.next_update - published.this_update == dt.timedelta(hours=36)
    assert len(x509crl.load_crl(data)) == 0


def test_a_failed_write_leaves_the_published_crl_as_it_was(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "pub"
    publisher = _publisher(world, directory)
    first = publisher.publish_full()
    before = first.path.read_bytes()

    def half_then_fail(self: Any, stream: Any, *, pem: bool = False) -> int:
        stream.write(b"\x30\x82\x01")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(x509crl.SignedCrl, "write_to", half_then_fail)
    world.clock.advance(hours=1)
    with pytest.raises(CrlPublicationFailed, match="unchanged"):
        publisher.publish_full()
    assert first.path.read_bytes() == before
    assert sorted(p.name for p in directory.iterdir()) == [".atlas-crl-publish.lock", "ca.crl"]
    latest = world.register.latest_crl(world.ca.issuer_id)
    assert latest is not None
    assert latest.number == first.number  # the failed CRL was never recorded


def test_numbers_increase_with_every_publication(world: World, tmp_path: Path) -> None:
    publisher = _publisher(world, tmp_path / "pub")
    numbers = []
    for _ in range(4):
        numbers.append(publisher.publish_full().number)
        world.clock.advance(minutes=5)
    numbers.append(publisher.publish_delta().number)
    assert numbers == sorted(set(numbers))


# --- several publishers at once ----------------------------------------------------------------

PUBLISHERS = 4
ROUNDS = 5


def _publish_rounds(kind: str, location: str, base: str, ca_der: bytes) -> list[int]:
    """One publisher process: its own register connection, key handle and clock."""
    reg = registers.Store(kind, location).open()
    try:
        ca = CertificateAuthority(
            software_key(Path(base), "ca"), Certificate.from_der(ca_der), CONFIG
        )
        clock = FakeClock(dt.datetime.now(dt.UTC))
        publisher = CrlPublisher(ca=ca, register=reg, directory=Path(base) / "pub", clock=clock)
        numbers = []
        for _ in range(ROUNDS):
            numbers.append(publisher.publish_full().number)
            clock.advance(seconds=1)
        return numbers
    finally:
        reg.close()


def test_concurrent_publishers_never_share_or_reorder_a_crl_number(
    world: World, store: Any, tmp_path: Path
) -> None:
    _issue(world, 2)
    ctx = multiprocessing.get_context("fork")
    args = [(store.kind, store.location, str(tmp_path), world.ca.certificate.der)] * PUBLISHERS
    with ctx.Pool(PUBLISHERS) as pool:
        per_process = pool.starmap(_publish_rounds, args)
    everything = [n for numbers in per_process for n in numbers]
    assert len(everything) == len(set(everything)) == PUBLISHERS * ROUNDS
    for numbers in per_process:
        assert numbers == sorted(numbers)  # each publisher sees strictly increasing numbers
    reg = world.register
    assert isinstance(reg, SqlRegister)
    with reg._db.read() as cur:
        recorded = [int(r[0]) for r in cur.all("SELECT number FROM crls ORDER BY number")]
    assert recorded == sorted(everything)
    published = x509crl.load_crl((tmp_path / "pub" / "ca.crl").read_bytes())
    assert published.crl_number == max(everything)  # the file only ever moved forward
    assert not [p for p in os.listdir(tmp_path / "pub") if p.endswith(".tmp")]
