"""Issue 15 item 1: a GOST key outside the prime-order subgroup is refused at every entry point.

Points of order 2 and 4 (and ``G + T`` of order ``4q``) on both cofactor-4 sets are built from
the curve equation (:mod:`small_order_keys`); a request carrying one has a *forged* proof of
possession that verifies, so only the key check stands between it and a certificate.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas_ca import gost
from atlas_ca.cli import main
from atlas_ca.errors import DecodeError, InvalidPublicKey, WeakPublicKey
from atlas_ca.gost.keys import in_prime_order_subgroup
from atlas_ca.profiles.lint import lint_der
from atlas_ca.services.attestation import sign_record, verify_attestation
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.keys import PublicKeyInfo, accept_public_key
from support.small_order_keys import (
    COFACTOR_4,
    SmallPoint,
    forge_signature,
    forged_csr,
    mixed_point,
    small_points,
    spki_of,
    with_point,
)
from support.small_order_keys import key_for as _key
from support.small_order_keys import self_signed as _self_signed
from support.small_order_keys import weak_certificate_der as _weak_certificate_der

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _bad_points() -> list[SmallPoint]:
    out = []
    for name in COFACTOR_4:
        pts = small_points(name)
        out += [pts[2], pts[4], mixed_point(name)]
    return out


BAD = _bad_points()


def _id(p: SmallPoint) -> str:
    return f"{p.param_set.name}-order-{'4q' if p.order > 4 else p.order}"


# --- the points themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("point", BAD, ids=_id)
def test_the_point_is_on_the_curve_but_not_in_the_subgroup(point: SmallPoint) -> None:
    ps = point.param_set
    assert ps.contains(point.x, point.y)
    assert not in_prime_order_subgroup(ps, point.x, point.y)
    with pytest.raises(WeakPublicKey, match="prime-order subgroup") as info:
        gost.GostPublicKey(ps, point.x, point.y)
    assert info.value.context["param_set"] == ps.name
    assert info.value.context["problem"] == "small-order"
    with pytest.raises(WeakPublicKey):
        gost.GostPublicKey.from_spki_der(point.spki())


@pytest.mark.parametrize("name", COFACTOR_4)
def test_good_keys_pass_on_the_cofactor_4_sets(name: str) -> None:
    ps = gost.param_set(name)
    for _ in range(3):
        pub = gost.public_key_from_private(ps, gost.generate_private_scalar(ps))
        assert in_prime_order_subgroup(ps, pub.x, pub.y)
        assert accept_public_key(pub.spki_der(), "test").parameters == name
    assert in_prime_order_subgroup(ps, ps.x, ps.y)


@pytest.mark.parametrize("point", [p for p in BAD if p.order <= 4], ids=_id)
def test_a_forged_proof_of_possession_verifies_for_a_small_order_point(point: SmallPoint) -> None:
    # Why the key check matters: the pure verifier's mathematics, run by hand, accepts the
    # forged signature (z2·Q vanishes).
    from atlas_ca.gost._pure import _verify_by_hand

    data = b"any document"
    digest = gost.streebog256(data) if point.param_set.bits == 256 else gost.streebog512(data)
    sig = forge_signature(point, data)
    assert _verify_by_hand(point.param_set, point.x, point.y, digest, sig)


@pytest.mark.parametrize("name", ["tc26-256-a", "tc26-512-c", "cryptopro-a"])
def test_the_point_at_infinity_and_points_off_the_curve_are_refused(name: str) -> None:
    ps = gost.param_set(name)
    n = ps.size
    with pytest.raises(InvalidPublicKey, match="infinity") as info:
        accept_public_key(spki_of(ps, bytes(2 * n)), "test input")
    assert info.value.context["problem"] == "infinity"
    assert info.value.context["where"] == "test input"
    off = ps.x.to_bytes(n, "little") + ((ps.y + 1) % ps.p).to_bytes(n, "little")
    with pytest.raises(InvalidPublicKey, match="not a point") as info:
        accept_public_key(spki_of(ps, off), "test input")
    assert info.value.context["problem"] == "off-curve"
    assert not isinstance(info.value, WeakPublicKey)


# --- every entry point ---------------------------------------------------------------------------


@pytest.mark.parametrize("point", BAD, ids=_id)
def test_accept_public_key_names_the_entry_point(point: SmallPoint) -> None:
    with pytest.raises(WeakPublicKey) as info:
        accept_public_key(point.spki(), "OCSP signer certificate")
    assert info.value.context["where"] == "OCSP signer certificate"
    assert str(info.value).startswith("OCSP signer certificate: ")
    # A DecodeError too: callers that refuse unreadable keys refuse this one.
    assert isinstance(info.value, DecodeError)
    with pytest.raises(WeakPublicKey):
        PublicKeyInfo.from_der(point.spki())


@pytest.mark.parametrize("point", [p for p in BAD if p.order <= 4], ids=_id)
def test_a_request_with_a_forged_proof_of_possession_is_refused_when_read(
    point: SmallPoint,
) -> None:
    der = forged_csr(point)
    with pytest.raises(WeakPublicKey) as info:
        CertificationRequest.from_der(der)
    assert info.value.context["where"] == "certification request"
    assert info.value.context["param_set"] == point.param_set.name


@pytest.mark.parametrize("point", BAD, ids=_id)
def test_a_certificate_carrying_the_point_is_refused_when_read(point: SmallPoint) -> None:
    der = _weak_certificate_der(point)
    with pytest.raises(WeakPublicKey) as info:
        Certificate.from_der(der)
    assert info.value.context["where"] == "certificate"


@pytest.mark.parametrize("point", BAD, ids=_id)
def test_the_linter_reports_the_point_as_an_error(point: SmallPoint) -> None:
    report = lint_der(_weak_certificate_der(point))
    found = [f for f in report.errors if f.code == "e_ru_key_point_invalid"]
    assert found
    assert "prime-order subgroup" in found[0].message
    assert not report.ok
    good = lint_der(_self_signed(_key(point.param_set.name)).der)
    assert "e_ru_key_point_invalid" not in good.codes


@pytest.mark.parametrize("point", BAD[:3], ids=_id)
def test_a_registrar_attestation_signer_with_the_point_is_refused(point: SmallPoint) -> None:
    key = _key(point.param_set.name)
    good_cert = _self_signed(key)
    weak = _weak_certificate_der(point)
    record = b"\x30\x03\x02\x01\x01"
    with pytest.raises(WeakPublicKey) as info:
        sign_record(record, key, weak, at=T0, require_qualified=False)
    assert info.value.context["where"] == "registrar attestation signer certificate"
    cms = sign_record(record, key, good_cert.der, at=T0, require_qualified=False)
    assert verify_attestation(record, cms).signer == good_cert
    good_point = gost.GostPublicKey.from_spki_der(key.public_key_info).to_bytes()
    with pytest.raises(WeakPublicKey):  # embedded signer certificate
        verify_attestation(record, with_point(cms, good_point, point.raw()))
    with pytest.raises(WeakPublicKey):  # trusted signer certificate given by the caller
        verify_attestation(record, cms, registrar_certificate=weak)


@pytest.mark.parametrize("point", [BAD[1], BAD[4]], ids=_id)
def test_show_verify_and_lint_on_the_command_line_refuse_it_loudly(
    point: SmallPoint, tmp_path: Path
) -> None:
    cert = tmp_path / "weak.der"
    cert.write_bytes(_weak_certificate_der(point))
    csr = tmp_path / "weak.csr"
    csr.write_bytes(forged_csr(point))
    runner = CliRunner()
    for args in (
        ["show", cert],
        ["show", csr],
        ["verify", csr],
        ["verify", cert, "--issuer", cert],
    ):
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == 2, (args, result.output)
        assert "prime-order subgroup" in result.output
        assert "Traceback" not in result.output
    result = runner.invoke(main, ["lint", str(cert)])
    assert result.exit_code == 1
    assert "e_ru_key_point_invalid" in result.output
