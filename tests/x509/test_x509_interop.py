"""Interop with OpenSSL 3 (gost engine) and GnuTLS certtool, both directions.

What we build — CA certificates, CSRs and CA-issued certificates for GOST 256 CryptoPro-A (keys
on SoftHSM through atlas_ca.hsm), GOST 512 and TC26 256 paramSetA (software backend), ECDSA P-256
and Ed25519 — is verified by ``openssl verify``/``openssl req -verify`` and by ``certtool
--verify``/``--verify-chain``/``--crq-info``; what OpenSSL and certtool produce is parsed and
verified by us.

Fact found on this machine: GnuTLS 3.7.9 (Debian 12) knows only two GOST curves, CryptoPro-A
(GC256B) and TC26 512 paramSetA (GC512A); it answers "The curve is unsupported" for every other
set, TC26 256 paramSetA included. That case is asserted as such, OpenSSL verifies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.hsm import open_key
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.hsm.software import generate_software_key
from atlas_ca.x509.certificate import Certificate, CertificateBuilder, authority_key_identifier_for
from atlas_ca.x509.csr import CertificationRequest, CsrBuilder
from atlas_ca.x509.extensions import (
    AuthorityInformationAccess,
    BasicConstraints,
    CertificatePolicies,
    CrlDistributionPoints,
    ExtendedKeyUsage,
    IdentificationKind,
    IdentificationKindValue,
    IssuerSignTool,
    KeyUsage,
    KeyUsageBit,
    PrivateKeyUsagePeriod,
    SubjectKeyIdentifier,
    SubjectSignTool,
)
from atlas_ca.x509.names import Name
from atlas_ca.x509.verify import verify_chain

pytestmark = [pytest.mark.openssl_gost, pytest.mark.certtool]

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "interop-test-password"


@dataclass(frozen=True)
class Case:
    name: str
    key_type: KeyType
    param_set: str | None
    on_softhsm: bool = False
    certtool_knows_curve: bool = True


CASES = [
    Case("gost256-cryptopro-a-softhsm", KeyType.GOST3410_2012_256, "cryptopro-a", on_softhsm=True),
    Case("gost512-tc26-512-a", KeyType.GOST3410_2012_512, "tc26-512-a"),
    Case(
        "gost256-tc26-256-a",
        KeyType.GOST3410_2012_256,
        "tc26-256-a",
        certtool_knows_curve=False,
    ),
    Case("ecdsa-p256", KeyType.EC_P256, None),
    Case("ed25519", KeyType.ED25519, None),
]


@pytest.fixture(scope="module")
def make_key(
    softhsm: Any, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Case, str], SigningKey]:
    token = open_token(softhsm.uri())
    keydir = tmp_path_factory.mktemp("keys")

    def make(case: Case, role: str) -> SigningKey:
        if case.on_softhsm:
            label = f"interop-{case.name}-{role}"
            token.generate_key(case.key_type, label=label, param_set=case.param_set)
            return open_key(softhsm.uri(object=label))
        uri = generate_software_key(
            keydir / f"{case.name}-{role}.p8",
            case.key_type,
            password=PASSWORD,
            param_set=case.param_set,
        )
        return open_key(uri, pin=PASSWORD)

    return make


@dataclass(frozen=True)
class Issued:
    ca: Certificate
    csr: CertificationRequest
    leaf: Certificate
    dir: Path


def _ca(key: SigningKey, case: Case) -> Certificate:
    name = Name.build(
        [
            (oids.NameAttribute.COUNTRY_NAME, "RU"),
            (oids.NameAttribute.ORGANIZATION_NAME, 'АО "Атлас-2"'),
            (oids.NameAttribute.COMMON_NAME, f"Тестовый УЦ {case.name}"),
            (oids.RuAttribute.OGRN, "1052503122902"),
            (oids.RuAttribute.INNLE, "2536161885"),
        ]
    )
    return (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key_info)
        .random_serial_number()
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(BasicConstraints(True, True, 0))
        .add_extension(
            KeyUsage(
                True,
                frozenset(
                    {KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN, KeyUsageBit.DIGITAL_SIGNATURE}
                ),
            )
        )
        .add_extension(SubjectKeyIdentifier.from_public_key_info(key.public_key_info))
        .add_extension(
            IssuerSignTool(
                False,
                "СКЗИ «Атлас-Крипто»",
                "ПАК «Атлас УЦ»",
                "Сертификат соответствия № СФ/000-0000",
                "Сертификат соответствия № СФ/000-0001",
            )
        )
        .sign(key)
    )


def _csr(key: SigningKey) -> CertificationRequest:
    subject = Name.build(
        [
            (oids.NameAttribute.COUNTRY_NAME, "RU"),
            (oids.NameAttribute.STATE_OR_PROVINCE_NAME, "25 Приморский край"),
            (oids.NameAttribute.LOCALITY_NAME, "Владивосток"),
            (oids.NameAttribute.SURNAME, "Иванов"),
            (oids.NameAttribute.GIVEN_NAME, "Иван Иванович"),
            (oids.NameAttribute.COMMON_NAME, "Иванов Иван Иванович"),
            (oids.RuAttribute.SNILS, "11223344595"),
            (oids.RuAttribute.INN, "253600000000"),
            (oids.NameAttribute.EMAIL_ADDRESS, "ivanov@example.ru"),
        ]
    )
    return (
        CsrBuilder()
        .subject_name(subject)
        .add_extension(SubjectSignTool(False, "СКЗИ «КриптоПро CSP» (версия 5.0)"))
        .add_extension(
            KeyUsage(
                True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT})
            )
        )
        .sign(key)
    )


def _issue(ca: Certificate, ca_key: SigningKey, csr: CertificationRequest) -> Certificate:
    csr.verify()
    requested_tool = csr.extensions.get(SubjectSignTool)
    assert requested_tool is not None
    return (
        CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_certificate(ca)
        .public_key(csr.public_key)
        .random_serial_number()
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(BasicConstraints(True, False))
        .add_extension(
            KeyUsage(
                True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.CONTENT_COMMITMENT})
            )
        )
        .add_extension(
            ExtendedKeyUsage(
                False, (oids.ExtendedKeyUsage.CLIENT_AUTH, oids.ExtendedKeyUsage.EMAIL_PROTECTION)
            )
        )
        .add_extension(SubjectKeyIdentifier.from_public_key_info(csr.public_key_info))
        .add_extension(authority_key_identifier_for(ca))
        .add_extension(CrlDistributionPoints.of_uris("http://ca.example.ru/cdp/ca.crl"))
        .add_extension(
            AuthorityInformationAccess.of(
                ca_issuers=["http://ca.example.ru/ca.crt"], ocsp=["http://ocsp.example.ru"]
            )
        )
        .add_extension(CertificatePolicies.of(oids.RuPolicy.KC1, oids.RuPolicy.KC2))
        .add_extension(PrivateKeyUsagePeriod(False, NOW, NOW + timedelta(days=365)))
        .add_extension(requested_tool)
        .add_extension(IssuerSignTool(False, "a", "b", "c", "d"))
        .add_extension(IdentificationKind(False, IdentificationKindValue.PERSONAL))
        .sign(ca_key)
    )


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def issued(
    request: pytest.FixtureRequest,
    make_key: Callable[[Case, str], SigningKey],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Case, Issued]:
    case: Case = request.param
    ca_key = make_key(case, "ca")
    subject_key = make_key(case, "subject")
    if case.on_softhsm:
        assert type(ca_key).__module__ == "atlas_ca.hsm.pkcs11"
    ca = _ca(ca_key, case)
    csr = _csr(subject_key)
    leaf = _issue(ca, ca_key, csr)
    d = tmp_path_factory.mktemp(case.name)
    (d / "ca.pem").write_bytes(ca.pem())
    (d / "leaf.pem").write_bytes(leaf.pem())
    (d / "chain.pem").write_bytes(leaf.pem() + ca.pem())
    (d / "req.pem").write_bytes(csr.pem())
    return case, Issued(ca, csr, leaf, d)


def test_we_verify_our_own_chain(issued: tuple[Case, Issued]) -> None:
    case, it = issued
    verify_chain(it.leaf, [it.ca], at=NOW)
    assert it.leaf.public_key.parameters == (case.param_set or it.leaf.public_key.parameters)


def test_openssl_verifies_our_certificates(issued: tuple[Case, Issued], openssl_gost: Any) -> None:
    _, it = issued
    ca, leaf = it.dir / "ca.pem", it.dir / "leaf.pem"
    out = openssl_gost.run(["verify", "-CAfile", ca, ca, leaf]).stdout.decode()
    assert f"{ca}: OK" in out
    assert f"{leaf}: OK" in out


def test_openssl_verifies_our_request(issued: tuple[Case, Issued], openssl_gost: Any) -> None:
    _, it = issued
    proc = openssl_gost.run(["req", "-verify", "-noout", "-in", it.dir / "req.pem"])
    assert b"verify OK" in proc.stdout + proc.stderr


def test_openssl_reads_the_russian_extensions(
    issued: tuple[Case, Issued], openssl_gost: Any
) -> None:
    _, it = issued
    text = openssl_gost.run(["x509", "-noout", "-text", "-in", it.dir / "leaf.pem"]).stdout
    assert b"1.2.643.100.111" in text or b"Signing Tool of Subject" in text
    assert b"Private Key Usage Period" in text


def test_certtool_verifies_our_certificates_and_chain(
    issued: tuple[Case, Issued], certtool: Any
) -> None:
    case, it = issued
    single = certtool.run(
        ["--verify", "--load-ca-certificate", it.dir / "ca.pem", "--infile", it.dir / "leaf.pem"],
        check=False,
    )
    chain = certtool.run(["--verify-chain", "--infile", it.dir / "chain.pem"], check=False)
    if case.certtool_knows_curve:
        assert single.returncode == 0, single.stdout.decode() + single.stderr.decode()
        assert b"Chain verification output: Verified." in single.stdout
        assert chain.returncode == 0, chain.stdout.decode() + chain.stderr.decode()
    else:
        # GnuTLS 3.7.9 does not implement this curve: it must say so, not fail otherwise.
        info = certtool.run(["-i", "--infile", it.dir / "ca.pem"], check=False)
        assert b"The curve is unsupported" in info.stdout + info.stderr
        assert single.returncode != 0


def test_certtool_verifies_our_request(issued: tuple[Case, Issued], certtool: Any) -> None:
    case, it = issued
    proc = certtool.run(["--crq-info", "--infile", it.dir / "req.pem"], check=False)
    out = proc.stdout + proc.stderr
    if case.certtool_knows_curve:
        assert b"Self signature: verified" in out, out.decode()
    else:
        assert b"The curve is unsupported" in out


# --- the other direction: what OpenSSL and certtool produce, we read and verify ---------------

OPENSSL_KEYS = [
    ("gost2012_256", "A", "cryptopro-a"),
    ("gost2012_256", "B", "cryptopro-b"),
    ("gost2012_256", "TCA", "tc26-256-a"),
    ("gost2012_512", "A", "tc26-512-a"),
    ("gost2012_512", "C", "tc26-512-c"),
]


@pytest.mark.parametrize(("algorithm", "paramset", "expected"), OPENSSL_KEYS)
def test_openssl_made_requests_and_certificates_verify_with_us(
    algorithm: str, paramset: str, expected: str, openssl_gost: Any, tmp_path: Path
) -> None:
    def key(name: str) -> Path:
        path = tmp_path / name
        openssl_gost.run(
            ["genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}", "-out", path]
        )
        return path

    ca_key, leaf_key = key("ca.key"), key("leaf.key")
    openssl_gost.run(
        [
            "req", "-x509", "-new", "-key", ca_key, "-subj", "/C=RU/CN=OpenSSL GOST CA",
            "-days", "30", "-out", tmp_path / "ca.pem",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]
    )  # fmt: skip
    openssl_gost.run(
        ["req", "-new", "-key", leaf_key, "-subj", "/C=RU/CN=OpenSSL leaf",
         "-addext", "keyUsage=critical,digitalSignature", "-out", tmp_path / "leaf.csr"]
    )  # fmt: skip
    (tmp_path / "ext.cnf").write_text("keyUsage=critical,digitalSignature\n")
    openssl_gost.run(
        ["x509", "-req", "-in", tmp_path / "leaf.csr", "-CA", tmp_path / "ca.pem",
         "-CAkey", ca_key, "-CAcreateserial", "-days", "10", "-extfile", tmp_path / "ext.cnf",
         "-out", tmp_path / "leaf.pem"]
    )  # fmt: skip
    csr = CertificationRequest.load((tmp_path / "leaf.csr").read_bytes())
    csr.verify()
    assert csr.public_key.parameters == expected
    assert csr.extensions.get(KeyUsage) == KeyUsage(
        True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE})
    )
    ca = Certificate.load((tmp_path / "ca.pem").read_bytes())
    leaf = Certificate.load((tmp_path / "leaf.pem").read_bytes())
    assert ca.public_key.parameters == expected
    verify_chain(leaf, [ca], at=datetime.now(UTC))


CERTTOOL_KEYS = [("gost12-256", "cryptopro-a"), ("gost12-512", "tc26-512-a")]


@pytest.mark.parametrize(("key_type", "expected"), CERTTOOL_KEYS)
def test_certtool_made_requests_and_certificates_verify_with_us(
    key_type: str, expected: str, certtool: Any, tmp_path: Path
) -> None:
    (tmp_path / "ca.cfg").write_text(
        'cn = "certtool GOST CA"\ncountry = RU\nca\ncert_signing_key\ncrl_signing_key\n'
        "expiration_days = 30\n"
    )
    (tmp_path / "leaf.cfg").write_text(
        'cn = "certtool leaf"\ncountry = RU\nsigning_key\nexpiration_days = 10\n'
    )
    for name in ("ca.key", "leaf.key"):
        certtool.run(["--generate-privkey", "--key-type", key_type, "--outfile", tmp_path / name])
    certtool.run(
        ["--generate-self-signed", "--load-privkey", tmp_path / "ca.key",
         "--template", tmp_path / "ca.cfg", "--outfile", tmp_path / "ca.pem"]
    )  # fmt: skip
    certtool.run(
        ["--generate-request", "--load-privkey", tmp_path / "leaf.key",
         "--template", tmp_path / "leaf.cfg", "--outfile", tmp_path / "leaf.csr"]
    )  # fmt: skip
    certtool.run(
        ["--generate-certificate", "--load-request", tmp_path / "leaf.csr",
         "--load-ca-certificate", tmp_path / "ca.pem", "--load-ca-privkey", tmp_path / "ca.key",
         "--template", tmp_path / "leaf.cfg", "--outfile", tmp_path / "leaf.pem"]
    )  # fmt: skip
    csr = CertificationRequest.load((tmp_path / "leaf.csr").read_bytes())
    csr.verify()
    assert csr.public_key.parameters == expected
    ca = Certificate.load((tmp_path / "ca.pem").read_bytes())
    leaf = Certificate.load((tmp_path / "leaf.pem").read_bytes())
    assert ca.public_key.parameters == expected
    verify_chain(leaf, [ca], at=datetime.now(UTC))
