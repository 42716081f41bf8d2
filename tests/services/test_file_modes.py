"""Files with personal data are 0600 (directories 0700) and public artifacts 0644, whatever the
process umask (issue 15 item 5): the SQLite register and its -wal/-shm, the record store, the
outbox, written private and public files, and the published CRLs."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_ca.cli.demo.fakes import sample_registrar
from atlas_ca.services.crl_publication import CrlPublisher
from atlas_ca.services.files import (
    PRIVATE_FILE,
    PUBLIC_FILE,
    FileExists,
    write_file,
)
from atlas_ca.storage.ports import RecordKind
from atlas_ca.storage.sqlite import SqliteRecordStore, SqliteRegister
from support.issuance_env import T0, World, make_world


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture
def world(tmp_path: Path, umask: int) -> Iterator[World]:
    reg = SqliteRegister(tmp_path / "register.sqlite", opened_at=T0)
    try:
        yield make_world(reg, tmp_path)
    finally:
        reg.close()


def test_the_register_and_its_wal_and_shm_are_private(world: World, tmp_path: Path) -> None:
    world.service().issue(world.request())  # writes: the WAL and the shared memory exist
    for name in ("register.sqlite", "register.sqlite-wal", "register.sqlite-shm"):
        assert (tmp_path / name).exists(), name
        assert _mode(tmp_path / name) == PRIVATE_FILE, name
    assert _mode(world.outbox.directory) == 0o700


def test_a_record_store_creating_the_file_makes_it_private(tmp_path: Path, umask: int) -> None:
    store = SqliteRecordStore(tmp_path / "records.sqlite", opened_at=T0)
    try:
        store.put(RecordKind.REGISTRAR, "reg-1", sample_registrar(), at=T0)
    finally:
        store.close()
    assert _mode(tmp_path / "records.sqlite") == PRIVATE_FILE


def test_published_crls_are_public(world: World, tmp_path: Path) -> None:
    publisher = CrlPublisher(
        ca=world.ca, register=world.register, directory=tmp_path / "pub", clock=world.clock
    )
    published = publisher.publish_full()
    assert _mode(Path(published.path)) == PUBLIC_FILE
    assert _mode(tmp_path / "pub") == 0o755


def test_written_files_have_their_mode_and_are_never_overwritten_silently(
    tmp_path: Path, umask: int
) -> None:
    private, public = tmp_path / "att" / "r.der", tmp_path / "pub" / "ca.pem"
    write_file(private, b"personal", mode=PRIVATE_FILE)
    write_file(public, b"public", mode=PUBLIC_FILE)
    assert (_mode(private), _mode(private.parent)) == (PRIVATE_FILE, 0o700)
    assert (_mode(public), _mode(public.parent)) == (PUBLIC_FILE, 0o755)
    with pytest.raises(FileExists, match="--force"):
        write_file(private, b"other", mode=PRIVATE_FILE)
    assert private.read_bytes() == b"personal"
    write_file(private, b"other", mode=PRIVATE_FILE, overwrite=True)
    assert (private.read_bytes(), _mode(private)) == (b"other", PRIVATE_FILE)
