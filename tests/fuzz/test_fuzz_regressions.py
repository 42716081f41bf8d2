"""Issue 15 item 6: each kind of traceback the fuzzer found, pinned as a case of its own.

Before the fix: deep nesting inside an extension value raised RecursionError (check_der does not
walk inside the extnValue OCTET STRING; asn1crypto parses recursively); a huge INTEGER made
Python's int-to-str limit raise ValueError while a message or repr was formatted; asn1crypto's
multi-line complaints reached our messages (and lint findings) as they were.
"""

from __future__ import annotations

import datetime as dt

import pytest

from atlas_ca.asn1 import oids
from atlas_ca.errors import MAX_MESSAGE, AtlasCaError, DecodeError
from atlas_ca.profiles.lint import lint_der
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.crl import CrlBuilder, RevokedEntry, load_crl
from atlas_ca.x509.extensions import (
    BasicConstraints,
    KeyUsage,
    KeyUsageBit,
    PrivateKeyUsagePeriod,
)
from atlas_ca.x509.names import Name
from support.fuzz_support import _fix_lengths, check, deep_nesting, huge_integer, tlv_offsets
from support.x509_signers import MemoryKey, gost_key

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
BC = BasicConstraints(True, True, 3)
PKUP = PrivateKeyUsagePeriod(False, T0, T0 + dt.timedelta(days=365))


@pytest.fixture(scope="module")
def key() -> MemoryKey:
    return gost_key("cryptopro-a")


@pytest.fixture(scope="module")
def cert(key: MemoryKey) -> Certificate:
    name = Name.build([(oids.NameAttribute.COMMON_NAME, "Тестовый УЦ")])
    return (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key_info)
        .serial_number(0x1001)
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=3650))
        .add_extension(BC)
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN})))
        .add_extension(PKUP)
        .sign(key)
    )


def _swap(der: bytes, old: bytes, new: bytes) -> bytes:
    """``der`` with the TLV ``old`` replaced by ``new`` and every enclosing length fixed."""
    start = der.index(old)
    assert any(s == start and e == start + len(old) for s, _, e in tlv_offsets(der))
    return _fix_lengths(der, start, start + len(old), new)


def test_deep_nesting_inside_basic_constraints_is_a_decode_error(cert: Certificate) -> None:
    mutant = _swap(cert.der, BC.value_der(), deep_nesting(3000))
    with pytest.raises(DecodeError, match="basicConstraints extension is nested too deeply"):
        Certificate.from_der(mutant)
    assert check("show", mutant) is None
    assert check("lint", mutant) is None


def test_a_huge_path_length_is_refused_not_left_for_repr_to_trip_over(cert: Certificate) -> None:
    value = BC.value_der()
    inner = value[:-3] + huge_integer(2000)  # ..., INTEGER 3 -> a 4,800-digit INTEGER
    mutant = _swap(cert.der, value, b"\x30" + _len(len(inner) - 2) + inner[2:])
    with pytest.raises(DecodeError, match="pathLenConstraint of"):
        Certificate.from_der(mutant)


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def test_a_huge_integer_in_a_crl_is_a_decode_error(key: MemoryKey, cert: Certificate) -> None:
    crl = (
        CrlBuilder()
        .issuer_certificate(cert.der)
        .this_update(T0)
        .next_update(T0 + dt.timedelta(days=7))
        .crl_number(5)
        .sign(key, [RevokedEntry(0x1234, T0)])
        .der()
    )
    version = b"\x02\x01\x01"
    bad_version = _swap(crl, version, huge_integer(5000))
    with pytest.raises(DecodeError, match="INTEGER of 5000 octets is too long"):
        load_crl(bad_version)
    bad_serial = _swap(crl, b"\x02\x02\x12\x34", huge_integer(5000))
    with pytest.raises(DecodeError, match="too long"):
        list(load_crl(bad_serial))


def test_asn1crypto_complaints_become_one_line_messages(cert: Certificate) -> None:
    # A truncated privateKeyUsagePeriod: asn1crypto's message spans lines ("... while parsing").
    value = PKUP.value_der()
    broken = value[:-4]
    mutant = _swap(cert.der, value, b"\x30" + _len(len(broken) - 2) + broken[2:])
    with pytest.raises(AtlasCaError) as info:
        Certificate.from_der(mutant)
    assert "\n" not in str(info.value)
    report = lint_der(mutant)
    assert report.findings
    assert all("\n" not in f.message for f in report.findings)


def test_every_error_message_is_one_bounded_line() -> None:
    err = DecodeError("first line\nsecond\tline  " + "x" * 5000)
    assert "\n" not in str(err)
    assert "\t" not in str(err)
    assert str(err).startswith("first line second line x")
    assert len(str(err)) == MAX_MESSAGE
    assert str(err).endswith("...")
