"""docs/library-guide.md: the "dozen lines" example runs exactly as printed — one import,
``atlas_ca.open`` on the operator's TOML file — and issues a certificate that OpenSSL's gost
engine verifies (software keys; the HSM path is the demo's)."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import atlas_ca
from atlas_ca.algorithms import KeyType
from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.cli.demo.scenario import DEMO_CA, DEMO_CONFIG
from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.profiles.planning import issue_certificate, plan_ca_certificate
from atlas_ca.storage.ports import RecordKind
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.atlas_testing import REPO, OpenSSL

GUIDE = REPO / "docs" / "library-guide.md"


def _first_python_block(text: str) -> str:
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found is not None
    return found.group(1)


class Phone:
    """The SMS gateway the guide's reader plugs in: here it keeps the last code sent."""

    def __init__(self) -> None:
        self.last_code: str | None = None
        self.to: list[MobilePhone] = []

    def send(self, phone: MobilePhone, text: str) -> None:
        self.to.append(phone)
        found = re.search(r"\b(\d{6})\b", text)
        self.last_code = found.group(1) if found else None


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _config(workdir: Path, key_uri: str, ca_pem: Path) -> Path:
    tools = DEMO_CONFIG.issuer_tools
    urls = ", ".join(_q(u) for u in DEMO_CONFIG.crl_urls)
    path = workdir / "atlas-ca.toml"
    path.write_text(
        '[register]\nlocation = "register.sqlite"\n\n'
        f"[ca]\nkey_uri = {_q(key_uri)}\ncertificate = {_q(str(ca_pem))}\n\n"
        "[ca.profile]\nallow_unqualified_keys = true\n"
        f"ca_sign_tool = {_q(DEMO_CONFIG.ca_sign_tool)}\n"
        f'policy_classes = ["KC1", "KC2"]\ncrl_urls = [{urls}]\n\n'
        "[ca.profile.issuer_tools]\n"
        f"sign_tool = {_q(tools.sign_tool)}\nca_tool = {_q(tools.ca_tool)}\n"
        f"sign_tool_certificate = {_q(tools.sign_tool_certificate)}\n"
        f"ca_tool_certificate = {_q(tools.ca_tool_certificate)}\n\n"
        "[tariffs]\n"
        'products = [{code = "kep-issue", name = "КЭП", kind = "certificate_issuance"}]\n'
        'plans = [{id = "basic", name = "Базовый"}]\n'
        'prices = [{plan = "basic", product = "kep-issue", from = "2025-01-01", '
        'price = "3600.00"}]\n'
    )
    return path


def test_the_example_is_a_dozen_lines_from_one_import() -> None:
    code = _first_python_block(GUIDE.read_text())
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 12, lines
    imports = [
        node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert [ast.unparse(node) for node in imports] == ["import atlas_ca"]


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
    (tmp_path / "ca.pem").write_bytes(root.pem())
    toml = _config(tmp_path, key_uri, tmp_path / "ca.pem")
    # the subscriber was registered and verified before (the guide's identity section)
    with atlas_ca.open(toml, environ={}) as desk:
        subscriber = verified_subscriber("sub-1", at=now - dt.timedelta(minutes=1))
        desk.records.put(RecordKind.SUBSCRIBER, "sub-1", subscriber, at=now)
    sub_uri = generate_software_key(
        tmp_path / "sub.key", KeyType.GOST3410_2012_256, password="s", iterations=1000
    )
    csr = (
        CsrBuilder().subject_name(Name.build([])).sign(open_software_key(sub_uri, password="s")).der
    )
    sms = Phone()

    namespace: dict[str, object] = {"workdir": tmp_path, "sms": sms, "csr": csr}
    exec(compile(_first_python_block(GUIDE.read_text()), str(GUIDE), "exec"), namespace)

    assert sms.to == [subscriber.phone]  # the code went to the subscriber's own phone (R7)
    pem = namespace["certificate_pem"]
    assert isinstance(pem, bytes)
    cert = Certificate.load(pem)
    assert cert.public_key_info == open_software_key(sub_uri, password="s").public_key_info
    (tmp_path / "cert.pem").write_bytes(pem)
    check = openssl_gost.run(
        ["verify", "-CAfile", tmp_path / "ca.pem", tmp_path / "cert.pem"], check=False
    )
    assert check.returncode == 0, check.stderr
    with atlas_ca.open(toml, environ={}) as desk:
        assert desk.order("ord-1").state.value == "completed"  # the one certificate it bought
        assert [r.serial for r in desk.certificates_of("sub-1")] == [cert.serial_number]
