"""docs/library-guide.md: the "dozen lines" example runs exactly as printed and issues a
certificate that OpenSSL's gost engine verifies (software keys; the HSM path is the demo's)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

from atlas_ca.algorithms import KeyType
from atlas_ca.demo import BASIC, DEMO_CA, DEMO_CATALOGUE, DEMO_CONFIG, KEP
from atlas_ca.domain.fakes import verified_subscriber
from atlas_ca.domain.ids import OrderId
from atlas_ca.domain.orders import (
    EntryPoint,
    OrderItem,
    RegisteredCustomers,
    draft_order,
    place_order,
)
from atlas_ca.domain.payments import PaymentNotification, apply_payment_notification
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.profiles.issue import issue_certificate, plan_ca_certificate
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from atlas_testing import REPO, OpenSSL

GUIDE = REPO / "docs" / "library-guide.md"


def _first_python_block(text: str) -> str:
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found is not None
    return found.group(1)


def test_the_library_guide_example_issues_a_certificate(
    tmp_path: Path, openssl_gost: OpenSSL
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    key_uri = generate_software_key(
        tmp_path / "ca.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
    )
    key_uri += f"?pin-source=file:{tmp_path / 'ca.pw'}"
    (tmp_path / "ca.pw").write_text("pw")
    ca_key = open_software_key(key_uri)
    config = dataclasses.replace(DEMO_CONFIG, allow_unqualified_keys=True)
    root = issue_certificate(
        plan_ca_certificate(DEMO_CA, ca_key.public_key_info, config, ca_key, not_before=now),
        ca_key,
        serial=random_serial(),
        self_signed=True,
    )
    subscriber = verified_subscriber("sub-guide", at=now - dt.timedelta(minutes=1))
    draft = draft_order(
        OrderId("ord-guide"),
        subscriber.id,
        EntryPoint.DIGITAL_PROFILE,
        SellerCode.SERVER_CENTR,
        PaymentMethod.BANK_CARD,
        BASIC,
        [OrderItem(KEP)],
        [subscriber.id],
        now,
    )
    placed = place_order(
        draft, DEMO_CATALOGUE, now, RegisteredCustomers(frozenset({subscriber.id}))
    )
    order = apply_payment_notification(
        placed, PaymentNotification("p-1", placed.id, placed.total, PaymentMethod.BANK_CARD, now)
    ).order
    sub_uri = generate_software_key(
        tmp_path / "sub.key", KeyType.GOST3410_2012_256, password="s", iterations=1000
    )
    csr = (
        CsrBuilder().subject_name(Name.build([])).sign(open_software_key(sub_uri, password="s")).der
    )

    namespace: dict[str, object] = {
        "key_uri": key_uri,
        "ca_pem": root.pem(),
        "ca_config": config,
        "workdir": tmp_path,
        "subscriber": subscriber,
        "order": order,
        "csr": csr,
    }
    exec(compile(_first_python_block(GUIDE.read_text()), str(GUIDE), "exec"), namespace)

    pem = namespace["certificate_pem"]
    assert isinstance(pem, bytes)
    cert = Certificate.load(pem)
    assert cert.public_key_info == open_software_key(sub_uri, password="s").public_key_info
    (tmp_path / "ca.pem").write_bytes(root.pem())
    (tmp_path / "cert.pem").write_bytes(pem)
    check = openssl_gost.run(
        ["verify", "-CAfile", tmp_path / "ca.pem", tmp_path / "cert.pem"], check=False
    )
    assert check.returncode == 0, check.stderr
    assert (tmp_path / "register.sqlite").exists()
