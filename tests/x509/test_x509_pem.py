"""PEM with OpenSSL's labels, both ways."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.errors import DecodeError
from atlas_ca.x509.pem import PemLabel, pem_blocks, pem_decode, pem_encode, read_der_or_pem


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=500), st.sampled_from(list(PemLabel)))
def test_pem_round_trips_any_der(der: bytes, label: PemLabel) -> None:
    pem = pem_encode(der, label)
    assert pem_decode(pem, label) == der
    assert all(len(line) <= 64 for line in pem.splitlines())


def test_labels_are_openssls() -> None:
    assert pem_encode(b"\x30\x00", PemLabel.CERTIFICATE_REQUEST).startswith(
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
    )
    assert pem_encode(b"\x30\x00", PemLabel.X509_CRL).endswith(b"-----END X509 CRL-----\n")


def test_old_new_certificate_request_label_is_accepted() -> None:
    body = base64.b64encode(b"\x30\x00")
    pem = (
        b"-----BEGIN NEW CERTIFICATE REQUEST-----\n"
        + body
        + b"\n-----END NEW CERTIFICATE REQUEST-----\n"
    )
    assert pem_decode(pem, PemLabel.CERTIFICATE_REQUEST) == b"\x30\x00"


def test_several_blocks_and_surrounding_text_are_read_in_order() -> None:
    pem = (
        b"Bag attributes\n"
        + pem_encode(b"\x30\x01\x00", PemLabel.CERTIFICATE)
        + b"\n"
        + pem_encode(b"\x30\x02\x00\x00", PemLabel.X509_CRL)
    )
    assert pem_blocks(pem) == [
        (PemLabel.CERTIFICATE, b"\x30\x01\x00"),
        (PemLabel.X509_CRL, b"\x30\x02\x00\x00"),
    ]
    assert read_der_or_pem(pem) == (PemLabel.CERTIFICATE, b"\x30\x01\x00")
    assert read_der_or_pem(b"\x30\x00") == (None, b"\x30\x00")


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "invalid base64"),
        (b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END X509 CRL-----\n", "ends with END"),
        (b"-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n", "empty"),
        (b"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n", "expected a PEM block"),
    ],
)
def test_bad_pem_says_what_is_wrong(pem: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        pem_decode(pem, PemLabel.CERTIFICATE)
