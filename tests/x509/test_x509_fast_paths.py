"""The issuance path's shortcuts (issue 17) agree with the paths they stand in for.

Each shortcut is compared with the slow path on valid values and on arbitrary or damaged
bytes: the same value, or an error of the same class.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca import gost
from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import oids, ru
from atlas_ca.errors import DecodeError
from atlas_ca.gost import PARAM_SETS, TEST_PARAM_SETS, param_set
from atlas_ca.x509 import names as names_module
from atlas_ca.x509.certificate import CertificateBuilder
from atlas_ca.x509.der import check_der, tlv
from atlas_ca.x509.extensions import (
    BasicConstraints,
    Extensions,
    IssuerSignTool,
    SubjectSignTool,
    _extension_der,
    _load,
)
from atlas_ca.x509.names import Name, NameAttribute, RelativeDistinguishedName, StringType


def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return ("error", type(exc))


# --- subjectSignTool: DER UTF8String read directly, anything else by asn1crypto -------------


def _tool_reference(der: bytes, critical: bool) -> SubjectSignTool:
    """The decoder before issue 17: asn1crypto for every value."""
    v = _load(ru.SubjectSignTool, der, "subjectSignTool")
    try:
        return SubjectSignTool(critical, v.native)
    except ValueError as exc:
        raise DecodeError(f"subjectSignTool: {exc}") from exc


def _utf8_tlv(text: str, *, long_form: int = 0) -> bytes:
    body = text.encode("utf-8")
    if long_form:  # a BER length of long_form octets, minimal or not
        return b"\x0c" + bytes((0x80 | long_form,)) + len(body).to_bytes(long_form, "big") + body
    return tlv(0x0C, body)


_TEXT = st.text(min_size=0, max_size=260)


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.booleans())
def test_subject_sign_tool_matches_asn1crypto_on_utf8_strings(text: str, critical: bool) -> None:
    der = _utf8_tlv(text)
    assert _outcome(SubjectSignTool.from_value_der, der, critical) == _outcome(
        _tool_reference, der, critical
    )


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.integers(1, 3), st.binary(max_size=3), st.integers(0, 6))
def test_subject_sign_tool_matches_asn1crypto_on_other_encodings(
    text: str, long_form: int, tail: bytes, damage: int
) -> None:
    der = _utf8_tlv(text, long_form=long_form)
    variants = [
        der,
        der + tail,  # trailing bytes
        der[:-1] if len(der) > 2 else der,  # truncated
        b"\x13" + der[1:],  # PrintableString tag
        b"\x2c" + der[1:],  # constructed UTF8String
        bytes((0x0C, 0x80)) + der[2:] + b"\x00\x00",  # indefinite length
        _utf8_tlv(text)[:2] + b"\xff\xfe" + _utf8_tlv(text)[2:],  # bad UTF-8 in front
    ]
    der = variants[damage]
    assert _outcome(SubjectSignTool.from_value_der, der, False) == _outcome(
        _tool_reference, der, False
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_subject_sign_tool_matches_asn1crypto_on_arbitrary_bytes(der: bytes) -> None:
    assert _outcome(SubjectSignTool.from_value_der, der, False) == _outcome(
        _tool_reference, der, False
    )


def test_subject_sign_tool_of_200_cyrillic_characters_reads_directly() -> None:
    text = "Ж" * 200  # 400 octets: the two-octet length form
    der = SubjectSignTool(False, text).value_der()
    assert der[:2] == b"\x0c\x82"
    assert SubjectSignTool.from_value_der(der, False) == SubjectSignTool(False, text)
    with pytest.raises(DecodeError):  # 201 characters: Order 795's limit, both paths
        SubjectSignTool.from_value_der(_utf8_tlv("Ж" * 201), False)


# --- Name: shared RDNs kept by exact DER --------------------------------------------------


def _name_reference(der: bytes) -> Name:
    """Name parsing with the shared-RDN table empty at every step (the path before issue 17)."""
    names_module._SHARED_RDNS.clear()
    try:
        return Name.from_der(der)
    finally:
        names_module._SHARED_RDNS.clear()


_VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)
_SHARED_ATTRS = (
    oids.NameAttribute.STATE_OR_PROVINCE_NAME,
    oids.NameAttribute.LOCALITY_NAME,
    oids.NameAttribute.ORGANIZATION_NAME,
    oids.NameAttribute.ORGANIZATIONAL_UNIT_NAME,
    oids.NameAttribute.COMMON_NAME,
    oids.NameAttribute.SURNAME,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(_SHARED_ATTRS), _VALUES), min_size=1, max_size=6),
    st.integers(0, 200),
    st.integers(0, 255),
)
def test_name_with_shared_rdns_parses_as_without_them(
    attrs: list[tuple[oids.Oid, str]], where: int, byte: int
) -> None:
    der = Name.build([(oids.NameAttribute.COUNTRY_NAME, "RU"), *attrs]).der
    damaged = der[: where % len(der)] + bytes((byte,)) + der[where % len(der) + 1 :]
    for value in (der, damaged):
        expected = _outcome(_name_reference, value)
        _outcome(Name.from_der, value)  # fills the table
        got = _outcome(Name.from_der, value)  # and reads from it
        assert got == expected
        if got[0] == "ok":
            assert [(a.oid, a.value, a.string_type) for a in got[1]] == [
                (a.oid, a.value, a.string_type) for a in expected[1]
            ]


def test_only_shared_attribute_types_are_kept() -> None:
    names_module._SHARED_RDNS.clear()
    name = Name.build(
        [
            (oids.NameAttribute.COUNTRY_NAME, "RU"),
            (oids.NameAttribute.LOCALITY_NAME, "Владивосток"),
            (oids.NameAttribute.COMMON_NAME, "Иванов Иван"),
            (oids.RuAttribute.SNILS, "11223344595"),
        ]
    )
    Name.from_der(name.der)
    kept = list(names_module._SHARED_RDNS.values())
    assert sorted(r.attributes[0].value for r in kept) == ["RU", "Владивосток"]


def test_shared_rdn_table_is_bounded() -> None:
    names_module._SHARED_RDNS.clear()
    for i in range(names_module._SHARED_MAX * 3):
        Name.from_der(Name.build([(oids.NameAttribute.LOCALITY_NAME, f"город {i}")]).der)
    assert 0 < len(names_module._SHARED_RDNS) <= names_module._SHARED_MAX


def test_one_attribute_rdn_and_duplicates_still_checked() -> None:
    attr = NameAttribute(oids.NameAttribute.COMMON_NAME, "x", StringType.UTF8)
    assert RelativeDistinguishedName((attr,)).attributes == (attr,)
    with pytest.raises(ValueError, match="repeats"):
        RelativeDistinguishedName((attr, attr))
    with pytest.raises(ValueError, match="at least one"):
        RelativeDistinguishedName(())


# --- extension DER by identity, validity once per pair, the builder's extensions ------------


def test_extension_der_by_identity_is_the_der_by_value() -> None:
    ext = IssuerSignTool(False, "СКЗИ «Атлас»", "ПАК «Атлас УЦ»", "СФ/1", "СФ/2")
    first = ext.der()
    assert ext.der() is first  # the second call: by identity
    assert first == _extension_der(
        IssuerSignTool(False, "СКЗИ «Атлас»", "ПАК «Атлас УЦ»", "СФ/1", "СФ/2")
    )
    check_der(first, "extension")
    for i in range(3000):  # many objects: bounded, and each still gets its own DER
        e = BasicConstraints(True, True, i)
        assert e.der() == _extension_der(e)
    from atlas_ca.x509 import extensions as ext_module

    assert len(ext_module._DER_BY_ID) <= ext_module._DER_BY_ID_MAX


def test_builder_still_refuses_duplicate_extensions_and_bad_validity() -> None:
    builder = CertificateBuilder().add_extension(BasicConstraints(True, False))
    with pytest.raises(ValueError, match="already added"):
        builder.add_extension(BasicConstraints(True, True))
    with pytest.raises(ValueError, match="appears more than once"):
        Extensions((BasicConstraints(True, False), BasicConstraints(True, True)))
    ps = param_set("cryptopro-a")
    spki = gost.public_key_from_private(ps, gost.generate_private_scalar(ps)).spki_der()
    name = Name.build([(oids.NameAttribute.COMMON_NAME, "x")])
    now = datetime.now(UTC)
    ready = builder.subject_name(name).issuer_name(name).public_key(spki).random_serial_number()
    for _ in range(2):  # the second time from the cache of validity values: refused again
        with pytest.raises(ValueError, match="later than"):
            ready.not_valid_before(now).not_valid_after(now - timedelta(days=1)).build_tbs(
                SignatureAlgorithm.GOST3410_2012_256
            )
    tbs = (
        ready.not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .build_tbs(SignatureAlgorithm.GOST3410_2012_256)
    )
    assert tbs.extensions == Extensions((BasicConstraints(True, False),))


def test_param_set_hash_agrees_with_equality() -> None:
    sets = (*PARAM_SETS, *TEST_PARAM_SETS)
    for ps in sets:
        assert hash(ps) == hash(replace(ps))
        assert ps == replace(ps)
    assert len({ps: None for ps in sets}) == len(sets)
