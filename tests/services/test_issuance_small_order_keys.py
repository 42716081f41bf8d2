"""Issue 15 item 1, end to end: the issuance service refuses a request whose key is a point of
small order, although its (forged) proof of possession verifies; the profile planner and the CA
loader refuse such a key too. Before the fix the service issued a qualified certificate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas_ca import gost
from atlas_ca.errors import WeakPublicKey
from atlas_ca.profiles.planning import Organisation, plan_ocsp_certificate
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.storage._sql import SqlRegister
from support.issuance_env import CA_ORG, CONFIG, T0, World, make_world, registers
from support.small_order_keys import COFACTOR_4, SmallPoint, forged_csr, small_points
from support.small_order_keys import weak_certificate_der as _weak_certificate_der
from support.x509_signers import gost_key

pg_server = registers.pg_server
store = registers.store

POINTS = [small_points(name)[order] for name in COFACTOR_4 for order in (2, 4)]


def _id(p: SmallPoint) -> str:
    return f"{p.param_set.name}-order-{p.order}"


@pytest.fixture
def world(store: Any, tmp_path: Path) -> World:
    reg: SqlRegister = store.open()
    return make_world(reg, tmp_path)


def _intents(w: World) -> list[Any]:
    reg = w.register
    assert isinstance(reg, SqlRegister)
    with reg._db.read() as cur:
        return cur.all("SELECT serial, state FROM issuance_intents")


@pytest.mark.parametrize("point", POINTS, ids=_id)
def test_issue_refuses_a_request_with_a_small_order_key_and_records_nothing(
    world: World, point: SmallPoint
) -> None:
    csr = forged_csr(point)
    with pytest.raises(WeakPublicKey) as info:
        world.service().issue(world.request(csr=csr))
    assert info.value.context["param_set"] == point.param_set.name
    assert info.value.context["where"] == "certification request"
    assert _intents(world) == []
    assert world.steps == []


def test_issue_still_issues_for_a_good_key_on_a_cofactor_4_set(world: World) -> None:
    from support.issuance_env import make_csr

    key = gost_key("tc26-256-a")
    result = world.service().issue(world.request(csr=make_csr(key)))
    assert result.certificate.public_key_info == key.public_key_info


@pytest.mark.parametrize("point", POINTS[:2], ids=_id)
def test_a_profile_refuses_the_point_as_bare_key_bytes(point: SmallPoint) -> None:
    responder = Organisation(
        name=CA_ORG.name,
        common_name="OCSP",
        ogrn=CA_ORG.ogrn,
        inn=CA_ORG.inn,
        address=CA_ORG.address,
    )
    with pytest.raises(WeakPublicKey) as info:
        plan_ocsp_certificate(
            responder, point.spki(), CONFIG, gost_key("cryptopro-a"), not_before=T0
        )
    assert info.value.context["where"] == "ocsp subject key"


@pytest.mark.parametrize("point", POINTS, ids=_id)
def test_a_ca_certificate_with_the_point_is_refused_on_load(point: SmallPoint) -> None:
    der = _weak_certificate_der(point, ca=True)
    with pytest.raises(WeakPublicKey) as info:
        CertificateAuthority.open("file:/nonexistent.key", der, CONFIG)
    assert info.value.context["where"] == "CA certificate"
    assert gost.param_set(info.value.context["param_set"]) is point.param_set
