"""``fetch=True`` (``atlas-ca verify --ocsp auto``): OCSP answers and CRLs fetched from the URLs
in the certificates — here from a server on 127.0.0.1 that serves GOST-signed answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from atlas_ca.errors import CertificateRevoked
from atlas_ca.trust import PathValidator
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.extensions import AuthorityInformationAccess, CrlDistributionPoints
from support.trust_pki import AT, EE_USAGE, Pki, issue, make_pki, name, ocsp_response, revoked


class _Served:
    def __init__(self) -> None:
        self.ocsp: bytes = b""
        self.crl: bytes = b""
        self.hits: list[str] = []


@pytest.fixture
def server() -> Iterator[tuple[str, _Served]]:
    served = _Served()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            served.hits.append("ocsp")
            self._send(served.ocsp, "application/ocsp-response")

        def do_GET(self) -> None:
            served.hits.append("crl")
            self._send(served.crl, "application/pkix-crl")

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetching(pki: Pki) -> PathValidator:
    """The root's CRL is given; the leaf's revocation comes from the network."""
    return PathValidator(
        [pki.root.der], intermediates=[pki.sub.der], crls=[pki.root_crl()], fetch=True
    )


def _leaf(pki: Pki, base: str) -> Certificate:
    return issue(
        name("Иванов Иван"), pki.leaf_key, pki.sub_key, pki.sub, EE_USAGE,
        AuthorityInformationAccess.of(ocsp=[f"{base}/ocsp"]),
        CrlDistributionPoints.of_uris(f"{base}/ca.crl"),
    )  # fmt: skip


def test_a_fetched_good_ocsp_answer_validates(server: tuple[str, _Served]) -> None:
    base, served = server
    pki = make_pki()
    leaf = _leaf(pki, base)
    served.ocsp = ocsp_response(leaf, pki.sub, pki.sub_key, cert_id_hash="sha1")
    v = PathValidator(
        [pki.root.der], intermediates=[pki.sub.der], crls=[pki.root_crl()], fetch=True
    )
    assert v.validate(leaf, at=AT).target.serial == leaf.serial_number
    assert "ocsp" in served.hits


def test_a_fetched_crl_revoking_the_leaf_refuses(server: tuple[str, _Served]) -> None:
    base, served = server
    pki = make_pki()
    leaf = _leaf(pki, base)
    served.ocsp = b"not an OCSP response"
    served.crl = pki.sub_crl(revoked(leaf))
    v = PathValidator(
        [pki.root.der], intermediates=[pki.sub.der], crls=[pki.root_crl()], fetch=True
    )
    with pytest.raises(CertificateRevoked):
        v.validate(leaf, at=AT)
    assert "crl" in served.hits
