"""RFC 7512 PKCS#11 URIs and file: key URIs: parsing, round trips, masking, PIN sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.errors import InvalidKeyUri, PinSourceError
from atlas_ca.hsm.uri import FileKeyUri, ObjectType, Pkcs11Uri, read_pin_source, resolve_pin

# Examples from RFC 7512 §3.
RFC_EXAMPLES = [
    "pkcs11:",
    "pkcs11:object=my-pubkey;type=public",
    "pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
    "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
    "model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial="
    "?pin-source=file:/etc/token_pin",
    "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
    "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
    "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
    "pkcs11:slot-description=Sun%20Metaslot",
    "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;"
    "library-version=1.23",
    "pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;"
    "id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
    "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
    "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
    "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a"
    "?pin-source=file:/etc/token_pin&vendor-bbb=value-b",
]


@pytest.mark.parametrize("text", RFC_EXAMPLES)
def test_every_rfc7512_example_parses_and_round_trips(text: str) -> None:
    uri = Pkcs11Uri.parse(text)
    assert Pkcs11Uri.parse(str(uri)) == uri


def test_attributes_are_percent_decoded_into_typed_values() -> None:
    uri = Pkcs11Uri.parse(RFC_EXAMPLES[3])
    assert uri.token == "The Software PKCS#11 Softtoken"
    assert uri.manufacturer == "Snake Oil, Inc."
    assert uri.type is ObjectType.CERT
    assert uri.id == bytes.fromhex("69953e5cf4bdec91")
    assert uri.serial == ""
    assert uri.pin_source == "file:/etc/token_pin"
    v = Pkcs11Uri.parse(RFC_EXAMPLES[9])
    assert v.library_version == (3, 0)
    assert v.token == "My token% created by Joe"
    assert v.id == bytes.fromhex("010203badd cafe040506".replace(" ", ""))
    acute = Pkcs11Uri.parse(RFC_EXAMPLES[11])
    assert acute.token == "Name with a small A with acute: á"
    vendor = Pkcs11Uri.parse(RFC_EXAMPLES[12])
    assert vendor.vendor_path == (("vendor-aaa", "value-a"),)
    assert vendor.vendor_query == (("vendor-bbb", "value-b"),)


def test_canonical_string_is_reproduced_exactly() -> None:
    text = "pkcs11:token=CA;object=root-2026;id=%01%A0?pin-source=env:PIN&module-path=/usr/lib/x.so"
    assert str(Pkcs11Uri.parse(text)) == text


def test_pin_value_is_masked_in_repr_and_masked_form_but_kept_in_str() -> None:
    uri = Pkcs11Uri.parse("pkcs11:token=CA?pin-value=s3cret-4711")
    assert uri.pin_value == "s3cret-4711"
    assert "s3cret" not in repr(uri)
    assert "s3cret" not in uri.masked()
    assert "pin-value=***" in uri.masked()
    assert "s3cret-4711" in str(uri)
    f = FileKeyUri.parse("file:/k.pem?pin-value=s3cret-4711")
    assert "s3cret" not in repr(f)
    assert "s3cret" not in f.masked()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("pkcs11x:token=a", "must start with 'pkcs11:'"),
        ("pkcs11:token=a;token=b", "'token' appears twice"),
        ("pkcs11:token=a b", "must be percent-encoded"),
        ("pkcs11:object=a/b", "must be percent-encoded"),
        ("pkcs11:id=%0", "two hex digits"),
        ("pkcs11:id=%zz", "two hex digits"),
        ("pkcs11:type=key", "type 'key' is not one of"),
        ("pkcs11:slot-id=x1", "not a decimal number"),
        ("pkcs11:library-version=1.x", "not of the form"),
        ("pkcs11:token", "has no '='"),
        ("pkcs11:token=%FF", "not valid UTF-8"),
        ("pkcs11:?pin-value=1&pin-source=file:/p", "both pin-source and pin-value"),
        ("pkcs11:?module-path=/a&module-path=/b", "'module-path' appears twice"),
        ("pkcs11:t%41=1", "attribute name"),
    ],
)
def test_malformed_uris_are_refused_with_a_precise_message(text: str, fragment: str) -> None:
    with pytest.raises(InvalidKeyUri) as info:
        Pkcs11Uri.parse(text)
    assert fragment in str(info.value)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_opt_text = st.none() | _text
_vendor_name = st.from_regex(r"x-[a-z0-9_-]{1,8}", fullmatch=True)


@settings(max_examples=150)
@given(
    token=_opt_text,
    serial=_opt_text,
    obj=_opt_text,
    type_=st.none() | st.sampled_from(ObjectType),
    id_=st.none() | st.binary(max_size=20),
    slot_id=st.none() | st.integers(0, 2**32),
    version=st.none() | st.tuples(st.integers(0, 999), st.integers(0, 999)),
    vendor=st.lists(st.tuples(_vendor_name, _text), max_size=2).map(tuple),
    pin_source=_opt_text,
    module_path=_opt_text,
)
def test_any_uri_survives_a_round_trip_through_its_string(
    token: str | None,
    serial: str | None,
    obj: str | None,
    type_: ObjectType | None,
    id_: bytes | None,
    slot_id: int | None,
    version: tuple[int, int] | None,
    vendor: tuple[tuple[str, str], ...],
    pin_source: str | None,
    module_path: str | None,
) -> None:
    uri = Pkcs11Uri(
        token=token,
        serial=serial,
        object=obj,
        type=type_,
        id=id_,
        slot_id=slot_id,
        library_version=version,
        vendor_path=vendor,
        pin_source=pin_source,
        module_path=module_path,
        vendor_query=vendor,
    )
    assert Pkcs11Uri.parse(str(uri)) == uri


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_parsing_arbitrary_text_raises_only_our_error(text: str) -> None:
    try:
        uri = Pkcs11Uri.parse("pkcs11:" + text)
    except InvalidKeyUri:
        return
    assert Pkcs11Uri.parse(str(uri)) == uri


def test_file_uri_forms_and_round_trip(tmp_path: Path) -> None:
    a = FileKeyUri.parse("file:///var/keys/ca%20key.pem?pin-source=file:/run/pass")
    assert a.path == Path("/var/keys/ca key.pem")
    assert a.pin_source == "file:/run/pass"
    assert FileKeyUri.parse(str(a)) == a
    assert FileKeyUri.parse("file://localhost/k.pem").path == Path("/k.pem")
    with pytest.raises(InvalidKeyUri, match="absolute path"):
        FileKeyUri.parse("file:k.pem")
    with pytest.raises(InvalidKeyUri, match="host 'example'"):
        FileKeyUri.parse("file://example/k.pem")
    with pytest.raises(InvalidKeyUri, match="'module-path' is unknown"):
        FileKeyUri.parse("file:/k.pem?module-path=/x")


def test_pin_sources_read_files_and_environment(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("1234\n")
    assert read_pin_source(f"file:{pin_file}") == "1234"
    assert read_pin_source(f"file://{pin_file}") == "1234"
    assert read_pin_source(str(pin_file)) == "1234"
    assert read_pin_source("env:ATLAS_PIN", environ={"ATLAS_PIN": "9876"}) == "9876"
    assert resolve_pin("1111", "2222", f"file:{pin_file}") == "1111"
    assert resolve_pin(None, "2222", None) == "2222"
    assert resolve_pin(None, None, None) is None


def test_unreadable_pin_sources_fail_without_guessing(tmp_path: Path) -> None:
    with pytest.raises(PinSourceError, match="ATLAS_NOPE is not set"):
        read_pin_source("env:ATLAS_NOPE", environ={})
    with pytest.raises(PinSourceError, match="does not exist"):
        read_pin_source(f"file:{tmp_path / 'missing'}")
    with pytest.raises(PinSourceError, match="is not file:/path"):
        read_pin_source("|/bin/echo 1234")


@settings(max_examples=100)
@given(pin=st.text(st.characters(blacklist_categories=("Cs",)), min_size=4, max_size=16))
def test_no_pin_value_ever_shows_in_repr_or_masked_form(pin: str) -> None:
    uri = Pkcs11Uri(token="CA", object="k", pin_value=pin)
    parsed = Pkcs11Uri.parse(str(uri))
    assert parsed.pin_value == pin
    for text in (repr(parsed), parsed.masked()):
        assert "***" in text
        if pin not in "pkcs11:token=CA;object=k?pin-value=***Pkcs11Uri(token='CA', object='k')":
            assert pin not in text


@settings(max_examples=150)
@given(
    path=st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1
        ),
        min_size=1,
        max_size=4,
    ),
    source=st.none() | st.text(max_size=20),
)
def test_any_file_uri_survives_a_round_trip(path: list[str], source: str | None) -> None:
    uri = FileKeyUri(Path("/" + "/".join(path)), pin_source=source)
    assert FileKeyUri.parse(str(uri)) == uri


@settings(max_examples=150)
@given(st.text(max_size=60))
def test_parsing_arbitrary_file_uris_raises_only_our_error(text: str) -> None:
    try:
        FileKeyUri.parse("file:" + text)
    except InvalidKeyUri:
        return


def test_an_empty_pin_source_is_bad_input_not_a_token_error(tmp_path: Path) -> None:
    """An empty PIN reached the token as CKR_ARGUMENTS_BAD (exit 3); it is the operator's input."""
    for content in ("", "\n", "\r\n"):
        empty = tmp_path / "empty.pin"
        empty.write_text(content)
        with pytest.raises(PinSourceError, match="is empty") as info:
            read_pin_source(f"file:{empty}")
        assert info.value.exit_code == 2
    with pytest.raises(PinSourceError, match="ATLAS_PIN is empty"):
        read_pin_source("env:ATLAS_PIN", environ={"ATLAS_PIN": ""})
