"""RFC 3161 time stamps as library functions, checked by ``openssl ts -verify``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.asn1.oids import Tsp
from atlas_ca.errors import SignatureInvalid
from atlas_ca.profiles import lint
from atlas_ca.status.tsp import (
    ImprintHash,
    TimeStampAuthority,
    TsaSigner,
    build_request,
    parse_response,
    verify_token,
)
from support.status_env import Pki, build_pki

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]

DATA = "Документ для штампа времени".encode()


@pytest.fixture(scope="module")
def pki(softhsm: Any, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("tsp-lib")
    return build_pki(base, softhsm, str(base / "register.sqlite3"), "tsplib")


@pytest.fixture(scope="module")
def tsa(pki: Pki) -> TimeStampAuthority:
    signer = TsaSigner(pki.tsa_key, pki.tsa, Tsp.EXAMPLE_POLICY)
    return TimeStampAuthority(signer, now=lambda: dt.datetime.now(dt.UTC))


def test_the_tsa_certificate_passes_the_linter_under_the_tsa_profile(pki: Pki) -> None:
    report = lint.lint_der(pki.tsa.der, "tsa")
    assert not report.errors, report


@pytest.mark.parametrize("alg", list(ImprintHash))
def test_a_granted_token_verifies_with_our_verifier(
    tsa: TimeStampAuthority, pki: Pki, alg: ImprintHash
) -> None:
    status, token, failure = parse_response(
        tsa.respond(build_request(DATA, hash_algorithm=alg, nonce=42))
    )
    assert (status, failure) == ("granted", None)
    assert token is not None
    info = verify_token(token, data=DATA, tsa_certificate=pki.tsa)
    assert info.nonce == 42
    assert info.policy == Tsp.EXAMPLE_POLICY.dotted
    assert info.hash_algorithm is alg
    with pytest.raises(SignatureInvalid, match="imprint"):
        verify_token(token, data=DATA + b"!", tsa_certificate=pki.tsa)


def test_serials_are_unique(tsa: TimeStampAuthority, pki: Pki) -> None:
    serials = set()
    for _ in range(5):
        _, token, _ = parse_response(tsa.respond(build_request(DATA)))
        assert token is not None
        serials.add(verify_token(token, data=DATA, tsa_certificate=pki.tsa).serial)
    assert len(serials) == 5


def test_bad_requests_are_rejected_with_their_failure_bit(tsa: TimeStampAuthority) -> None:
    assert parse_response(tsa.respond(b"\x30\x00"))[0::2] == ("rejection", "bad_data_format")
    wrong_length = build_request(imprint=b"\x00" * 31, hash_algorithm=ImprintHash.STREEBOG256)
    assert parse_response(tsa.respond(wrong_length))[2] == "bad_data_format"
    from atlas_ca.asn1.oids import Policy

    other_policy = build_request(DATA, policy=Policy.ANY_POLICY)
    assert parse_response(tsa.respond(other_policy))[0::2] == ("rejection", "unaccepted_policy")
    assert parse_response(tsa.respond(b"\x30" * 20_000))[0] == "rejection"


def _openssl_verify(
    openssl_gost: Any, pki: Pki, tmp_path: Path, reply: bytes, data: bytes
) -> tuple[bool, str]:
    (tmp_path / "reply.tsr").write_bytes(reply)
    (tmp_path / "data.bin").write_bytes(data)
    proc = openssl_gost.run(
        [
            "ts", "-verify", "-in", tmp_path / "reply.tsr", "-data", tmp_path / "data.bin",
            "-CAfile", pki.path("ca"), "-untrusted", pki.path("tsa"),
        ],
        check=False,
    )  # fmt: skip
    out = (proc.stdout + proc.stderr).decode()
    return proc.returncode == 0 and "Verification: OK" in out, out


@pytest.mark.parametrize("alg", [ImprintHash.STREEBOG256, ImprintHash.SHA256])
def test_openssl_ts_verify_accepts_our_tokens_and_rejects_a_changed_imprint(
    tsa: TimeStampAuthority, pki: Pki, openssl_gost: Any, tmp_path: Path, alg: ImprintHash
) -> None:
    reply = tsa.respond(build_request(DATA, hash_algorithm=alg, nonce=7, cert_req=True))
    ok, out = _openssl_verify(openssl_gost, pki, tmp_path, reply, DATA)
    assert ok, out
    ok, out = _openssl_verify(openssl_gost, pki, tmp_path, reply, DATA + b"changed")
    assert not ok
    assert "message imprint mismatch" in out, out


def test_openssl_ts_query_is_answered(
    tsa: TimeStampAuthority, pki: Pki, openssl_gost: Any, tmp_path: Path
) -> None:
    (tmp_path / "data.bin").write_bytes(DATA)
    query = openssl_gost.run(
        ["ts", "-query", "-data", tmp_path / "data.bin", "-md_gost12_256", "-cert"]
    ).stdout
    reply = tsa.respond(query)
    assert parse_response(reply)[0] == "granted"
    ok, out = _openssl_verify(openssl_gost, pki, tmp_path, reply, DATA)
    assert ok, out
