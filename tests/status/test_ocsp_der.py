"""The spliced DER of :func:`atlas_ca.status.ocsp.build_response` is byte for byte what
asn1crypto encodes for the same response (asn1crypto is the oracle here; the key is the real
responder key on SoftHSM, its signature memoised per to-be-signed DER so both sides get one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asn1crypto import algos, core, ocsp
from asn1crypto import x509 as asn1_x509
from status_env import Pki, build_pki

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1.oids import Ocsp
from atlas_ca.hsm.base import SigningKey
from atlas_ca.status import _der
from atlas_ca.status.ocsp import (
    GOOD,
    UNKNOWN,
    CertId,
    CertIdHash,
    CertState,
    SingleStatus,
    build_response,
    parse_response,
    responder_key_hash,
)
from atlas_ca.storage import RevocationReason
from atlas_ca.x509.certificate import Certificate

pytestmark = [pytest.mark.softhsm]


@pytest.fixture(scope="module")
def pki(softhsm: Any, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("ocsp-der")
    return build_pki(base, softhsm, str(base / "register.sqlite3"), "ocspder")


class Memo:
    """The real key; the same to-be-signed bytes get the same signature."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.signed: dict[bytes, bytes] = {}

    @property
    def public_key_info(self) -> bytes:
        return self.key.public_key_info

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return self.key.signature_algorithm

    def sign(self, data: bytes) -> bytes:
        if data not in self.signed:
            self.signed[data] = self.key.sign(data)
        return self.signed[data]


_REASONS = {
    RevocationReason.UNSPECIFIED: "unspecified",
    RevocationReason.KEY_COMPROMISE: "key_compromise",
    RevocationReason.CA_COMPROMISE: "ca_compromise",
    RevocationReason.AFFILIATION_CHANGED: "affiliation_changed",
    RevocationReason.SUPERSEDED: "superseded",
    RevocationReason.CESSATION_OF_OPERATION: "cessation_of_operation",
    RevocationReason.CERTIFICATE_HOLD: "certificate_hold",
    RevocationReason.REMOVE_FROM_CRL: "remove_from_crl",
    RevocationReason.PRIVILEGE_WITHDRAWN: "privilege_withdrawn",
    RevocationReason.AA_COMPROMISE: "aa_compromise",
}


def asn1crypto_response(
    key: Memo,
    signer: Certificate,
    answers: list[tuple[CertId, SingleStatus]],
    at: dt.datetime,
    next_update: dt.datetime | None,
    nonce: bytes | None,
    include_signer: bool,
) -> bytes:
    def status(s: SingleStatus) -> ocsp.CertStatus:
        if s.state is CertState.GOOD:
            return ocsp.CertStatus(name="good", value=core.Null())
        if s.state is CertState.UNKNOWN:
            return ocsp.CertStatus(name="unknown", value=core.Null())
        info: dict[str, object] = {"revocation_time": s.revoked_at}
        if s.reason is not None:
            info["revocation_reason"] = _REASONS[s.reason]
        return ocsp.CertStatus(name="revoked", value=ocsp.RevokedInfo(info))

    responses = []
    for cid, s in answers:
        single: dict[str, object] = {
            "cert_id": {
                "hash_algorithm": algos.DigestAlgorithm(
                    {"algorithm": cid.hash_algorithm.oid.dotted, "parameters": core.Null()}
                ),
                "issuer_name_hash": cid.issuer_name_hash,
                "issuer_key_hash": cid.issuer_key_hash,
                "serial_number": cid.serial,
            },
            "cert_status": status(s),
            "this_update": at,
        }
        if next_update is not None:
            single["next_update"] = next_update
        responses.append(single)
    data: dict[str, object] = {
        "responder_id": ocsp.ResponderId(name="by_key", value=responder_key_hash(signer)),
        "produced_at": at,
        "responses": responses,
    }
    if nonce is not None:
        data["response_extensions"] = [
            ocsp.ResponseDataExtension(
                {
                    "extn_id": Ocsp.NONCE.dotted,
                    "critical": False,
                    "extn_value": core.OctetString(nonce),
                }
            )
        ]
    tbs_der = ocsp.ResponseData(data).dump()
    basic: dict[str, object] = {
        "tbs_response_data": ocsp.ResponseData.load(tbs_der),
        "signature_algorithm": {"algorithm": key.signature_algorithm.oid.dotted},
        "signature": key.sign(tbs_der),
    }
    if include_signer:
        basic["certs"] = [asn1_x509.Certificate.load(signer.der)]
    der: bytes = ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {
                "response_type": Ocsp.BASIC.dotted,
                "response": core.ParsableOctetString(ocsp.BasicOCSPResponse(basic).dump()),
            },
        }
    ).dump()
    return der


SERIALS = [1, 0x7F, 0x80, 0xFF, 0x100, 2**63, 2**127 + 5, 2**159 - 1]


@pytest.mark.parametrize("nonce", [None, b"\x01", b"n" * 32])
@pytest.mark.parametrize("include_signer", [True, False])
def test_spliced_der_equals_asn1crypto(pki: Pki, nonce: bytes | None, include_signer: bool) -> None:
    key = Memo(pki.responder_key)
    at = dt.datetime(2026, 12, 3, 10, 11, 12, tzinfo=dt.UTC)
    revoked_at = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    statuses = [GOOD, UNKNOWN, SingleStatus(CertState.REVOKED, revoked_at)]
    statuses += [SingleStatus(CertState.REVOKED, revoked_at, r) for r in RevocationReason]
    answers = []
    for n, status in enumerate(statuses):
        alg = list(CertIdHash)[n % len(CertIdHash)]
        answers.append(
            (CertId.for_serial(pki.ca.certificate, SERIALS[n % len(SERIALS)], alg), status)
        )
    for next_update in (at + dt.timedelta(hours=4), None):
        for chosen in (answers[:1], answers[2:3], answers):
            ours = build_response(
                key,
                pki.responder,
                chosen,
                produced_at=at,
                this_update=at,
                next_update=next_update,
                nonce=nonce,
                include_signer=include_signer,
            )
            oracle = asn1crypto_response(
                key, pki.responder, chosen, at, next_update, nonce, include_signer
            )
            assert ours == oracle
    # And it verifies: the signature covers exactly the spliced ResponseData.
    info = parse_response(ours, issuer=pki.ca.certificate) if include_signer else None
    if info is not None:
        assert info.nonce == nonce
        assert [r.status for r in info.responses] == [s for _, s in answers]


def test_der_primitives() -> None:
    assert _der.integer(0) == b"\x02\x01\x00"
    assert _der.integer(0x80) == b"\x02\x02\x00\x80"
    assert _der.tlv(0x04, b"x" * 200)[:3] == b"\x04\x81\xc8"
    assert _der.tlv(0x04, b"x" * 300)[:4] == b"\x04\x82\x01\x2c"
    with pytest.raises(ValueError, match="non-negative"):
        _der.integer(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        _der.generalized_time(dt.datetime(2026, 1, 1))
