"""The CRL publisher's queries stream: memory stays flat however many entries an issuer has."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

from atlas_ca.storage import CertificateStatus, CrlRecord
from support.registers import ACTOR, ISSUER, T0, Store, fill_revoked

ROWS = 30_000


def peak_bytes(fn: object) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_listed_entries_stream_in_bounded_memory(store: Store) -> None:
    reg = store.open()
    fill_revoked(store, ROWS)

    def count_streamed() -> int:
        with reg.crl_scan(ISSUER) as scan:
            n = 0
            last = 0
            for entry in scan.listed():
                assert entry.serial > last  # serial order
                assert entry.status is CertificateStatus.REVOKED
                last = entry.serial
                n += 1
            return n

    def load_all() -> int:
        with reg.crl_scan(ISSUER) as scan:
            return len(list(scan.listed()))

    streamed_peak, streamed = peak_bytes(count_streamed)
    listed_peak, listed = peak_bytes(load_all)
    assert streamed == listed == ROWS
    # A list of every entry costs several times the streaming peak (batches of 1-2k rows).
    assert streamed_peak * 4 < listed_peak, (streamed_peak, listed_peak)


def test_changes_since_a_base_crl_stream_only_the_newer_changes(store: Store) -> None:
    reg = store.open()
    fill_revoked(store, 1_000)
    number = reg.next_crl_number(ISSUER)
    with reg.crl_scan(ISSUER) as scan:
        base = CrlRecord(ISSUER, number, T0, T0 + timedelta(days=1), scan.change_mark)
    reg.record_crl(base, at=T0, actor=ACTOR)
    fill_revoked(store, 500, first=1_001)  # change numbers 1001..1500
    with reg.crl_scan(ISSUER) as scan:
        serials = [e.serial for e in scan.changes_since(number)]
        assert scan.change_mark == 1_500
    assert serials == list(range(1_001, 1_501))
