"""The CRL's PEM body: libcrypto's encoder (``EVP_EncodeUpdate``) and the pure-Python fallback
lay out the same bytes as RFC 7468's strict layout built line by line — at every length
around a line (48 bytes) and a PEM block, and across blocks."""

from __future__ import annotations

import base64
import io
import itertools
import os

import pytest

from atlas_ca.x509 import crl
from atlas_ca.x509.pem import PemLabel, pem_encode

LENGTHS = [
    *range(0, 200),
    crl._PEM_BLOCK - 1,
    crl._PEM_BLOCK,
    crl._PEM_BLOCK + 1,
    3 * crl._PEM_BLOCK + 17,
    1_000_003,
]


def _reference(data: bytes) -> bytes:
    enc = base64.b64encode(data)
    return b"".join(enc[i : i + 64] + b"\n" for i in range(0, len(enc), 64))


def test_libcrypto_encoder_is_used() -> None:
    crl._pem_lines(b"x")
    assert isinstance(crl._openssl_base64, crl._OpenSslBase64)  # libcrypto 3 is a dependency


@pytest.mark.parametrize("n", LENGTHS)
def test_both_encoders_give_the_strict_layout(n: int) -> None:
    data = os.urandom(n)
    expected = _reference(data)
    assert crl._pem_lines(data) == expected
    assert crl._pem_lines_strided(data) == expected


def test_streamed_pem_is_pem_encode_of_the_der(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_write_pem`` over parts that split lines and blocks anywhere, with either encoder."""
    data = os.urandom(5 * crl._PEM_BLOCK + 1234)
    cuts = [0, 1, 47, 100_000, crl._PEM_BLOCK + 5, 4 * crl._PEM_BLOCK, len(data)]
    parts = [data[a:b] for a, b in itertools.pairwise(cuts)]
    expected = pem_encode(data, PemLabel.X509_CRL)
    for encoder in (crl._openssl_base64, False):
        monkeypatch.setattr(crl, "_openssl_base64", encoder)
        out = io.BytesIO()
        written = crl._write_pem(out, iter(parts))
        assert out.getvalue() == expected
        assert written == len(expected)
