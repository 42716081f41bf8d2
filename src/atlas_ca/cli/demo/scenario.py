"""The end-to-end demo: a whole CA life on a fresh SoftHSM token, checked by outside verifiers.

``atlas-ca demo`` (and ``scripts/demo.sh``) call :func:`run_demo`. In one directory (default
``./demo-out``, wiped and recreated on every run — only if it is empty or an earlier demo
made it) it:

1. initialises a SoftHSM token with C_InitToken/C_InitPIN (no PIN on any command line; its
   own ``softhsm2.conf``, random PINs in ``0600`` files) and generates two GOST R 34.10-2012
   256-bit keys **on the token** (CryptoPro-A): the CA's and the registrar's;
2. creates the CA: a self-signed root by the ``ca`` profile, the register (SQLite) and the
   record store next to it, and writes ``atlas-ca.toml`` so every other command works on it;
3. issues the registrar's staff certificate through the issuance service (the registrar is a
   verified person with a paid order and a one-time code, like anyone else);
4. registers a subscriber (ФЛ), runs the government checks (fakes of МВД/ФНС/СФР), has the
   registrar complete the verification and sign the verified record as GOST CMS (R5);
5. places and pays an order (R8–R10);
6. issues a qualified certificate from a GOST CSR (subscriber key: software backend) with a
   one-time code sent through a fake SMS gateway that prints it (R7);
7. issues a second certificate and revokes it (keyCompromise), publishes a CRL;
8. verifies every artifact with OpenSSL's gost engine and GnuTLS certtool (when installed),
   checks that the revoked certificate is refused with the CRL, and verifies the audit log.

Every step is reported; :class:`DemoFailed` (exit 1) if a check fails, an
:class:`~atlas_ca.errors.Unavailable` error (exit 3) if SoftHSM or OpenSSL is missing.

The PKCS#11 library reads ``SOFTHSM2_CONF`` once, when it is loaded: run the demo in a process
that has not loaded SoftHSM yet (the CLI does).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.audit import Actor, verify_store, x509_signature_verifier
from atlas_ca.cli.demo.fakes import SERVER_CENTRE, fake_government
from atlas_ca.cli.demo.interop import (
    OPENSSL_GOST_CONF_NAME,
    openssl_gost_env,
    write_openssl_gost_conf,
)
from atlas_ca.cli.demo.status_steps import run_status_demo
from atlas_ca.domain import identifiers
from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.domain.ids import OfficeId, OrderId, ProductCode, RegistrarId, SubscriberId
from atlas_ca.domain.ids import TariffPlanId as PlanId
from atlas_ca.domain.money import Money
from atlas_ca.domain.orders import (
    EntryPoint,
    Order,
    OrderItem,
    RegisteredCustomers,
    draft_order,
    place_order,
)
from atlas_ca.domain.otp import send_challenge
from atlas_ca.domain.payments import PaymentNotification, apply_payment_notification
from atlas_ca.domain.registrars import Office, OfficeKind, Registrar
from atlas_ca.domain.sellers import PaymentMethod, SellerCode
from atlas_ca.domain.subscribers import (
    IdentificationMethod,
    IndividualData,
    PersonName,
    Subscriber,
    SubscriberKind,
    register,
)
from atlas_ca.domain.tariffs import Catalogue, PriceVersion, Product, ProductKind, TariffPlan
from atlas_ca.domain.verification import complete_verification, enter_data, run_government_checks
from atlas_ca.errors import DemoFailed, InvalidInput, Unavailable
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.pkcs11 import Pkcs11Module, open_token
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.profiles.config import CaConfig, IssuerTools
from atlas_ca.profiles.planning import Address, Organisation, issue_certificate, plan_ca_certificate
from atlas_ca.services.attestation import attest_verification, verify_attestation
from atlas_ca.services.billing import BillingService
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher
from atlas_ca.services.files import PRIVATE_FILE, PUBLIC_FILE, write_file
from atlas_ca.services.issuance import (
    IssuanceRequest,
    IssuanceResult,
    IssuanceService,
    OtpConfirmation,
    issuance_binding,
)
from atlas_ca.services.ports import DirectoryOutbox, SystemClock
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.services.renewal import RenewalRequest, RenewalService, renewal_binding
from atlas_ca.services.revocation import ByOperator, RevocationService
from atlas_ca.storage import CaCertificate, RevocationReason, open_register
from atlas_ca.storage.ports import RecordKind, RecordStore, Register
from atlas_ca.storage.records import open_record_store
from atlas_ca.trust import PathValidator
from atlas_ca.trust.cms import sign_attached
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name

MARKER = ".atlas-ca-demo"
TOKEN_LABEL = "atlas-demo"  # noqa: S105 - a token label, not a secret
SUBJECT_SIGN_TOOL = 'СКЗИ "КриптоПро CSP" (версия 5.0)'
OPERATOR = Actor("operator:demo")

#: The demo CA's configuration (tools and conformity certificates are samples).
DEMO_CONFIG = CaConfig(
    issuer_tools=IssuerTools(
        'ПАК "КриптоПро HSM" версии 2.0',
        'ПАК "Удостоверяющий центр КриптоПро УЦ" версии 2.0',
        "Сертификат соответствия № СФ/124-0000 от 01.01.2024 (демо)",
        "Сертификат соответствия № СФ/128-0000 от 01.01.2024 (демо)",
    ),
    ca_sign_tool='ПАК "КриптоПро HSM" версии 2.0',
    policy_classes=(oids.RuPolicy.KC1, oids.RuPolicy.KC2),
    crl_urls=("http://ca.example.ru/cdp/demo.crl",),
    ocsp_urls=("http://ca.example.ru/ocsp",),
    ca_issuers_urls=("http://ca.example.ru/aia/demo.crt",),
)

DEMO_CA = Organisation(
    name=SERVER_CENTRE.full_name or 'АО "Сервер-Центр"',
    common_name='УЦ АО "Сервер-Центр" (демо)',
    ogrn=identifiers.Ogrn("1022502121476"),
    inn=identifiers.InnLegal("2539038819"),
    address=Address("25 Приморский край", "г. Владивосток", "ул. Светланская, д. 1"),
    email="ca@example.ru",
)

KEP = ProductCode("kep-issue")
KEP_RENEW = ProductCode("kep-renew")
BASIC = PlanId("basic")
DEMO_CATALOGUE = Catalogue(
    products=[
        Product(KEP, "Квалифицированный сертификат ЭП", ProductKind.CERTIFICATE_ISSUANCE),
        Product(KEP_RENEW, "Продление сертификата ЭП", ProductKind.CERTIFICATE_RENEWAL),
    ],
    plans=[TariffPlan(BASIC, "Базовый")],
    prices=[
        PriceVersion(BASIC, KEP, dt.date(2025, 1, 1), Money(Decimal("3600.00"))),
        PriceVersion(BASIC, KEP_RENEW, dt.date(2025, 1, 1), Money(Decimal("1800.00"))),
    ],
)


@dataclass(frozen=True, slots=True)
class DemoStep:
    name: str
    ok: bool
    detail: str


@dataclass
class DemoReport:
    """What the demo did, the files it wrote and how long it took."""

    directory: Path
    steps: list[DemoStep] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failures(self) -> list[DemoStep]:
        return [s for s in self.steps if not s.ok]


# --- outside verifiers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolRun:
    ok: bool
    output: str


@dataclass(frozen=True, slots=True)
class Verifiers:
    """``openssl`` run with a config that loads the gost engine, and ``certtool`` if found."""

    openssl: str | None
    openssl_conf: Path
    certtool: str | None

    def gost_engine_available(self) -> bool:
        if self.openssl is None:
            return False
        probe = self.run_openssl(["engine", "-t", "gost"])
        return probe.ok and "available" in probe.output

    def run_openssl(self, args: Sequence[str | os.PathLike[str]]) -> ToolRun:
        if self.openssl is None:
            return ToolRun(False, "openssl not found")
        return _run([self.openssl, *map(str, args)], openssl_gost_env(self.openssl_conf))

    def run_certtool(self, args: Sequence[str | os.PathLike[str]]) -> ToolRun:
        if self.certtool is None:
            return ToolRun(False, "certtool not found")
        return _run([self.certtool, *map(str, args)], dict(os.environ))


def _run(argv: list[str], env: dict[str, str]) -> ToolRun:
    try:
        proc = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ToolRun(False, f"{argv[0]} did not run: {exc}")
    text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    return ToolRun(proc.returncode == 0, text)


def find_verifiers(work_dir: Path) -> Verifiers:
    """The verifiers on PATH; writes the gost-engine OpenSSL config into ``work_dir``."""
    conf = work_dir / OPENSSL_GOST_CONF_NAME
    if not conf.exists():
        write_openssl_gost_conf(work_dir)
    return Verifiers(shutil.which("openssl"), conf, shutil.which("certtool"))


# --- SoftHSM --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoToken:
    module: Path
    conf: Path
    label: str
    pin_file: Path = field(repr=False)

    def uri(self, obj: str | None = None) -> str:
        path = f"token={self.label}" + (f";object={obj};type=private" if obj else "")
        return f"pkcs11:{path}?module-path={self.module}&pin-source=file:{self.pin_file}"


def softhsm_paths(module: str | None = None, util: str | None = None) -> tuple[Path, Path]:
    """The SoftHSM (built with GOST) module and its ``softhsm2-util``, from the arguments or
    ``ATLAS_CA_SOFTHSM_MODULE`` / ``ATLAS_CA_SOFTHSM_UTIL``; Unavailable if missing."""
    mod = module or os.environ.get("ATLAS_CA_SOFTHSM_MODULE")
    if not mod or not Path(mod).is_file():
        raise Unavailable(
            "SoftHSM built with GOST was not found: set ATLAS_CA_SOFTHSM_MODULE "
            "(scripts/bootstrap.sh builds it and writes .atlas-ca-env)"
        )
    tool = util or os.environ.get("ATLAS_CA_SOFTHSM_UTIL")
    if not tool:
        tool = str(Path(mod).resolve().parent.parent.parent / "bin" / "softhsm2-util")
    if not Path(tool).is_file():
        raise Unavailable(f"softhsm2-util not found at {tool}: set ATLAS_CA_SOFTHSM_UTIL")
    return Path(mod), Path(tool)


def init_demo_token(base: Path, module: Path, label: str = TOKEN_LABEL) -> DemoToken:
    """A SoftHSM config in ``base`` with one fresh token; random PINs written to 0600 files."""
    tokens = base / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    user_pin, so_pin = secrets.token_hex(8), secrets.token_hex(8)
    pin_file, so_file = base / "user.pin", base / "so.pin"
    for path, value in ((pin_file, user_pin), (so_file, so_pin)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
    os.environ["SOFTHSM2_CONF"] = str(conf)
    # C_InitToken and C_InitPIN through our PKCS#11 layer: softhsm2-util takes the PINs only
    # as --pin/--so-pin arguments, which any user of the machine sees in the process list
    Pkcs11Module.load(str(module)).init_token(label, so_pin=so_pin, user_pin=user_pin)
    return DemoToken(module, conf, label, pin_file)


# --- small helpers --------------------------------------------------------------------------


def prepare_directory(directory: Path) -> Path:
    """Wipe and recreate ``directory`` — only if it is missing, empty or an earlier demo's."""
    directory = directory.resolve()
    if directory.exists():
        if not directory.is_dir():
            raise InvalidInput(f"{directory} is not a directory")
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise InvalidInput(
                f"{directory} is not empty and was not made by the demo; refusing to wipe it"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by atlas-ca demo; wiped on the next run\n")
    return directory


def _person(surname: str, given: str, patronymic: str, seed: int) -> IndividualData:
    inn10 = f"25{seed:08d}"
    snils9 = f"{100 + seed:03d}{seed:06d}"[:9]
    return IndividualData(
        name=PersonName(surname, given, patronymic),
        birth_date=dt.date(1985, 4, 12),
        passport=identifiers.Passport("0512", f"{seed:06d}", dt.date(2010, 6, 1), "250-001"),
        inn=identifiers.InnPerson(inn10 + identifiers.inn_person_check_digits(inn10)),
        snils=identifiers.Snils(snils9 + identifiers.snils_checksum(snils9)),
    )


class PrintingSmsGateway:
    """The demo's SMS gateway: prints the message (the phone masked) and keeps the last code."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self.last_code: str | None = None

    def send(self, phone: MobilePhone, text: str) -> None:
        self._say(f"    SMS to {phone}: {text}")
        found = re.search(r"\b(\d{6})\b", text)
        self.last_code = found.group(1) if found else None


@dataclass
class _World:
    directory: Path
    ca: CertificateAuthority
    register: Register
    records: RecordStore
    issuance: IssuanceService
    revocation: RevocationService
    sms: PrintingSmsGateway
    challenges: RecordChallengeStore
    say: Callable[[str], None]

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def order_for(
        self,
        subscriber: Subscriber,
        order_id: str,
        payment: str,
        *,
        certificates: int,
        product: ProductCode = KEP,
    ) -> Order:
        """A paid order buying ``certificates`` issuances: the service issues no more (R10)."""
        at = self.now()
        draft = draft_order(
            OrderId(order_id),
            subscriber.id,
            EntryPoint.DIGITAL_PROFILE,
            SellerCode.SERVER_CENTR,
            PaymentMethod.BANK_CARD,
            BASIC,
            (OrderItem(product, certificates),),
            (subscriber.id,),
            at,
        )
        placed = place_order(
            draft, DEMO_CATALOGUE, at, RegisteredCustomers(frozenset({subscriber.id}))
        )
        outcome = apply_payment_notification(
            placed,
            PaymentNotification(payment, placed.id, placed.total, PaymentMethod.BANK_CARD, at),
        )
        self.records.put(RecordKind.ORDER, order_id, outcome.order, at=at)
        self.say(
            f"    order {order_id}: {placed.total} placed ({placed.state.value}); payment "
            f"{payment}: {outcome.status.value} — {outcome.explanation}"
        )
        return outcome.order

    def issue(
        self, subscriber: Subscriber, order: Order, key: SigningKey, name: str
    ) -> IssuanceResult:
        csr = (
            CsrBuilder()
            .subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, name)]))
            .sign(key)
        )
        (self.directory / f"{name}.csr.pem").write_bytes(csr.pem())
        binding = issuance_binding(csr.der, order, "individual")
        if subscriber.phone is None:
            raise DemoFailed(f"subscriber {subscriber.id} has no phone for the one-time code")
        challenge = send_challenge(
            self.sms,
            subscriber.phone,
            subscriber.id,
            binding,
            now=self.now(),
            random_bytes=secrets.token_bytes,
        )
        self.challenges.save(challenge)
        code = self.sms.last_code
        if code is None:
            raise DemoFailed("the SMS gateway did not see a one-time code")
        return self.issuance.issue(
            IssuanceRequest(
                csr=csr.der,
                subscriber=subscriber,
                order=order,
                profile="individual",
                subject_sign_tool=SUBJECT_SIGN_TOOL,
                confirmation=OtpConfirmation(challenge.id, code),
            )
        )


def verified_person(
    sid: str, data: IndividualData, registrar: Registrar, phone: str, at: dt.datetime
) -> Subscriber:
    """R1–R2 with the fakes of the government registries: registered, checked, verified."""
    sub = register(SubscriberId(sid), SubscriberKind.INDIVIDUAL, MobilePhone(phone), at=at)
    sub = enter_data(sub, data, at=at)
    checks, *_ = fake_government(data)
    sub = run_government_checks(sub, checks, at=at)
    return complete_verification(sub, registrar, IdentificationMethod.PERSONAL_PRESENCE, at=at)


def write_config(directory: Path, token: DemoToken, ca_pem: Path) -> Path:
    """``atlas-ca.toml`` of the demo CA (see docs/operator-guide.md for every key)."""
    path = directory / "atlas-ca.toml"
    tools = DEMO_CONFIG.issuer_tools
    path.write_text(
        "# Written by atlas-ca demo. Use: atlas-ca --config "
        f"{path} <command>\n"
        "[register]\n"
        f'location = "{directory / "register.sqlite"}"\n\n'
        "[ca]\n"
        f'key_uri = "{token.uri("ca")}"\n'
        f'certificate = "{ca_pem}"\n'
        f'outbox = "{directory / "outbox"}"\n'
        f'crl_dir = "{directory / "crl"}"\n'
        "crl_validity_hours = 24\n\n"
        "[ca.profile]\n"
        f"ca_sign_tool = {_toml(DEMO_CONFIG.ca_sign_tool)}\n"
        'policy_classes = ["KC1", "KC2"]\n'
        f"crl_urls = {_toml_list(DEMO_CONFIG.crl_urls)}\n"
        f"ocsp_urls = {_toml_list(DEMO_CONFIG.ocsp_urls)}\n"
        f"ca_issuers_urls = {_toml_list(DEMO_CONFIG.ca_issuers_urls)}\n\n"
        "[ca.profile.issuer_tools]\n"
        f"sign_tool = {_toml(tools.sign_tool)}\n"
        f"ca_tool = {_toml(tools.ca_tool)}\n"
        f"sign_tool_certificate = {_toml(tools.sign_tool_certificate)}\n"
        f"ca_tool_certificate = {_toml(tools.ca_tool_certificate)}\n\n"
        "[hsm]\n"
        f'module = "{token.module}"\n'
        f'softhsm2_conf = "{token.conf}"\n\n'
        "[tariffs]\n"
        'products = [{code = "kep-issue", name = "Квалифицированный сертификат ЭП", '
        'kind = "certificate_issuance"}, {code = "kep-renew", name = "Продление сертификата ЭП", '
        'kind = "certificate_renewal"}]\n'
        'plans = [{id = "basic", name = "Базовый"}]\n'
        'prices = [{plan = "basic", product = "kep-issue", from = "2025-01-01", '
        'price = "3600.00"}, {plan = "basic", product = "kep-renew", from = "2025-01-01", '
        'price = "1800.00"}]\n'
    )
    return path


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_toml(i) for i in items) + "]"


# --- the demo -------------------------------------------------------------------------------


def run_demo(
    directory: Path,
    *,
    say: Callable[[str], None] = print,
    softhsm_module: str | None = None,
    softhsm_util: str | None = None,
) -> DemoReport:
    """Run the whole demo in ``directory`` (see the module docstring); return its report.

    Raises :class:`DemoFailed` when a step or a verifier refuses, after every check ran.
    """
    started = time.monotonic()
    module, _util = softhsm_paths(softhsm_module, softhsm_util)
    out = prepare_directory(directory)
    report = DemoReport(out)
    verifiers = find_verifiers(out)
    if not verifiers.gost_engine_available():
        raise Unavailable(
            "OpenSSL with the gost engine is not available (Debian package "
            "libengine-gost-openssl); the demo verifies every artifact with it"
        )

    def step(name: str, ok: bool, detail: str) -> None:
        report.steps.append(DemoStep(name, ok, detail))
        say(f"  [{'ok' if ok else 'FAILED'}] {name}: {detail}")

    # 1. token and keys
    say(f"atlas-ca demo in {out}")
    token = init_demo_token(out, module)
    tok = open_token(token.uri())
    ca_key = tok.generate_key(KeyType.GOST3410_2012_256, label="ca", param_set="cryptopro-a")
    reg_key = tok.generate_key(
        KeyType.GOST3410_2012_256, label="registrar", param_set="cryptopro-a"
    )
    step(
        "token",
        True,
        f"SoftHSM token {token.label!r}: keys 'ca' and 'registrar' generated on the token "
        "(GOST R 34.10-2012 256, CryptoPro-A)",
    )

    # 2. the CA
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    plan = plan_ca_certificate(DEMO_CA, ca_key.public_key_info, DEMO_CONFIG, ca_key, not_before=now)
    root = issue_certificate(plan, ca_key, serial=random_serial(), self_signed=True)
    ca_pem = out / "ca.pem"
    write_file(ca_pem, root.pem(), mode=PUBLIC_FILE)  # public: relying parties read it
    report.files["CA certificate"] = ca_pem
    register_path = out / "register.sqlite"
    reg = open_register(register_path, opened_at=now)
    records = open_record_store(register_path, opened_at=now)
    ca = CertificateAuthority(ca_key, root, DEMO_CONFIG)
    config_path = write_config(out, token, ca_pem)
    report.files["config"] = config_path
    report.files["register"] = register_path
    reg.store_ca_certificate(
        CaCertificate(ca.issuer_id, root.der, root.not_before, root.not_after, now)
    )
    kept = reg.ca_certificates(ca.issuer_id)  # read back: the register alone rebuilds the chain
    step(
        "ca",
        bool(kept) and kept[0].der == root.der,
        f"self-signed root {root.serial_number:x} by the ca profile, register created, "
        "CA certificate kept in it",
    )

    challenges = RecordChallengeStore(records, clock=SystemClock())
    world = _World(
        directory=out,
        ca=ca,
        register=reg,
        records=records,
        issuance=IssuanceService(
            ca=ca,
            register=reg,
            challenges=challenges,
            outbox=DirectoryOutbox(out / "outbox"),
            clock=SystemClock(),
            random_bytes=secrets.token_bytes,
            # the order's life cycle: the first certificate starts fulfilment, the last one
            # bought completes it (issue 12)
            orders=BillingService(records, clock=SystemClock()),
        ),
        revocation=RevocationService(
            issuer=ca.issuer_id, register=reg, challenges=challenges, clock=SystemClock()
        ),
        sms=PrintingSmsGateway(say),
        challenges=challenges,
        say=say,
    )
    try:
        _life(world, report, step, reg_key, verifiers)
    finally:
        reg.close()
        records.close()
    report.seconds = time.monotonic() - started
    if not report.ok:
        names = ", ".join(s.name for s in report.failures)
        raise DemoFailed(f"the demo failed at: {names} (files in {out})", directory=str(out))
    return report


def _life(
    world: _World,
    report: DemoReport,
    step: Callable[[str, bool, str], None],
    reg_key: SigningKey,
    verifiers: Verifiers,
) -> None:
    out, records, say = world.directory, world.records, world.say
    now = world.now()

    # 3. the registrar: a verified person whose staff certificate the CA issues
    office = Office(OfficeId("office-vl"), "Владивосток, ул. Светланская, 1", OfficeKind.OWN)
    head = Registrar(
        id=RegistrarId("reg-head"),
        name=PersonName("Сидоров", "Олег"),
        office=office,
        signing_certificate=world.ca.certificate.der,
    )
    staff = verified_person(
        "staff-0001", _person("Петрова", "Анна", "Сергеевна", 11), head, "+79241110011", now
    )
    records.put(RecordKind.REGISTRAR, head.id.value, head, at=now)
    records.put(RecordKind.SUBSCRIBER, staff.id.value, staff, at=now)
    say("  registrar's staff certificate (key 'registrar' on the token):")
    staff_order = world.order_for(staff, "ord-staff-0001", "pay-staff-0001", certificates=1)
    staff_cert = world.issue(staff, staff_order, reg_key, "registrar")
    reg_pem = out / "registrar.pem"
    reg_pem.write_bytes(staff_cert.certificate.pem())
    report.files["registrar certificate"] = reg_pem
    registrar = Registrar(
        id=RegistrarId("reg-0001"),
        name=PersonName("Петрова", "Анна"),
        office=office,
        signing_certificate=staff_cert.certificate.der,
        person=staff.id,
    )
    records.put(RecordKind.REGISTRAR, registrar.id.value, registrar, at=now)
    step("registrar", True, f"registrar {registrar.id}: certificate {_serial(staff_cert)}")

    # 4. the subscriber, verified and attested (R1, R2, R5)
    subscriber = verified_person(
        "sub-0001", _person("Смирнова", "Мария", "Ивановна", 22), registrar, "+79241234567", now
    )
    records.put(RecordKind.SUBSCRIBER, subscriber.id.value, subscriber, at=now)
    attestation = attest_verification(subscriber, registrar, reg_key, at=world.now())
    record_der, record_p7s = out / "sub-0001.record.der", out / "sub-0001.record.p7s"
    write_file(record_der, attestation.record_der, mode=PRIVATE_FILE)  # personal data
    write_file(record_p7s, attestation.signature_der, mode=PRIVATE_FILE)
    report.files["verified record"] = record_der
    report.files["attestation (CMS)"] = record_p7s
    info = verify_attestation(
        attestation.record_der,
        attestation.signature_der,
        registrar_certificate=staff_cert.certificate.der,
    )
    step(
        "subscriber",
        True,
        f"subscriber {subscriber.id} (ФЛ) verified by {registrar.id}; record signed (GOST CMS) at "
        f"{info.signing_time.isoformat()}",
    )

    # 5. order and payment (R8–R10)
    order = world.order_for(subscriber, "ord-0001", "pay-0001", certificates=2)
    step("order", order.state.value == "paid", f"order {order.id} is {order.state.value}")

    # 6–7. two certificates; the second is revoked; a CRL
    keys = []
    for n in (1, 2):
        uri = generate_software_key(
            out / f"subscriber-{n}.key",
            KeyType.GOST3410_2012_256,
            password=_key_password(out),
            param_set="tc26-256-a",
        )
        keys.append(open_software_key(uri, password=_key_password(out)))
    first = world.issue(subscriber, order, keys[0], "subscriber-1")
    second = world.issue(subscriber, order, keys[1], "subscriber-2")
    cert1, cert2 = out / "subscriber-1.pem", out / "subscriber-2.pem"
    write_file(cert1, first.certificate.pem(), mode=PRIVATE_FILE)  # subject: personal data
    write_file(cert2, second.certificate.pem(), mode=PRIVATE_FILE)
    report.files["certificate"] = cert1
    report.files["revoked certificate"] = cert2
    step("issue", True, f"qualified certificates {_serial(first)} and {_serial(second)}")
    revoked = world.revocation.revoke(
        second.certificate.serial_number,
        reason=RevocationReason.KEY_COMPROMISE,
        by=ByOperator(OPERATOR),
    )
    step("revoke", revoked.status.value == "revoked", f"{_serial(second)} {revoked.status.value}")
    crl_path = publish_demo_crl(world)
    report.files["CRL"] = crl_path
    step("crl", True, f"CRL published to {crl_path.name}")
    renewed = renew_remotely(world, subscriber, keys[0], first.certificate, crl_path)
    report.files["renewed certificate"] = renewed
    step(
        "renew",
        True,
        f"remote renewal (R20) of {_serial(first)}, signed with its key: {renewed.name}",
    )

    # 8. outside verifiers
    _verify_all(world, report, step, verifiers)
    run_status_demo(
        out,
        world.ca,
        world.register,
        report.files["config"],
        verifiers.openssl_conf,
        report.files,
        step,
    )
    world.register.checkpoint(world.ca.key, at=world.now(), key_id="ca")
    audit = verify_store(
        world.register,
        verify_signature=x509_signature_verifier,
        trusted_keys=[world.ca.certificate.public_key_info],
    )
    step(
        "audit",
        audit.ok,
        f"audit log: {audit.events_checked} events chained, "
        f"{audit.checkpoints_checked} checkpoint signed on the token"
        + ("" if audit.first_problem is None else f"; {audit.first_problem.detail}"),
    )


def renew_remotely(
    world: _World, subscriber: Subscriber, key: SigningKey, current: Certificate, crl: Path
) -> Path:
    """R20: the subscriber signs a new CSR with the current certificate's key (CAdES-BES); the
    CA validates the signer up to itself with its CRL and issues through the pipeline."""
    new_key = open_software_key(
        generate_software_key(
            world.directory / "subscriber-1-renewed.key",
            KeyType.GOST3410_2012_256,
            password=_key_password(world.directory),
            param_set="tc26-256-a",
        ),
        password=_key_password(world.directory),
    )
    csr = CsrBuilder().subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "renewal")]))
    signed = sign_attached(csr.sign(new_key).der, key, current.der, at=world.now())
    (world.directory / "renewal-request.p7m").write_bytes(signed)
    order = world.order_for(
        subscriber, "ord-renew-0001", "pay-renew-0001", certificates=1, product=KEP_RENEW
    )
    if subscriber.phone is None:
        raise DemoFailed(f"subscriber {subscriber.id} has no phone for the one-time code")
    binding = renewal_binding(signed, order, "individual")
    challenge = send_challenge(
        world.sms, subscriber.phone, subscriber.id, binding,
        now=world.now(), random_bytes=secrets.token_bytes,
    )  # fmt: skip
    world.challenges.save(challenge)
    if world.sms.last_code is None:
        raise DemoFailed("the SMS gateway did not see a one-time code")
    service = RenewalService(
        issuance=world.issuance,
        validator=PathValidator([world.ca.certificate.der], crls=[crl.read_bytes()]),
        register=world.register,
        clock=SystemClock(),
    )
    result = service.renew(
        RenewalRequest(
            signed_request=signed,
            subscriber=subscriber,
            order=order,
            confirmation=OtpConfirmation(challenge.id, world.sms.last_code),
            subject_sign_tool=SUBJECT_SIGN_TOOL,
        )
    )
    path = world.directory / "subscriber-1-renewed.pem"
    path.write_bytes(result.certificate.pem())
    return path


def _serial(result: IssuanceResult) -> str:
    return format(result.certificate.serial_number, "x")


def _key_password(out: Path) -> str:
    path = out / "subscriber-keys.password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(12))
    return path.read_text()


def publish_demo_crl(world: _World) -> Path:
    """Publish the CA's full CRL (PEM) into ``<dir>/crl/`` through the CRL publisher."""
    publisher = CrlPublisher(
        ca=world.ca,
        register=world.register,
        directory=world.directory / "crl",
        clock=SystemClock(),
        policy=CrlPolicy(file_name="ca.crl.pem", delta_file_name="ca-delta.crl.pem", pem=True),
        actor=OPERATOR,
    )
    return publisher.publish_full().path


def _verify_all(
    world: _World,
    report: DemoReport,
    step: Callable[[str, bool, str], None],
    v: Verifiers,
) -> None:
    f = report.files
    ca, cert, bad, crl = f["CA certificate"], f["certificate"], f["revoked certificate"], f["CRL"]
    reg = f["registrar certificate"]
    r = v.run_openssl(["verify", "-CAfile", ca, cert, reg])
    step("openssl verify", r.ok, _first_line(r.output))
    r = v.run_openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, cert])
    step("openssl verify -crl_check (valid)", r.ok, _first_line(r.output))
    r = v.run_openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, bad])
    refused = not r.ok and "revoked" in r.output
    step(
        "openssl verify -crl_check (revoked)",
        refused,
        "refused: certificate revoked" if refused else _first_line(r.output),
    )
    r = v.run_openssl(["crl", "-verify", "-noout", "-CAfile", ca, "-in", crl])
    step("openssl crl -verify", r.ok and "verify OK" in r.output, _first_line(r.output))
    r = v.run_openssl(
        [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            f["attestation (CMS)"],
            "-content",
            f["verified record"],
            "-CAfile",
            ca,
            "-out",
            os.devnull,
        ]
    )
    step("openssl cms -verify", r.ok, _first_line(r.output))
    if v.certtool is None:
        step("certtool", True, "not installed: skipped")
        return
    r = v.run_certtool(["--verify", "--load-ca-certificate", ca, "--infile", cert])
    step("certtool --verify", r.ok and "Verified." in r.output, _verdict(r.output))
    r = v.run_certtool(["--verify-crl", "--load-ca-certificate", ca, "--infile", crl])
    step("certtool --verify-crl", r.ok and "Verified." in r.output, _verdict(r.output))
    r = v.run_certtool(["--crl-info", "--infile", crl])
    listed = format(Certificate.load(Path(bad).read_bytes()).serial_number, "x")
    step(
        "certtool --crl-info",
        r.ok and listed in r.output.replace(":", "").lower(),
        "lists the revoked serial" if r.ok else _first_line(r.output),
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:160] if lines else ""


def _verdict(text: str) -> str:
    for line in text.splitlines():
        if "verification output" in line.lower():
            return line.strip()[:160]
    return _first_line(text)


def describe(report: DemoReport) -> list[str]:
    """The summary the CLI prints after the steps."""
    lines = [f"demo finished in {report.seconds:.1f} s; files in {report.directory}:"]
    lines += [f"  {name:<24} {path}" for name, path in report.files.items()]
    config = report.files.get("config", report.directory / "atlas-ca.toml")
    ca = report.files.get("CA certificate", report.directory / "ca.pem")
    cert = report.files.get("certificate", report.directory / "subscriber-1.pem")
    lines.append(f"next: atlas-ca verify {cert} --issuer {ca}")
    lines.append(f"      atlas-ca doctor --config {config}")
    return lines


__all__ = [
    "DEMO_CONFIG",
    "DemoFailed",
    "DemoReport",
    "DemoStep",
    "DemoToken",
    "Verifiers",
    "describe",
    "find_verifiers",
    "init_demo_token",
    "prepare_directory",
    "run_demo",
    "softhsm_paths",
]
