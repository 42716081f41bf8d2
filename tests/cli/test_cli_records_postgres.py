"""The identity and order commands on a PostgreSQL register: subscribers, registrars and orders
are kept in the same database as the certificates, so several issuing nodes share them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from atlas_ca.algorithms import KeyType
from atlas_ca.cli import main
from atlas_ca.cli.demo.fakes import sample_registrar
from atlas_ca.hsm.software import generate_software_key
from atlas_ca.storage import RecordKind, open_record_store
from support.cli_ops_support import registers
from support.person_samples import PERSON
from support.registers import pg_url

pg_server = registers.pg_server

ANSWERS = [{"field": name, "confirmed": True} for name in ("person", "passport", "inn", "snils")]
TARIFFS = (
    "[tariffs]\n"
    'products = [{code = "kep-issue", name = "КЭП", kind = "certificate_issuance"}]\n'
    'plans = [{id = "basic", name = "Базовый"}]\n'
    'prices = [{plan = "basic", product = "kep-issue", from = "2025-01-01", price = "3600.00"}]\n'
)


def test_subscribers_and_orders_live_in_a_postgresql_register(
    pg_server: Any, tmp_path: Path
) -> None:
    location = pg_url(registers.make_store("postgres", pg_server, tmp_path).location)
    config = tmp_path / "atlas-ca.toml"
    config.write_text(f"[register]\nlocation = {json.dumps(location)}\n\n{TARIFFS}")
    (tmp_path / "person.json").write_text(json.dumps(PERSON, ensure_ascii=False))
    (tmp_path / "answers.json").write_text(json.dumps(ANSWERS))
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(
            main,
            [*args, "--config", str(config)],
            env={"ATLAS_CA_CONFIG": None, "ATLAS_CA_REGISTER": None},
        )

    add = cli(
        "subscriber",
        "add",
        "sub-0100",
        "--phone",
        "+79241112233",
        "--data",
        str(tmp_path / "person.json"),
    )
    assert add.exit_code == 0, add.output
    for raw in ("500100732259", "Кузнецов", "123456", "+79241112233"):
        assert raw not in add.output  # R21: masked
    # the registrar comes from another node: written straight into the shared database
    records = open_record_store(location, opened_at=registers.T0)
    records.put(RecordKind.REGISTRAR, "reg-1", sample_registrar(), at=registers.T0)
    records.close()

    check = cli("subscriber", "check", "sub-0100", "--answers", str(tmp_path / "answers.json"))
    assert check.exit_code == 0, check.output
    # R5: no verification without the registrar's signature on the verified data, and a
    # software key is no qualified signature: both refused, nothing stored (the signed
    # verification on PostgreSQL is tests/app's, through the facade)
    verify = cli("subscriber", "verify", "sub-0100", "--registrar", "reg-1", "--json")
    assert verify.exit_code == 2, verify.output
    assert "--attest-key" in verify.output
    soft = generate_software_key(
        tmp_path / "reg.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
    )
    (tmp_path / "reg.pw").write_text("pw")
    soft += f"?pin-source=file:{tmp_path / 'reg.pw'}"
    verify = cli(
        "subscriber",
        "verify",
        "sub-0100",
        "--registrar",
        "reg-1",
        "--attest-key",
        soft,
        "--attest-out",
        str(tmp_path / "att"),
    )
    assert verify.exit_code == 1, verify.output
    assert "(R5)" in verify.output
    assert not (tmp_path / "att").exists()
    show = cli("subscriber", "show", "sub-0100", "--json")
    assert show.exit_code == 0, show.output
    assert json.loads(show.output)["verified"] is False
    assert json.loads(show.output)["stage"] == "checks_passed"
    assert json.loads(show.output)["certificates"] == {}

    create = cli(
        "order", "create", "ord-0100", "--customer", "sub-0100", "--item", "kep-issue", "--json"
    )
    assert create.exit_code == 0, create.output
    assert json.loads(create.output)["state"] == "awaiting_payment"
    pay = cli("order", "pay", "ord-0100", "--amount", "3600.00", "--payment-id", "sber-1")
    assert pay.exit_code == 0, pay.output
    assert "status: paid_in_full" in pay.output

    kinds = open_record_store(location, opened_at=registers.T0)
    try:
        assert kinds.keys(RecordKind.SUBSCRIBER) == ["sub-0100"]
        assert kinds.keys(RecordKind.ORDER) == ["ord-0100"]
    finally:
        kinds.close()
