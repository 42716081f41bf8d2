"""R20 through the facade: a subscriber renews remotely with a request signed by the current
certificate's key (``AtlasCA.renewal()``: every check, then the code, then issuance); the same
request signed by a revoked certificate is refused before any code is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.errors import AtlasCaError
from atlas_ca.hsm.software import SoftwareKey, generate_software_key, open_software_key
from atlas_ca.services.renewal import RenewalApplication
from atlas_ca.storage.ports import RevocationReason
from atlas_ca.trust.cms import sign_attached
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.app_env import Desk, Pki, verified


def _key(where: Path, name: str) -> tuple[bytes, SoftwareKey]:
    uri = generate_software_key(
        where / f"{name}.key", KeyType.GOST3410_2012_256, password="s", iterations=1000
    )
    key = open_software_key(uri, password="s")
    return CsrBuilder().subject_name(Name.build([])).sign(key).der, key


def _issue(desk: Desk, sid: str, order: str, where: Path, name: str) -> tuple[bytes, SoftwareKey]:
    csr, key = _key(where, name)
    desk.ca.send_issuance_code(csr, subscriber=sid, order=order)
    result = desk.ca.issue(csr, subscriber=sid, order=order, code=desk.inbox.code())
    return result.certificate.der, key


def test_a_subscriber_renews_remotely_with_the_current_key(
    desk: Desk, pki: Pki, tmp_path: Path
) -> None:
    ca = desk.ca
    verified(desk, pki, "sub-r")
    ca.create_order("ord-kep", "sub-r", ["kep-issue"])
    ca.pay("ord-kep", "p-kep", "3600.00")
    current, current_key = _issue(desk, "sub-r", "ord-kep", tmp_path, "current")
    ca.create_order("ord-renew", "sub-r", ["kep-renew"])
    ca.pay("ord-renew", "p-renew", "1800.00")
    ca.publish_crl(operator="ops-1")  # the signer's status must be known (revocation required)

    new_csr, _ = _key(tmp_path, "new")
    now = desk.clock.now()
    signed = sign_attached(new_csr, current_key, current, at=now)
    application = RenewalApplication(signed_request=signed, order=OrderId("ord-renew"))
    flow = ca.renewal()
    sent_before = len(desk.inbox.sent)
    sent = flow.send_code(application)
    assert sent.subscriber == SubscriberId("sub-r")  # found from the signer's certificate
    assert len(desk.inbox.sent) == sent_before + 1
    assert str(desk.inbox.sent[-1][0]) == str(ca.subscriber("sub-r").phone)  # R7

    with pytest.raises(AtlasCaError):
        flow.renew(application, "000000" if desk.inbox.code() != "000000" else "111111")
    result = flow.renew(application, desk.inbox.code())
    assert result.record.subscriber == SubscriberId("sub-r")
    assert result.certificate.der != current
    assert [c.serial for c in ca.certificates_of("sub-r")].count(result.record.serial) == 1


def test_a_request_signed_by_a_revoked_certificate_sends_no_code(
    desk: Desk, pki: Pki, tmp_path: Path
) -> None:
    ca = desk.ca
    verified(desk, pki, "sub-x")
    ca.create_order("ord-x", "sub-x", ["kep-issue"])
    ca.pay("ord-x", "p-x", "3600.00")
    current, current_key = _issue(desk, "sub-x", "ord-x", tmp_path, "cur-x")
    serial = ca.certificates_of("sub-x")[0].serial
    ca.revoke(serial, reason=RevocationReason.KEY_COMPROMISE, operator="ops-1")
    ca.create_order("ord-xr", "sub-x", ["kep-renew"])
    ca.pay("ord-xr", "p-xr", "1800.00")
    ca.publish_crl(operator="ops-1")
    desk.clock.advance(seconds=5)

    new_csr, _ = _key(tmp_path, "new-x")
    signed = sign_attached(
        new_csr,
        current_key,
        current,
        at=desk.clock.now(),
    )
    sent_before = len(desk.inbox.sent)
    with pytest.raises(AtlasCaError) as info:
        ca.renewal().send_code(RenewalApplication(signed_request=signed, order=OrderId("ord-xr")))
    assert "revoked" in str(info.value).lower()
    assert len(desk.inbox.sent) == sent_before
