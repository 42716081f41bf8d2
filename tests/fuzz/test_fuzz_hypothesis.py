"""Issue 15 item 6 with hypothesis: arbitrary bytes, generated DER trees and edits of real
objects, fed to every library parser; only our errors escape, messages are one bounded line,
and no input makes a parser trace more than :data:`PEAK_BYTES` of allocations (tracemalloc)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.fuzz_support import TARGETS, build_corpus, check, targets_for

PEAK_BYTES = 64 * 1024 * 1024
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build_corpus(Path(tmp_path_factory.mktemp("fuzz-corpus")))


def _bounded(target: str, data: bytes) -> None:
    tracemalloc.start()
    try:
        problem = check(target, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problem is None, f"{target}: {problem}"
    assert peak < PEAK_BYTES, f"{target} traced {peak} bytes for {len(data)} input bytes"


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


_LEAVES = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(
        lambda i: _tlv(0x02, i.to_bytes((i.bit_length() + 8) // 8 or 1, "big", signed=True))
    ),
    st.integers(min_value=1, max_value=3000).map(lambda n: _tlv(0x02, b"\x01" * n)),
    st.just(b"\x05\x00"),
    st.sampled_from([b"\x01\x01\xff", b"\x01\x01\x00", b"\x01\x01\x01"]),
    st.binary(max_size=12).map(lambda b: _tlv(0x06, b"\x2a" + b)),
    st.text(max_size=20).map(lambda t: _tlv(0x0C, t.encode())),
    st.binary(max_size=20).map(lambda b: _tlv(0x13, b)),
    st.sampled_from([_tlv(0x17, b"260101000000Z"), _tlv(0x18, b"20500101000000Z")]),
    st.binary(max_size=40).map(lambda b: _tlv(0x04, b)),
    st.binary(max_size=40).map(lambda b: _tlv(0x03, b"\x00" + b)),
)
_CONTAINER_TAGS = st.sampled_from([0x30, 0x31, 0xA0, 0xA1, 0xA3, 0x04, 0x03])


def _container(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.tuples(_CONTAINER_TAGS, st.lists(children, max_size=6)).map(
        lambda tc: _tlv(tc[0], (b"\x00" if tc[0] == 0x03 else b"") + b"".join(tc[1]))
    )


DER_TREES = st.recursive(_LEAVES, _container, max_leaves=40)


@pytest.mark.parametrize("target", sorted(TARGETS))
@SETTINGS
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes(target: str, data: bytes) -> None:
    _bounded(target, data)


@pytest.mark.parametrize("target", sorted(TARGETS))
@SETTINGS
@given(tree=DER_TREES)
def test_generated_der_trees(target: str, tree: bytes) -> None:
    _bounded(target, tree)


@SETTINGS
@given(data=st.data())
def test_edits_of_real_objects(corpus: dict[str, bytes], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(corpus)))
    seed = corpus[name]
    start = data.draw(st.integers(min_value=0, max_value=len(seed) - 1))
    stop = data.draw(st.integers(min_value=start, max_value=min(len(seed), start + 64)))
    new = data.draw(st.one_of(st.binary(max_size=64), DER_TREES))
    mutant = seed[:start] + new + seed[stop:]
    for target in targets_for(name):
        _bounded(target, mutant)
