"""Names: exact DER, Russian string types, RFC 4514-like text, hostile input."""

from __future__ import annotations

import pytest
from cryptography import x509 as cx509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.asn1 import oids
from atlas_ca.errors import DecodeError
from atlas_ca.x509.names import Name, NameAttribute, StringType

SUBJECT = [
    (oids.NameAttribute.COUNTRY_NAME, "RU"),
    (oids.NameAttribute.STATE_OR_PROVINCE_NAME, "25 Приморский край"),
    (oids.NameAttribute.COMMON_NAME, "Иванов Иван Иванович"),
    (oids.RuAttribute.SNILS, "11223344595"),
    (oids.RuAttribute.INN, "253600000000"),
    (oids.RuAttribute.OGRN, "1022502121476"),
    (oids.NameAttribute.EMAIL_ADDRESS, "ivanov@example.ru"),
]


def test_russian_identifiers_are_numeric_strings_and_the_rest_follow_the_profile() -> None:
    name = Name.build(SUBJECT)
    types = {a.oid.name: a.string_type for a in name}
    assert types["SNILS"] is StringType.NUMERIC
    assert types["INN"] is StringType.NUMERIC
    assert types["OGRN"] is StringType.NUMERIC
    assert types["countryName"] is StringType.PRINTABLE
    assert types["emailAddress"] is StringType.IA5
    assert types["commonName"] is StringType.UTF8


def test_a_built_name_parses_back_equal_and_byte_exact() -> None:
    name = Name.build(SUBJECT)
    parsed = Name.from_der(name.der)
    assert parsed == name
    assert parsed.der == name.der
    assert list(parsed) == list(name)


def test_a_name_written_by_cryptography_reads_with_its_values() -> None:
    theirs = cx509.Name(
        [
            cx509.NameAttribute(NameOID.COUNTRY_NAME, "RU"),
            cx509.NameAttribute(NameOID.COMMON_NAME, "Иванов Иван Иванович"),
        ]
    ).public_bytes()
    name = Name.from_der(theirs)
    assert name.der == theirs
    assert name.get(oids.NameAttribute.COMMON_NAME) == ("Иванов Иван Иванович",)
    assert name == Name.build([SUBJECT[0], SUBJECT[2]])


def test_a_foreign_name_keeps_its_bytes_even_with_printable_identifiers() -> None:
    # SNILS written as PrintableString by another CA: accepted on input, kept byte for byte.
    foreign = cx509.Name(
        [
            cx509.NameAttribute(
                cx509.ObjectIdentifier(oids.RuAttribute.SNILS.dotted),
                "11223344595",
                cx509.name._ASN1Type.PrintableString,
            ),
            cx509.NameAttribute(NameOID.COMMON_NAME, "Test"),
        ]
    ).public_bytes()
    name = Name.from_der(foreign)
    assert name.der == foreign
    assert next(iter(name)).string_type is StringType.PRINTABLE


def test_text_form_is_most_specific_first_and_escapes_specials() -> None:
    name = Name.build(
        [
            (oids.NameAttribute.COUNTRY_NAME, "RU"),
            (oids.NameAttribute.COMMON_NAME, 'ООО "Ромашка", филиал'),
        ]
    )
    assert str(name) == 'CN=ООО \\"Ромашка\\"\\, филиал,C=RU'


@pytest.mark.parametrize(
    ("oid", "value", "message"),
    [
        (oids.RuAttribute.SNILS, "112-233-445 95", "NumericString"),
        (oids.NameAttribute.COUNTRY_NAME, "Russia", "two capital letters"),
        (oids.NameAttribute.EMAIL_ADDRESS, "иван@пример.рф", "ASCII"),
        (oids.NameAttribute.COMMON_NAME, "", "empty"),
    ],
)
def test_values_that_do_not_fit_their_string_type_are_refused(
    oid: oids.Oid, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        NameAttribute.of(oid, value)


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30",
        b"\x30\x05\x31\x03\x30\x01",
        b"\x30\x80\x00\x00",  # indefinite length: BER
        b"\x31\x00",  # a SET, not a Name
        bytes.fromhex("300d310b300906035504030c02") + b"\xff\xfe",  # bad UTF-8
    ],
)
def test_malformed_names_raise_decode_error(der: bytes) -> None:
    with pytest.raises(DecodeError):
        Name.from_der(der)


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=32), min_size=1, max_size=40
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    oids.NameAttribute.COMMON_NAME,
                    oids.NameAttribute.ORGANIZATION_NAME,
                    oids.NameAttribute.LOCALITY_NAME,
                    oids.NameAttribute.STREET_ADDRESS,
                ]
            ),
            _TEXT,
        ),
        max_size=6,
    ),
    st.lists(st.from_regex(r"[0-9]{1,15}", fullmatch=True), max_size=3),
)
def test_any_name_round_trips_through_der(
    texts: list[tuple[oids.Oid, str]], numbers: list[str]
) -> None:
    attrs = [*texts, *((oids.RuAttribute.INN, n) for n in numbers)]
    name = Name.build(attrs)
    again = Name.from_der(name.der)
    assert again == name
    assert [(a.oid.dotted, a.value) for a in again] == [(o.dotted, v) for o, v in attrs]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_never_escape_as_anything_but_decode_error(data: bytes) -> None:
    try:
        name = Name.from_der(data)
    except DecodeError as exc:
        assert str(exc)  # noqa: PT017 - a message that says what is wrong
    else:
        assert name.der == data
