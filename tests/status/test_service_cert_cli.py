"""``atlas-ca service-cert``: the OCSP responder's and the TSA's certificates for keys on the
token, issued by the CA of the operator's configuration, and usable by the services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1.oids import Tsp
from atlas_ca.cli import main
from atlas_ca.hsm import open_key
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.profiles import lint
from atlas_ca.status.ocsp import CertState, OcspIssuer, StatusSource
from atlas_ca.status.tsp import TsaSigner
from atlas_ca.storage import CertificateStatus, open_register
from atlas_ca.x509.certificate import Certificate
from support.status_env import CONFIG, Pki, build_pki, write_serve_config

pytestmark = [pytest.mark.softhsm]


@pytest.fixture(scope="module")
def pki(softhsm: Any, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("service-cert")
    return build_pki(base, softhsm, str(base / "register.sqlite3"), "svccert")


def operator_config(pki: Pki) -> Path:
    tools = CONFIG.issuer_tools
    profile = (
        "\n[ca.profile]\n"
        f'ca_sign_tool = "{CONFIG.ca_sign_tool.replace(chr(34), chr(92) + chr(34))}"\n'
        'policy_classes = ["KC1", "KC2"]\n'
        f'crl_urls = ["{CONFIG.crl_urls[0]}"]\n'
        "[ca.profile.issuer_tools]\n"
        + "".join(
            f'{k} = "{getattr(tools, k).replace(chr(34), chr(92) + chr(34))}"\n'
            for k in ("sign_tool", "ca_tool", "sign_tool_certificate", "ca_tool_certificate")
        )
    )
    path = write_serve_config(pki)
    text = path.read_text().replace("\n[ca.profile]\n", "\n[ignored]\n")
    head, _, serve = text.partition("\n[serve]\n")
    path.write_text(head + profile + "\n[serve]\n" + serve)
    return path


@pytest.mark.parametrize("kind", ["ocsp", "tsa"])
def test_service_cert_issues_a_certificate_the_service_accepts(
    pki: Pki, softhsm: Any, tmp_path: Path, kind: str
) -> None:
    label = f"cli-{kind}"
    open_token(softhsm.uri()).generate_key(KeyType.GOST3410_2012_256, label=label)
    uri = softhsm.uri(object=label, type="private")
    out = tmp_path / f"{kind}.pem"
    result = CliRunner().invoke(
        main,
        ["service-cert", kind, "--config", str(operator_config(pki)), "--key-uri", uri,
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cert = Certificate.load(out.read_bytes())
    cert.verify_signed_by(pki.ca.certificate.public_key_info)
    assert cert.not_before <= dt.datetime.now(dt.UTC)
    assert not lint.lint_der(cert.der, kind).errors
    key = open_key(uri)
    if kind == "ocsp":
        OcspIssuer(pki.ca.certificate, key, cert)  # refuses a certificate without OCSPSigning
    else:
        TsaSigner(key, cert, Tsp.EXAMPLE_POLICY)  # refuses anything but critical timeStamping
    again = CliRunner().invoke(
        main,
        ["service-cert", kind, "--config", str(operator_config(pki)), "--key-uri", uri,
         "--out", str(out)],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    renewed = Certificate.load(out.read_bytes())
    assert renewed.serial_number != cert.serial_number
    assert renewed.public_key_info == cert.public_key_info
    # Both are kept in the register as certificates the CA issued: listed, revocable, and
    # answered by OCSP (R-register: every serial the CA signs is recorded first).
    register = open_register(pki.register_location, opened_at=dt.datetime.now(dt.UTC))
    try:
        for issued in (cert, renewed):
            record = register.get_certificate(pki.ca.issuer_id, issued.serial_number)
            assert record.der == issued.der
            assert record.profile.value == kind
            assert record.subscriber.value == f"service:{kind}"
            assert record.status is CertificateStatus.VALID
        source = StatusSource(register)
        assert source.status(pki.ca.issuer_id, renewed.serial_number).state is CertState.GOOD
    finally:
        register.close()


def test_service_cert_refuses_a_key_uri_that_names_nothing(pki: Pki, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["service-cert", "tsa", "--config", str(operator_config(pki)), "--key-uri",
         "pkcs11:token=no-such-token;object=x;type=private", "--out", str(tmp_path / "x.pem")],
    )  # fmt: skip
    assert result.exit_code in (2, 3), result.output
    assert not (tmp_path / "x.pem").exists()
