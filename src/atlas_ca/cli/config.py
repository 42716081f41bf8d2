"""The operator's configuration: a TOML file (``--config`` or ``ATLAS_CA_CONFIG``) with
environment overrides (``ATLAS_CA_*``), and the workspace the commands open from it.

File layout (every key optional unless a command needs it)::

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

    [tariffs]                      # the catalogue of ``atlas-ca order create`` (R11)
    products = [{code = "kep-issue", name = "...", kind = "certificate_issuance"}]
    plans = [{id = "basic", name = "Базовый"}]
    prices = [{plan = "basic", product = "kep-issue", from = "2026-01-01", price = "3600.00"}]

Environment overrides: ``ATLAS_CA_REGISTER``, ``ATLAS_CA_KEY_URI``, ``ATLAS_CA_CERTIFICATE``,
``ATLAS_CA_OUTBOX``, ``ATLAS_CA_CRL_DIR``, ``ATLAS_CA_PKCS11_MODULE``. The CA key's PIN comes
from the key URI's ``pin-source`` or from ``ATLAS_CA_PIN`` — never from a command argument.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from atlas_ca.audit import Actor
from atlas_ca.cli.errors import shown
from atlas_ca.errors import InvalidInput
from atlas_ca.limits import InputKind, open_input, read_input
from atlas_ca.profiles.config import CaConfig, ConfigError
from atlas_ca.services.billing import BillingService, business_zone, catalogue_from
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher
from atlas_ca.services.issuance import IssuanceService
from atlas_ca.services.ports import DirectoryOutbox, StepHook, SystemClock
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.services.revocation import RevocationService
from atlas_ca.storage import open_register
from atlas_ca.storage.ports import CaCertificate, IssuerKeyId, RecordStore, Register
from atlas_ca.storage.records import open_record_store
from atlas_ca.x509.certificate import Certificate

F = TypeVar("F", bound=Callable[..., Any])

ENV_CONFIG = "ATLAS_CA_CONFIG"
DEFAULT_REGISTER = "atlas-ca.sqlite"


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    """Where the register, the CA key and certificate, the outbox and the CRLs are."""

    register: str = DEFAULT_REGISTER
    key_uri: str | None = field(default=None, repr=False)
    certificate: Path | None = None
    outbox: Path = Path("outbox")
    crl_dir: Path = Path("crl")
    crl_validity: dt.timedelta = dt.timedelta(days=7)
    profile: Mapping[str, Any] | None = field(default=None, repr=False)
    hsm_module: str | None = None
    softhsm2_conf: str | None = None
    tariffs: Mapping[str, Any] | None = field(default=None, repr=False)
    source: Path | None = None
    business_zone: str = "Europe/Moscow"
    """``[billing] time_zone``: the zone of every business day the rules count (issue 12)."""

    def ca_config(self) -> CaConfig:
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


#: The longest CRL validity accepted: a year. A CRL's nextUpdate must be a date relying parties
#: can still reach; anything longer is a typo (and beyond ~10**8 hours, not a date at all).
MAX_CRL_HOURS = 24 * 366


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> OperatorConfig:
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
            f"{shown(str(hours))}",
            field="ca",
        )
    cert = ca.get("certificate")
    config = OperatorConfig(
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


def config_option(fn: F) -> F:
    """``--config FILE`` (default ``$ATLAS_CA_CONFIG``) on a command."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_CONFIG,
        help="TOML configuration (default: $ATLAS_CA_CONFIG); ATLAS_CA_* variables override it.",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


def prepare_hsm_environment(config: OperatorConfig) -> None:
    """SoftHSM reads SOFTHSM2_CONF when it is loaded: set it from the configuration first."""
    if config.softhsm2_conf and not os.environ.get("SOFTHSM2_CONF"):
        os.environ["SOFTHSM2_CONF"] = config.softhsm2_conf
    if config.hsm_module and not os.environ.get("ATLAS_CA_PKCS11_MODULE"):
        os.environ["ATLAS_CA_PKCS11_MODULE"] = config.hsm_module


def pin_from_environment() -> str | None:
    """``ATLAS_CA_PIN`` if set (the URI's pin-source is used otherwise)."""
    return os.environ.get("ATLAS_CA_PIN") or None


def operator_actor(name: str | None) -> Actor:
    """``operator:<name>`` from ``--operator``, ``ATLAS_CA_OPERATOR`` or the login name."""
    value = name or os.environ.get("ATLAS_CA_OPERATOR") or os.environ.get("USER") or "cli"
    try:
        return Actor(f"operator:{value}")
    except ValueError as exc:
        raise InvalidInput(f"operator name {value!r} is not an account id") from exc


def keep_ca_certificate(
    register: Register, certificate: Certificate, issuer: IssuerKeyId, now: dt.datetime
) -> None:
    """Keep the CA certificate in the register (schema v5) unless it is there already, so the
    register alone can rebuild the chain if the certificate file is lost or overwritten."""
    kept = register.ca_certificates(issuer)
    if any(c.der == certificate.der for c in kept):
        return
    register.store_ca_certificate(
        CaCertificate(issuer, certificate.der, certificate.not_before, certificate.not_after, now)
    )


class Workspace:
    """What one command opens from the configuration, lazily, and closes at the end."""

    def __init__(self, config: OperatorConfig) -> None:
        self.config = config
        self.clock = SystemClock()
        self._register: Register | None = None
        self._records: RecordStore | None = None
        self._ca: CertificateAuthority | None = None
        prepare_hsm_environment(config)

    def now(self) -> dt.datetime:
        return self.clock.now()

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
        return RecordChallengeStore(self.records, clock_now=self.now())

    def billing(self) -> BillingService:
        """The money use cases (orders, payments, account, refunds, claims) over the records."""
        tariffs = self.config.tariffs
        register = self.register
        return BillingService(
            self.records,
            clock=self.clock,
            zone=business_zone(self.config.business_zone),
            catalogue=catalogue_from(tariffs) if tariffs else None,
            issued_count=lambda order: register.order_usage(order).certificates,
        )

    def issuance(self) -> IssuanceService:
        return IssuanceService(
            ca=self.ca,
            register=self.register,
            challenges=self.challenges(),
            outbox=DirectoryOutbox(self.config.outbox),
            clock=self.clock,
            random_bytes=secrets.token_bytes,
            orders=self.billing(),
        )

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
        if self._register is not None:
            self._register.close()


def open_workspace(config_path: Path | None) -> Workspace:
    return Workspace(load_config(config_path))


__all__ = [
    "ENV_CONFIG",
    "OperatorConfig",
    "Workspace",
    "config_option",
    "json_option",
    "keep_ca_certificate",
    "load_config",
    "open_workspace",
    "operator_actor",
    "pin_from_environment",
    "prepare_hsm_environment",
]
