"""``atlas-ca renew --request FILE`` (R20) as a real process on the demo's CA: a request signed
with the current certificate's key renews it (code first, then issuance; OpenSSL verifies the
new certificate); a request signed by the demo's revoked certificate is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.trust.cms import sign_attached
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.atlas_testing import OpenSSL
from support.cli_ops_support import run_cli, softhsm_env

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]

ORDER = "ord-renew-cli"


@dataclass(frozen=True)
class DemoCa:
    dir: Path
    config: Path
    env: dict[str, str]

    def cli(self, *args: str) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(self.config)], env=self.env)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCa:
    out = tmp_path_factory.mktemp("renew") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    demo = DemoCa(out, out / "atlas-ca.toml", env)
    rc, _, err = demo.cli(
        "order", "create", ORDER, "--customer", "sub-0001", "--item", "kep-renew:2"
    )
    assert rc == 0, err
    rc, _, err = demo.cli("order", "pay", ORDER, "--amount", "3600.00", "--payment-id", "p-renew")
    assert rc == 0, err
    return demo


def signed_request(ca: DemoCa, signer: str, tmp_path: Path) -> Path:
    """A CAdES-BES request carrying a CSR of a new key, signed with ``signer``'s demo key."""
    password = (ca.dir / "subscriber-keys.password").read_text()
    current = open_software_key(f"file:{ca.dir / f'{signer}.key'}", password=password)
    new = open_software_key(
        generate_software_key(
            tmp_path / "new.key", KeyType.GOST3410_2012_256, password="x", param_set="tc26-256-a"
        ),
        password="x",
    )
    csr = CsrBuilder().subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "r")])).sign(new)
    cert = Certificate.load((ca.dir / f"{signer}.pem").read_bytes())
    path = tmp_path / "renewal.p7m"
    path.write_bytes(sign_attached(csr.der, current, cert.der, at=datetime.now(UTC)))
    return path


def test_renew_sends_a_code_then_issues_and_openssl_verifies_the_new_certificate(
    ca: DemoCa, openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    request = signed_request(ca, "subscriber-1", tmp_path)
    base = ("renew", "--request", str(request), "--order", ORDER)
    rc, out, err = ca.cli(*base)
    assert rc == 0, err
    assert "is subscriber sub-0001" in out
    code = re.search(r"Код (\d{6})", err)
    assert code is not None, err
    new = tmp_path / "new.pem"
    rc, out, err = ca.cli(*base, "--otp", code.group(1), "--out", str(new))
    assert rc == 0, err
    assert out.startswith("renewed: issued ")
    check = openssl_gost.run(["verify", "-CAfile", ca.dir / "ca.pem", new], check=False)
    assert check.returncode == 0, check.stderr.decode()
    old = Certificate.load((ca.dir / "subscriber-1.pem").read_bytes())
    assert Certificate.load(new.read_bytes()).subject == old.subject


def test_a_request_signed_by_a_revoked_certificate_is_refused_with_exit_1(
    ca: DemoCa, tmp_path: Path
) -> None:
    request = signed_request(ca, "subscriber-2", tmp_path)  # revoked by the demo (keyCompromise)
    rc, _, err = ca.cli("renew", "--request", str(request), "--order", ORDER)
    assert rc == 1
    assert "atlas-ca: invalid: the signer's certificate is revoked" in err
    assert "Код" not in err  # no code was sent
