"""The commercial side: ``order create|pay|cancel|grant-access|refund-request|refund-decide``
and ``account top-up|show|refund-request`` (R8–R18): parsing and printing only, over
:class:`~atlas_ca.services.billing.BillingService` — each prints the service's reasoned
decision (rule, explanation, amounts, deadline). The tariff catalogue comes from the
configuration's ``[tariffs]`` table, the business time zone from ``[billing] time_zone``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

import click

from atlas_ca.cli.config import Workspace, config_option, json_option, load_config
from atlas_ca.cli.errors import handle_errors, shown
from atlas_ca.errors import InvalidInput
from atlas_ca.services.billing import (
    Claim,
    EntryPoint,
    Money,
    Order,
    OrderItem,
    PaymentMethod,
    PersonalAccount,
    RefundDecision,
    RefundOutcome,
    RequestChannel,
    SellerCode,
    catalogue_from,
)

_METHODS = {m.value.replace("_", "-"): m for m in PaymentMethod}
_SELLERS = {s.value: s for s in SellerCode}
_ENTRY = {e.value.replace("_", "-"): e for e in EntryPoint}
_CHANNELS = {c.value.replace("_", "-"): c for c in RequestChannel}


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
    return OrderItem.of(code, quantity)


def _order_json(order: Order) -> dict[str, object]:
    return {
        "id": order.id.value,
        "customer": order.customer.value,
        "seller": order.seller.value,
        "state": order.state.value,
        "total": str(order.total),
        "vat": str(order.vat_total),
        "paid": str(order.amount_applied),
        "outstanding": str(order.outstanding),
        "refunded": str(order.refunded),
        "released_to_account": str(order.released),
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
        elif isinstance(value, dict):
            click.echo(f"{key}:")
            for name, item in value.items():
                click.echo(f"  {name}: {item}")
        else:
            click.echo(f"{key}: {value}")


def _workspace(config_path: Path | None) -> Workspace:
    return Workspace(load_config(config_path))


@click.group("order")
def order() -> None:
    """Orders, payments and refunds (R8–R18)."""


@order.command("create")
@click.argument("order_id")
@click.option("--customer", required=True, help="Registered subscriber who orders (R3, R8).")
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
    """Place an order at the prices of today's business day (R8, R9, R11). The customer is
    registered; verification is needed for fulfilment, not to order (R3).

    \b
    Examples:
      atlas-ca order create ord-0002 --customer sub-0001 --item kep-issue
      atlas-ca order create ord-0003 --customer sub-0001 --item kep-issue:2 --method bank-transfer
    """
    config = load_config(config_path)
    catalogue_from(config.tariffs)  # a missing [tariffs] table is a configuration error first
    with Workspace(config) as ws:
        placed = ws.billing().create_order(
            order_id,
            customer,
            [_item(i) for i in items],
            plan=plan,
            seller=_SELLERS[seller],
            method=_METHODS[method],
            entry_point=_ENTRY[entry_point],
            recipients=recipients,
        )
    _echo(_order_json(placed), as_json)


@order.command("show")
@click.argument("order_id")
@config_option
@json_option
@handle_errors
def order_show(order_id: str, config_path: Path | None, as_json: bool) -> None:
    """Show an order: state, amounts paid, refunded and released, history.

    \b
    Examples:
      atlas-ca order show ord-0002 --json
    """
    with _workspace(config_path) as ws:
        found = ws.order(order_id)
    _echo(_order_json(found), as_json)


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
    """Apply a payment notification to an order (R9, R12, R13); a repeat changes nothing. What
    it brings above the amount due is credited to the customer's personal account (R14).

    With --from-balance, the whole outstanding amount of an order placed with --method
    account-balance is taken from the money the order's seller holds on the customer's personal
    account (R9, R12, R14). The ledger entry is --payment-id (default pay-ORDER_ID).

    \b
    Examples:
      atlas-ca order pay ord-0002 --amount 3600.00 --payment-id sber-778812
      atlas-ca order pay ord-0003 --from-balance
    """
    if from_balance and amount is not None:
        raise click.UsageError("--from-balance pays what is outstanding: omit --amount")
    if not from_balance and (amount is None or payment_id is None):
        raise click.UsageError("give --amount and --payment-id (or --from-balance)")
    with _workspace(config_path) as ws:
        if from_balance:
            paid = ws.pay_from_balance(order_id, payment_id)
            shown_payment = _payment_json(
                "paid_from_balance", paid.amount, paid.rule, paid.explanation, paid.order
            )
            balance = paid.account.balance
        else:
            assert amount is not None  # checked above
            assert payment_id is not None
            received = ws.pay(order_id, payment_id, _money(amount), _METHODS[method])
            outcome = received.outcome
            shown_payment = _payment_json(
                outcome.status.value,
                outcome.applied,
                outcome.rule,
                outcome.explanation,
                outcome.order,
                remainder=outcome.remainder,
                surplus=outcome.surplus,
            )
            balance = received.account.balance
    shown_payment["balance"] = str(balance)
    _echo(shown_payment, as_json)


def _payment_json(
    status: str,
    applied: Money,
    rule: str,
    explanation: str,
    paid: Order,
    *,
    remainder: Money | None = None,
    surplus: Money | None = None,
) -> dict[str, object]:
    """What ``order pay`` prints for a notification and for a payment from the balance."""
    data: dict[str, object] = {"status": status, "applied": str(applied)}
    if remainder is not None:
        data["remainder"] = str(remainder)
    if surplus is not None:
        data["surplus"] = str(surplus)
    data.update({"rule": rule, "explanation": explanation, "order_state": paid.state.value})
    return data


@order.command("cancel")
@click.argument("order_id")
@click.option("--reason", required=True, help="Why (recorded on the order).")
@config_option
@json_option
@handle_errors
def order_cancel(order_id: str, reason: str, config_path: Path | None, as_json: bool) -> None:
    """Cancel an order not yet completed: its entitlement ends and the money it holds goes to
    the customer's personal account, where it stays refundable (R16).

    \b
    Examples:
      atlas-ca order cancel ord-0002 --reason 'заказ оформлен по ошибке'
    """
    with _workspace(config_path) as ws:
        done = ws.cancel_order(order_id, reason)
    data = _order_json(done.order)
    data["released"] = str(done.released)
    data["balance"] = str(done.account.balance)
    _echo(data, as_json)


@order.command("grant-access")
@click.argument("order_id")
@click.option("--person", required=True, help="A verified person named in the order (R3, R10).")
@config_option
@json_option
@handle_errors
def order_grant_access(order_id: str, person: str, config_path: Path | None, as_json: bool) -> None:
    """Deliver the order's licence serial numbers, subscriptions and services (R10); the order
    completes when nothing else it bought is left to deliver.

    \b
    Examples:
      atlas-ca order grant-access ord-0004 --person sub-0001
    """
    with _workspace(config_path) as ws:
        updated = ws.grant_access(order_id, person)
    _echo(_order_json(updated), as_json)


# --- the personal account (лицевой счёт) --------------------------------------------------------


@click.group("account")
def account() -> None:
    """A subscriber's personal account: top-ups, the ledger and balance refunds (R14, R16)."""


def _account_json(acc: PersonalAccount) -> dict[str, object]:
    return {
        "owner": acc.owner.value,
        "balance": str(acc.balance),
        "held_by": {code.value: str(amount) for code, amount in acc.balances().items()},
        "entries": [
            f"{e.at.isoformat()} {e.entry_id} {e.kind.value} {e.amount}"
            f"{'' if e.seller is None else ' @' + e.seller.value}: {e.reason}"
            for e in acc.entries
        ],
    }


@account.command("top-up")
@click.argument("subscriber_id")
@click.option("--amount", required=True, help="Amount received, roubles (e.g. 5000.00).")
@click.option("--entry-id", required=True, help="The payment's id; an id is posted once.")
@click.option(
    "--seller",
    type=click.Choice(sorted(_SELLERS)),
    default="server-centr",
    show_default=True,
    help="The legal entity that received the money (R12).",
)
@click.option(
    "--method",
    type=click.Choice(sorted(m for m in _METHODS if m != "account-balance")),
    default="bank-transfer",
    show_default=True,
    help="How it was paid (R13: cash only at server-centr).",
)
@click.option("--reason", default="top-up of the personal account", show_default=True)
@config_option
@json_option
@handle_errors
def account_top_up(
    subscriber_id: str,
    amount: str,
    entry_id: str,
    seller: str,
    method: str,
    reason: str,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Credit money received by a legal entity to a subscriber's personal account (R12–R14).

    \b
    Examples:
      atlas-ca account top-up sub-0002 --amount 5000.00 --entry-id sber-778900 --method sberbank
      atlas-ca account top-up sub-0002 --amount 1000.00 --entry-id kassa-17 --method cash
    """
    with _workspace(config_path) as ws:
        acc = ws.billing().top_up(
            subscriber_id,
            entry_id,
            _money(amount),
            seller=_SELLERS[seller],
            method=_METHODS[method],
            reason=reason,
        )
    _echo(_account_json(acc), as_json)


@account.command("show")
@click.argument("subscriber_id")
@config_option
@json_option
@handle_errors
def account_show(subscriber_id: str, config_path: Path | None, as_json: bool) -> None:
    """Show a subscriber's balance (by legal entity) and ledger entries (R14).

    \b
    Examples:
      atlas-ca account show sub-0002 --json
    """
    with _workspace(config_path) as ws:
        acc = ws.account(subscriber_id)
    _echo(_account_json(acc), as_json)


def _refund_json(outcome: RefundOutcome) -> dict[str, object]:
    result = outcome.result
    data: dict[str, object]
    if isinstance(result, RefundDecision):
        data = {
            "request": result.request_id,
            "decision": "granted",
            "amount": str(result.amount),
            "refundable": str(result.refundable),
            "rule": result.rule,
            "explanation": result.explanation,
            "due": result.deadline.due.isoformat(),
        }
    else:
        data = _claim_json(result)
    if outcome.order is not None:
        data["order_state"] = outcome.order.state.value
    if outcome.account is not None:
        data["balance"] = str(outcome.account.balance)
    return data


def _claim_json(result: Claim) -> dict[str, object]:
    return {
        "request": result.request.request_id,
        "decision": f"claim {result.status.value}",
        "ceiling": str(result.ceiling),
        "approved": None if result.approved is None else str(result.approved),
        "rule": result.rule,
        "explanation": result.explanation if result.reason is None else result.reason,
        "received_on": result.request.day.isoformat(),
        "due": None if result.deadline is None else result.deadline.due.isoformat(),
    }


def _received_on(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--received-on {text!r}: give a date as YYYY-MM-DD") from None


_RECEIVED_ON_HELP = (
    "Business day the written request was received (YYYY-MM-DD; R15, R18). Default: today in "
    "the business time zone."
)


@order.command("refund-request")
@click.argument("order_id")
@click.option("--request-id", required=True, help="Registration id of the written request (R15).")
@click.option("--channel", type=click.Choice(sorted(_CHANNELS)), default="paper-at-office")
@click.option("--amount", help="Amount asked (default: everything refundable).")
@click.option("--received-on", help=_RECEIVED_ON_HELP)
@config_option
@json_option
@handle_errors
def order_refund_request(
    order_id: str,
    request_id: str,
    channel: str,
    amount: str | None,
    received_on: str | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Assess a written refund request for an order: granted when nothing of the order was
    delivered by the day it was received (R16; the order's entitlement ends), otherwise a claim
    decided by a person (R17).

    \b
    Examples:
      atlas-ca order refund-request ord-0002 --request-id ЗВ-2026-17 --channel post
      atlas-ca order refund-request ord-0002 --request-id ЗВ-2026-18 --received-on 2026-03-02
    """
    _refund_request(config_path, as_json, request_id, channel, amount, received_on, order=order_id)


def _refund_request(
    config_path: Path | None,
    as_json: bool,
    request_id: str,
    channel: str,
    amount: str | None,
    received_on: str | None,
    *,
    order: str | None = None,
    subscriber: str | None = None,
) -> None:
    """Assess a written refund request about an order or a balance and print the decision."""
    with _workspace(config_path) as ws:
        outcome = ws.request_refund(
            request_id,
            channel=_CHANNELS[channel],
            order=order,
            subscriber=subscriber,
            amount=None if amount is None else _money(amount),
            received_on=_received_on(received_on),
        )
    _echo(_refund_json(outcome), as_json)


@account.command("refund-request")
@click.argument("subscriber_id")
@click.option("--request-id", required=True, help="Registration id of the written request (R15).")
@click.option("--channel", type=click.Choice(sorted(_CHANNELS)), default="paper-at-office")
@click.option("--amount", help="Amount asked (default: the whole unused balance).")
@click.option("--received-on", help=_RECEIVED_ON_HELP)
@config_option
@json_option
@handle_errors
def account_refund_request(
    subscriber_id: str,
    request_id: str,
    channel: str,
    amount: str | None,
    received_on: str | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Refund the unused balance of the personal account on a written request (R15, R16).

    \b
    Examples:
      atlas-ca account refund-request sub-0002 --request-id ЗВ-2026-19 --channel post
    """
    _refund_request(
        config_path, as_json, request_id, channel, amount, received_on, subscriber=subscriber_id
    )


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
    """Decide a claim about a delivered order individually (R17; due in 30 working days, R18).

    \b
    Examples:
      atlas-ca order refund-decide ЗВ-2026-17 --approve 1000.00 --reason 'сбой' --by ops-3
      atlas-ca order refund-decide ЗВ-2026-18 --deny --reason 'услуга оказана' --by ops-3
    """
    if (approve is None) == (not deny):
        raise InvalidInput("give exactly one of --approve AMOUNT or --deny")
    with _workspace(config_path) as ws:
        outcome = ws.billing().decide_claim(
            request_id,
            approved=None if approve is None else _money(approve),
            reason=reason,
            decided_by=decided_by,
        )
    _echo(_refund_json(outcome), as_json)


__all__ = ["account", "catalogue_from", "order"]
