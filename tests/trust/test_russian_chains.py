"""Russian chains: the head CA's roots and cross-certificates as a trust-store directory, a
qualified certificate validated up to a root with the CA's CRL, real certificates from public
sources (tests/vectors/russian), and GOST R 34.10-2001 read and shown, never accepted."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509

from atlas_ca import gost
from atlas_ca.asn1 import oids
from atlas_ca.errors import (
    AlgorithmNotAccepted,
    CertificateRevoked,
    DecodeError,
    NoTrustedPath,
    RevocationUnknown,
)
from atlas_ca.trust import (
    GOST_2001_VERDICT,
    PathValidator,
    RevocationMode,
    describe,
    load_certificate,
)
from atlas_ca.trust.store import TrustStore
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.extensions import BasicConstraints, CertificatePolicies, PolicyInformation
from atlas_ca.x509.pem import PemLabel, pem_encode
from support.trust_pki import AT, CA_USAGE, EE_USAGE, GostKey, crl, gost_key, issue, name, revoked

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "russian"


@dataclass(frozen=True)
class HeadCa:
    old_key: GostKey
    new_key: GostKey
    ca_key: GostKey
    old_root: Certificate  # «Минкомсвязь России»
    new_root: Certificate  # «Минцифры России»
    cross: Certificate  # the new root's key, certified by the old root
    ca: Certificate  # an accredited CA under the new root
    leaf: Certificate  # a qualified certificate of a person

    def store(self, directory: Path, *, anchor: Certificate, leaf_revoked: bool = False) -> Path:
        (directory / "anchors").mkdir(parents=True)
        (directory / "certs").mkdir()
        (directory / "crls").mkdir()
        (directory / "anchors" / "root.pem").write_bytes(anchor.pem())
        (directory / "certs" / "cross.cer").write_bytes(self.cross.der)  # DER
        (directory / "certs" / "ca.pem").write_bytes(self.ca.pem())
        (directory / "crls" / "old.crl").write_bytes(crl(self.old_root, self.old_key))
        new_crl = crl(self.new_root, self.new_key)
        (directory / "crls" / "new.crl").write_bytes(pem_encode(new_crl, PemLabel.X509_CRL))
        entries = [revoked(self.leaf)] if leaf_revoked else []
        (directory / "crls" / "ca.crl").write_bytes(crl(self.ca, self.ca_key, entries))
        return directory


@pytest.fixture(scope="module")
def head() -> HeadCa:
    old_key, new_key, ca_key, leaf_key = gost_key("tc26-512-a"), gost_key(), gost_key(), gost_key()
    root_ext = (BasicConstraints(True, True, None), CA_USAGE)
    old_root = issue(name("Минкомсвязь России"), old_key, old_key, None, *root_ext, days=3650)
    new_root = issue(name("Минцифры России"), new_key, new_key, None, *root_ext, days=3650)
    cross = issue(name("Минцифры России"), new_key, old_key, old_root, *root_ext, days=3000)
    ca = issue(
        name("УЦ Атлас"), ca_key, new_key, new_root, BasicConstraints(True, True, 0), CA_USAGE,
        days=2000,
    )  # fmt: skip
    person = name(
        "Иванов Иван",
        (oids.RuAttribute.SNILS, "11223344595"),
        (oids.RuAttribute.INN, "253600000000"),
    )
    policies = CertificatePolicies(False, (PolicyInformation(oids.RuPolicy.KC1),))
    leaf = issue(person, leaf_key, ca_key, ca, EE_USAGE, policies)
    return HeadCa(old_key, new_key, ca_key, old_root, new_root, cross, ca, leaf)


def validator(store: TrustStore) -> PathValidator:
    return PathValidator(store.anchors, intermediates=store.certificates, crls=store.crls)


def test_a_qualified_certificate_validates_up_to_the_new_root_with_the_cas_crl(
    head: HeadCa, tmp_path: Path
) -> None:
    store = TrustStore.from_directory(head.store(tmp_path, anchor=head.new_root))
    path = validator(store).validate(head.leaf, at=AT)
    assert [c.serial for c in path.certificates] == [
        head.new_root.serial_number, head.ca.serial_number, head.leaf.serial_number,
    ]  # fmt: skip
    assert path.qualified_use_ok


def test_the_old_root_reaches_the_same_ca_through_the_cross_certificate(
    head: HeadCa, tmp_path: Path
) -> None:
    store = TrustStore.from_directory(head.store(tmp_path, anchor=head.old_root))
    assert (len(store.anchors), len(store.certificates), len(store.crls)) == (1, 2, 3)
    path = validator(store).validate(head.leaf, at=AT)
    assert [c.serial for c in path.certificates] == [
        head.old_root.serial_number, head.cross.serial_number, head.ca.serial_number,
        head.leaf.serial_number,
    ]  # fmt: skip


def test_cross_certificates_and_crls_without_a_root_are_not_a_trust_store(
    head: HeadCa, tmp_path: Path
) -> None:
    directory = head.store(tmp_path, anchor=head.old_root)
    (directory / "anchors" / "root.pem").unlink()
    with pytest.raises(DecodeError, match="no trust anchor"):
        TrustStore.from_directory(directory)


def test_the_cas_crl_revoking_the_person_refuses_and_masks_their_identifiers(
    head: HeadCa, tmp_path: Path
) -> None:
    store = TrustStore.from_directory(head.store(tmp_path, anchor=head.new_root, leaf_revoked=True))
    with pytest.raises(CertificateRevoked) as info:
        validator(store).validate(head.leaf, at=AT)
    message = str(info.value)
    assert "Иванов Иван" in message
    assert "11223344595" not in message  # R21
    assert "253600000000" not in message
    assert "***" in info.value.context["certificate"]


def test_a_real_qualified_certificate_is_read_and_without_its_chain_has_no_trusted_path(
    head: HeadCa,
) -> None:
    """ESIA's production GOST 2012 certificate (issued by ПАО «Ростелеком» under the
    Минкомсвязь России root): read and named, refused only for want of a path."""
    real = (VECTORS / "esia-gost2012-prod.pem").read_bytes()
    shown = describe(load_certificate(real))
    assert "Министерство цифрового развития" in shown.subject
    assert "ИНН=007710474375" in shown.subject or "007710474375" in shown.subject  # org ИНН
    assert shown.signature_algorithm == "gost3410_2012_256_streebog256"
    with pytest.raises(NoTrustedPath) as info:
        PathValidator([head.new_root.der]).validate(real, at=datetime(2020, 6, 1, tzinfo=UTC))
    assert "Ростелеком" in str(info.value)


def test_a_gost_2001_certificate_is_shown_with_the_not_qualified_verdict() -> None:
    example = (VECTORS / "rfc4491-gost2001-example.pem").read_bytes()
    cert = load_certificate(example)
    assert describe(cert).subject.endswith("CN=GostR3410-2001 example")
    path = PathValidator([example]).validate(example, at=datetime(2010, 1, 1, tzinfo=UTC))
    assert not path.qualified_use_ok
    assert GOST_2001_VERDICT in path.notes[0]


def _resigned_as_2001(cert: Certificate, signer: GostKey) -> bytes:
    """``cert`` with its signature algorithm set to id-GostR3411-94-with-GostR3410-2001."""
    parsed = asn1_x509.Certificate.load(cert.der)
    tbs = parsed["tbs_certificate"].copy()
    algorithm = {"algorithm": oids.GostAlgorithm.SIGN_WITH_GOST3411_94_2001.dotted}
    tbs["signature"] = algorithm
    signature = gost.sign(signer.param_set, signer.d, tbs.dump(force=True))
    return asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    ).dump()


def test_a_certificate_signed_with_gost_2001_fails_the_algorithm_check(head: HeadCa) -> None:
    old = _resigned_as_2001(head.leaf, head.ca_key)
    v = PathValidator(
        [head.new_root.der], intermediates=[head.ca.der], revocation=RevocationMode.OFF
    )
    with pytest.raises(AlgorithmNotAccepted) as info:
        v.validate(old, at=AT)
    assert info.value.context["check"] == "algorithm"
    assert "not accepted for qualified use" in str(info.value)


def test_no_trusted_path_and_the_library_log_never_carry_a_persons_snils_or_inn(
    head: HeadCa, caplog: pytest.LogCaptureFixture
) -> None:
    """pyhanko-certvalidator names the certificate by its full subject; we mask it (R21)."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NoTrustedPath) as info:
        PathValidator([head.old_root.der]).validate(head.leaf, at=AT)
    with pytest.raises(RevocationUnknown):
        PathValidator([head.new_root.der], intermediates=[head.ca.der]).validate(head.leaf, at=AT)
    texts = [str(info.value), info.value.context["detail"], caplog.text]
    for text in texts:
        assert "11223344595" not in text
        assert "253600000000" not in text
    assert "snils: ***-***-*** 95" in info.value.context["detail"]
    assert info.value.__cause__ is None


HEAD_CA = VECTORS / "head-ca"


@pytest.mark.parametrize(
    ("file", "sha1", "cn"),
    [
        ("mincifry-rossii-2022.pem", "2f0cb09be3550ef17ec4f29c90abd18bfcaad63a", "Минцифры России"),
        ("minkomsvyaz-rossii-2018.pem", "4bc6dc14d97010c41a26e058ad851f81c842415a",
         "Минкомсвязь России"),
    ],
)  # fmt: skip
def test_the_real_head_ca_roots_read_and_their_gost_2012_self_signatures_verify(
    file: str, sha1: str, cn: str
) -> None:
    from atlas_ca.trust.gost_plugin import GostSignatureValidator

    cert = load_certificate((HEAD_CA / file).read_bytes())
    assert cert.sha1.hex() == sha1  # the thumbprint the head CA publishes
    assert describe(cert).subject.startswith(f"CN={cn},")
    GostSignatureValidator().validate_signature(
        cert["signature_value"].native,
        cert["tbs_certificate"].dump(),
        cert.public_key,
        cert["signature_algorithm"],
    )
    path = PathValidator([cert.dump()]).validate(cert.dump(), at=datetime(2026, 6, 1, tzinfo=UTC))
    assert path.qualified_use_ok


def test_the_real_gost_2001_head_ca_root_is_read_and_not_accepted_for_qualified_use() -> None:
    """«Головной удостоверяющий центр» (2012–2027), GOST R 34.10-2001: shown, never unreadable."""
    der = (HEAD_CA / "guc-2012-gost2001.pem").read_bytes()
    cert = load_certificate(der)
    assert cert.sha1.hex() == "8cae88bbfd404a7a53630864f9033606e1dc45e2"
    assert describe(cert).subject.startswith("CN=Головной удостоверяющий центр,")
    path = PathValidator([der]).validate(der, at=datetime(2026, 6, 1, tzinfo=UTC))
    assert not path.qualified_use_ok
    assert GOST_2001_VERDICT in path.notes[0]


def test_the_real_esia_certificate_needs_its_accredited_ca_under_the_real_roots() -> None:
    """With the real head-CA roots as anchors, ЕСИА's certificate still lacks ПАО «Ростелеком»'s
    CA certificate (not in the public sources searched): no path, named precisely."""
    anchors = [p.read_bytes() for p in sorted(HEAD_CA.glob("*.pem"))]
    esia = (VECTORS / "esia-gost2012-prod.pem").read_bytes()
    with pytest.raises(NoTrustedPath) as info:
        PathValidator(anchors).validate(esia, at=datetime(2020, 6, 1, tzinfo=UTC))
    assert "Ростелеком" in info.value.context["detail"]


def test_a_crl_signed_with_gost_2001_is_unusable_not_a_crash(head: HeadCa) -> None:
    old_crl = asn1_crl.CertificateList.load(crl(head.ca, head.ca_key, []))
    tbs = old_crl["tbs_cert_list"].copy()
    algorithm = {"algorithm": oids.GostAlgorithm.SIGN_WITH_GOST3411_94_2001.dotted}
    tbs["signature"] = algorithm
    forged = asn1_crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": algorithm,
         "signature": head.ca_key.sign(tbs.dump(force=True))}
    ).dump()  # fmt: skip
    v = PathValidator(
        [head.new_root.der], intermediates=[head.ca.der],
        crls=[crl(head.new_root, head.new_key), forged],
    )  # fmt: skip
    with pytest.raises(RevocationUnknown):
        v.validate(head.leaf, at=AT)
