"""The seed's customer journeys through ``atlas-ca`` as real processes on the demo's CA (issue
12): order on each entry point (R8) → pay (full, partial, over, from the balance, cash at each
seller) → issue → refund request before and after delivery → claim decision. Each step asserts
what a person would see: the order's state and amounts, the personal account's balance by legal
entity and its entries, the decision and its rule."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from atlas_ca.algorithms import KeyType
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.cli_ops_support import run_cli, softhsm_env

pytestmark = [pytest.mark.softhsm]

TARIFFS = """[tariffs]
products = [
  {code = "kep-issue", name = "Квалифицированный сертификат ЭП", kind = "certificate_issuance"},
  {code = "kavista", name = "Серийный номер «Кависта»", kind = "software_licence"},
  {code = "mail-agent", name = "Почтовый агент, год", kind = "subscription"},
]
plans = [{id = "basic", name = "Базовый"}]
prices = [
  {plan = "basic", product = "kep-issue", from = "2025-01-01", price = "3600.00"},
  {plan = "basic", product = "kavista", from = "2025-01-01", price = "1500.00"},
  {plan = "basic", product = "mail-agent", from = "2025-01-01", price = "1200.00"},
]

[billing]
time_zone = "Europe/Moscow"
"""


@dataclass(frozen=True)
class Desk:
    dir: Path
    config: Path
    env: dict[str, str]

    def cli(self, *args: str) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(self.config)], env=self.env)
        return proc.returncode, proc.stdout, proc.stderr

    def ok(self, *args: str) -> dict[str, Any]:
        rc, out, err = self.cli(*args, "--json")
        assert rc == 0, err
        data = json.loads(out)
        assert isinstance(data, dict)
        return data

    def csr(self, name: str) -> Path:
        uri = generate_software_key(
            self.dir / f"{name}.key", KeyType.GOST3410_2012_256, password="pw", iterations=1000
        )
        key = open_software_key(uri, password="pw")
        path = self.dir / f"{name}.csr"
        path.write_bytes(CsrBuilder().subject_name(Name.build([])).sign(key).pem())
        return path

    def issue(self, order: str, name: str) -> tuple[int, str]:
        """Issue a certificate under ``order`` to the demo's sub-0001; (exit code, stderr)."""
        cmd = ["issue", "--csr", str(self.csr(name)), "--subscriber", "sub-0001", "--order", order]
        rc, _, err = self.cli(*cmd)
        if rc != 0:
            return rc, err
        code = re.search(r"Код (\d{6})", err)
        assert code is not None, err
        rc, _, err = self.cli(*cmd, "--otp", code.group(1), "--out", str(self.dir / f"{name}.pem"))
        return rc, err


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    out = tmp_path_factory.mktemp("journeys") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    config = out / "atlas-ca.toml"
    text = config.read_text()
    config.write_text(text[: text.index("[tariffs]")] + TARIFFS)
    return Desk(out, config, env)


def test_a_refund_request_after_both_certificates_of_ord_0001_were_issued_is_a_claim(
    desk: Desk,
) -> None:
    """Issue 12: the demo issued both certificates ord-0001 bought; the request is a claim
    decided by a person (R17), not "granted 7200.00 ₽ R16"."""
    claim = desk.ok(
        "order", "refund-request", "ord-0001", "--request-id", "zv-1", "--channel", "post"
    )
    assert claim["decision"] == "claim pending"
    assert claim["rule"] == "R17"
    assert "amount" not in claim
    assert desk.ok("order", "show", "ord-0001")["state"] == "completed"
    decided = desk.ok(
        "order", "refund-decide", "zv-1", "--deny", "--reason", "услуга оказана", "--by", "ops-3"
    )
    assert decided["decision"] == "claim denied"
    assert desk.ok("account", "show", "sub-0001")["balance"] == "0.00 ₽"


def test_an_overpayment_shows_on_the_personal_account(desk: Desk) -> None:
    """Issue 12: "overpayment 400.00 ₽ goes to the personal account" and it does."""
    desk.ok("order", "create", "ord-over", "--customer", "sub-0001", "--item", "kep-issue")
    paid = desk.ok(
        "order",
        "pay",
        "ord-over",
        "--amount",
        "4000.00",
        "--payment-id",
        "sber-over",
        "--method",
        "sberbank",
    )
    assert "overpayment 400.00 ₽ goes to the personal account" in paid["explanation"]
    account = desk.ok("account", "show", "sub-0001")
    assert account["balance"] == "400.00 ₽"
    assert account["held_by"] == {"server-centr": "400.00 ₽", "atlas-2": "0.00 ₽"}
    assert any("sber-over overpayment 400.00 ₽ @server-centr" in e for e in account["entries"])
    again = desk.ok(
        "order",
        "pay",
        "ord-over",
        "--amount",
        "4000.00",
        "--payment-id",
        "sber-over",
        "--method",
        "sberbank",
    )
    assert again["status"] == "duplicate"
    assert desk.ok("account", "show", "sub-0001")["balance"] == "400.00 ₽"
    # spend it, so the next journeys start from an empty account
    refund = desk.ok("account", "refund-request", "sub-0001", "--request-id", "zv-over")
    assert refund["amount"] == "400.00 ₽"
    assert refund["balance"] == "0.00 ₽"


def test_surplus_after_a_cancellation_is_on_the_account_once(desk: Desk) -> None:
    """Issue 12: 3600 order, 1000 paid, cancelled, then 2600 arrives: 3600 in all, not 6200."""
    desk.ok("order", "create", "ord-cx", "--customer", "sub-0001", "--item", "kep-issue")
    desk.ok("order", "pay", "ord-cx", "--amount", "1000.00", "--payment-id", "cx-1")
    cancelled = desk.ok("order", "cancel", "ord-cx", "--reason", "клиент передумал")
    assert cancelled["state"] == "cancelled"
    assert cancelled["released"] == "1000.00 ₽"
    late = desk.ok("order", "pay", "ord-cx", "--amount", "2600.00", "--payment-id", "cx-2")
    assert late["status"] == "surplus_only"
    assert late["balance"] == "3600.00 ₽"
    rc, _, err = desk.cli("order", "refund-request", "ord-cx", "--request-id", "zv-cx")
    assert rc == 1
    assert "nothing is refundable" in err
    refund = desk.ok("account", "refund-request", "sub-0001", "--request-id", "zv-cx2")
    assert refund["amount"] == "3600.00 ₽"


def test_cash_is_taken_only_by_server_centr_and_pays_only_its_orders(desk: Desk) -> None:
    """Issue 12, R13: a cash top-up held by АО "Атлас-2" is refused; cash at АО "Сервер-Центр"
    pays its orders from the balance, never an order of АО "Атлас-2"."""
    rc, _, err = desk.cli(
        "account",
        "top-up",
        "sub-0001",
        "--amount",
        "5000.00",
        "--entry-id",
        "kassa-0",
        "--seller",
        "atlas-2",
        "--method",
        "cash",
    )
    assert rc == 1
    assert "R13" in err
    desk.ok(
        "account",
        "top-up",
        "sub-0001",
        "--amount",
        "5000.00",
        "--entry-id",
        "kassa-1",
        "--method",
        "cash",
    )
    desk.ok(
        "order",
        "create",
        "ord-a2",
        "--customer",
        "sub-0001",
        "--item",
        "kep-issue",
        "--seller",
        "atlas-2",
        "--method",
        "account-balance",
    )
    rc, _, err = desk.cli("order", "pay", "ord-a2", "--from-balance")
    assert rc == 1
    assert "Атлас-2" in err
    assert desk.ok("order", "show", "ord-a2")["state"] == "awaiting_payment"
    desk.ok(
        "order",
        "create",
        "ord-sc",
        "--customer",
        "sub-0001",
        "--item",
        "kep-issue",
        "--method",
        "account-balance",
    )
    paid = desk.ok("order", "pay", "ord-sc", "--from-balance")
    assert paid["order_state"] == "paid"
    assert paid["balance"] == "1400.00 ₽"
    # an Атлас-2 order paid by card in full; cash for it is refused (R13)
    rc, _, err = desk.cli(
        "order",
        "pay",
        "ord-a2",
        "--amount",
        "3600.00",
        "--payment-id",
        "a2-cash",
        "--method",
        "cash",
    )
    assert rc == 1
    assert "R13" in err


def test_a_granted_refund_of_an_unused_paid_order_ends_the_entitlement(desk: Desk) -> None:
    """Issue 12: after the refund, ``issue --order`` no longer sends a code or issues."""
    desk.ok("order", "create", "ord-rf", "--customer", "sub-0001", "--item", "kep-issue")
    desk.ok("order", "pay", "ord-rf", "--amount", "3600.00", "--payment-id", "rf-1")
    granted = desk.ok(
        "order", "refund-request", "ord-rf", "--request-id", "zv-rf", "--channel", "post"
    )
    assert granted["decision"] == "granted"
    assert granted["rule"] == "R16"
    assert granted["amount"] == "3600.00 ₽"
    rc, err = desk.issue("ord-rf", "refunded")
    assert rc == 1
    assert "cancelled" in err
    assert "Код" not in err
    assert granted["order_state"] == "cancelled"


def test_journey_partial_payment_issue_then_claim_approved(desk: Desk) -> None:
    """Pay in two parts, issue the certificate (the order completes), ask for a refund: a claim,
    approved in part by a person, due 30 working days from the decision (R17, R18)."""
    desk.ok("order", "create", "ord-j", "--customer", "sub-0001", "--item", "kep-issue")
    first = desk.ok("order", "pay", "ord-j", "--amount", "1600.00", "--payment-id", "j-1")
    assert first["status"] == "partial"
    assert first["remainder"] == "2000.00 ₽"
    rc, err = desk.issue("ord-j", "unpaid")
    assert rc == 1  # not paid yet (R10)
    second = desk.ok("order", "pay", "ord-j", "--amount", "2000.00", "--payment-id", "j-2")
    assert second["order_state"] == "paid"
    rc, err = desk.issue("ord-j", "journey")
    assert rc == 0, err
    assert desk.ok("order", "show", "ord-j")["state"] == "completed"
    claim = desk.ok(
        "order", "refund-request", "ord-j", "--request-id", "zv-j", "--channel", "signed-email"
    )
    assert claim["decision"] == "claim pending"
    assert claim["ceiling"] == "3600.00 ₽"
    approved = desk.ok(
        "order", "refund-decide", "zv-j", "--approve", "1000.00", "--reason", "сбой", "--by", "m1"
    )
    assert approved["decision"] == "claim approved"
    assert approved["due"] is not None
    shown = desk.ok("order", "show", "ord-j")
    assert shown["refunded"] == "1000.00 ₽"
    assert shown["state"] == "completed"


def test_journey_entry_points_and_software_delivery(desk: Desk) -> None:
    """R8: the «Купить» button sells a serial number; granting access delivers and completes
    the order; a certificate item cannot be bought there."""
    bought = desk.ok(
        "order",
        "create",
        "ord-buy",
        "--customer",
        "sub-0001",
        "--item",
        "kavista",
        "--entry-point",
        "in-program-buy",
        "--seller",
        "atlas-2",
        "--method",
        "chronopay",
    )
    assert bought["total"] == "1500.00 ₽"
    assert bought["vat"] == "270.49 ₽"  # 22 % included: the [tariffs] table sets no exemption
    rc, _, err = desk.cli(
        "order",
        "create",
        "ord-buy2",
        "--customer",
        "sub-0001",
        "--item",
        "kep-issue",
        "--entry-point",
        "in-program-buy",
    )
    assert rc != 0
    assert "R8" in err
    site = desk.ok(
        "order",
        "create",
        "ord-site",
        "--customer",
        "sub-0001",
        "--item",
        "mail-agent",
        "--entry-point",
        "self-service-site",
    )
    assert site["state"] == "awaiting_payment"
    desk.ok(
        "order",
        "pay",
        "ord-buy",
        "--amount",
        "1500.00",
        "--payment-id",
        "chr-1",
        "--method",
        "chronopay",
    )
    delivered = desk.ok("order", "grant-access", "ord-buy", "--person", "sub-0001")
    assert delivered["state"] == "completed"


def test_refund_request_received_on_a_given_day(desk: Desk) -> None:
    """R15/R18: the written request carries the day it was received; a future day is bad input."""
    desk.ok("order", "create", "ord-ro", "--customer", "sub-0001", "--item", "kep-issue")
    desk.ok("order", "pay", "ord-ro", "--amount", "3600.00", "--payment-id", "ro-1")
    rc, _, err = desk.cli(
        "order", "refund-request", "ord-ro", "--request-id", "zv-ro0", "--received-on", "2999-01-01"
    )
    assert rc == 2
    assert "after today" in err
    rc, _, err = desk.cli(
        "order", "refund-request", "ord-ro", "--request-id", "zv-ro0", "--received-on", "01.02.2026"
    )
    assert rc == 2
    assert "YYYY-MM-DD" in err
