"""``CrlBuilder.sign(spool=...)``: the entries go to a file and are read back in pieces, and
the CRL is byte for byte the one built in memory — full (typed, raw and stored entries), delta,
a partition's CRL with its issuingDistributionPoint, and the empty CRL; DER and PEM."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.errors import X509Error
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.x509.crl import (
    _PEM_BLOCK,
    _SPOOL_BATCH,
    _SPOOL_PIECE,
    CrlBuilder,
    EncodedEntries,
    IssuingDistributionPoint,
    RevocationReason,
    RevokedEntry,
    SignedCrl,
    SpooledEntries,
    encode_entry,
    load_crl,
    revocation_time,
)
from support.crl_helpers import make_ca, new_gost_key

THIS_UPDATE = datetime(2026, 12, 1, 12, tzinfo=UTC)
#: More entries than one spool batch and than one read-back piece, and several PEM blocks.
MANY = 30_000
assert MANY > _SPOOL_BATCH
assert MANY * 40 > _SPOOL_PIECE > _PEM_BLOCK


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    """RSA PKCS#1 v1.5 signs deterministically and through a digest (the prehash path, as
    GOST): equal TBS gives an equal CRL, signature included."""
    path = tmp_path_factory.mktemp("rsa") / "rsa.pem"
    uri = generate_software_key(path, KeyType.RSA, password="pw", rsa_bits=2048, iterations=1000)
    return open_software_key(uri, password="pw")


def _entry(i: int, reason: RevocationReason | None = None) -> RevokedEntry:
    when = THIS_UPDATE - timedelta(days=1 + i % 300, seconds=i)
    invalid = when - timedelta(hours=1) if i % 7 == 0 else None
    return RevokedEntry((i + 1) * 0x9E3779B97F4A7C15, when, reason, invalid)


def _listed(n: int) -> list[RevokedEntry]:
    reasons = [None, *(r for r in RevocationReason if r is not RevocationReason.REMOVE_FROM_CRL)]
    return [_entry(i, reasons[i % len(reasons)]) for i in range(n)]


def _builder(key: SigningKey, **kind: Any) -> CrlBuilder:
    b = (
        CrlBuilder()
        .issuer_certificate(make_ca(key))
        .this_update(THIS_UPDATE)
        .next_update(THIS_UPDATE + timedelta(days=7))
        .crl_number(42)
    )
    if kind.get("delta"):
        b = b.delta_crl_indicator(41)
    if kind.get("partition"):
        b = b.issuing_distribution_point(
            IssuingDistributionPoint(full_name=("http://ca.example.ru/cdp/ca-3.crl",))
        )
    return b


def _blocks(listed: list[RevokedEntry], size: int = 2000) -> Iterator[EncodedEntries]:
    ders = [encode_entry(e.serial, e.revoked_at, e.reason, e.invalidity_date) for e in listed]
    for i in range(0, len(ders), size):
        yield EncodedEntries(len(ders[i : i + size]), b"".join(ders[i : i + size]))


def _rows(listed: list[RevokedEntry]) -> Iterator[tuple[int, bytes, int | None, None]]:
    for e in listed:
        reason = None if e.reason is None else int(e.reason)
        yield e.serial, revocation_time(e.revoked_at), reason, None


def _delta(n: int) -> list[RevokedEntry]:
    out = _listed(n)
    removed = RevocationReason.REMOVE_FROM_CRL
    return [RevokedEntry(e.serial, THIS_UPDATE, removed) if i % 5 == 0 else e
            for i, e in enumerate(out)]  # fmt: skip


def _full_all_three(b: CrlBuilder, k: SigningKey, s: Any) -> SignedCrl:
    b = b.add_revoked_certificate(_entry(10**6))
    typed, raw, stored = _listed(5), _rows(_listed(20)[10:]), _blocks(_listed(40)[30:], 3)
    return b.sign(k, typed, rows=raw, encoded=stored, spool=s)


#: name -> (builder options, sign(builder, key, spool) for the case)
Sign = Callable[[CrlBuilder, SigningKey, Any], SignedCrl]
PARTITION = {"partition": True}
PARTITION_DELTA = {"partition": True, "delta": True}
CASES: dict[str, tuple[dict[str, bool], Sign]] = {
    "full, stored": ({}, lambda b, k, s: b.sign(k, encoded=_blocks(_listed(MANY)), spool=s)),
    "full, typed entries": ({}, lambda b, k, s: b.sign(k, _listed(MANY), spool=s)),
    "full, raw rows": ({}, lambda b, k, s: b.sign(k, rows=_rows(_listed(MANY)), spool=s)),
    "full, all three": ({}, _full_all_three),
    "delta": ({"delta": True}, lambda b, k, s: b.sign(k, _delta(MANY), spool=s)),
    "partition": (PARTITION, lambda b, k, s: b.sign(k, encoded=_blocks(_listed(MANY)), spool=s)),
    "partition, delta": (PARTITION_DELTA, lambda b, k, s: b.sign(k, _delta(9), spool=s)),
    "empty": ({}, lambda b, k, s: b.sign(k, encoded=iter(()), spool=s)),
    "empty partition": (PARTITION, lambda b, k, s: b.sign(k, (), spool=s)),
}


def _written(signed: SignedCrl, pem: bool) -> bytes:
    out = io.BytesIO()
    n = signed.write_to(out, pem=pem)
    assert n == len(out.getvalue())
    return out.getvalue()


@pytest.mark.parametrize("case", list(CASES))
def test_a_spooled_crl_is_the_crl_built_in_memory(rsa_key: SigningKey, case: str) -> None:
    options, sign = CASES[case]
    builder = _builder(rsa_key, **options)
    in_memory = sign(builder, rsa_key, None)
    with tempfile.TemporaryFile() as spool:
        spooled = sign(builder, rsa_key, spool)
        assert isinstance(spooled.entries, SpooledEntries)
        assert isinstance(in_memory.entries, bytearray)
        assert spooled.entry_count == in_memory.entry_count
        assert len(spooled.entries) == len(in_memory.entries)
        assert bytes(spooled.entries) == bytes(in_memory.entries)
        assert spooled.signature == in_memory.signature  # deterministic: the same TBS was signed
        for pem in (False, True):
            assert _written(spooled, pem) == _written(in_memory, pem)  # written twice: re-read
        assert spooled.der() == in_memory.der()
        assert spooled.pem() == in_memory.pem()
    crl = load_crl(in_memory.der())
    crl.verify_issued_by(make_ca(rsa_key))
    assert len(crl) == in_memory.entry_count
    assert crl.is_delta is bool(options.get("delta"))
    assert (crl.issuing_distribution_point is not None) is bool(options.get("partition"))


def test_a_spooled_gost_crl_has_the_tbs_of_the_one_in_memory_and_verifies() -> None:
    key = new_gost_key("cryptopro-a")  # GOST signatures are randomised: compare the TBS
    builder = _builder(key, partition=True)
    in_memory = builder.sign(key, encoded=_blocks(_listed(MANY)))
    with tempfile.TemporaryFile() as spool:
        spooled = builder.sign(key, encoded=_blocks(_listed(MANY)), spool=spool)
        assert spooled.tbs_head == in_memory.tbs_head
        assert spooled.tbs_tail == in_memory.tbs_tail
        assert bytes(spooled.entries) == bytes(in_memory.entries)
        same_signature = dataclasses.replace(spooled, signature=in_memory.signature)
        assert _written(same_signature, True) == _written(in_memory, True)
        crl = load_crl(_written(spooled, True))
    crl.verify_issued_by(make_ca(key))
    assert len(crl) == MANY


def test_a_spool_that_lost_bytes_is_refused_not_written_short(
    rsa_key: SigningKey, tmp_path: Path
) -> None:
    with (tmp_path / "spool").open("w+b") as spool:
        signed = _builder(rsa_key).sign(rsa_key, encoded=_blocks(_listed(100)), spool=spool)
        spool.truncate(len(signed.entries) - 1)
        with pytest.raises(X509Error, match="shorter"):
            _written(signed, False)
