"""The library's one entry point: ``atlas_ca.open(config)`` returns an :class:`AtlasCA` whose
methods are the use cases of the service standard, wired from the operator's configuration.

::

    import atlas_ca

    with atlas_ca.open("/etc/atlas-ca/atlas-ca.toml", sms=gateway) as ca:
        ca.add_subscriber("sub-1", phone="+79241234567", data=person)      # R1, R2 stage 1
        ca.record_checks("sub-1", answers)                                  # R2, R5 (СМЭВ)
        ca.verify_subscriber("sub-1", registrar="reg-1", key=registrar_key) # R5, signed
        ca.create_order("ord-1", "sub-1", ["kep-issue"])                    # R8, R11
        ca.pay("ord-1", "sber-1", "3600.00")                                # R9, R14
        ca.send_issuance_code(csr, subscriber="sub-1", order="ord-1")       # R7
        result = ca.issue(csr, subscriber="sub-1", order="ord-1", code=code)

``config`` is the path of the operator's TOML file (the layout is :func:`load_config`'s; the
``atlas-ca`` CLI reads the same file) or an :class:`AtlasConfig`. Time is the ``clock``
parameter (default: the system clock), randomness ``random_bytes``, the SMS gateway ``sms``:
nothing here reads a global clock.

The use cases themselves live in :mod:`atlas_ca.services` (identity, billing, issuance,
revocation, CRL publication); this module only wires them to one register, one record store,
one CA key and one clock, opened lazily and closed by :meth:`AtlasCA.close`. The CLI builds
its workspace through this class too (``atlas_ca.cli.config.Workspace``).

Configuration file (every key optional unless a use case needs it)::

    [register]
    location = "/var/lib/atlas-ca/register.sqlite"   # or postgresql://...

    [ca]
    key_uri = "pkcs11:token=CA;object=ca-2026;type=private?pin-source=file:/etc/atlas-ca/ca.pin"
    certificate = "/etc/atlas-ca/ca.pem"
    outbox = "/var/lib/atlas-ca/outbox"
    crl_dir = "/var/www/cdp"
    crl_validity_hours = 168

    [ca.profile]                   # atlas_ca.profiles.config.CaConfig.from_mapping
    ca_sign_tool = "..."
    policy_classes = ["KC1", "KC2"]
    crl_urls = ["http://ca.example.ru/cdp/ca.crl"]
    [ca.profile.issuer_tools]
    sign_tool = "..."  ca_tool = "..."  sign_tool_certificate = "..."  ca_tool_certificate = "..."

    [hsm]
    module = "/usr/lib/softhsm/libsofthsm2.so"
    softhsm2_conf = "/etc/softhsm/softhsm2.conf"   # SoftHSM only

    [tariffs]                      # the catalogue of orders (R11)
    products = [{code = "kep-issue", name = "...", kind = "certificate_issuance"}]
    plans = [{id = "basic", name = "Базовый"}]
    prices = [{plan = "basic", product = "kep-issue", from = "2026-01-01", price = "3600.00"}]

    [billing]
    time_zone = "Europe/Moscow"    # the business day of every rule (issue 12)

Environment overrides: ``ATLAS_CA_REGISTER``, ``ATLAS_CA_KEY_URI``, ``ATLAS_CA_CERTIFICATE``,
``ATLAS_CA_OUTBOX``, ``ATLAS_CA_CRL_DIR``, ``ATLAS_CA_PKCS11_MODULE``. The CA key's PIN comes
from the key URI's ``pin-source`` or from ``ATLAS_CA_PIN`` — never from an argument.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from atlas_ca.algorithms import KeyType
from atlas_ca.audit import Actor, VerificationReport, verify_store, x509_signature_verifier
from atlas_ca.domain.authorities import Authority, AuthorityBasis
from atlas_ca.domain.identifiers import InnLegal, MobilePhone
from atlas_ca.domain.identity_ports import CheckResult, SmsGateway
from atlas_ca.domain.ids import OrderId, RegistrarId, SubscriberId
from atlas_ca.domain.orders import Order
from atlas_ca.domain.registrars import Registrar
from atlas_ca.domain.subscribers import (
    IdentificationMethod,
    IdentityData,
    IdentityField,
    Subscriber,
    SubscriberKind,
)
from atlas_ca.errors import InvalidInput, Unavailable
from atlas_ca.hsm import open_key
from atlas_ca.hsm.base import SigningKey
from atlas_ca.limits import InputKind, open_input, read_input
from atlas_ca.profiles.config import CaConfig, ConfigError
from atlas_ca.profiles.planning import Address, Organisation
from atlas_ca.services.billing import (
    ActivationTarget,
    BalancePayment,
    BillingService,
    Cancellation,
    EntryPoint,
    Money,
    MoneyTotals,
    OrderItem,
    PaymentMethod,
    PersonalAccount,
    ReceivedPayment,
    RefundOutcome,
    RequestChannel,
    SellerCode,
    business_zone,
    catalogue_from,
)
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.ca_setup import CaSetupService, RootCa, keep_ca_certificate
from atlas_ca.services.certificates import (
    DEFAULT_SIGN_TOOL,
    CertificateApplication,
    CertificateService,
    CertificateStatusService,
    CodeSent,
    OrganisationRef,
    StatusAction,
    SubscriberCode,
)
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher, PublishedCrl
from atlas_ca.services.identity import (
    KINDS,
    METHODS,
    EgrulExtract,
    IdentityService,
    NewSubscriber,
    Verification,
    egrul_extract,
    identity_data,
    new_subscriber,
    registry_answers,
)
from atlas_ca.services.issuance import (
    IssuanceResult,
    IssuanceService,
)
from atlas_ca.services.ports import Clock, DirectoryOutbox, RandomBytes, StepHook, SystemClock
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.services.renewal import RemoteRenewal, RenewalService, renewal_validator
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import open_register
from atlas_ca.storage.ports import (
    CertificateRecord,
    RecordStore,
    Register,
    RevocationReason,
)
from atlas_ca.storage.records import open_record_store
from atlas_ca.x509.certificate import Certificate

ENV_CONFIG = "ATLAS_CA_CONFIG"
DEFAULT_REGISTER = "atlas-ca.sqlite"
#: The longest CRL validity accepted: a year. A CRL's nextUpdate must be a date relying parties
#: can still reach; anything longer is a typo (and beyond ~10**8 hours, not a date at all).
MAX_CRL_HOURS = 24 * 366


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AtlasConfig:
    """Where the register, the CA key and certificate, the outbox and the CRLs are, the
    profile and tariff tables, and the business time zone (the TOML file, typed)."""

    register: str = field(default=DEFAULT_REGISTER, repr=False)  # a DSN may hold a password
    key_uri: str | None = field(default=None, repr=False)
    certificate: Path | None = None
    outbox: Path = Path("outbox")
    crl_dir: Path = Path("crl")
    crl_validity: dt.timedelta = dt.timedelta(days=7)
    profile: Mapping[str, Any] | None = field(default=None, repr=False)
    """``[ca.profile]``: the table for :meth:`CaConfig.from_mapping`."""
    ca_profile: CaConfig | None = field(default=None, repr=False)
    """A typed ``CaConfig`` instead of the table (a library caller's); it wins if both."""
    hsm_module: str | None = None
    softhsm2_conf: str | None = None
    tariffs: Mapping[str, Any] | None = field(default=None, repr=False)
    source: Path | None = None
    business_zone: str = "Europe/Moscow"
    """``[billing] time_zone``: the zone of every business day the rules count (issue 12)."""

    def ca_config(self) -> CaConfig:
        if self.ca_profile is not None:
            return self.ca_profile
        if self.profile is None:
            raise ConfigError(
                "the configuration has no [ca.profile] table (tools, policy classes, URLs)",
                field="ca.profile",
            )
        return CaConfig.from_mapping(self.profile)

    def require_key_uri(self) -> str:
        if not self.key_uri:
            raise ConfigError(
                "no CA key: set [ca] key_uri in the configuration or ATLAS_CA_KEY_URI",
                field="ca.key_uri",
            )
        return self.key_uri

    def require_certificate(self) -> Path:
        if self.certificate is None:
            raise ConfigError(
                "no CA certificate: set [ca] certificate or ATLAS_CA_CERTIFICATE",
                field="ca.certificate",
            )
        return self.certificate


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table", field=name)
    return value


def _relative(base: Path | None, value: object, name: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty path", field=name)
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _shown(text: str, limit: int = 40) -> str:
    head = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return f"'{head}{'…' if len(text) > limit else ''}'"


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> AtlasConfig:
    """Read ``path`` (or ``$ATLAS_CA_CONFIG``; none: defaults), then apply the environment.

    Relative paths in the file are relative to the file's directory.
    """
    env = os.environ if environ is None else environ
    if path is None and env.get(ENV_CONFIG):
        path = Path(env[ENV_CONFIG])
    data: Mapping[str, Any] = {}
    base: Path | None = None
    if path is not None:
        try:
            with open_input(path, InputKind.CONFIG) as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:  # TOML is UTF-8 (TOML 1.0 §Spec)
            raise ConfigError(
                f"{path}: not valid TOML: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}"
                f" at offset {exc.start})"
            ) from None
        base = path.resolve().parent
    register = _table(data, "register")
    ca = _table(data, "ca")
    hsm = _table(data, "hsm")
    profile = ca.get("profile")
    if profile is not None and not isinstance(profile, dict):
        raise ConfigError("[ca.profile] must be a table", field="ca.profile")
    location = str(register.get("location", DEFAULT_REGISTER))
    if "://" not in location:
        location = str(_relative(base, location, "register.location"))
    hours = ca.get("crl_validity_hours", 168)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_CRL_HOURS:
        raise ConfigError(
            f"crl_validity_hours must be an integer from 1 to {MAX_CRL_HOURS} (a year), not "
            f"{_shown(str(hours))}",
            field="ca",
        )
    cert = ca.get("certificate")
    config = AtlasConfig(
        register=location,
        key_uri=ca.get("key_uri"),
        certificate=None if cert is None else _relative(base, cert, "ca.certificate"),
        outbox=_relative(base, ca.get("outbox", "outbox"), "ca.outbox"),
        crl_dir=_relative(base, ca.get("crl_dir", "crl"), "ca.crl_dir"),
        crl_validity=dt.timedelta(hours=hours),
        profile=profile,
        hsm_module=hsm.get("module"),
        softhsm2_conf=hsm.get("softhsm2_conf"),
        tariffs=_table(data, "tariffs") or None,
        source=path,
        business_zone=str(_table(data, "billing").get("time_zone", "Europe/Moscow")),
    )
    overrides: dict[str, Any] = {}
    if env.get("ATLAS_CA_REGISTER"):
        overrides["register"] = env["ATLAS_CA_REGISTER"]
    if env.get("ATLAS_CA_KEY_URI"):
        overrides["key_uri"] = env["ATLAS_CA_KEY_URI"]
    for key, name in (
        ("certificate", "ATLAS_CA_CERTIFICATE"),
        ("outbox", "ATLAS_CA_OUTBOX"),
        ("crl_dir", "ATLAS_CA_CRL_DIR"),
    ):
        if env.get(name):
            overrides[key] = Path(env[name])
    if env.get("ATLAS_CA_PKCS11_MODULE"):
        overrides["hsm_module"] = env["ATLAS_CA_PKCS11_MODULE"]
    return replace(config, **overrides) if overrides else config


def prepare_hsm_environment(config: AtlasConfig) -> None:
    """SoftHSM reads SOFTHSM2_CONF when it is loaded: set it from the configuration first."""
    if config.softhsm2_conf and not os.environ.get("SOFTHSM2_CONF"):
        os.environ["SOFTHSM2_CONF"] = config.softhsm2_conf
    if config.hsm_module and not os.environ.get("ATLAS_CA_PKCS11_MODULE"):
        os.environ["ATLAS_CA_PKCS11_MODULE"] = config.hsm_module


def pin_from_environment() -> str | None:
    """``ATLAS_CA_PIN`` if set (the URI's pin-source is used otherwise)."""
    return os.environ.get("ATLAS_CA_PIN") or None


class NoSmsGateway:
    """The default gateway: refuses, so a one-time code is never silently lost (R7)."""

    def send(self, phone: MobilePhone, text: str) -> None:
        raise Unavailable("no SMS gateway: pass sms= to atlas_ca.open to send one-time codes")


def _money(amount: Money | str) -> Money:
    return amount if isinstance(amount, Money) else Money.parse(amount)


def _item(item: OrderItem | str) -> OrderItem:
    if isinstance(item, OrderItem):
        return item
    code, _, qty = item.partition(":")
    try:
        return OrderItem.of(code, int(qty) if qty else 1)
    except ValueError:
        raise InvalidInput(f"{item!r}: quantity after ':' must be a whole number") from None


def _actor(operator: str | Actor) -> Actor:
    if isinstance(operator, Actor):
        return operator
    try:
        return Actor(operator if ":" in operator else f"operator:{operator}")
    except ValueError as exc:
        raise InvalidInput(f"operator name {operator!r} is not an account id") from exc


# --- the facade -----------------------------------------------------------------------------


class AtlasCA:
    """One CA: its register, record store, key, clock, and the use cases over them.

    Parts are opened on first use (a caller that only takes payments never opens the CA key)
    and closed by :meth:`close` (or ``with``). One instance is for one thread, except
    :meth:`issuance`: one :class:`IssuanceService` per instance, created once under a lock and
    shared by every thread that issues through it, so concurrent requests ride one group
    commit (issue 17; the service is thread-safe).
    """

    def __init__(
        self,
        config: AtlasConfig,
        *,
        clock: Clock | None = None,
        random_bytes: RandomBytes = secrets.token_bytes,
        sms: SmsGateway | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._random = random_bytes
        self._sms: SmsGateway = sms or NoSmsGateway()
        self._register: Register | None = None
        self._records: RecordStore | None = None
        self._ca: CertificateAuthority | None = None
        self._billing: BillingService | None = None
        self._issuance: IssuanceService | None = None
        self._issuance_lock = threading.Lock()
        prepare_hsm_environment(config)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # a DSN may hold a password: the scheme only
        where = self.config.register
        return f"AtlasCA(register={where.split('://')[0] if '://' in where else 'sqlite'}:…)"

    def now(self) -> dt.datetime:
        return self.clock.now()

    # --- the wiring (what the services are built on) -------------------------------------------

    @property
    def register(self) -> Register:
        if self._register is None:
            self._register = open_register(self.config.register, opened_at=self.now())
        return self._register

    @property
    def records(self) -> RecordStore:
        if self._records is None:
            self.register  # noqa: B018 - create and migrate the register first
            self._records = open_record_store(self.config.register, opened_at=self.now())
        return self._records

    @property
    def ca(self) -> CertificateAuthority:
        if self._ca is None:
            cert = read_input(self.config.require_certificate(), InputKind.CERTIFICATE)
            self._ca = CertificateAuthority.open(
                self.config.require_key_uri(),
                cert,
                self.config.ca_config(),
                pin=pin_from_environment(),
            )
            keep_ca_certificate(self.register, self._ca.certificate, self._ca.issuer_id, self.now())
        return self._ca

    def challenges(self) -> RecordChallengeStore:
        return RecordChallengeStore(self.records, clock=self.clock)

    def identity(self) -> IdentityService:
        """Subscribers, registrars, verification, authorities (R1–R5)."""
        return IdentityService(self.records, clock=self.clock)

    def billing(self) -> BillingService:
        """The money use cases (orders, payments, account, refunds, claims) over the records."""
        if self._billing is None:
            tariffs = self.config.tariffs
            register = self.register
            self._billing = BillingService(
                self.records,
                clock=self.clock,
                zone=business_zone(self.config.business_zone),
                catalogue=catalogue_from(tariffs) if tariffs else None,
                issued_count=lambda order: register.order_usage(order).certificates,
            )
        return self._billing

    def issuance(self) -> IssuanceService:
        """The instance's one issuance service (its group commit shared by all callers)."""
        service = self._issuance
        if service is not None:
            return service
        with self._issuance_lock:
            if self._issuance is None:
                self._issuance = IssuanceService(
                    ca=self.ca,
                    register=self.register,
                    challenges=self.challenges(),
                    outbox=DirectoryOutbox(self.config.outbox),
                    clock=self.clock,
                    random_bytes=self._random,
                    orders=self.billing(),
                )
            return self._issuance

    def revocation(self) -> RevocationService:
        return RevocationService(
            issuer=self.ca.issuer_id,
            register=self.register,
            challenges=self.challenges(),
            clock=self.clock,
        )

    def crl_publisher(self, actor: Actor, on_step: StepHook | None = None) -> CrlPublisher:
        validity = self.config.crl_validity
        return CrlPublisher(
            ca=self.ca,
            register=self.register,
            directory=self.config.crl_dir,
            clock=self.clock,
            policy=CrlPolicy(
                full_validity=validity, delta_validity=min(validity, dt.timedelta(days=1))
            ),
            actor=actor,
            on_step=on_step,
        )

    def close(self) -> None:
        if self._records is not None:
            self._records.close()
            self._records = None
        if self._register is not None:
            self._register.close()
            self._register = None
        self._billing = None
        self._issuance = None

    # --- subscribers and verification (R1–R5) -------------------------------------------------

    def add_subscriber(
        self,
        subscriber_id: str,
        *,
        phone: str,
        kind: SubscriberKind | str = SubscriberKind.INDIVIDUAL,
        data: IdentityData | Mapping[str, Any] | None = None,
    ) -> Subscriber:
        """Register a subscriber with a phone (R1) and the entered data (R2 stage 1): typed, or
        a document as ``atlas-ca subscriber add --data`` reads it."""
        which = _kind(kind)
        typed = identity_data(which, data) if isinstance(data, Mapping) else data
        return self.identity().add_subscriber(subscriber_id, which, phone, typed)

    def import_subscribers(
        self, items: Iterable[NewSubscriber | Mapping[str, Any]]
    ) -> list[Subscriber]:
        """Register many subscribers, all or none (R1, R2 stage 1)."""
        parsed: list[NewSubscriber] = []
        for number, item in enumerate(items, start=1):
            try:
                parsed.append(item if isinstance(item, NewSubscriber) else new_subscriber(item))
            except InvalidInput as exc:
                raise InvalidInput(str(exc), item=number) from exc
        return self.identity().import_subscribers(parsed)

    def record_checks(
        self,
        subscriber_id: str,
        answers: Sequence[tuple[IdentityField, CheckResult]] | Sequence[Mapping[str, Any]],
    ) -> Subscriber:
        """Record the government registries' answers (R2, R5): typed, or as
        ``[{"field", "confirmed", "reason"}]``."""
        typed = [a for a in answers if isinstance(a, tuple)] if isinstance(answers, list) else []
        if not isinstance(answers, list) or len(typed) != len(answers):
            typed = registry_answers(answers)
        return self.identity().record_checks(subscriber_id, typed)

    def confirm_with_egrul(
        self, subscriber_id: str, extract: EgrulExtract | Mapping[str, Any]
    ) -> Subscriber:
        """An organisation confirmed by its ЕГРЮЛ extract (R2, R5)."""
        typed = extract if isinstance(extract, EgrulExtract) else egrul_extract(extract)
        return self.identity().confirm_with_egrul(subscriber_id, typed)

    def verify_subscriber(
        self,
        subscriber_id: str,
        *,
        registrar: str,
        key: SigningKey | str,
        method: IdentificationMethod | str = IdentificationMethod.PERSONAL_PRESENCE,
        require_qualified: bool = True,
    ) -> Verification:
        """A registrar verifies the subscriber and signs the verified record (R2 stage 2, R5):
        ``key`` is the registrar's signing key or its URI. No signature, no verification."""
        if isinstance(key, str):
            key = open_key(key, pin=pin_from_environment())
        if isinstance(method, str):
            if method not in METHODS:
                raise InvalidInput(f"unknown identification method {method!r}")
            method = METHODS[method]
        return self.identity().verify(
            subscriber_id, registrar, key, method=method, require_qualified=require_qualified
        )

    def subscriber(self, subscriber_id: str) -> Subscriber:
        return self.identity().subscriber(subscriber_id)

    def add_registrar(self, registrar: Registrar) -> Registrar:
        return self.identity().add_registrar(registrar)

    def add_authority(
        self,
        authority_id: str,
        *,
        person: str,
        organisation: str | InnLegal,
        position: str,
        basis: AuthorityBasis,
        valid_from: dt.datetime,
        valid_until: dt.datetime | None = None,
        registrar: str | RegistrarId,
    ) -> Authority:
        """An authority of ``person`` to act for ``organisation``, verified by a registrar who
        is not that person (R4)."""
        return self.identity().add_authority(
            authority_id,
            person=person,
            organisation=organisation,
            position=position,
            basis=basis,
            valid_from=valid_from,
            valid_until=valid_until,
            registrar=registrar,
        )

    def revoke_authority(self, authority_id: str, reason: str) -> Authority:
        return self.identity().revoke_authority(authority_id, reason)

    # --- orders, payments, the account, refunds and claims (R8–R18) ---------------------------

    def create_order(
        self,
        order_id: str,
        customer: str,
        items: Sequence[OrderItem | str],
        *,
        plan: str = "basic",
        seller: SellerCode = SellerCode.SERVER_CENTR,
        method: PaymentMethod = PaymentMethod.BANK_CARD,
        entry_point: EntryPoint = EntryPoint.DIGITAL_PROFILE,
        recipients: Sequence[str] = (),
        activation: ActivationTarget | None = None,
    ) -> Order:
        """Place an order on any entry point (R8) at today's prices (R11); items are
        ``OrderItem`` or ``"product[:quantity]"``. A quick purchase in a program names what it
        is activated on (``activation``: the account or a certificate, R8)."""
        return self.billing().create_order(
            order_id,
            customer,
            [_item(i) for i in items],
            plan=plan,
            seller=seller,
            method=method,
            entry_point=entry_point,
            recipients=recipients,
            activation=activation,
        )

    def order(self, order_id: str) -> Order:
        return self.billing().order(order_id)

    def pay(
        self,
        order_id: str,
        payment_id: str,
        amount: Money | str,
        method: PaymentMethod = PaymentMethod.BANK_CARD,
    ) -> ReceivedPayment:
        """A payment notification: applied once by its id; the surplus goes to the personal
        account (R9, R12–R14)."""
        return self.billing().notify_payment(order_id, payment_id, _money(amount), method)

    def pay_from_balance(self, order_id: str, entry_id: str | None = None) -> BalancePayment:
        return self.billing().pay_from_balance(order_id, entry_id)

    def top_up(
        self,
        subscriber: str,
        entry_id: str,
        amount: Money | str,
        *,
        seller: SellerCode = SellerCode.SERVER_CENTR,
        method: PaymentMethod = PaymentMethod.BANK_TRANSFER,
        reason: str = "top-up of the personal account",
    ) -> PersonalAccount:
        """Money received by ``seller`` credited to the personal account (R12–R14)."""
        return self.billing().top_up(
            subscriber, entry_id, _money(amount), seller=seller, method=method, reason=reason
        )

    def account(self, subscriber: str) -> PersonalAccount:
        return self.billing().account(subscriber)

    def cancel_order(self, order_id: str, reason: str) -> Cancellation:
        return self.billing().cancel(order_id, reason)

    def grant_access(self, order_id: str, person: str) -> Order:
        return self.billing().grant_access(order_id, person)

    def request_refund(
        self,
        request_id: str,
        *,
        channel: RequestChannel = RequestChannel.PAPER_AT_OFFICE,
        order: str | None = None,
        subscriber: str | None = None,
        amount: Money | str | None = None,
        received_on: dt.date | None = None,
    ) -> RefundOutcome:
        """A written refund request about an order (R16, or a claim after delivery, R17) or
        about the balance of ``subscriber``'s account (R16), received on ``received_on``."""
        return self.billing().request_refund(
            request_id,
            channel=channel,
            order_id=order,
            subscriber=subscriber,
            amount=None if amount is None else _money(amount),
            received_on=received_on,
        )

    def decide_claim(
        self, request_id: str, *, approved: Money | str | None, reason: str, decided_by: str
    ) -> RefundOutcome:
        """A person decides a claim (R17); ``approved`` None denies it."""
        return self.billing().decide_claim(
            request_id,
            approved=None if approved is None else _money(approved),
            reason=reason,
            decided_by=decided_by,
        )

    def money_totals(self) -> MoneyTotals:
        return self.billing().money_totals()

    # --- issuance (R3, R4, R7, R10) -----------------------------------------------------------

    def certificates(self) -> CertificateService:
        """The two-step issuance (code, then certificate) over :meth:`issuance`."""
        return CertificateService(
            issuance=self.issuance(),
            records=self.records,
            challenges=self.challenges(),
            gateway=self._sms,
            clock=self.clock,
            random_bytes=self._random,
        )

    def renewal(
        self, *, trust_store: Path | None = None, crl_files: Sequence[Path] = ()
    ) -> RemoteRenewal:
        """Remote renewal (R20) in two steps: the signer's path is validated against this CA's
        certificate and ``trust_store`` (head CA roots, cross-certificates), with the CA's
        published CRLs, the store's and ``crl_files`` (revocation required)."""
        validator = renewal_validator(
            self.ca.certificate.der,
            crl_dir=self.config.crl_dir,
            trust_store=trust_store,
            crl_files=crl_files,
        )
        service = RenewalService(
            issuance=self.issuance(), validator=validator, register=self.register, clock=self.clock
        )
        return RemoteRenewal(
            renewal=service,
            issuance=self.issuance(),
            records=self.records,
            challenges=self.challenges(),
            gateway=self._sms,
            clock=self.clock,
            random_bytes=self._random,
        )

    def send_issuance_code(
        self,
        csr: bytes,
        *,
        subscriber: str,
        order: str,
        profile: str = "individual",
        sign_tool: str = DEFAULT_SIGN_TOOL,
        organisation: str | None = None,
        address: Address | None = None,
        title: str | None = None,
    ) -> CodeSent:
        """Step 1 of issuance: the pipeline's own checks (proof of possession, R3, R4, R10,
        the profile), then a one-time code bound to this CSR, order and profile goes to the
        subscriber's phone through ``sms`` (R7)."""
        return self.certificates().send_code(
            _application(csr, subscriber, order, profile, sign_tool, organisation, address, title)
        )

    def issue(
        self,
        csr: bytes,
        *,
        subscriber: str,
        order: str,
        code: str,
        profile: str = "individual",
        sign_tool: str = DEFAULT_SIGN_TOOL,
        organisation: str | None = None,
        address: Address | None = None,
        title: str | None = None,
    ) -> IssuanceResult:
        """Step 2: issue with the code the subscriber received for the same CSR, order and
        profile; returns once the register holds the certificate (R7, R10)."""
        return self.certificates().issue(
            _application(csr, subscriber, order, profile, sign_tool, organisation, address, title),
            code,
        )

    def certificates_of(self, subscriber: str) -> list[CertificateRecord]:
        return list(self.register.certificates_of(SubscriberId(subscriber)))

    # --- revocation, suspension, CRLs, audit --------------------------------------------------

    def statuses(self) -> CertificateStatusService:
        """Revocation, suspension and resumption by an operator or by the subscriber's code."""
        return CertificateStatusService(
            revocation=self.revocation(),
            records=self.records,
            challenges=self.challenges(),
            gateway=self._sms,
            clock=self.clock,
            random_bytes=self._random,
        )

    def send_status_code(
        self,
        action: StatusAction,
        serial: int,
        *,
        subscriber: str,
        reason: RevocationReason | None = None,
    ) -> CodeSent:
        """Step 1 of a subscriber's own revocation, suspension or resumption: a code bound to
        the action, serial (and reason) goes to their phone (R7)."""
        return self.statuses().send_code(action, serial, SubscriberId(subscriber), reason=reason)

    def revoke(
        self,
        serial: int,
        *,
        reason: RevocationReason = RevocationReason.UNSPECIFIED,
        operator: str | Actor | None = None,
        subscriber: str | None = None,
        code: str | None = None,
    ) -> CertificateRecord:
        """Revoke a certificate (final); the next CRL lists it. By an ``operator``, or by its
        ``subscriber`` with the ``code`` :meth:`send_status_code` sent."""
        return self.statuses().revoke(serial, reason=reason, by=_by(operator, subscriber, code))

    def suspend(
        self,
        serial: int,
        *,
        operator: str | Actor | None = None,
        subscriber: str | None = None,
        code: str | None = None,
    ) -> CertificateRecord:
        """Suspend a certificate (certificateHold, 63-ФЗ art. 14)."""
        return self.statuses().suspend(serial, by=_by(operator, subscriber, code))

    def resume(
        self,
        serial: int,
        *,
        operator: str | Actor | None = None,
        subscriber: str | None = None,
        code: str | None = None,
    ) -> CertificateRecord:
        """Lift a suspension (removeFromCRL in the next delta CRL)."""
        return self.statuses().resume(serial, by=_by(operator, subscriber, code))

    # --- CA setup, CRLs, audit ----------------------------------------------------------------

    def create_root(
        self,
        organisation: Organisation,
        *,
        generate: KeyType | None = None,
        certificate_path: Path | None = None,
    ) -> RootCa:
        """Self-sign this CA's root with the configured key (``generate``: make the key first)
        and write it to ``certificate_path`` (default: the configured certificate, never
        overwritten); the register keeps it."""
        setup = CaSetupService(clock=self.clock, random_bytes=self._random)
        uri = self.config.require_key_uri()
        if generate is not None:
            setup.generate_key(uri, generate, pin=pin_from_environment())
        key = setup.open_key(uri, pin=pin_from_environment())
        return setup.create_root(
            key,
            organisation,
            self.config.ca_config(),
            register=self.register,
            certificate_path=certificate_path or self.config.require_certificate(),
        )

    def publish_crl(self, *, operator: str | Actor, delta: bool = False) -> PublishedCrl:
        """Sign and write the full (or delta) CRL into the configured directory."""
        publisher = self.crl_publisher(_actor(operator))
        return publisher.publish_delta() if delta else publisher.publish_full()

    def verify_audit(self, trusted_keys: Sequence[bytes] | None = None) -> VerificationReport:
        """Check the audit log's hash chain, signed checkpoints and recorded head; checkpoint
        signatures count from ``trusted_keys`` (SPKIs; default: the CA certificate's key)."""
        keys = trusted_keys
        if (
            keys is None
            and self.config.certificate is not None
            and self.config.certificate.exists()
        ):
            cert = read_input(self.config.certificate, InputKind.CERTIFICATE)
            keys = [Certificate.load(cert).public_key_info]
        return verify_store(
            self.register, verify_signature=x509_signature_verifier, trusted_keys=keys
        )


def _application(
    csr: bytes,
    subscriber: str,
    order: str,
    profile: str,
    sign_tool: str,
    organisation: str | None,
    address: Address | None,
    title: str | None,
) -> CertificateApplication:
    return CertificateApplication(
        csr=csr,
        subscriber=SubscriberId(subscriber),
        order=OrderId(order),
        profile=profile,
        subject_sign_tool=sign_tool,
        organisation=(
            None
            if organisation is None
            else OrganisationRef(SubscriberId(organisation), address or Address())
        ),
        title=title,
    )


def _by(
    operator: str | Actor | None, subscriber: str | None, code: str | None
) -> ByOperator | SubscriberCode:
    if (operator is None) == (subscriber is None):
        raise InvalidInput("a status change is asked by an operator or by the subscriber")
    if subscriber is not None:
        if code is None:
            raise InvalidInput("the subscriber confirms with the code sent to them (R7)")
        return SubscriberCode(SubscriberId(subscriber), code)
    assert operator is not None  # checked above
    return ByOperator(_actor(operator))


def _kind(kind: SubscriberKind | str) -> SubscriberKind:
    if isinstance(kind, SubscriberKind):
        return kind
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}")
    return KINDS[kind]


def open(
    config: AtlasConfig | str | os.PathLike[str] | None = None,
    *,
    clock: Clock | None = None,
    random_bytes: RandomBytes = secrets.token_bytes,
    sms: SmsGateway | None = None,
    environ: Mapping[str, str] | None = None,
) -> AtlasCA:
    """The CA of ``config``: a TOML file (None: ``$ATLAS_CA_CONFIG`` or defaults; the
    ``ATLAS_CA_*`` variables apply) or an :class:`AtlasConfig`. Nothing is opened until a use
    case needs it."""
    typed = (
        config
        if isinstance(config, AtlasConfig)
        else load_config(None if config is None else Path(config), environ)
    )
    return AtlasCA(typed, clock=clock, random_bytes=random_bytes, sms=sms)


__all__ = [
    "DEFAULT_SIGN_TOOL",
    "ENV_CONFIG",
    "Actor",
    "AtlasCA",
    "AtlasConfig",
    "NoSmsGateway",
    "SmsGateway",
    "Verification",
    "keep_ca_certificate",
    "load_config",
    "open",
    "pin_from_environment",
    "prepare_hsm_environment",
]
