"""OCSP as library functions: requests, GOST-signed responses from the register, OpenSSL as the
outside verifier of ours and as the author of responses our parser reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import ocsp as asn1_ocsp

from atlas_ca.algorithms import KeyType
from atlas_ca.errors import DecodeError, SignatureInvalid
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.profiles.planning import issue_certificate, plan_ocsp_certificate
from atlas_ca.status.ocsp import (
    CertId,
    CertIdHash,
    CertState,
    OcspIssuer,
    OcspLimits,
    OcspRequestRejected,
    OcspResponder,
    OcspStatus,
    StatusSource,
    build_request,
    parse_request,
    parse_response,
)
from atlas_ca.storage import RevocationReason
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.pem import read_der_or_pem
from support.status_env import OPERATOR, Pki, build_pki

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]


@pytest.fixture(scope="module")
def pki(softhsm: Any, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("ocsp-lib")
    return build_pki(base, softhsm, str(base / "register.sqlite3"), "ocsplib")


def responder_for(pki: Pki, *, delegated: bool = True, **kw: Any) -> OcspResponder:
    issuer = (
        OcspIssuer(pki.ca.certificate, pki.responder_key, pki.responder)
        if delegated
        else OcspIssuer(pki.ca.certificate, pki.ca.key, pki.ca.certificate)
    )
    return OcspResponder(
        StatusSource(pki.world.register), [issuer], now=lambda: dt.datetime.now(dt.UTC), **kw
    )


def ask(pki: Pki, responder: OcspResponder, cert: Certificate, **kw: Any) -> Any:
    alg = kw.pop("hash_algorithm", CertIdHash.SHA1)
    der = build_request([CertId.for_serial(pki.ca.certificate, cert.serial_number, alg)], **kw)
    answer = responder.respond(der)
    return parse_response(answer.der, issuer=pki.ca.certificate), answer


@pytest.mark.parametrize("alg", list(CertIdHash))
def test_good_revoked_held_and_unknown_in_every_certid_hash(pki: Pki, alg: CertIdHash) -> None:
    responder = responder_for(pki)
    info, _ = ask(pki, responder, pki.good, hash_algorithm=alg)
    assert info.status is OcspStatus.SUCCESSFUL
    assert info.responses[0].status.state is CertState.GOOD
    assert info.responses[0].cert_id.hash_algorithm is alg
    assert info.signer == pki.responder
    info, _ = ask(pki, responder, pki.revoked, hash_algorithm=alg)
    assert info.responses[0].status.state is CertState.REVOKED
    assert info.responses[0].status.reason is RevocationReason.KEY_COMPROMISE
    info, _ = ask(pki, responder, pki.held, hash_algorithm=alg)
    assert info.responses[0].status.state is CertState.REVOKED
    assert info.responses[0].status.reason is RevocationReason.CERTIFICATE_HOLD
    der = build_request([CertId.for_serial(pki.ca.certificate, 0x5EED, alg)])
    info = parse_response(responder.respond(der).der, issuer=pki.ca.certificate)
    assert info.responses[0].status.state is CertState.UNKNOWN


def test_the_nonce_is_echoed_and_a_nonced_response_is_not_cacheable(pki: Pki) -> None:
    responder = responder_for(pki)
    info, answer = ask(pki, responder, pki.good, nonce=b"\x01" * 16)
    assert info.nonce == b"\x01" * 16
    assert not answer.cacheable
    info, answer = ask(pki, responder, pki.good)
    assert info.nonce is None
    assert answer.cacheable


def test_the_ca_key_can_sign_instead_of_a_delegated_responder(pki: Pki) -> None:
    info, _ = ask(pki, responder_for(pki, delegated=False), pki.good)
    assert info.signer == pki.ca.certificate


def test_a_cached_response_is_reused_until_the_status_changes(pki: Pki, softhsm: Any) -> None:
    world = pki.world
    extra = world.service().issue(world.request()).certificate
    responder = responder_for(pki)
    _, first = ask(pki, responder, extra)
    _, again = ask(pki, responder, extra)
    assert again.from_cache
    assert again.der == first.der
    pki.revocation().revoke(extra.serial_number, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    info, after = ask(pki, responder, extra)
    assert not after.from_cache
    assert info.responses[0].status.state is CertState.REVOKED
    assert info.responses[0].status.reason is RevocationReason.SUPERSEDED


def test_a_revocation_of_another_serial_does_not_re_sign_a_cached_answer(pki: Pki) -> None:
    world = pki.world
    a, b = (world.service().issue(world.request()).certificate for _ in range(2))
    responder = responder_for(pki)
    _, first = ask(pki, responder, a)
    pki.revocation().revoke(b.serial_number, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    _, again = ask(pki, responder, a)
    assert again.from_cache
    assert again.der == first.der


def test_errors_are_ocsp_statuses(pki: Pki, tmp_path: Path) -> None:
    responder = responder_for(pki)
    assert responder.respond(b"\x30\x03\x02\x01\x01").status is OcspStatus.MALFORMED_REQUEST
    assert responder.respond(b"").status is OcspStatus.MALFORMED_REQUEST
    assert responder.respond(b"\x30" * 70_000).status is OcspStatus.MALFORMED_REQUEST
    foreign = CertId(CertIdHash.SHA1, b"\x00" * 20, b"\x11" * 20, 5)
    answer = responder.respond(build_request([foreign]))
    assert answer.status is OcspStatus.UNAUTHORIZED
    parsed = asn1_ocsp.OCSPResponse.load(answer.der)
    assert parsed["response_status"].native == "unauthorized"


def test_a_request_for_1000_serials_is_refused_by_the_count_limit_and_256_are_answered(
    pki: Pki,
) -> None:
    responder = responder_for(pki)
    ids = [CertId.for_serial(pki.ca.certificate, n) for n in range(1, 1001)]
    assert responder.respond(build_request(ids)).status is OcspStatus.MALFORMED_REQUEST
    answer = responder.respond(build_request(ids[:256]))
    info = parse_response(answer.der, issuer=pki.ca.certificate)
    assert len(info.responses) == 256
    with pytest.raises(OcspRequestRejected, match="limit"):
        parse_request(build_request(ids), OcspLimits(max_cert_ids=999))


def test_an_oversized_nonce_is_malformed(pki: Pki) -> None:
    der = build_request([CertId.for_serial(pki.ca.certificate, 1)], nonce=b"\x02" * 33)
    assert responder_for(pki).respond(der).status is OcspStatus.MALFORMED_REQUEST


def test_a_tampered_response_fails_our_parser(pki: Pki) -> None:
    _, answer = ask(pki, responder_for(pki), pki.good)
    tampered = bytearray(answer.der)
    tampered[-10] ^= 0x01
    with pytest.raises((SignatureInvalid, DecodeError)):
        parse_response(bytes(tampered), issuer=pki.ca.certificate)


def _openssl_ocsp_check(openssl_gost: Any, pki: Pki, response: Path, cert: Certificate) -> str:
    proc = openssl_gost.run(
        [
            "ocsp", "-respin", response, "-issuer", pki.path("ca"), "-CAfile", pki.path("ca"),
            "-serial", str(cert.serial_number), "-no_nonce",
        ],
        check=False,
    )  # fmt: skip
    return (proc.stdout + proc.stderr).decode()


def test_openssl_verifies_our_responses_and_rejects_a_tampered_one(
    pki: Pki, openssl_gost: Any, tmp_path: Path
) -> None:
    responder = responder_for(pki)
    for cert, expected in (
        (pki.good, "good"),
        (pki.revoked, "revoked"),
        (pki.held, "revoked"),
    ):
        _, answer = ask(pki, responder, cert)
        path = tmp_path / "r.der"
        path.write_bytes(answer.der)
        out = _openssl_ocsp_check(openssl_gost, pki, path, cert)
        assert "Response verify OK" in out, out
        assert f": {expected}" in out, out
    tampered = bytearray(answer.der)
    tampered[-10] ^= 0x01
    path.write_bytes(bytes(tampered))
    out = _openssl_ocsp_check(openssl_gost, pki, path, pki.held)
    assert "Response verify OK" not in out
    assert "Response Verify Failure" in out or "error" in out.lower(), out


def openssl_responder_files(pki: Pki, openssl_gost: Any, base: Path) -> dict[str, Path]:
    """An OpenSSL responder's key (made by OpenSSL), its certificate from our CA, and an
    index.txt of the PKI's certificates: the reference responder of tests and bench/ocsp.py."""
    key = base / "openssl-responder.key"
    openssl_gost.run(
        ["genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A", "-out", key]
    )
    spki_pem = openssl_gost.run(["pkey", "-in", key, "-pubout"]).stdout
    spki = read_der_or_pem(spki_pem)[1]
    cert = issue_certificate(
        plan_ocsp_certificate(
            pki_org(),
            spki,
            pki_config(),
            pki.ca.key,
            not_before=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        ),
        pki.ca.key,
        serial=random_serial(),
        issuer=pki.ca.certificate,
    )
    cert_path = base / "openssl-responder.pem"
    cert_path.write_bytes(cert.pem())
    index = base / "index.txt"
    index.write_text(index_lines(pki))
    return {"key": key, "cert": cert_path, "index": index}


def pki_org() -> Any:
    from support.status_env import CA_ORG

    return CA_ORG


def pki_config() -> Any:
    from support.status_env import CONFIG

    return CONFIG


def index_lines(pki: Pki) -> str:
    def when(t: dt.datetime) -> str:
        return t.astimezone(dt.UTC).strftime("%y%m%d%H%M%SZ")

    rows = []
    for cert, state in ((pki.good, "V"), (pki.revoked, "R"), (pki.held, "H")):
        serial = format(cert.serial_number, "X")
        if len(serial) % 2:
            serial = "0" + serial
        if state == "V":
            rows.append(f"V\t{when(cert.not_after)}\t\t{serial}\tunknown\t/CN=x")
        elif state == "R":
            rows.append(
                f"R\t{when(cert.not_after)}\t{when(cert.not_before)},keyCompromise\t{serial}"
                "\tunknown\t/CN=x"
            )
        else:
            rows.append(
                f"R\t{when(cert.not_after)}\t{when(cert.not_before)},certificateHold\t{serial}"
                "\tunknown\t/CN=x"
            )
    return "\n".join(rows) + "\n"


def test_our_parser_reads_openssl_responses(pki: Pki, openssl_gost: Any, tmp_path: Path) -> None:
    files = openssl_responder_files(pki, openssl_gost, tmp_path)
    expected = {
        pki.good.serial_number: (CertState.GOOD, None),
        pki.revoked.serial_number: (CertState.REVOKED, RevocationReason.KEY_COMPROMISE),
        pki.held.serial_number: (CertState.REVOKED, RevocationReason.CERTIFICATE_HOLD),
    }
    for serial, (state, reason) in expected.items():
        req = tmp_path / "req.der"
        req.write_bytes(
            build_request([CertId.for_serial(pki.ca.certificate, serial)], nonce=b"\x07" * 8)
        )
        resp = tmp_path / "resp.der"
        openssl_gost.run(
            [
                "ocsp", "-index", files["index"], "-CA", pki.path("ca"), "-rsigner",
                files["cert"], "-rkey", files["key"], "-reqin", req, "-respout", resp,
            ]
        )  # fmt: skip
        info = parse_response(resp.read_bytes(), issuer=pki.ca.certificate)
        assert info.status is OcspStatus.SUCCESSFUL
        assert info.nonce == b"\x07" * 8
        (single,) = info.responses
        assert single.cert_id.serial == serial
        assert (single.status.state, single.status.reason) == (state, reason)


def test_a_responder_serves_several_cas(pki: Pki, softhsm: Any, tmp_path: Path) -> None:
    other_key = open_token(softhsm.uri()).generate_key(KeyType.GOST3410_2012_256, label="ocsp2-ca")
    from support import status_env

    other = status_env.issuance_env.make_ca(other_key)
    responder = OcspResponder(
        StatusSource(pki.world.register),
        [
            OcspIssuer(pki.ca.certificate, pki.responder_key, pki.responder),
            OcspIssuer(other.certificate, other_key, other.certificate),
        ],
        now=lambda: dt.datetime.now(dt.UTC),
    )
    info, _ = ask(pki, responder, pki.revoked)
    assert info.responses[0].status.state is CertState.REVOKED
    der = build_request([CertId.for_serial(other.certificate, pki.revoked.serial_number)])
    info = parse_response(responder.respond(der).der, issuer=other.certificate)
    assert info.signer == other.certificate
    assert info.responses[0].status.state is CertState.UNKNOWN


def test_a_cached_response_is_re_signed_once_half_its_validity_has_passed(pki: Pki) -> None:
    clock = [dt.datetime.now(dt.UTC)]
    responder = OcspResponder(
        StatusSource(pki.world.register),
        [OcspIssuer(pki.ca.certificate, pki.responder_key, pki.responder)],
        now=lambda: clock[0],
        validity=dt.timedelta(hours=1),
    )
    der = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
    first = responder.respond(der)
    clock[0] += dt.timedelta(minutes=29)
    assert responder.respond(der).from_cache
    clock[0] += dt.timedelta(minutes=2)
    fresh = responder.respond(der)
    assert not fresh.from_cache
    assert first.this_update is not None
    assert fresh.this_update is not None
    assert fresh.this_update - first.this_update >= dt.timedelta(minutes=30)
    info = parse_response(fresh.der, issuer=pki.ca.certificate)
    assert info.responses[0].next_update == fresh.next_update


class CountingKey:
    """The real responder key, counting its signatures."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.signatures = 0
        self.public_key_info = key.public_key_info
        self.signature_algorithm = key.signature_algorithm

    def sign(self, data: bytes) -> bytes:
        self.signatures += 1
        signature: bytes = self.key.sign(data)
        return signature


def test_1000_serials_within_a_configured_limit_are_signed_once(pki: Pki) -> None:
    key = CountingKey(pki.responder_key)
    responder = OcspResponder(
        StatusSource(pki.world.register),
        [OcspIssuer(pki.ca.certificate, key, pki.responder)],
        now=lambda: dt.datetime.now(dt.UTC),
        limits=OcspLimits.for_count(1000),
    )
    serials = [pki.good.serial_number, pki.revoked.serial_number, *range(1, 999)]
    ids = [CertId.for_serial(pki.ca.certificate, n) for n in serials]
    der = build_request(ids, nonce=b"thousand")
    assert len(der) > 60_000
    answer = responder.respond(der)
    assert key.signatures == 1  # one BasicOCSPResponse for the whole request
    info = parse_response(answer.der, issuer=pki.ca.certificate)
    assert len(info.responses) == 1000
    assert info.responses[0].status.state is CertState.GOOD
    assert info.responses[1].status.state is CertState.REVOKED
    assert {r.status.state for r in info.responses[2:]} == {CertState.UNKNOWN}
    # One more than the limit: refused before any signature.
    more = build_request([*ids, CertId.for_serial(pki.ca.certificate, 5000)])
    assert responder.respond(more).status is OcspStatus.MALFORMED_REQUEST
    assert key.signatures == 1
    with pytest.raises(ValueError, match="limit"):
        OcspLimits.for_count(0)


def test_pre_signed_responses_are_refreshed_before_next_update_without_a_status_change(
    pki: Pki,
) -> None:
    """RFC 5019 §6 / the issue: a pre-signed response is re-signed lazily before its
    nextUpdate passes even when nothing changes; the clock is injected and walks 3 validity
    periods in 7-minute steps."""
    key = CountingKey(pki.responder_key)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = [start]
    validity = dt.timedelta(hours=1)
    responder = OcspResponder(
        StatusSource(pki.world.register),
        [OcspIssuer(pki.ca.certificate, key, pki.responder)],
        now=lambda: clock[0],
        validity=validity,
    )
    der = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
    mark = pki.world.register.change_mark(responder.issuers[0].issuer_id)
    produced = set()
    while clock[0] < start + 3 * validity:
        answer = responder.respond(der)
        info = parse_response(answer.der, issuer=pki.ca.certificate)
        next_update = info.responses[0].next_update
        assert next_update is not None
        # Never stale, never with less than half its validity left.
        assert next_update - clock[0] >= validity / 2, (clock[0], next_update)
        assert info.responses[0].status.state is CertState.GOOD
        produced.add(info.produced_at)
        clock[0] += dt.timedelta(minutes=7)
    assert pki.world.register.change_mark(responder.issuers[0].issuer_id) == mark
    # Re-signed about every half validity (6 times in 3 hours), not on every request (26).
    assert 6 <= key.signatures <= 7
    assert len(produced) == key.signatures
