"""A subscriber revokes or suspends their own certificate from the CLI (R7): the first run sends
a one-time code bound to the operation, the certificate (and the reason), the second run with
``--otp`` confirms it. Another subscriber's certificate, a wrong code and a reason only the CA
states are refused with exit 1 — the first two before any code is sent. Real processes of the
installed ``atlas-ca`` on the demo's CA: the SoftHSM module is loaded once per process with the
token configuration of that moment, so an in-process CliRunner would see another test's token."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_ca.x509.certificate import Certificate
from support.cli_ops_support import run_cli, softhsm_env
from support.person_samples import PERSON

pytestmark = [pytest.mark.softhsm]


@dataclass(frozen=True)
class DemoCa:
    dir: Path
    config: Path
    env: dict[str, str]

    def cli(self, *args: str) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(self.config)], env=self.env)
        return proc.returncode, proc.stdout, proc.stderr

    def status(self, serial: str) -> str:
        rc, out, err = self.cli("subscriber", "show", "sub-0001", "--json")
        assert rc == 0, err
        return str(json.loads(out)["certificates"][serial])


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCa:
    out = tmp_path_factory.mktemp("subrev") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    demo = DemoCa(out, out / "atlas-ca.toml", env)
    (out / "person.json").write_text(json.dumps(PERSON, ensure_ascii=False))
    rc, _, err = demo.cli(
        "subscriber",
        "add",
        "sub-0300",
        "--phone",
        "+79241112233",
        "--data",
        str(out / "person.json"),
    )
    assert rc == 0, err
    return demo


@pytest.fixture(scope="module")
def serial(ca: DemoCa) -> str:
    """The demo's first certificate of sub-0001, still valid (the demo also renews it, R20)."""
    rc, out, err = ca.cli("subscriber", "show", "sub-0001", "--json")
    assert rc == 0, err
    first = format(Certificate.load((ca.dir / "subscriber-1.pem").read_bytes()).serial_number, "x")
    assert json.loads(out)["certificates"][first] == "valid", out
    return first


def _code_from(err: str) -> str:
    found = re.search(r"Код (\d{6})", err)
    assert found is not None, err
    return found.group(1)


def test_another_subscribers_certificate_is_refused_before_a_code_is_sent(
    ca: DemoCa, serial: str
) -> None:
    for action in (["suspend"], ["revoke", "--reason", "key-compromise"]):
        rc, _, err = ca.cli(*action, serial, "--by-subscriber", "sub-0300")
        assert rc == 1, err
        assert "not issued to this subscriber" in err
        assert "Код" not in err
    assert ca.status(serial) == "valid"


def test_a_reason_only_the_ca_states_is_refused_before_a_code_is_sent(
    ca: DemoCa, serial: str
) -> None:
    for reason in ("ca-compromise", "privilege-withdrawn"):
        rc, _, err = ca.cli("revoke", serial, "--reason", reason, "--by-subscriber", "sub-0001")
        assert rc == 1, err
        assert "may not revoke" in err
        assert "Код" not in err
    assert ca.status(serial) == "valid"


def test_otp_without_a_subscriber_is_a_usage_error(ca: DemoCa, serial: str) -> None:
    rc, _, err = ca.cli("suspend", serial, "--otp", "123456")
    assert rc == 2
    assert "--by-subscriber" in err
    rc, _, err = ca.cli("suspend", serial, "--by-subscriber", "sub-0001", "--operator", "ops-1")
    assert rc == 2


def test_the_subscriber_suspends_then_revokes_with_one_time_codes(ca: DemoCa, serial: str) -> None:
    suspend = ["suspend", serial, "--by-subscriber", "sub-0001"]
    rc, out, err = ca.cli(*suspend)
    assert rc == 0, err
    assert "run the same command again with --otp" in out
    assert "+79241234567" not in err  # the console gateway masks the phone
    code = _code_from(err)
    assert ca.status(serial) == "valid"  # nothing changes before the code is confirmed

    wrong = "000000" if code != "000000" else "111111"
    rc, _, err = ca.cli(*suspend, "--otp", wrong)
    assert rc == 1
    assert "R7" in err
    assert ca.status(serial) == "valid"
    rc, out, err = ca.cli(*suspend, "--otp", code)
    assert rc == 0, err
    shown, status = out.strip().split(": ")
    assert (int(shown, 16), status) == (int(serial, 16), "suspended")
    rc, _, err = ca.cli(*suspend, "--otp", code)
    assert rc == 1  # a code confirms once

    revoke = ["revoke", serial, "--reason", "key-compromise", "--by-subscriber", "sub-0001"]
    rc, out, err = ca.cli(*revoke, "--json")
    assert rc == 0, err
    assert json.loads(out)["sent"] is True
    code = _code_from(err)
    # the code is bound to the reason: confirming another reason is refused
    rc, _, err = ca.cli(
        "revoke", serial, "--reason", "superseded", "--by-subscriber", "sub-0001", "--otp", code
    )
    assert rc == 1
    rc, out, err = ca.cli(*revoke, "--otp", code, "--json")
    assert rc == 0, err
    assert json.loads(out)["status"] == "revoked"
    assert ca.status(serial) == "revoked"
