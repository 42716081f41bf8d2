"""Streebog (GOST R 34.11-2012) on both engines: RFC 6986 vectors, streaming, agreement."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.gost import EngineName, Streebog, streebog256, streebog512
from support.atlas_testing import OpenSSL
from support.gost_test_support import ENGINES, load_vectors, require_engine

STREEBOG = load_vectors("streebog.json")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> EngineName:
    return require_engine(str(request.param))


@pytest.mark.parametrize("vector", STREEBOG, ids=lambda v: v["name"])
def test_streebog_matches_the_rfc_6986_examples(engine: EngineName, vector: dict[str, str]) -> None:
    message = bytes.fromhex(vector["message_hex"])
    assert streebog256(message, engine=engine).hex() == vector["streebog256"]
    assert streebog512(message, engine=engine).hex() == vector["streebog512"]


def test_streebog_m2_is_the_igor_tale_in_cp1251() -> None:
    message = bytes.fromhex(STREEBOG[1]["message_hex"])
    assert message.decode("cp1251").startswith("Се ветри, Стрибожи внуци")


@pytest.mark.parametrize("size", [32, 64])
def test_streebog_fed_in_odd_pieces_equals_one_shot(engine: EngineName, size: int) -> None:
    data = bytes(range(256)) * 3 + b"tail"
    h = Streebog(size, engine=engine)
    for piece in (data[:1], data[1:64], data[64:65], data[65:200], data[200:640], data[640:]):
        h.update(piece)
    one_shot = streebog256 if size == 32 else streebog512
    assert h.digest() == one_shot(data, engine=engine)
    assert h.digest_size == size
    assert h.name == f"streebog{size * 8}"


def test_streebog_digest_does_not_finalise_and_copy_forks(engine: EngineName) -> None:
    h = Streebog(32, engine=engine)
    h.update(b"a" * 100)
    first = h.digest()
    assert h.digest() == first
    fork = h.copy()
    fork.update(b"b")
    h.update(b"c")
    assert fork.digest() == streebog256(b"a" * 100 + b"b", engine=engine)
    assert h.digest() == streebog256(b"a" * 100 + b"c", engine=engine)


def test_streebog_accepts_bytearray_and_memoryview_slices(engine: EngineName) -> None:
    data = bytearray(b"x" * 1000)
    view = memoryview(bytes(data))[100:900]
    expected = streebog512(bytes(data[100:900]), engine=engine)
    assert streebog512(view, engine=engine) == expected
    assert streebog512(data, engine=engine) == streebog512(bytes(data), engine=engine)


def test_streebog_refuses_bad_sizes_and_types() -> None:
    with pytest.raises(ValueError, match="32 or 64"):
        Streebog(48)
    with pytest.raises(TypeError, match="bytes-like"):
        streebog256("text")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=300))
def test_native_and_pure_streebog_agree(data: bytes, cut: int) -> None:
    require_engine("native")
    cut = min(cut, len(data))
    for size in (32, 64):
        native = Streebog(size, engine="native")
        native.update(data[:cut])
        native.update(data[cut:])
        pure = Streebog(size, engine="pure")
        pure.update(data[:cut])
        pure.update(data[cut:])
        assert native.digest() == pure.digest()


def test_streebog_of_a_file_matches_openssl_dgst(openssl_gost: OpenSSL, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096 + b"odd tail"
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    for size, md in ((32, "md_gost12_256"), (64, "md_gost12_512")):
        out = openssl_gost.run(["dgst", f"-{md}", "-r", path]).stdout.decode()
        expected = out.split()[0]
        one_shot = streebog256 if size == 32 else streebog512
        assert one_shot(data).hex() == expected


def test_streebog_hashes_an_mmapped_file_in_place(engine: EngineName, tmp_path: Path) -> None:
    import mmap

    data = bytes(range(256)) * 1000 + b"end"
    path = tmp_path / "mapped.bin"
    path.write_bytes(data)
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        h = Streebog(32, engine=engine)
        h.update(memoryview(mapped))
        digest = h.digest()
    assert digest == streebog256(data, engine=engine)


def test_streebog_refuses_objects_without_the_buffer_protocol() -> None:
    with pytest.raises(TypeError, match="bytes-like, not int"):
        streebog512(42)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000))
def test_one_shot_native_digest_agrees_with_the_incremental_and_pure_engines(data: bytes) -> None:
    require_engine("native")
    from atlas_ca.gost import _native

    for size in (32, 64):
        incremental = _native.NativeStreebog(size)
        incremental.update(memoryview(data))
        one_shot = _native.digest_bytes(size, data)
        assert one_shot == incremental.digest()
        # The public functions take the one-shot path for bytes and the incremental one else.
        public = streebog256 if size == 32 else streebog512
        assert public(data, engine="native") == one_shot == public(bytearray(data))
    assert streebog256(data, engine="native") == streebog256(data, engine="pure")


def test_one_shot_native_digest_leaves_no_error_in_libcrypto_queue() -> None:
    require_engine("native")
    from atlas_ca.gost import _native

    _native.digest_bytes(32, b"abc")
    assert _native._L().ERR_get_error() == 0
