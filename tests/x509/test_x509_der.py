"""The DER helpers: strictness checks, OID/INTEGER/time codecs against asn1crypto."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asn1crypto import core
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.errors import DecodeError
from atlas_ca.x509.der import (
    check_der,
    children,
    decode_integer,
    decode_oid,
    decode_time,
    encode_integer,
    encode_oid,
    split_tlv,
    tlv,
)

_OIDS = st.builds(
    lambda first, second, rest: ".".join(map(str, [first, second, *rest])),
    st.integers(0, 2),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**40), max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(_OIDS)
def test_oids_encode_and_decode_like_asn1crypto(dotted: str) -> None:
    der = encode_oid(dotted)
    assert der == core.ObjectIdentifier(dotted).dump()
    tag, content = split_tlv(der)
    assert tag == 0x06
    assert decode_oid(content, "oid") == dotted


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**200), 2**200))
def test_integers_encode_minimally_and_decode_back(value: int) -> None:
    der = encode_integer(value)
    assert der == core.Integer(value).dump()
    check_der(der, "integer")
    assert decode_integer(split_tlv(der)[1], "integer") == value


@pytest.mark.parametrize(
    ("der", "message"),
    [
        (b"\x30\x80\x02\x01\x01\x00\x00", "indefinite length"),
        (b"\x30\x81\x03\x02\x01\x01", "non-minimal length"),
        (b"\x04\x82\x00\x01\x00", "non-minimal length"),
        (b"\x24\x03\x04\x01\x00", "constructed encoding"),
        (b"\x01\x01\x01", "BOOLEAN"),
        (b"\x02\x02\x00\x01", "non-minimal INTEGER"),
        (b"\x02\x02\xff\x80", "non-minimal INTEGER"),
        (b"\x02\x00", "empty INTEGER"),
        (b"\x03\x01\x08", "unused-bits"),
        (b"\x30\x03\x02\x01", "truncated"),
        (b"\x30\x00\x00", "trailing"),
        (b"\x30\x02" * 50 + b"\x05\x00", "truncated"),
    ],
)
def test_ber_only_and_broken_encodings_are_refused(der: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        check_der(der, "value")


def test_deep_nesting_is_refused_not_recursed_forever() -> None:
    der = b"\x05\x00"
    for _ in range(60):
        der = tlv(0x30, der)
    with pytest.raises(DecodeError, match="nesting deeper"):
        check_der(der, "value")


def test_children_split_a_constructed_value() -> None:
    seq = tlv(0x30, encode_integer(5) + encode_oid("2.5.4.3"))
    (tag, content) = split_tlv(seq)
    assert tag == 0x30
    assert [t for t, _, _ in children(content, "seq")] == [0x02, 0x06]


@pytest.mark.parametrize(
    ("tag", "text", "expected"),
    [
        (0x17, b"491231235959Z", datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (0x17, b"500101000000Z", datetime(1950, 1, 1, tzinfo=UTC)),
        (0x18, b"20500101000000Z", datetime(2050, 1, 1, tzinfo=UTC)),
    ],
)
def test_times_decode_with_the_rfc_5280_century_rule(
    tag: int, text: bytes, expected: datetime
) -> None:
    assert decode_time(tag, text, "t") == expected


@pytest.mark.parametrize(
    ("tag", "text"),
    [(0x17, b"4912312359Z"), (0x17, b"491231235959+0300"), (0x18, b"20501301000000Z")],
)
def test_times_outside_rfc_5280_forms_are_refused(tag: int, text: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_time(tag, text, "t")
