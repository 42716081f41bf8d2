"""GOST R 34.10-2012 paths through atlas_ca.trust: our own CA's certificates and CRLs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from atlas_ca.asn1 import oids
from atlas_ca.errors import (
    CertificateRevoked,
    NoTrustedPath,
    PathValidationFailed,
    RevocationUnknown,
)
from atlas_ca.trust import Check, PathValidator, PolicyInputs, RevocationMode
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.crl import CrlBuilder, FreshestCrl
from atlas_ca.x509.extensions import BasicConstraints
from support.trust_pki import AT, T0, GostKey, Pki, crl, gost_key, issue, make_pki, name, revoked


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def validator(pki: Pki, *crls: bytes, **kw: object) -> PathValidator:
    return PathValidator([pki.root.der], intermediates=[pki.sub.der], crls=crls, **kw)  # type: ignore[arg-type]


def test_a_gost_chain_with_both_crls_validates_anchor_first(pki: Pki) -> None:
    path = validator(pki, pki.root_crl(), pki.sub_crl()).validate(pki.leaf, at=AT)
    assert [c.serial for c in path.certificates] == [
        pki.root.serial_number, pki.sub.serial_number, pki.leaf.serial_number,
    ]  # fmt: skip
    assert path.target.subject.endswith("Иванов Иван")
    assert Check.REVOCATION in path.checks
    assert path.revocation is RevocationMode.REQUIRE


def test_a_revoked_leaf_is_refused_naming_it_and_the_revocation_check(pki: Pki) -> None:
    v = validator(pki, pki.root_crl(), pki.sub_crl(revoked(pki.leaf)))
    with pytest.raises(CertificateRevoked) as info:
        v.validate(pki.leaf, at=AT)
    assert info.value.context["check"] == "revocation"
    assert "Иванов Иван" in info.value.context["certificate"]
    assert "compromised key" in str(info.value)


def test_a_revoked_intermediate_is_refused(pki: Pki) -> None:
    v = validator(pki, pki.root_crl(revoked(pki.sub)), pki.sub_crl())
    with pytest.raises(CertificateRevoked) as info:
        v.validate(pki.leaf, at=AT)
    assert "Test accredited CA" in info.value.context["certificate"]


def test_without_the_sub_ca_crl_revocation_is_unknown_when_required(pki: Pki) -> None:
    with pytest.raises(RevocationUnknown) as info:
        validator(pki, pki.root_crl()).validate(pki.leaf, at=AT)
    assert info.value.context["check"] == "revocation-info"
    path = validator(pki, pki.root_crl(), revocation=RevocationMode.OFF).validate(pki.leaf, at=AT)
    assert Check.REVOCATION not in path.checks


def test_a_crl_signed_by_another_key_does_not_count(pki: Pki) -> None:
    good = pki.sub_crl()
    forged = good[:-1] + bytes([good[-1] ^ 1])  # last octet of the signature flipped
    with pytest.raises(RevocationUnknown):
        validator(pki, pki.root_crl(), forged).validate(pki.leaf, at=AT)


def test_a_leaf_signed_by_another_key_fails_the_signature_check(pki: Pki) -> None:
    forged = (
        CertificateBuilder()
        .subject_name(name("Иванов Иван"))
        .issuer_name(pki.sub.subject)
        .public_key(pki.leaf_key.public_key_info)
        .random_serial_number()
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=365))
        .sign(gost_key())
    )
    with pytest.raises(PathValidationFailed) as info:
        validator(pki, pki.root_crl(), pki.sub_crl()).validate(forged, at=AT)
    assert info.value.context["check"] == "signature"


def test_an_expired_leaf_fails_the_validity_check(pki: Pki) -> None:
    with pytest.raises(PathValidationFailed) as info:
        validator(pki, pki.root_crl(), pki.sub_crl()).validate(
            pki.leaf, at=T0 + timedelta(days=366)
        )
    assert info.value.context["check"] == "validity"


def test_a_chain_to_an_untrusted_root_has_no_trusted_path(pki: Pki) -> None:
    key = gost_key()
    other_root = issue(name("Other root"), key, key, None, BasicConstraints(True, True, None))
    with pytest.raises(NoTrustedPath) as info:
        PathValidator([other_root.der], intermediates=[pki.sub.der]).validate(pki.leaf, at=AT)
    assert info.value.context["check"] == "trust-anchor"


def test_a_root_of_the_same_name_but_another_key_fails_the_signature_check(pki: Pki) -> None:
    impostor = make_pki().root  # "Test head CA" with another key
    with pytest.raises(PathValidationFailed) as info:
        PathValidator([impostor.der], intermediates=[pki.sub.der]).validate(pki.leaf, at=AT)
    assert info.value.context["check"] == "signature"
    assert "Test accredited CA" in info.value.context["certificate"]


def test_the_sub_ca_as_a_non_self_signed_trust_anchor_is_enough_for_the_path(pki: Pki) -> None:
    path = PathValidator([pki.sub.der], revocation=RevocationMode.OFF).validate(pki.leaf, at=AT)
    assert len(path.certificates) == 2
    assert not path.anchor.self_issued


def test_a_non_self_signed_anchor_cannot_vouch_for_its_own_crl_so_it_is_never_a_silent_pass(
    pki: Pki,
) -> None:
    """pyhanko-certvalidator 0.33 finds no path for a CRL issued by a non-self-signed anchor
    (documented in docs/architecture.md): the result is "revocation unknown", not acceptance."""
    with pytest.raises(RevocationUnknown):
        PathValidator([pki.sub.der], crls=[pki.sub_crl()]).validate(pki.leaf, at=AT)


def test_an_initial_policy_set_with_explicit_policy_is_enforced(pki: Pki) -> None:
    v = validator(pki, pki.root_crl(), pki.sub_crl())
    ok = v.validate(
        pki.leaf,
        at=AT,
        policy=PolicyInputs(frozenset({oids.RuPolicy.KC1.dotted}), explicit_policy=True),
    )
    assert ok.policies == {oids.RuPolicy.KC1.dotted}
    with pytest.raises(PathValidationFailed) as info:
        v.validate(
            pki.leaf,
            at=AT,
            policy=PolicyInputs(frozenset({oids.RuPolicy.KC3.dotted}), explicit_policy=True),
        )
    assert info.value.context["check"] == "policy"


def test_a_delta_crl_revokes_on_top_of_the_base(pki: Pki) -> None:
    delta = (
        CrlBuilder()
        .issuer_certificate(pki.sub.der)
        .this_update(T0 + timedelta(days=120))
        .next_update(T0 + timedelta(days=400))
        .crl_number(2)
        .delta_crl_indicator(1)
        .sign(pki.sub_key, [revoked(pki.leaf, T0 + timedelta(days=110))])
        .der()
    )
    base = (
        CrlBuilder()
        .issuer_certificate(pki.sub.der)
        .this_update(T0 + timedelta(days=100))
        .next_update(T0 + timedelta(days=400))
        .crl_number(1)
        .freshest_crl(FreshestCrl(("http://ca.test/delta.crl",)))
        .sign(pki.sub_key)
        .der()
    )
    harmless = (
        CrlBuilder()
        .issuer_certificate(pki.sub.der)
        .this_update(T0 + timedelta(days=120))
        .next_update(T0 + timedelta(days=400))
        .crl_number(2)
        .delta_crl_indicator(1)
        .sign(pki.sub_key)
        .der()
    )
    validator(pki, pki.root_crl(), base, harmless).validate(pki.leaf, at=AT)
    with pytest.raises(RevocationUnknown):  # the base names a delta: without one, unknown
        validator(pki, pki.root_crl(), base).validate(pki.leaf, at=AT)
    with pytest.raises(CertificateRevoked):
        validator(pki, pki.root_crl(), base, delta).validate(pki.leaf, at=AT)


def _v1_root(key: GostKey, cn: str) -> bytes:
    """A v1 self-signed root without extensions, as `openssl req -x509` made them for years."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509

    name_ = asn1_x509.Name.load(name(cn).der)
    algorithm = {"algorithm": key.signature_algorithm.oid.dotted}
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v1",
            "serial_number": 1,
            "signature": algorithm,
            "issuer": name_,
            "validity": {
                "not_before": asn1_x509.Time(name="utc_time", value=T0),
                "not_after": asn1_x509.Time(name="utc_time", value=T0 + timedelta(days=3650)),
            },
            "subject": name_,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(key.public_key_info),
        }
    )
    cert = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm,
         "signature_value": key.sign(tbs.dump())}
    )  # fmt: skip
    der: bytes = cert.dump()
    return der


def test_a_v1_root_and_an_issuer_without_key_usage_are_accepted_as_rfc_5280_says() -> None:
    """RFC 5280 §6.1.1 (d): the anchor is a name and a key, v1 allowed; §6.1.4 (n) checks
    keyCertSign only when keyUsage is present — OpenSSL accepts such real chains too."""
    root_key, ca_key, leaf_key = gost_key(), gost_key(), gost_key()
    root_der = _v1_root(root_key, "Old v1 root")
    root = Certificate.from_der(root_der)
    ca = (
        CertificateBuilder()
        .subject_name(name("CA without keyUsage"))
        .issuer_name(root.subject)
        .public_key(ca_key.public_key_info)
        .random_serial_number()
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=1000))
        .add_extensions([BasicConstraints(True, True, None)])
        .sign(root_key)
    )
    leaf = issue(name("Иванов Иван"), leaf_key, ca_key, ca)
    crls = [crl(root, root_key, ()), crl(ca, ca_key, ())]
    path = PathValidator([root_der], intermediates=[ca.der], crls=crls).validate(leaf, at=AT)
    assert [c.subject for c in path.certificates] == [
        "CN=Old v1 root", "CN=CA without keyUsage", "CN=Иванов Иван",
    ]  # fmt: skip
