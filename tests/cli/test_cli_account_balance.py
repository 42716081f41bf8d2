"""``order pay --from-balance`` and ``account top-up|show`` on a SQLite and a PostgreSQL register
(R9, R14): the outstanding amount of an order placed to be paid from the personal account is
debited from the customer's ledger, and the order and the account are written together; the
balance never goes negative, and an order placed for another method is refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from atlas_ca.cli import main
from atlas_ca.cli.demo.fakes import verified_subscriber
from atlas_ca.storage import RecordKind, open_record_store
from support.cli_ops_support import registers
from support.registers import pg_url

pg_server = registers.pg_server

TARIFFS = (
    "[tariffs]\n"
    'products = [{code = "kep-issue", name = "КЭП", kind = "certificate_issuance"}]\n'
    'plans = [{id = "basic", name = "Базовый"}]\n'
    'prices = [{plan = "basic", product = "kep-issue", from = "2025-01-01", price = "3600.00"}]\n'
)


@dataclass(frozen=True)
class Desk:
    config: Path

    def cli(self, *args: str) -> Any:
        env = {"ATLAS_CA_CONFIG": None, "ATLAS_CA_REGISTER": None}
        return CliRunner().invoke(main, [*args, "--config", str(self.config)], env=env)

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest, pg_server: Any, tmp_path: Path) -> Desk:
    store = registers.make_store(request.param, pg_server, tmp_path)
    location = store.location if store.kind == "sqlite" else pg_url(store.location)
    records = open_record_store(location, opened_at=registers.T0)
    records.put(
        RecordKind.SUBSCRIBER,
        "sub-1",
        verified_subscriber("sub-1", at=registers.T0),
        at=registers.T0,
    )
    records.close()
    config = tmp_path / "atlas-ca.toml"
    config.write_text(f"[register]\nlocation = {json.dumps(location)}\n\n{TARIFFS}")
    return Desk(config)


def _order(desk: Desk, order_id: str, method: str = "account-balance") -> None:
    placed = desk.json(
        "order",
        "create",
        order_id,
        "--customer",
        "sub-1",
        "--item",
        "kep-issue",
        "--method",
        method,
    )
    assert placed["state"] == "awaiting_payment"


def test_an_order_is_paid_from_the_balance_and_the_ledger_shows_both_entries(desk: Desk) -> None:
    topped = desk.json("account", "top-up", "sub-1", "--amount", "5000.00", "--entry-id", "b-1")
    assert topped["balance"] == "5000.00 ₽"
    _order(desk, "ord-1")
    paid = desk.json("order", "pay", "ord-1", "--from-balance")
    assert (paid["status"], paid["applied"], paid["balance"]) == (
        "paid_from_balance",
        "3600.00 ₽",
        "1400.00 ₽",
    )
    assert (paid["rule"], paid["order_state"]) == ("R9", "paid")
    shown = desk.json("account", "show", "sub-1")
    assert shown["balance"] == "1400.00 ₽"
    assert [line.split()[1:3] for line in shown["entries"]] == [
        ["b-1", "top_up"],
        ["pay-ord-1", "order_payment"],
    ]
    again = desk.cli("order", "pay", "ord-1", "--from-balance")
    assert again.exit_code == 1  # paid already: nothing is taken twice
    assert desk.json("account", "show", "sub-1")["balance"] == "1400.00 ₽"


def test_a_balance_short_of_the_order_is_refused_and_nothing_changes(desk: Desk) -> None:
    desk.json("account", "top-up", "sub-1", "--amount", "1000.00", "--entry-id", "b-1")
    _order(desk, "ord-2")
    short = desk.cli("order", "pay", "ord-2", "--from-balance")
    assert short.exit_code == 1
    assert "R14" in short.output
    assert desk.json("account", "show", "sub-1")["balance"] == "1000.00 ₽"
    # the order still awaits payment: a later top-up lets it be paid
    desk.json("account", "top-up", "sub-1", "--amount", "2600.00", "--entry-id", "b-2")
    paid = desk.json("order", "pay", "ord-2", "--from-balance", "--payment-id", "led-7")
    assert paid["balance"] == "0.00 ₽"


def test_an_order_placed_for_another_method_is_not_paid_from_the_balance(desk: Desk) -> None:
    desk.json("account", "top-up", "sub-1", "--amount", "5000.00", "--entry-id", "b-1")
    _order(desk, "ord-3", method="bank-card")
    refused = desk.cli("order", "pay", "ord-3", "--from-balance")
    assert refused.exit_code == 1
    assert "R9" in refused.output
    assert desk.json("account", "show", "sub-1")["balance"] == "5000.00 ₽"


def test_bad_combinations_of_options_are_usage_errors(desk: Desk) -> None:
    _order(desk, "ord-4")
    assert desk.cli("order", "pay", "ord-4", "--from-balance", "--amount", "1.00").exit_code == 2
    assert desk.cli("order", "pay", "ord-4", "--amount", "1.00").exit_code == 2
    assert desk.cli("account", "top-up", "sub-1", "--amount", "x", "--entry-id", "e").exit_code == 2
    assert desk.cli("account", "show", "sub-404").exit_code == 2
