"""The identity and commercial commands as real processes on the demo's CA: a new subscriber is
registered, checked, verified and attested by the demo registrar; places, pays and is refunded
for orders; gets a certificate through ``issue``. Refusals name their rule and exit 1; bad
input exits 2; personal data is never printed unmasked."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.atlas_testing import OpenSSL
from support.cli_ops_support import run_cli, softhsm_env
from support.person_samples import PERSON

pytestmark = [pytest.mark.softhsm, pytest.mark.openssl_gost]

ANSWERS = [
    {"field": "person", "confirmed": True},
    {"field": "passport", "confirmed": True},
    {"field": "inn", "confirmed": True},
    {"field": "snils", "confirmed": True},
]


@dataclass(frozen=True)
class Desk:
    dir: Path
    config: Path
    env: dict[str, str]

    def cli(self, *args: str) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(self.config)], env=self.env)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    out = tmp_path_factory.mktemp("desk") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    (out / "person.json").write_text(json.dumps(PERSON, ensure_ascii=False))
    (out / "answers.json").write_text(json.dumps(ANSWERS))
    return Desk(out, out / "atlas-ca.toml", env)


def test_a_new_subscriber_from_registration_to_a_certificate(
    desk: Desk, openssl_gost: OpenSSL
) -> None:
    data = str(desk.dir / "person.json")
    rc, out, err = desk.cli(
        "subscriber", "add", "sub-0100", "--phone", "+79241112233", "--data", data
    )
    assert rc == 0, err
    assert "stage: data_entered" in out
    for raw in ("500100732259", "Кузнецов", "123456", "+79241112233"):
        assert raw not in out  # R21: masked

    key = f"pkcs11:token=atlas-demo;object=registrar?pin-source=file:{desk.dir / 'user.pin'}"
    att = desk.dir / "att"
    # R5: no verification before the registries confirmed every field
    rc, _, err = desk.cli(
        "subscriber", "verify", "sub-0100", "--registrar", "reg-0001", "--attest-key", key
    )
    assert rc == 1
    assert "(R2, R5)" in err
    rc, out, err = desk.cli(
        "subscriber", "check", "sub-0100", "--answers", str(desk.dir / "answers.json"), "--json"
    )
    assert rc == 0, err
    assert json.loads(out)["stage"] == "checks_passed"
    # R5: the registrar's signature on the verified data is part of the verification
    rc, _, err = desk.cli("subscriber", "verify", "sub-0100", "--registrar", "reg-0001")
    assert rc == 2
    assert "--attest-key" in err
    rc, out, _ = desk.cli("subscriber", "show", "sub-0100", "--json")
    assert json.loads(out)["verified"] is False
    rc, out, err = desk.cli(
        "subscriber",
        "verify",
        "sub-0100",
        "--registrar",
        "reg-0001",
        "--attest-key",
        key,
        "--attest-out",
        str(att),
        "--json",
    )
    assert rc == 0, err
    shown = json.loads(out)
    assert shown["verified"] is True
    assert shown["identified_by"] == "reg-0001"
    # the verified record is personal data (issue 15 item 5): 0600 files in a 0700 directory
    assert stat.S_IMODE(att.stat().st_mode) == 0o700
    for name in ("sub-0100.record.der", "sub-0100.record.p7s"):
        assert stat.S_IMODE((att / name).stat().st_mode) == 0o600
    cms = openssl_gost.run(
        [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            att / "sub-0100.record.p7s",
            "-content",
            att / "sub-0100.record.der",
            "-CAfile",
            desk.dir / "ca.pem",
            "-out",
            att / "out",
        ],
        check=False,
    )
    assert cms.returncode == 0, cms.stderr

    # R8–R10: an order, unpaid first
    rc, out, err = desk.cli(
        "order", "create", "ord-0100", "--customer", "sub-0100", "--item", "kep-issue", "--json"
    )
    assert rc == 0, err
    order = json.loads(out)
    assert order["state"] == "awaiting_payment"
    assert order["total"] == "3600.00 ₽"

    key_uri = generate_software_key(
        desk.dir / "sub-0100.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
    )
    csr = CsrBuilder().subject_name(Name.build([])).sign(open_software_key(key_uri, password="pw"))
    csr_path = desk.dir / "sub-0100.csr"
    csr_path.write_bytes(csr.pem())
    issue = ["issue", "--csr", str(csr_path), "--subscriber", "sub-0100", "--order", "ord-0100"]
    rc, _, err = desk.cli(*issue)
    assert rc == 1
    assert "R10" in err
    assert "Код" not in err  # refused before any code was sent

    rc, out, err = desk.cli(
        "order", "pay", "ord-0100", "--amount", "3600.00", "--payment-id", "sber-1"
    )
    assert rc == 0, err
    assert "status: paid_in_full" in out
    rc, out, _ = desk.cli(
        "order", "pay", "ord-0100", "--amount", "3600.00", "--payment-id", "sber-1", "--json"
    )
    assert json.loads(out)["status"] == "duplicate"

    rc, _, err = desk.cli(*issue)
    assert rc == 0, err
    code = re.search(r"Код (\d{6})", err)
    assert code is not None
    cert = desk.dir / "sub-0100.pem"
    rc, _, err = desk.cli(*issue, "--otp", code.group(1), "--out", str(cert))
    assert rc == 0, err
    check = openssl_gost.run(["verify", "-CAfile", desk.dir / "ca.pem", cert], check=False)
    assert check.returncode == 0, check.stderr
    rc, out, _ = desk.cli("subscriber", "show", "sub-0100", "--json")
    assert list(json.loads(out)["certificates"].values()) == ["valid"]


def test_the_key_of_one_subscriber_is_not_certified_to_another(desk: Desk) -> None:
    """Issue 15's case: sub-0001's CSR (the demo certified its key) presented for sub-0100
    (verified by the test above) is refused, before a code is sent; sub-0100's own key too."""
    rc, _, err = desk.cli(
        "order", "create", "ord-0101", "--customer", "sub-0100", "--item", "kep-issue"
    )
    assert rc == 0, err
    rc, _, err = desk.cli(
        "order", "pay", "ord-0101", "--amount", "3600.00", "--payment-id", "sber-101"
    )
    assert rc == 0, err
    for csr in (desk.dir / "subscriber-1.csr.pem", desk.dir / "sub-0100.csr"):
        issue = ["issue", "--csr", str(csr), "--subscriber", "sub-0100", "--order", "ord-0101"]
        rc, _, err = desk.cli(*issue)
        assert rc == 1, err
        assert "already certified by this CA (certificate " in err
        assert "Код" not in err
        assert len(err.strip().splitlines()) == 1


def test_refunds_are_granted_for_a_paid_order_and_claims_decided(desk: Desk) -> None:
    rc, _, err = desk.cli(
        "order", "create", "ord-0200", "--customer", "sub-0001", "--item", "kep-issue:2"
    )
    assert rc == 0, err
    rc, _, err = desk.cli(
        "order", "pay", "ord-0200", "--amount", "7200.00", "--payment-id", "p-200"
    )
    assert rc == 0, err
    rc, out, err = desk.cli(
        "order",
        "refund-request",
        "ord-0200",
        "--request-id",
        "ZV-200",
        "--amount",
        "1000.00",
        "--json",
    )
    assert rc == 0, err
    decision = json.loads(out)
    assert decision["decision"] == "granted"
    assert decision["rule"] == "R16"
    assert decision["amount"] == "1000.00 ₽"
    assert decision["due"] > "2026-01-01"
    # the refund ended the order: cancelled, the other 6200.00 went back to the account
    assert decision["order_state"] == "cancelled"
    assert decision["balance"] == "6200.00 ₽"
    rc, _, err = desk.cli("order", "refund-request", "ord-0200", "--request-id", "ZV-201")
    assert rc != 0
    assert "nothing is refundable" in err
    rc, out, err = desk.cli(
        "account", "refund-request", "sub-0001", "--request-id", "ZV-202", "--json"
    )
    assert rc == 0, err
    assert json.loads(out)["amount"] == "6200.00 ₽"
    assert json.loads(out)["balance"] == "0.00 ₽"
    rc, _, err = desk.cli("account", "refund-request", "sub-0001", "--request-id", "ZV-202")
    assert rc == 2
    assert "already assessed" in err
    rc, _, err = desk.cli(
        "order", "refund-decide", "ZV-200", "--deny", "--reason", "x", "--by", "ops"
    )
    assert rc == 2  # a granted refund is not a claim
    rc, _, err = desk.cli("order", "refund-decide", "ZV-200", "--reason", "x", "--by", "ops")
    assert rc == 2
    assert "exactly one" in err


def test_refusals_and_bad_input_of_the_identity_side(desk: Desk, tmp_path: Path) -> None:
    rc, _, err = desk.cli(
        "order", "create", "ord-0300", "--customer", "nobody", "--item", "kep-issue"
    )
    assert rc == 1
    assert "not registered" in err
    assert "(R1, R8)" in err
    rc, _, err = desk.cli(
        "order", "create", "ord-0301", "--customer", "sub-0001", "--item", "no-such"
    )
    assert rc in (1, 2)
    assert err.count("\n") == 1
    rc, _, err = desk.cli("order", "pay", "ord-0001", "--amount", "lots", "--payment-id", "p")
    assert rc == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**PERSON, "inn": "500100732258"}))
    rc, _, err = desk.cli(
        "subscriber", "add", "sub-0301", "--phone", "+79241112299", "--data", str(bad)
    )
    assert rc == 2
    assert err.startswith("atlas-ca: error: ")
    assert "500100732258" not in err
    rc, _, err = desk.cli("subscriber", "add", "sub-0001", "--phone", "+79241112299")
    assert rc == 2
    assert "already exists" in err
    rc, _, err = desk.cli("subscriber", "show", "sub-9999")
    assert rc == 2
    rc, out, err = desk.cli(
        "authority",
        "add",
        "auth-1",
        "--person",
        "sub-0001",
        "--organisation",
        "2536161885",
        "--position",
        "Генеральный директор",
        "--head-since",
        "2026-01-10",
        "--valid-from",
        "2026-01-10",
        "--registrar",
        "reg-0001",
        "--json",
    )
    assert rc == 0, err
    assert json.loads(out)["verified_by"] == "reg-0001"
    rc, out, err = desk.cli("authority", "revoke", "auth-1", "--reason", "МЧД отозвана", "--json")
    assert rc == 0, err
    assert json.loads(out)["revoked_at"] is not None
    rc, out, err = desk.cli(
        "registrar",
        "add",
        "reg-0009",
        "--surname",
        "Иванова",
        "--given-name",
        "Ольга",
        "--office",
        "office-vl",
        "--office-name",
        "Владивосток, офис",
        "--json",
    )
    assert rc == 0, err
    assert json.loads(out)["can_verify"] is False  # no signing certificate yet (R5)


def test_bulk_import_checks_every_line_before_writing_any(desk: Desk, tmp_path: Path) -> None:
    good = tmp_path / "people.jsonl"
    lines = [
        json.dumps({"id": f"bulk-{i}", "phone": f"+7924111220{i}", "data": PERSON})
        for i in range(3)
    ]
    good.write_text("\n".join(lines) + "\n")
    rc, out, err = desk.cli("subscriber", "import", str(good), "--json")
    assert rc == 0, err
    assert json.loads(out) == {"imported": ["bulk-0", "bulk-1", "bulk-2"]}
    assert err == ""  # no progress bar when stderr is not a terminal
    rc, out, _ = desk.cli("subscriber", "show", "bulk-2", "--json")
    assert json.loads(out)["stage"] == "data_entered"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "bulk-9", "phone": "+79241112209", "data": PERSON})
        + "\n"
        + json.dumps({"id": "bulk-10", "phone": "+7924", "data": PERSON})
        + "\n"
    )
    rc, _, err = desk.cli("subscriber", "import", str(bad))
    assert rc == 2
    assert f"{bad}:2:" in err
    rc, _, _ = desk.cli("subscriber", "show", "bulk-9")
    assert rc == 2  # nothing of the bad file was imported
    rc, _, err = desk.cli("subscriber", "import", str(good))
    assert rc == 2
    assert "already exists" in err


def test_crl_publish_prints_no_progress_bar_into_a_pipe(desk: Desk) -> None:
    rc, out, err = desk.cli("crl", "publish")
    assert rc == 0, err
    assert out.startswith("CRL ")
    assert "publishing" not in err


def test_a_person_acting_for_an_organisation_gets_a_legal_entity_certificate(
    desk: Desk, openssl_gost: OpenSSL, tmp_path: Path
) -> None:
    text = desk.config.read_text().replace(
        "[ca.profile]\n",
        '[ca.profile]\nenabled_profiles = ["individual", "legal-entity", "ca", "ocsp"]\n',
    )
    config = desk.dir / "legal-entity.toml"
    config.write_text(text)

    def cli(*args: str) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(config)], env=desk.env)
        return proc.returncode, proc.stdout, proc.stderr

    org = tmp_path / "org.json"
    org.write_text(json.dumps({"inn": "2536161885", "kpp": "253601001"}))
    extract = tmp_path / "egrul.json"
    extract.write_text(
        json.dumps(
            {
                "inn": "2536161885",
                "kpp": "253601001",
                "ogrn": "1052503122902",
                "full_name": 'АО "Атлас-2"',
            },
            ensure_ascii=False,
        )
    )
    kind = ["--kind", "organisation"]
    rc, _, err = cli(
        "subscriber", "add", "org-0001", *kind, "--phone", "+79240000001", "--data", str(org)
    )
    assert rc == 0, err
    rc, out, err = cli("subscriber", "check", "org-0001", "--egrul", str(extract), "--json")
    assert rc == 0, err
    assert json.loads(out)["stage"] == "checks_passed"
    key = f"pkcs11:token=atlas-demo;object=registrar?pin-source=file:{desk.dir / 'user.pin'}"
    attest = ["--attest-key", key, "--attest-out", str(tmp_path / "att")]
    rc, _, err = cli("subscriber", "verify", "org-0001", "--registrar", "reg-0001", *attest)
    assert rc == 0, err
    assert (tmp_path / "att" / "org-0001.record.p7s").exists()
    authority = ["authority", "add", "auth-le", "--person", "sub-0001", "--organisation"]
    authority += ["2536161885", "--position", "Генеральный директор", "--head-since"]
    authority += ["2026-01-10", "--valid-from", "2026-01-10T00:00:00Z", "--registrar", "reg-0001"]
    rc, _, err = cli(*authority)
    assert rc == 0, err

    uri = generate_software_key(
        tmp_path / "le.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
    )
    csr = tmp_path / "le.csr"
    csr.write_bytes(
        CsrBuilder().subject_name(Name.build([])).sign(open_software_key(uri, password="pw")).pem()
    )
    # The demo's ord-0001 bought two certificates and the demo issued both (R10): a new order.
    item = ["--item", "kep-issue:2"]
    rc, _, err = cli("order", "create", "ord-0400", "--customer", "sub-0001", *item)
    assert rc == 0, err
    rc, _, err = cli("order", "pay", "ord-0400", "--amount", "7200.00", "--payment-id", "p-400")
    assert rc == 0, err
    issue = ["issue", "--csr", str(csr), "--subscriber", "sub-0001", "--order", "ord-0001"]
    issue += ["--profile", "legal-entity", "--organisation", "org-0001"]
    rc, _, err = cli(*issue)
    assert rc == 1
    assert "ord-0001 is completed" in err
    assert "(2 of 2 used)" in err
    assert "R10" in err
    issue[issue.index("ord-0001")] = "ord-0400"
    issue += ["--org-region", "25 Приморский край", "--org-locality", "г. Владивосток"]
    issue += ["--org-street", "ул. Алеутская, д. 11"]
    rc, _, err = cli(*issue)
    assert rc == 0, err
    code = re.search(r"Код (\d{6})", err)
    assert code is not None
    cert = tmp_path / "le.pem"
    rc, _, err = cli(*issue, "--otp", code.group(1), "--out", str(cert))
    assert rc == 0, err
    check = openssl_gost.run(["verify", "-CAfile", desk.dir / "ca.pem", cert], check=False)
    assert check.returncode == 0, check.stderr
    subject = openssl_gost.run(
        ["x509", "-in", cert, "-noout", "-subject", "-nameopt", "utf8,sep_multiline"]
    ).stdout.decode()
    assert "Атлас-2" in subject
    assert "Генеральный директор" in subject

    # R4: once the authority is revoked, nothing more is issued for the organisation
    rc, _, err = cli("authority", "revoke", "auth-le", "--reason", "полномочия прекращены")
    assert rc == 0, err
    rc, _, err = cli(*issue)
    assert rc == 1
    assert "R4" in err
