"""``atlas-ca serve`` under gunicorn, asked by OpenSSL and GnuTLS as clients: OCSP (POST and GET,
nonce and pre-signed), RFC 3161 over HTTP, CRLs and the CA certificate at the CDP/AIA paths,
bad input and slow clients, access logs without client addresses."""

from __future__ import annotations

import base64
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.status.ocsp import (
    CertId,
    CertState,
    OcspStatus,
    build_request,
    error_response,
    parse_response,
)
from atlas_ca.status.process import ServerProcess, http_get, http_post
from atlas_ca.status.tsp import build_request as tsp_request
from atlas_ca.status.tsp import parse_response as tsp_response
from atlas_ca.status.tsp import verify_token
from atlas_ca.x509.certificate import Certificate
from support.atlas_testing import missing
from support.status_env import CONFIG, Pki, build_pki, publish_crls, write_serve_config

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost, pytest.mark.certtool]


@pytest.fixture(scope="module")
def pki(softhsm: Any, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("serve")
    pki = build_pki(base, softhsm, str(base / "register.sqlite3"), "serve")
    publish_crls(pki)
    return pki


@pytest.fixture(scope="module")
def second_ca(pki: Pki, softhsm: Any) -> Certificate:
    """Another CA on the token, answered by the same responder with its own key."""
    from atlas_ca.algorithms import KeyType
    from atlas_ca.hsm.pkcs11 import open_token
    from support import status_env

    key = open_token(softhsm.uri()).generate_key(KeyType.GOST3410_2012_256, label="serve-ca2b")
    cert: Certificate = status_env.issuance_env.make_ca(key).certificate
    pki.path("ca2").write_bytes(cert.pem())
    pki.key_uris["ca2"] = softhsm.uri(object="serve-ca2b", type="private")
    return cert


@pytest.fixture(scope="module")
def server(pki: Pki, second_ca: Certificate) -> Iterator[ServerProcess]:
    extra = (
        "\n[[serve.issuers]]\n"
        f'certificate = "{pki.path("ca2")}"\n'
        f'key_uri = "{pki.key_uris["ca2"]}"\n'
    )
    with ServerProcess(write_serve_config(pki, extra=extra), workers=2) as srv:
        yield srv


@pytest.fixture(scope="module")
def ocsptool() -> str:
    binary = shutil.which("ocsptool")
    if binary is None:
        missing("GnuTLS ocsptool (Debian package gnutls-bin)")
        raise AssertionError  # unreachable
    return binary


def openssl_ask(openssl_gost: Any, pki: Pki, server: ServerProcess, *args: Any) -> str:
    proc = openssl_gost.run(
        ["ocsp", "-url", f"{server.url}/ocsp", "-issuer", pki.path("ca"), "-CAfile",
         pki.path("ca"), *args],
        check=False,
    )  # fmt: skip
    return (proc.stdout + proc.stderr).decode()


def test_openssl_asks_good_revoked_held_and_unknown_with_a_nonce(
    pki: Pki, server: ServerProcess, openssl_gost: Any
) -> None:
    out = openssl_ask(openssl_gost, pki, server, "-cert", pki.path("good"))
    assert "Response verify OK" in out, out
    assert re.search(r"good\.pem: good", out), out
    out = openssl_ask(openssl_gost, pki, server, "-cert", pki.path("revoked"))
    assert "revoked.pem: revoked" in out, out
    assert "Reason: keyCompromise" in out, out
    out = openssl_ask(openssl_gost, pki, server, "-cert", pki.path("held"))
    assert "held.pem: revoked" in out, out
    assert "Reason: certificateHold" in out, out
    out = openssl_ask(openssl_gost, pki, server, "-serial", "0x5EED")
    assert "Response verify OK" in out, out
    assert ": unknown" in out, out
    assert "WARNING: no nonce" not in out


def test_gnutls_ocsptool_accepts_our_responses(
    pki: Pki, server: ServerProcess, ocsptool: str, tmp_path: Path
) -> None:
    import subprocess

    for name, state in (("good", "good"), ("revoked", "revoked"), ("held", "revoked")):
        proc = subprocess.run(
            [ocsptool, f"--ask={server.url}/ocsp", "--load-issuer", pki.path("ca"),
             "--load-cert", pki.path(name), "--load-trust", pki.path("ca"),
             "--outfile", tmp_path / f"{name}.der"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        out = (proc.stdout + proc.stderr).decode()
        assert proc.returncode == 0, out
        assert "Verifying OCSP Response: Success." in out, out
        assert f"Certificate Status: {state}" in out, out
    # A response with one changed byte of its nextUpdate: the signature no longer covers it.
    good = (tmp_path / "good.der").read_bytes()
    stamp = re.search(rb"\xa0\x11\x18\x0f(\d{14})Z", good)
    assert stamp is not None
    tampered = bytearray(good)
    tampered[stamp.start(1) + 13] ^= 0x01
    (tmp_path / "tampered.der").write_bytes(bytes(tampered))
    proc = subprocess.run(
        [ocsptool, "--verify-response", "--load-trust", pki.path("ca"), "--infile",
         tmp_path / "tampered.der", "--inder"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode != 0, out
    assert "Verifying OCSP Response: Failure" in out, out


def test_get_requests_are_pre_signed_with_rfc5019_cache_headers(
    pki: Pki, server: ServerProcess
) -> None:
    der = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
    url = f"{server.url}/ocsp/" + base64.urlsafe_b64encode(der).decode().rstrip("=")
    status, headers, body = http_get(url)
    assert status == 200
    assert headers["Content-Type"] == "application/ocsp-response"
    assert headers["Cache-Control"].startswith("max-age=")
    assert "public" in headers["Cache-Control"]
    assert {"Expires", "Last-Modified", "ETag"} <= set(headers)
    info = parse_response(body, issuer=pki.ca.certificate)
    assert info.responses[0].status.state is CertState.GOOD
    # Standard base64, percent-encoded, as OpenSSL-style clients send it: the same answer.
    std = base64.b64encode(der).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    status, _, body2 = http_get(f"{server.url}/ocsp/{std}")
    assert status == 200
    assert parse_response(body2, issuer=pki.ca.certificate).responses[0].cert_id.serial == (
        pki.good.serial_number
    )
    # Standard base64 as is, slashes and all (RFC 6960 Appendix A leaves the encoding loose).
    raw = base64.b64encode(der).decode()
    status, _, body3 = http_get(f"{server.url}/ocsp/{raw}")
    assert status == 200
    single = parse_response(body3, issuer=pki.ca.certificate).responses[0]
    assert single.cert_id.serial == pki.good.serial_number
    assert single.status.state is CertState.GOOD
    nonced = build_request(
        [CertId.for_serial(pki.ca.certificate, pki.good.serial_number)], nonce=b"n" * 16
    )
    _, headers, _ = http_post(f"{server.url}/ocsp", nonced, "application/ocsp-request")
    assert "no-store" in headers["Cache-Control"]


def test_a_revocation_is_answered_on_the_next_request(pki: Pki, server: ServerProcess) -> None:
    from atlas_ca.storage import RevocationReason
    from support.status_env import OPERATOR

    world = pki.world
    fresh = world.service().issue(world.request()).certificate
    der = build_request([CertId.for_serial(pki.ca.certificate, fresh.serial_number)])
    for _ in range(3):  # warm both workers' caches
        _, _, body = http_post(f"{server.url}/ocsp", der, "application/ocsp-request")
        assert parse_response(body, issuer=pki.ca.certificate).responses[0].status.state is (
            CertState.GOOD
        )
    pki.revocation().revoke(fresh.serial_number, reason=RevocationReason.SUPERSEDED, by=OPERATOR)
    for _ in range(4):
        _, _, body = http_post(f"{server.url}/ocsp", der, "application/ocsp-request")
        single = parse_response(body, issuer=pki.ca.certificate).responses[0]
        assert single.status.state is CertState.REVOKED


def test_openssl_time_stamp_query_over_http_verifies(
    pki: Pki, server: ServerProcess, openssl_gost: Any, tmp_path: Path
) -> None:
    data = tmp_path / "doc.txt"
    data.write_text("подписанный документ\n")
    query = openssl_gost.run(["ts", "-query", "-data", data, "-md_gost12_256", "-cert"]).stdout
    status, headers, reply = http_post(f"{server.url}/tsp", query, "application/timestamp-query")
    assert status == 200
    assert headers["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "reply.tsr").write_bytes(reply)
    proc = openssl_gost.run(
        ["ts", "-verify", "-in", tmp_path / "reply.tsr", "-data", data, "-CAfile",
         pki.path("ca"), "-untrusted", pki.path("tsa")],
        check=False,
    )  # fmt: skip
    assert "Verification: OK" in (proc.stdout + proc.stderr).decode()
    ours = tsp_request(b"x", nonce=99)
    _, _, reply = http_post(f"{server.url}/tsp", ours, "application/timestamp-query")
    state, token, _ = tsp_response(reply)
    assert state == "granted"
    assert token is not None
    assert verify_token(token, data=b"x", tsa_certificate=pki.tsa).nonce == 99


def test_crls_and_the_ca_certificate_are_served_at_the_cdp_and_aia_paths(
    pki: Pki, server: ServerProcess, openssl_gost: Any, tmp_path: Path
) -> None:
    from urllib.parse import urlsplit

    cdp = urlsplit(CONFIG.crl_urls[0]).path
    status, headers, crl = http_get(server.url + cdp)
    assert status == 200
    assert headers["Content-Type"] == "application/pkix-crl"
    (tmp_path / "full.crl").write_bytes(crl)
    proc = openssl_gost.run(
        ["crl", "-inform", "DER", "-in", tmp_path / "full.crl", "-noout", "-verify", "-CAfile",
         pki.path("ca")],
        check=False,
    )  # fmt: skip
    assert "verify OK" in (proc.stdout + proc.stderr).decode()
    status, again, _ = http_get(server.url + cdp, {"If-None-Match": headers["ETag"]})
    assert status == 304
    assert again["ETag"] == headers["ETag"]
    delta_path = cdp.rsplit("/", 1)[0] + "/ca-delta.crl"
    status, headers, delta = http_get(server.url + delta_path)
    assert status == 200
    assert headers["Content-Type"] == "application/pkix-crl"
    assert delta != crl
    aia = urlsplit(CONFIG.ca_issuers_urls[0]).path
    status, headers, cert = http_get(server.url + aia)
    assert (status, headers["Content-Type"]) == (200, "application/pkix-cert")
    assert cert == pki.ca.certificate.der
    assert "Last-Modified" in headers
    assert http_get(server.url + cdp.rsplit("/", 1)[0] + "/../atlas-ca.toml")[0] == 404
    assert http_get(server.url + "/nothing")[0] == 404


def test_bad_input_gets_ocsp_error_statuses_and_the_service_goes_on(
    pki: Pki, server: ServerProcess
) -> None:
    from asn1crypto import ocsp as asn1_ocsp

    def status_of(body: bytes) -> str:
        return str(asn1_ocsp.OCSPResponse.load(body)["response_status"].native)

    _, _, body = http_post(f"{server.url}/ocsp", b"not der", "application/ocsp-request")
    assert status_of(body) == "malformed_request"
    _, _, body = http_post(f"{server.url}/ocsp", b"\x30" * 200_000, "application/ocsp-request")
    assert status_of(body) == "malformed_request"
    _, _, body = http_get(f"{server.url}/ocsp/%%%")
    assert status_of(body) == "malformed_request"
    ids = [CertId.for_serial(pki.ca.certificate, n) for n in range(1, 1001)]
    _, _, body = http_post(f"{server.url}/ocsp", build_request(ids), "application/ocsp-request")
    assert status_of(body) == "malformed_request"
    foreign = build_request([CertId.for_serial(pki.responder, 1)])
    _, _, body = http_post(f"{server.url}/ocsp", foreign, "application/ocsp-request")
    assert status_of(body) == "unauthorized"
    der = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
    _, _, body = http_post(f"{server.url}/ocsp", der, "application/ocsp-request")
    assert parse_response(body, issuer=pki.ca.certificate).status is OcspStatus.SUCCESSFUL


def test_slow_clients_do_not_hold_up_the_others(pki: Pki, server: ServerProcess) -> None:
    der = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
    slow = []
    try:
        for _ in range(3):  # fewer than the threads of one worker
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall(b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n\x30")
            slow.append(s)
        for _ in range(10):
            status, _, body = http_post(
                f"{server.url}/ocsp", der, "application/ocsp-request", timeout=20
            )
            assert status == 200
            assert parse_response(body, issuer=pki.ca.certificate).status is OcspStatus.SUCCESSFUL
    finally:
        for s in slow:
            s.close()


def test_health_and_access_logs_without_client_addresses(server: ServerProcess) -> None:
    assert http_get(server.url + "/health")[0] == 200
    time.sleep(0.5)
    access = [line for line in server.log().splitlines() if "atlas_ca.status.access" in line]
    assert any("POST /ocsp 200" in line for line in access)
    assert any("GET /ocsp/{request} 200" in line for line in access)
    assert not [line for line in access if "127.0.0.1" in line]


def test_one_responder_answers_for_a_second_ca_with_that_cas_key(
    pki: Pki, server: ServerProcess, second_ca: Certificate
) -> None:
    der = build_request([CertId.for_serial(second_ca, pki.good.serial_number)])
    _, _, body = http_post(f"{server.url}/ocsp", der, "application/ocsp-request")
    info = parse_response(body, issuer=second_ca)
    assert info.signer == second_ca
    assert info.responses[0].status.state is CertState.UNKNOWN  # the register has none of its


def test_sigterm_shuts_the_server_down_gracefully(pki: Pki) -> None:
    srv = ServerProcess(write_serve_config(pki), workers=1).start()
    der = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
    assert http_post(f"{srv.url}/ocsp", der, "application/ocsp-request")[0] == 200
    assert srv.stop(grace=30) == 0
    assert "Shutting down: Master" in srv.log()


def test_granian_serves_the_same_application_and_stops_gracefully(pki: Pki) -> None:
    """``[serve] server = "granian"``: the same routes, answers and headers, another server
    (which sends header names in lower case, as HTTP allows)."""

    def lower(headers: dict[str, str]) -> dict[str, str]:
        return {k.lower(): v for k, v in headers.items()}

    config = write_serve_config(pki, extra='server = "granian"\n')
    srv = ServerProcess(config, workers=2).start()
    try:
        good = build_request([CertId.for_serial(pki.ca.certificate, pki.good.serial_number)])
        status, headers, body = http_post(f"{srv.url}/ocsp", good, "application/ocsp-request")
        assert status == 200
        assert lower(headers)["content-type"] == "application/ocsp-response"
        assert parse_response(body, issuer=pki.ca.certificate).responses[0].status.state is (
            CertState.GOOD
        )
        revoked = build_request(
            [CertId.for_serial(pki.ca.certificate, pki.revoked.serial_number)], nonce=b"g" * 16
        )
        _, headers, body = http_post(f"{srv.url}/ocsp", revoked, "application/ocsp-request")
        info = parse_response(body, issuer=pki.ca.certificate)
        assert info.responses[0].status.state is CertState.REVOKED
        assert info.nonce == b"g" * 16
        assert "no-store" in lower(headers)["cache-control"]
        for encoded in (
            base64.urlsafe_b64encode(good).decode().rstrip("="),
            base64.b64encode(good).decode(),  # slashes and all
            base64.b64encode(good).decode().replace("/", "%2F").replace("+", "%2B"),
        ):
            status, headers, body = http_get(f"{srv.url}/ocsp/{encoded}")
            assert status == 200, encoded
            assert lower(headers)["cache-control"].startswith("max-age=")
            single = parse_response(body, issuer=pki.ca.certificate).responses[0]
            assert single.cert_id.serial == pki.good.serial_number
        _, _, body = http_post(f"{srv.url}/ocsp", b"junk", "application/ocsp-request")
        assert body == error_response(OcspStatus.MALFORMED_REQUEST)
        assert http_get(f"{srv.url}/health")[0] == 200
        query = tsp_request(b"\x01" * 32, cert_req=True)
        _, headers, reply = http_post(f"{srv.url}/tsp", query, "application/timestamp-query")
        assert lower(headers)["content-type"] == "application/timestamp-reply"
        state, token, _ = tsp_response(reply)
        assert state == "granted"
        assert token is not None
    finally:
        code = srv.stop(grace=30)
    assert code == 0, srv.log()[-2000:]
