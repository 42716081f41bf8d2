"""The commercial side: ``order create|pay|refund-request|refund-decide`` and ``account
top-up|show`` (R8–R18), thin over :mod:`atlas_ca.domain` — each prints the domain's reasoned
decision (rule, explanation, amounts, deadline). The tariff catalogue comes from the
configuration's ``[tariffs]`` table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from atlas_ca.cli.config import Workspace, config_option, json_option, load_config
from atlas_ca.cli.errors import handle_errors, shown
from atlas_ca.domain.account import PersonalAccount, open_account, top_up
from atlas_ca.domain.ids import OrderId, ProductCode, SubscriberId, TariffPlanId
from atlas_ca.domain.money import Money, total
from atlas_ca.domain.orders import (
    EntryPoint,
    Order,
    OrderItem,
    SubscriberRegisterCheck,
    draft_order,
    place_order,
)
from atlas_ca.domain.payments import (
    PaymentNotification,
    apply_payment_notification,
    pay_from_account,
)
from atlas_ca.domain.refunds import (
    Claim,
    ClaimStatus,
    RefundDecision,
    RefundRequest,
    RequestChannel,
    assess_order_refund,
    decide_claim,
)
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.domain.tariffs import Catalogue, PriceVersion, Product, ProductKind, TariffPlan
from atlas_ca.errors import InvalidInput
from atlas_ca.profiles.config import ConfigError
from atlas_ca.services.state import RecordKind, RecordStore, get_record, iter_records

_METHODS = {m.value.replace("_", "-"): m for m in PaymentMethod}
_SELLERS = {s.value: s for s in SellerCode}
_ENTRY = {e.value.replace("_", "-"): e for e in EntryPoint}
_CHANNELS = {c.value.replace("_", "-"): c for c in RequestChannel}


def catalogue_from(table: Mapping[str, Any] | None) -> Catalogue:
    """The tariff catalogue of the configuration's ``[tariffs]`` table."""
    if not table:
        raise ConfigError("the configuration has no [tariffs] table (R11)", field="tariffs")
    try:
        products = [
            Product(ProductCode(p["code"]), p["name"], ProductKind(p.get("kind", "service")))
            for p in table.get("products", [])
        ]
        plans = [TariffPlan(TariffPlanId(p["id"]), p["name"]) for p in table.get("plans", [])]
        prices = [
            PriceVersion(
                TariffPlanId(p["plan"]),
                ProductCode(p["product"]),
                dt.date.fromisoformat(str(p["from"])),
                Money.parse(str(p["price"])),
            )
            for p in table.get("prices", [])
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"[tariffs] is malformed: {exc}", field="tariffs") from None
    return Catalogue(products, plans, prices)


def _money(text: str) -> Money:
    if len(text) > 32:  # no amount of roubles is that long; never echo it whole
        raise InvalidInput(f"{shown(text)} is not an amount of roubles")
    try:
        return Money.parse(text)  # InvalidMoney (exit 2) for anything that is not an amount
    except ArithmeticError:  # 1e999999: a Decimal, but not one that rounds to kopecks
        raise InvalidInput(f"{shown(text)} is not an amount of roubles") from None


def _item(text: str) -> OrderItem:
    code, _, qty = text.partition(":")
    try:
        quantity = int(qty) if qty else 1
    except ValueError:
        raise InvalidInput(f"{text!r}: quantity after ':' must be a whole number") from None
    return OrderItem(ProductCode(code), quantity)


def _order_json(order: Order) -> dict[str, object]:
    return {
        "id": order.id.value,
        "customer": order.customer.value,
        "state": order.state.value,
        "total": str(order.total),
        "vat": str(order.vat_total),
        "paid": str(order.amount_paid),
        "outstanding": str(order.outstanding),
        "lines": [f"{line.product} × {line.quantity}: {line.total}" for line in order.lines],
        "history": [f"{t.target.value}: {t.reason}" for t in order.history],
    }


def _echo(data: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for key, value in data.items():
        if isinstance(value, list):
            click.echo(f"{key}:")
            for item in value:
                click.echo(f"  {item}")
        else:
            click.echo(f"{key}: {value}")


@click.group("order")
def order() -> None:
    """Orders, payments and refunds (R8–R18)."""


@order.command("create")
@click.argument("order_id")
@click.option("--customer", required=True, help="Verified subscriber who places the order (R3).")
@click.option("--item", "items", multiple=True, required=True, help="PRODUCT[:QUANTITY].")
@click.option("--plan", default="basic", show_default=True, help="Tariff plan (R11).")
@click.option("--seller", type=click.Choice(sorted(_SELLERS)), default="server-centr")
@click.option("--method", type=click.Choice(sorted(_METHODS)), default="bank-card")
@click.option("--entry-point", type=click.Choice(sorted(_ENTRY)), default="digital-profile")
@click.option("--recipient", "recipients", multiple=True, help="Who receives (default: customer).")
@config_option
@json_option
@handle_errors
def order_create(
    order_id: str,
    customer: str,
    items: tuple[str, ...],
    plan: str,
    seller: str,
    method: str,
    entry_point: str,
    recipients: tuple[str, ...],
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Place an order at the prices in force today (R8, R9, R11); the customer is verified (R3).

    \b
    Examples:
      atlas-ca order create ord-0002 --customer sub-0001 --item kep-issue
      atlas-ca order create ord-0003 --customer sub-0001 --item kep-issue:2 --method bank-transfer
    """
    config = load_config(config_path)
    catalogue = catalogue_from(config.tariffs)
    ws = Workspace(config)
    try:
        now = ws.now()
        records = ws.records
        if records.find(RecordKind.ORDER, order_id) is not None:
            raise InvalidInput(f"order {order_id} already exists")

        def lookup(sid: SubscriberId) -> Subscriber | None:
            found = records.find(RecordKind.SUBSCRIBER, sid.value)
            return found if isinstance(found, Subscriber) else None

        draft = draft_order(
            OrderId(order_id),
            SubscriberId(customer),
            _ENTRY[entry_point],
            _SELLERS[seller],
            _METHODS[method],
            TariffPlanId(plan),
            [_item(i) for i in items],
            [SubscriberId(r) for r in recipients] or [SubscriberId(customer)],
            now,
        )
        placed = place_order(draft, catalogue, now, SubscriberRegisterCheck(lookup))
        records.put(RecordKind.ORDER, order_id, placed, at=now)
    finally:
        ws.close()
    _echo(_order_json(placed), as_json)


@order.command("pay")
@click.argument("order_id")
@click.option("--amount", help="Amount received, roubles (e.g. 3600.00).")
@click.option("--payment-id", help="The payment system's id (idempotent).")
@click.option("--method", type=click.Choice(sorted(_METHODS)), default="bank-card")
@click.option(
    "--from-balance",
    is_flag=True,
    help="Pay what is outstanding from the customer's personal account (R9, R14).",
)
@config_option
@json_option
@handle_errors
def order_pay(
    order_id: str,
    amount: str | None,
    payment_id: str | None,
    method: str,
    from_balance: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Apply a payment notification to an order (R9, R12, R13); a repeat changes nothing.

    With --from-balance, the whole outstanding amount of an order placed with --method
    account-balance is taken from the customer's personal account (R9, R14): the order and the
    debited account are written together. The ledger entry is --payment-id (default
    pay-ORDER_ID).

    \b
    Examples:
      atlas-ca order pay ord-0002 --amount 3600.00 --payment-id sber-778812
      atlas-ca order pay ord-0003 --from-balance
    """
    if from_balance:
        if amount is not None:
            raise click.UsageError("--from-balance pays what is outstanding: omit --amount")
        _pay_from_balance(order_id, payment_id or f"pay-{order_id}", config_path, as_json)
        return
    if amount is None or payment_id is None:
        raise click.UsageError("give --amount and --payment-id (or --from-balance)")
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        found = get_record(ws.records, RecordKind.ORDER, order_id, Order)
        outcome = apply_payment_notification(
            found, PaymentNotification(payment_id, found.id, _money(amount), _METHODS[method], now)
        )
        ws.records.put(RecordKind.ORDER, order_id, outcome.order, at=now)
    finally:
        ws.close()
    data: dict[str, object] = {
        "status": outcome.status.value,
        "applied": str(outcome.applied),
        "remainder": str(outcome.remainder),
        "surplus": str(outcome.surplus),
        "rule": outcome.rule,
        "explanation": outcome.explanation,
        "order_state": outcome.order.state.value,
    }
    _echo(data, as_json)


def _stored_account(records: RecordStore, owner: SubscriberId) -> PersonalAccount | None:
    """The subscriber's personal account as stored; None if nothing was ever posted to it."""
    if records.find(RecordKind.ACCOUNT, owner.value) is None:
        return None
    return get_record(records, RecordKind.ACCOUNT, owner.value, PersonalAccount)


def _pay_from_balance(
    order_id: str, entry_id: str, config_path: Path | None, as_json: bool
) -> None:
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        found = get_record(ws.records, RecordKind.ORDER, order_id, Order)
        stored = _stored_account(ws.records, found.customer)
        account = stored or open_account(found.customer)
        paid = pay_from_account(found, account, entry_id, now)
        # both records, and only if neither changed since they were read here (another node
        # paying from the same account meanwhile would otherwise lose its ledger entry)
        ws.records.put_all(
            [
                (RecordKind.ORDER, order_id, paid.order),
                (RecordKind.ACCOUNT, account.owner.value, paid.account),
            ],
            at=now,
            unchanged=[
                (RecordKind.ORDER, order_id, found),
                (RecordKind.ACCOUNT, account.owner.value, stored),
            ],
        )
    finally:
        ws.close()
    data: dict[str, object] = {
        "status": "paid_from_balance",
        "applied": str(paid.amount),
        "balance": str(paid.account.balance),
        "rule": paid.rule,
        "explanation": paid.explanation,
        "order_state": paid.order.state.value,
    }
    _echo(data, as_json)


# --- the personal account (лицевой счёт) --------------------------------------------------------


@click.group("account")
def account() -> None:
    """A subscriber's personal account: top-ups and the ledger (R14)."""


def _account_json(acc: PersonalAccount) -> dict[str, object]:
    return {
        "owner": acc.owner.value,
        "balance": str(acc.balance),
        "entries": [
            f"{e.at.isoformat()} {e.entry_id} {e.kind.value} {e.amount}: {e.reason}"
            for e in acc.entries
        ],
    }


@account.command("top-up")
@click.argument("subscriber_id")
@click.option("--amount", required=True, help="Amount received, roubles (e.g. 5000.00).")
@click.option("--entry-id", required=True, help="The payment's id; an id is posted once.")
@click.option("--reason", default="top-up of the personal account", show_default=True)
@config_option
@json_option
@handle_errors
def account_top_up(
    subscriber_id: str,
    amount: str,
    entry_id: str,
    reason: str,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Credit money received to a subscriber's personal account (R14).

    \b
    Examples:
      atlas-ca account top-up sub-0002 --amount 5000.00 --entry-id sber-778900
    """
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        sub = get_record(ws.records, RecordKind.SUBSCRIBER, subscriber_id, Subscriber)
        stored = _stored_account(ws.records, sub.id)
        acc = top_up(stored or open_account(sub.id), entry_id, _money(amount), now, reason)
        ws.records.put_all(
            [(RecordKind.ACCOUNT, sub.id.value, acc)],
            at=now,
            unchanged=[(RecordKind.ACCOUNT, sub.id.value, stored)],
        )
    finally:
        ws.close()
    _echo(_account_json(acc), as_json)


@account.command("show")
@click.argument("subscriber_id")
@config_option
@json_option
@handle_errors
def account_show(subscriber_id: str, config_path: Path | None, as_json: bool) -> None:
    """Show a subscriber's balance and ledger entries.

    \b
    Examples:
      atlas-ca account show sub-0002 --json
    """
    ws = Workspace(load_config(config_path))
    try:
        sub = get_record(ws.records, RecordKind.SUBSCRIBER, subscriber_id, Subscriber)
        acc = _stored_account(ws.records, sub.id) or open_account(sub.id)
    finally:
        ws.close()
    _echo(_account_json(acc), as_json)


def _refunded_before(records: RecordStore, order_id: OrderId) -> Money:
    granted: list[Money] = []
    for item in iter_records(records, RecordKind.REFUND, object):
        if isinstance(item, RefundDecision) and item.order_id == order_id:
            granted.append(item.amount)
        elif (
            isinstance(item, Claim)
            and item.order_id == order_id
            and item.status is ClaimStatus.APPROVED
            and item.approved is not None
        ):
            granted.append(item.approved)
    return total(granted)


def _refund_json(result: RefundDecision | Claim) -> dict[str, object]:
    if isinstance(result, RefundDecision):
        return {
            "request": result.request_id,
            "decision": "granted",
            "amount": str(result.amount),
            "refundable": str(result.refundable),
            "rule": result.rule,
            "explanation": result.explanation,
            "due": result.deadline.due.isoformat(),
        }
    return {
        "request": result.request.request_id,
        "decision": f"claim {result.status.value}",
        "ceiling": str(result.ceiling),
        "approved": None if result.approved is None else str(result.approved),
        "rule": result.rule,
        "explanation": result.explanation if result.reason is None else result.reason,
        "due": None if result.deadline is None else result.deadline.due.isoformat(),
    }


@order.command("refund-request")
@click.argument("order_id")
@click.option("--request-id", required=True, help="Registration id of the written request (R15).")
@click.option("--channel", type=click.Choice(sorted(_CHANNELS)), default="paper-at-office")
@click.option("--amount", help="Amount asked (default: everything refundable).")
@config_option
@json_option
@handle_errors
def order_refund_request(
    order_id: str,
    request_id: str,
    channel: str,
    amount: str | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Assess a written refund request for an order: granted (R16) or a claim (R17).

    \b
    Examples:
      atlas-ca order refund-request ord-0002 --request-id ЗВ-2026-17 --channel post
    """
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        found = get_record(ws.records, RecordKind.ORDER, order_id, Order)
        if ws.records.find(RecordKind.REFUND, request_id) is not None:
            raise InvalidInput(f"refund request {request_id} was already assessed")
        request = RefundRequest(
            request_id,
            found.customer,
            now,
            _CHANNELS[channel],
            found.id,
            None if amount is None else _money(amount),
        )
        result = assess_order_refund(request, found, _refunded_before(ws.records, found.id))
        ws.records.put(RecordKind.REFUND, request_id, result, at=now)
    finally:
        ws.close()
    _echo(_refund_json(result), as_json)


@order.command("refund-decide")
@click.argument("request_id")
@click.option("--approve", "approve", help="Amount approved; omit with --deny.")
@click.option("--deny", is_flag=True, help="Deny the claim.")
@click.option("--reason", required=True, help="Why (recorded with the decision).")
@click.option("--by", "decided_by", required=True, help="Who decided (account id).")
@config_option
@json_option
@handle_errors
def order_refund_decide(
    request_id: str,
    approve: str | None,
    deny: bool,
    reason: str,
    decided_by: str,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Decide a claim about a completed order individually (R17; due in 30 working days, R18).

    \b
    Examples:
      atlas-ca order refund-decide ЗВ-2026-17 --approve 1000.00 --reason 'сбой' --by ops-3
      atlas-ca order refund-decide ЗВ-2026-18 --deny --reason 'услуга оказана' --by ops-3
    """
    if (approve is None) == (not deny):
        raise InvalidInput("give exactly one of --approve AMOUNT or --deny")
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        claim = get_record(ws.records, RecordKind.REFUND, request_id, Claim)
        decided = decide_claim(
            claim,
            approved=None if approve is None else _money(approve),
            reason=reason,
            decided_at=now,
            decided_by=decided_by,
        )
        ws.records.put(RecordKind.REFUND, request_id, decided, at=now)
    finally:
        ws.close()
    _echo(_refund_json(decided), as_json)


__all__ = ["account", "catalogue_from", "order"]
