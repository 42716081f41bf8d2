"""The spliced DER of :func:`atlas_ca.status.ocsp.build_response` is byte for byte what
asn1crypto encodes for the same response (asn1crypto is the oracle here; the key is the real
responder key on SoftHSM, its signature memoised per to-be-signed DER so both sides get one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asn1crypto import algos, core, ocsp
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1.oids import Ocsp
from atlas_ca.hsm.base import SigningKey
from atlas_ca.status import _der
from atlas_ca.status import ocsp as ocsp_module
from atlas_ca.status.ocsp import (
    GOOD,
    UNKNOWN,
    CertId,
    CertIdHash,
    CertState,
    OcspLimits,
    OcspRequest,
    OcspRequestRejected,
    OcspStatus,
    SingleStatus,
    build_request,
    build_response,
    parse_request,
    parse_response,
    responder_key_hash,
)
from atlas_ca.storage import RevocationReason
from atlas_ca.x509.certificate import Certificate
from support.status_env import Pki, build_pki

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


# --- requests: the fast reader and asn1crypto's strict parser agree ----------------------------


def _both(der: bytes, limits: OcspLimits | None = None) -> tuple[object, object]:
    """(fast reader's result or 'not simple', full parser's result or its error status)."""
    limits = limits or OcspLimits()
    try:
        fast: object = ocsp_module._read_simple(der, limits)
    except _der.NotSimple:
        fast = "not simple"
    try:
        full: object = ocsp_module._parse_full(der, limits)
    except OcspRequestRejected as exc:
        full = exc.status
    return fast, full


@settings(max_examples=300, deadline=None)
@given(
    serials=st.lists(st.integers(min_value=0, max_value=2**160), min_size=1, max_size=4),
    algorithm=st.sampled_from(list(CertIdHash)),
    nonce=st.none() | st.binary(min_size=1, max_size=40),
    cut=st.integers(min_value=0, max_value=400),
    flip=st.tuples(st.integers(min_value=0, max_value=400), st.integers(1, 255)),
)
def test_the_fast_request_reader_agrees_with_the_strict_parser(
    serials: list[int],
    algorithm: CertIdHash,
    nonce: bytes | None,
    cut: int,
    flip: tuple[int, int],
) -> None:
    ids = [CertId(algorithm, b"\x01" * len(algorithm.digest(b"")), b"\x02" * len(
        algorithm.digest(b"")), s) for s in serials]  # fmt: skip
    der = build_request(ids, nonce=nonce)
    fast, full = _both(der)
    if nonce is None or len(nonce) <= 32:
        assert fast == full  # the plain shape: read alike
        assert isinstance(fast, OcspRequest)
        assert fast.cert_ids == tuple(ids)
        assert fast.nonce == nonce
    else:
        assert fast == "not simple"  # refused by the full parser only
        assert full is OcspStatus.MALFORMED_REQUEST
    # Damaged copies: the fast reader either steps aside or reads what the strict parser reads.
    for damaged in (der[: cut % len(der)], _flipped(der, *flip), der + b"\x00"):
        fast, full = _both(damaged)
        assert fast == "not simple" or fast == full, damaged.hex()
    # Over the CertID limit: the fast reader steps aside, the full parser refuses.
    if len(ids) > 1:
        fast, full = _both(der, OcspLimits(max_cert_ids=len(ids) - 1))
        assert (fast, full) == ("not simple", OcspStatus.MALFORMED_REQUEST)


def _flipped(der: bytes, at: int, bits: int) -> bytes:
    i = at % len(der)
    return der[:i] + bytes([der[i] ^ bits]) + der[i + 1 :]


def test_requests_the_fast_reader_leaves_to_the_full_parser() -> None:
    one = CertId(CertIdHash.SHA1, b"\x01" * 20, b"\x02" * 20, 77)
    plain = build_request([one])
    # A version other than v1 (DER omits v1, the default): the full parser refuses it.
    tbs = asn1_ocsp.TBSRequest({"version": 1, "request_list": [{"req_cert": one.to_asn1()}]})
    versioned = asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump()
    assert versioned != plain
    assert _both(versioned) == ("not simple", OcspStatus.MALFORMED_REQUEST)
    # A requestor name: the full parser reads it.
    named = asn1_ocsp.TBSRequest(
        {
            "requestor_name": {"dns_name": "client.example"},
            "request_list": [{"req_cert": one.to_asn1()}],
        }
    )
    der = asn1_ocsp.OCSPRequest({"tbs_request": named}).dump()
    assert _both(der)[0] == "not simple"
    assert parse_request(der).cert_ids == (one,) == parse_request(plain).cert_ids
    # A length in the long form where the short one fits (BER, not DER): the fast reader
    # steps aside and asn1crypto, which accepts it, has the last word.
    long_form = b"\x30\x81" + plain[1:]
    fast, full = _both(long_form)
    assert fast == "not simple"
    assert isinstance(full, OcspRequest)
    assert full.cert_ids == (one,)
