"""The personal account (лицевой счёт) as a ledger (R14, R16).

The balance is the sum of the entries; nothing else stores it. Every change is an entry with
a kind, a signed amount, a moment and a reason; an entry id is used once (a repeated id is
refused, so a retried operation cannot post twice). The balance never goes below zero.

Money is conserved: ``topped_up + corrections = paid_for_orders + refunded + balance``.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money, require_positive, total


class AccountError(BillingError):
    """The ledger refuses an entry (R14)."""


class InsufficientBalance(AccountError):
    """A debit larger than the balance: the personal account never goes negative (R14)."""


class DuplicateEntry(AccountError, InvalidBillingInput):
    """An entry id already posted to this account."""


class EntryKind(enum.Enum):
    TOP_UP = "top_up"  # пополнение
    ORDER_PAYMENT = "order_payment"  # оплата заказа с баланса
    REFUND = "refund"  # возврат неиспользованного остатка клиенту (R16)
    CORRECTION = "correction"  # корректировка (either sign), always with a reason


def require_aware(name: str, at: dt.datetime) -> dt.datetime:
    """``at`` must be a timezone-aware datetime (the caller's clock, never ours)."""
    if not isinstance(at, dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidBillingInput(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: str
    kind: EntryKind
    amount: Money  # signed: credits above zero, debits below
    at: dt.datetime
    reason: str
    order_id: OrderId | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.entry_id, str) or not self.entry_id.strip():
            raise InvalidBillingInput("a ledger entry needs a non-empty entry_id", rule="R14")
        if not isinstance(self.amount, Money):
            raise TypeError("LedgerEntry.amount must be Money")
        require_aware("LedgerEntry.at", self.at)
        if not self.reason.strip():
            raise InvalidBillingInput("every ledger entry states its reason (R14)", rule="R14")
        if self.amount.is_zero:
            raise InvalidBillingInput("a ledger entry of zero changes nothing (R14)", rule="R14")
        credit = self.kind in (EntryKind.TOP_UP,)
        debit = self.kind in (EntryKind.ORDER_PAYMENT, EntryKind.REFUND)
        if credit and self.amount.is_negative:
            raise InvalidBillingInput(f"a {self.kind.value} entry is a credit", rule="R14")
        if debit and self.amount.is_positive:
            raise InvalidBillingInput(f"a {self.kind.value} entry is a debit", rule="R14")
        if self.kind is EntryKind.ORDER_PAYMENT and self.order_id is None:
            raise InvalidBillingInput("an order payment entry names its order", rule="R14")


@dataclass(frozen=True, slots=True)
class PersonalAccount:
    """A subscriber's personal account: an append-only tuple of entries."""

    owner: SubscriberId
    entries: tuple[LedgerEntry, ...] = ()

    @property
    def balance(self) -> Money:
        return total(e.amount for e in self.entries)

    def _sum(self, kind: EntryKind) -> Money:
        return total(e.amount for e in self.entries if e.kind is kind)

    @property
    def topped_up(self) -> Money:
        return self._sum(EntryKind.TOP_UP)

    @property
    def paid_for_orders(self) -> Money:
        """Money taken from the balance to pay orders (a positive amount)."""
        return -self._sum(EntryKind.ORDER_PAYMENT)

    @property
    def refunded(self) -> Money:
        """Money returned to the client from the balance (a positive amount)."""
        return -self._sum(EntryKind.REFUND)

    @property
    def corrections(self) -> Money:
        return self._sum(EntryKind.CORRECTION)

    def paid_for(self, order_id: OrderId) -> Money:
        return -total(
            e.amount
            for e in self.entries
            if e.kind is EntryKind.ORDER_PAYMENT and e.order_id == order_id
        )

    def has_entry(self, entry_id: str) -> bool:
        return any(e.entry_id == entry_id for e in self.entries)

    def post(self, entry: LedgerEntry) -> PersonalAccount:
        """A new account with ``entry`` appended, or an error if it breaks R14."""
        if self.has_entry(entry.entry_id):
            raise DuplicateEntry(
                f"entry {entry.entry_id!r} is already on the account of {self.owner}",
                rule="R14",
                entry_id=entry.entry_id,
            )
        if self.entries and entry.at < self.entries[-1].at:
            raise InvalidBillingInput(
                f"entry {entry.entry_id!r} at {entry.at.isoformat()} is earlier than the last "
                f"entry at {self.entries[-1].at.isoformat()}; the ledger is append-only (R14)",
                rule="R14",
            )
        balance = self.balance
        if (balance + entry.amount).is_negative:
            raise InsufficientBalance(
                f"{entry.kind.value} of {-entry.amount} exceeds the balance {balance} of the "
                f"personal account of {self.owner}; it never goes negative (R14)",
                rule="R14",
                balance=str(balance.amount),
                requested=str((-entry.amount).amount),
            )
        return PersonalAccount(self.owner, (*self.entries, entry))


def open_account(owner: SubscriberId) -> PersonalAccount:
    return PersonalAccount(owner)


def top_up(
    account: PersonalAccount, entry_id: str, amount: Money, at: dt.datetime, reason: str
) -> PersonalAccount:
    """Credit ``amount`` (e.g. a payment received without an order, or an overpayment)."""
    require_positive(amount, "a top-up", rule="R14")
    return account.post(LedgerEntry(entry_id, EntryKind.TOP_UP, amount, at, reason))


def pay_order_from_balance(
    account: PersonalAccount,
    entry_id: str,
    order_id: OrderId,
    amount: Money,
    at: dt.datetime,
) -> PersonalAccount:
    """Debit ``amount`` to pay ``order_id`` (R9 method "from the personal account")."""
    require_positive(amount, "an order payment", rule="R14")
    return account.post(
        LedgerEntry(
            entry_id,
            EntryKind.ORDER_PAYMENT,
            -amount,
            at,
            f"payment of order {order_id} from the personal account (R9)",
            order_id,
        )
    )


def refund_from_balance(
    account: PersonalAccount, entry_id: str, amount: Money, at: dt.datetime, reason: str
) -> PersonalAccount:
    """Debit ``amount`` paid back to the client from the unused balance (R16)."""
    require_positive(amount, "a refund", rule="R16")
    return account.post(LedgerEntry(entry_id, EntryKind.REFUND, -amount, at, reason))


def correct(
    account: PersonalAccount, entry_id: str, amount: Money, at: dt.datetime, reason: str
) -> PersonalAccount:
    """A manual correction of either sign; the reason is mandatory and it cannot overdraw."""
    return account.post(LedgerEntry(entry_id, EntryKind.CORRECTION, amount, at, reason))
