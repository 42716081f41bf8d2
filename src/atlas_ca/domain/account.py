"""The personal account (лицевой счёт) as a ledger (R14, R16), kept per legal entity (R12).

The balance is the sum of the entries; nothing else stores it. Every change is an entry with
a kind, a signed amount, a moment, a reason and the **legal entity that holds the money**
(АО "Сервер-Центр" or АО "Атлас-2", R12); an entry id is used once (a repeated id is refused,
so a retried operation cannot post twice). The balance held by each entity never goes below
zero, and money held by one entity pays only what that entity sells: cash is taken only by
АО "Сервер-Центр" (R13), so cash on the account can never pay an order of АО "Атлас-2".

Credits: a top-up (money received without an order), an overpayment (what a payment brought
above the order's amount due, or for an order no longer awaiting payment), the money of a
cancelled order released back to the account. Debits: paying an order from the balance, a
refund paid out (R16). Money is conserved::

    topped_up + overpaid + released + corrections = paid_for_orders + refunded + balance
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.domain.money import BillingError, InvalidBillingInput, Money, require_positive, total
from atlas_ca.domain.sellers import PaymentMethod, SellerCode, check_payment_method, seller


class AccountError(BillingError):
    """The ledger refuses an entry (R14)."""


class InsufficientBalance(AccountError):
    """A debit larger than the balance: the personal account never goes negative (R14)."""


class DuplicateEntry(AccountError, InvalidBillingInput):
    """An entry id already posted to this account."""


class EntryKind(enum.Enum):
    TOP_UP = "top_up"  # пополнение
    OVERPAYMENT = "overpayment"  # переплата по заказу, зачисленная на лицевой счёт
    ORDER_RELEASE = "order_release"  # средства отменённого заказа, возвращённые на лицевой счёт
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
    seller: SellerCode | None = None
    """The legal entity that holds (credit) or gave up (debit) the money (R12); None only on
    entries stored before the ledger named it — :meth:`PersonalAccount.post` requires it."""
    method: PaymentMethod | None = None
    """How money from outside arrived (top-up, overpayment): R13 is checked against ``seller``."""

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
        credit = self.kind in _CREDITS
        debit = self.kind in (EntryKind.ORDER_PAYMENT, EntryKind.REFUND)
        if credit and self.amount.is_negative:
            raise InvalidBillingInput(f"a {self.kind.value} entry is a credit", rule="R14")
        if debit and self.amount.is_positive:
            raise InvalidBillingInput(f"a {self.kind.value} entry is a debit", rule="R14")
        if self.kind in _ORDER_KINDS and self.order_id is None:
            raise InvalidBillingInput(f"a {self.kind.value} entry names its order", rule="R14")
        if self.seller is not None and self.method is not None:
            check_payment_method(seller(self.seller), self.method)  # no cash for Атлас-2 (R13)


_CREDITS = frozenset({EntryKind.TOP_UP, EntryKind.OVERPAYMENT, EntryKind.ORDER_RELEASE})
_ORDER_KINDS = frozenset({EntryKind.ORDER_PAYMENT, EntryKind.OVERPAYMENT, EntryKind.ORDER_RELEASE})


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

    def balance_at(self, holder: SellerCode) -> Money:
        """The part of the balance held by the legal entity ``holder`` (R12)."""
        return total(e.amount for e in self.entries if e.seller is holder)

    def balances(self) -> dict[SellerCode, Money]:
        """The balance held by each legal entity (both named, zero included)."""
        return {code: self.balance_at(code) for code in SellerCode}

    @property
    def topped_up(self) -> Money:
        return self._sum(EntryKind.TOP_UP)

    @property
    def overpaid(self) -> Money:
        """Money received for orders above what they applied, credited here."""
        return self._sum(EntryKind.OVERPAYMENT)

    @property
    def released(self) -> Money:
        """Money of cancelled orders returned to the balance."""
        return self._sum(EntryKind.ORDER_RELEASE)

    @property
    def received_from_outside(self) -> Money:
        """Money that entered the network through this account: top-ups and overpayments."""
        return self.topped_up + self.overpaid

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
        if entry.seller is None:
            raise InvalidBillingInput(
                f"entry {entry.entry_id!r} does not name the legal entity that holds the money "
                "(R12)",
                rule="R12",
            )
        balance = self.balance_at(entry.seller)
        if (balance + entry.amount).is_negative:
            holder = seller(entry.seller).name
            raise InsufficientBalance(
                f"{entry.kind.value} of {-entry.amount} exceeds the balance {balance} held by "
                f"{holder} on the personal account of {self.owner}; money held by one legal "
                "entity pays only what it sells, and a balance never goes negative (R12, R14)",
                rule="R14",
                balance=str(balance.amount),
                requested=str((-entry.amount).amount),
                seller=entry.seller.value,
            )
        return PersonalAccount(self.owner, (*self.entries, entry))


def open_account(owner: SubscriberId) -> PersonalAccount:
    return PersonalAccount(owner)


def top_up(
    account: PersonalAccount,
    entry_id: str,
    amount: Money,
    at: dt.datetime,
    reason: str,
    *,
    holder: SellerCode,
    method: PaymentMethod,
) -> PersonalAccount:
    """Credit ``amount`` received by the legal entity ``holder`` by ``method`` (R12–R14).

    Cash is accepted only by АО "Сервер-Центр" (R13): a cash top-up held by АО "Атлас-2" is
    refused with :class:`~atlas_ca.domain.sellers.PaymentRefused`. A balance cannot top itself up.
    """
    require_positive(amount, "a top-up", rule="R14")
    if method is PaymentMethod.ACCOUNT_BALANCE:
        raise InvalidBillingInput(
            "a top-up is money received from outside; it cannot come from the balance (R14)",
            rule="R14",
        )
    check_payment_method(seller(holder), method)
    return account.post(
        LedgerEntry(entry_id, EntryKind.TOP_UP, amount, at, reason, None, holder, method)
    )


def credit_overpayment(
    account: PersonalAccount,
    entry_id: str,
    order_id: OrderId,
    amount: Money,
    at: dt.datetime,
    *,
    holder: SellerCode,
    method: PaymentMethod,
) -> PersonalAccount:
    """Credit what a payment for ``order_id`` brought above what the order applied (R9, R14).

    ``entry_id`` is the payment's own id, so the surplus of one payment is credited once.
    """
    require_positive(amount, "an overpayment", rule="R14")
    reason = f"overpayment of order {order_id} (payment {entry_id}) credited to the account"
    return account.post(
        LedgerEntry(entry_id, EntryKind.OVERPAYMENT, amount, at, reason, order_id, holder, method)
    )


def release_order_money(
    account: PersonalAccount,
    entry_id: str,
    order_id: OrderId,
    amount: Money,
    at: dt.datetime,
    *,
    holder: SellerCode,
    reason: str,
) -> PersonalAccount:
    """Credit the money of a cancelled order back to the balance (R16: it stays refundable)."""
    require_positive(amount, "released money", rule="R16")
    return account.post(
        LedgerEntry(entry_id, EntryKind.ORDER_RELEASE, amount, at, reason, order_id, holder)
    )


def pay_order_from_balance(
    account: PersonalAccount,
    entry_id: str,
    order_id: OrderId,
    amount: Money,
    at: dt.datetime,
    *,
    holder: SellerCode,
) -> PersonalAccount:
    """Debit ``amount`` held by ``holder`` to pay ``order_id`` sold by ``holder`` (R9, R12)."""
    require_positive(amount, "an order payment", rule="R14")
    return account.post(
        LedgerEntry(
            entry_id,
            EntryKind.ORDER_PAYMENT,
            -amount,
            at,
            f"payment of order {order_id} from the personal account (R9)",
            order_id,
            holder,
        )
    )


def refund_from_balance(
    account: PersonalAccount,
    entry_id: str,
    amount: Money,
    at: dt.datetime,
    reason: str,
    *,
    holder: SellerCode,
) -> PersonalAccount:
    """Debit ``amount`` held by ``holder``, paid back to the client from the unused balance
    (R16)."""
    require_positive(amount, "a refund", rule="R16")
    return account.post(LedgerEntry(entry_id, EntryKind.REFUND, -amount, at, reason, None, holder))


def correct(
    account: PersonalAccount,
    entry_id: str,
    amount: Money,
    at: dt.datetime,
    reason: str,
    *,
    holder: SellerCode,
) -> PersonalAccount:
    """A manual correction of either sign; the reason is mandatory and it cannot overdraw."""
    return account.post(
        LedgerEntry(entry_id, EntryKind.CORRECTION, amount, at, reason, None, holder)
    )
