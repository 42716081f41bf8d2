"""trust/store.py reads trust-store files through atlas_ca.limits (issue 12): a regular file,
at most the ANY_ARTIFACT limit, refused before parsing — never an unbounded read of whatever
the path names."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from atlas_ca.errors import InputTooLarge, NotARegularFile
from atlas_ca.limits import LIMITS, InputKind
from atlas_ca.trust.store import TrustStore, read_objects
from support.trust_pki import make_pki


def _in_thread(fn: Callable[[], object]) -> BaseException | None:
    """Run ``fn`` with a deadline: an unbounded read (a fifo without a writer) would block."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    assert outcome, "the trust store blocked on a file that is not a regular file"
    return outcome[0]


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    big = anchors / "huge.pem"
    with big.open("wb") as f:  # sparse: no disk used, st_size says it all
        f.truncate(LIMITS[InputKind.ANY_ARTIFACT] + 1)
    with pytest.raises(InputTooLarge) as caught:
        TrustStore.from_directory(tmp_path)
    assert caught.value.context["limit"] == LIMITS[InputKind.ANY_ARTIFACT]
    with pytest.raises(InputTooLarge):
        TrustStore.from_files([big])


def test_a_fifo_or_a_device_named_as_an_anchor_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "anchor.pem"
    os.mkfifo(fifo)
    assert isinstance(_in_thread(lambda: TrustStore.from_files([fifo])), NotARegularFile)
    assert isinstance(_in_thread(lambda: read_objects(Path("/dev/zero"))), NotARegularFile)


def test_a_store_of_regular_files_still_loads_and_skips_other_entries(tmp_path: Path) -> None:
    pki = make_pki()
    (tmp_path / "anchors").mkdir()
    (tmp_path / "certs").mkdir()
    (tmp_path / "anchors" / "root.pem").write_bytes(pki.root.pem())
    (tmp_path / "certs" / "sub.der").write_bytes(pki.sub.der)
    os.mkfifo(tmp_path / "certs" / "stray.pem")  # not a regular file: not read at all
    store = _in_thread(lambda: TrustStore.from_directory(tmp_path))
    assert store is None
    loaded = TrustStore.from_directory(tmp_path)
    assert loaded.anchors == (pki.root.der,)
    assert loaded.certificates == (pki.sub.der,)
