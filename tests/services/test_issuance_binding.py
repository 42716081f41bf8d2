"""One issuance binding (issue 12): the code is sent with :func:`issuance_binding` and
:meth:`IssuanceService.confirm` checks it against the same function. If the two built it
differently, no code would ever confirm an issuance; these tests fail if they drift."""

from __future__ import annotations

import ast
import secrets
from dataclasses import replace
from pathlib import Path

import pytest

from atlas_ca.domain.otp import (
    Operation,
    OperationBinding,
    OtpOutcome,
    OtpRefused,
    bind,
    create_challenge,
)
from atlas_ca.gost import streebog256
from atlas_ca.services.issuance import IssuanceRequest, OtpConfirmation, issuance_binding
from atlas_ca.storage.sqlite import SqliteRegister
from atlas_ca.x509.csr import CertificationRequest
from support.issuance_env import T0, World, fresh_key, make_csr, make_world, paid_order

SRC = Path(__file__).resolve().parents[2] / "src" / "atlas_ca"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(SqliteRegister(tmp_path / "register.sqlite", opened_at=T0), tmp_path)


def test_the_binding_is_the_same_from_pem_der_or_a_parsed_request(world: World) -> None:
    der = make_csr(fresh_key())
    parsed = CertificationRequest.load(der)
    order = world.order
    expected = bind(
        Operation.ISSUE_CERTIFICATE,
        {"csr": streebog256(der).hex(), "order": order.id.value, "profile": "individual"},
    )
    for csr in (der, parsed.pem(), parsed):
        for order_ref in (order, order.id):
            assert issuance_binding(csr, order_ref, "individual") == expected


def test_each_parameter_changes_the_binding(world: World) -> None:
    csr = make_csr(fresh_key())
    other_order = paid_order(world.subscriber.id, "ord-other")
    base = issuance_binding(csr, world.order, "individual")
    assert issuance_binding(make_csr(fresh_key()), world.order, "individual") != base
    assert issuance_binding(csr, other_order, "individual") != base
    assert issuance_binding(csr, world.order, "entrepreneur") != base


def _with_code_for(world: World, csr: bytes, binding: OperationBinding) -> IssuanceRequest:
    """A request for ``csr`` whose code was sent with ``binding``."""
    challenge, code = create_challenge(
        world.subscriber.id, binding, now=world.clock.now(), random_bytes=secrets.token_bytes
    )
    world.challenges.save(challenge)
    return replace(world.request(csr=csr), confirmation=OtpConfirmation(challenge.id, code))


def test_a_code_sent_with_issuance_binding_is_the_code_the_pipeline_accepts(
    world: World,
) -> None:
    """The sender's binding (from the PEM/DER bytes) and the pipeline's (from the parsed
    request at *confirm*) are one: the certificate is issued."""
    csr = make_csr(fresh_key())
    request = _with_code_for(world, csr, issuance_binding(csr, world.order, "individual"))
    result = world.service().issue(request)
    assert result.record.order == world.order.id
    assert "confirm" in world.steps


@pytest.mark.parametrize("change", ["csr", "order", "profile"])
def test_a_code_bound_to_anything_else_is_refused_at_confirm(world: World, change: str) -> None:
    csr = make_csr(fresh_key())
    other = {
        "csr": issuance_binding(make_csr(fresh_key()), world.order, "individual"),
        "order": issuance_binding(csr, paid_order(world.subscriber.id, "ord-x"), "individual"),
        "profile": issuance_binding(csr, world.order, "entrepreneur"),
    }[change]
    request = _with_code_for(world, csr, other)
    with pytest.raises(OtpRefused) as refused:
        world.service().issue(request)
    assert refused.value.context["outcome"] == OtpOutcome.WRONG_OPERATION.name
    assert "record" not in world.steps


def test_issuance_binding_is_the_only_builder_of_an_issuance_binding() -> None:
    """No module binds Operation.ISSUE_CERTIFICATE itself: a second builder could drift."""
    builders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "ISSUE_CERTIFICATE":
                builders.append(str(path.relative_to(SRC)))
    # the enum member's definition (domain/otp.py defines it by assignment, not attribute)
    # and the one use, in services/issuance.py's issuance_binding
    assert builders == ["services/issuance.py"]
    source = (SRC / "services" / "issuance.py").read_text(encoding="utf-8")
    func = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == "issuance_binding"
    )
    inside = [
        node
        for node in ast.walk(func)
        if isinstance(node, ast.Attribute) and node.attr == "ISSUE_CERTIFICATE"
    ]
    assert len(inside) == 1
