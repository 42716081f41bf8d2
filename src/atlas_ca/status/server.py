"""``atlas-ca serve``: the status services (:mod:`.http`) under gunicorn.

Why gunicorn with a plain WSGI application (docs/operator-guide.md says the same):

* it pre-forks workers and loads nothing of the token before the fork: each worker opens the
  PKCS#11 module, its sessions and the register itself on first use (PKCS#11 forbids using a
  module initialised in the parent after fork; :mod:`atlas_ca.hsm.pkcs11` re-initialises anyway);
* every call into the token and the register blocks; gunicorn's ``gthread`` workers run blocking
  code in threads without an event loop to protect, and a slow client holds one thread, not
  the worker;
* SIGTERM is a graceful shutdown (in-flight requests finish within ``graceful_timeout``),
  SIGHUP reloads workers, a hung worker is replaced after ``timeout``;
* it installs from PyPI as one pure-Python package (the ``[server]`` extra).

``[serve] server = "granian"`` (:func:`atlas_ca.cli.serve.run_granian`) serves the same
application under granian instead: HTTP in Rust, faster per request (docs/performance.md).

Configuration: the ``[serve]`` table of the operator's TOML file (next to ``[register]`` and
``[ca]``)::

    [serve]
    listen = "127.0.0.1:8080"
    workers = 2
    threads = 4
    ocsp_key_uri = "pkcs11:token=CA;object=ocsp;type=private?pin-source=file:/etc/atlas-ca/ocsp.pin"
    ocsp_certificate = "/etc/atlas-ca/ocsp.pem"   # absent: the CA key signs responses
    ocsp_validity_minutes = 240
    ocsp_max_certificates = 256                     # CertIDs per request; more: malformedRequest
    tsa_key_uri = "pkcs11:token=CA;object=tsa;type=private?pin-source=file:/etc/atlas-ca/tsa.pin"
    tsa_certificate = "/etc/atlas-ca/tsa.pem"     # absent: no TSA on this node
    tsa_policy = "1.2.643.…"                        # the TSA policy OID of your practice
    tsa_accuracy_ms = 1000

    [[serve.issuers]]                               # more CAs answered by the same responder
    certificate = "/etc/atlas-ca/old-ca.pem"
    key_uri = "pkcs11:token=CA;object=old-ca;type=private"  # signs unless ocsp_* are given
    ocsp_key_uri = "…"                              # optional delegated signer of that CA
    ocsp_certificate = "…"
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_ca.asn1.oids import NameAttribute, Oid, RuAttribute, Tsp
from atlas_ca.domain.identifiers import InnLegal, Ogrn
from atlas_ca.errors import InvalidInput, Unavailable
from atlas_ca.hsm import open_key
from atlas_ca.profiles.config import ConfigError
from atlas_ca.profiles.planning import Address, Organisation
from atlas_ca.status.http import Distribution, Services, StatusApp
from atlas_ca.status.ocsp import OcspIssuer, OcspLimits, OcspResponder, StatusSource
from atlas_ca.status.tsp import TimeStampAuthority, TsaSigner
from atlas_ca.storage import open_register
from atlas_ca.x509.certificate import Certificate

__all__ = [
    "OtherIssuer",
    "ServeConfig",
    "build_app",
    "configure_logging",
    "open_services",
    "organisation_of",
    "run_server",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OtherIssuer:
    """A further CA the responder answers for (``[[serve.issuers]]``): its certificate and the
    key that signs its responses — its own, or a delegated signer's with ``ocsp_certificate``."""

    certificate: Path
    key_uri: str = field(repr=False)
    ocsp_certificate: Path | None = None


@dataclass(frozen=True)
class ServeConfig:
    """What ``atlas-ca serve`` needs: the register, the CA, the signers, the distribution."""

    register: str
    ca_certificate: Path
    ca_key_uri: str | None = field(repr=False)
    crl_dir: Path | None
    crl_urls: tuple[str, ...] = ()
    ca_issuers_urls: tuple[str, ...] = ()
    listen: str = "127.0.0.1:8080"
    workers: int = 2
    threads: int = 4
    ocsp_key_uri: str | None = field(default=None, repr=False)
    ocsp_certificate: Path | None = None
    ocsp_validity: dt.timedelta = dt.timedelta(hours=4)
    ocsp_max_certificates: int = 256
    tsa_key_uri: str | None = field(default=None, repr=False)
    tsa_certificate: Path | None = None
    tsa_policy: Oid = Tsp.EXAMPLE_POLICY
    tsa_accuracy: dt.timedelta = dt.timedelta(seconds=1)
    other_issuers: tuple[OtherIssuer, ...] = ()
    graceful_timeout: int = 30
    #: "gunicorn" (default) or "granian" (HTTP in Rust; ``atlas-ca serve --server granian``).
    server: str = "gunicorn"


def organisation_of(ca: Certificate) -> Organisation:
    """The organisation named in the CA certificate: responder and TSA are the CA's services."""
    subject = ca.subject

    def first(oid: Oid) -> str | None:
        values = subject.get(oid)
        return values[0] if values else None

    name = first(NameAttribute.ORGANIZATION_NAME)
    ogrn, inn = first(RuAttribute.OGRN), first(RuAttribute.INNLE)
    if not name or not ogrn or not inn:
        raise ConfigError("the CA certificate's subject lacks O, OGRN or INNLE")
    return Organisation(
        name=name,
        ogrn=Ogrn(ogrn),
        inn=InnLegal(inn),
        address=Address(
            first(NameAttribute.STATE_OR_PROVINCE_NAME),
            first(NameAttribute.LOCALITY_NAME),
            first(NameAttribute.STREET_ADDRESS),
        ),
        common_name=first(NameAttribute.COMMON_NAME),
        email=first(NameAttribute.EMAIL_ADDRESS),
    )


def _pin() -> str | None:
    return os.environ.get("ATLAS_CA_PIN") or None


def open_services(config: ServeConfig) -> Services:
    """Open the register, the signing keys and the services (in a worker, after the fork)."""
    now = dt.datetime.now(dt.UTC)
    ca_cert = Certificate.load(config.ca_certificate.read_bytes())
    register = open_register(config.register, opened_at=now)
    try:
        if config.ocsp_certificate is not None:
            if not config.ocsp_key_uri:
                raise ConfigError("serve.ocsp_certificate needs serve.ocsp_key_uri")
            signer_cert = Certificate.load(config.ocsp_certificate.read_bytes())
            signer_key = open_key(config.ocsp_key_uri, pin=_pin())
        else:
            if not config.ca_key_uri:
                raise ConfigError("no OCSP signer: set serve.ocsp_key_uri or [ca] key_uri")
            signer_cert, signer_key = ca_cert, open_key(config.ca_key_uri, pin=_pin())
        issuers = [OcspIssuer(ca_cert, signer_key, signer_cert)]
        for other in config.other_issuers:
            other_cert = Certificate.load(other.certificate.read_bytes())
            other_signer = (
                Certificate.load(other.ocsp_certificate.read_bytes())
                if other.ocsp_certificate is not None
                else other_cert
            )
            issuers.append(
                OcspIssuer(other_cert, open_key(other.key_uri, pin=_pin()), other_signer)
            )
        responder = OcspResponder(
            StatusSource(register),
            issuers,
            now=lambda: dt.datetime.now(dt.UTC),
            validity=config.ocsp_validity,
            limits=OcspLimits.for_count(config.ocsp_max_certificates),
        )
        tsa = None
        if config.tsa_certificate is not None:
            if not config.tsa_key_uri:
                raise ConfigError("serve.tsa_certificate needs serve.tsa_key_uri")
            tsa_signer = TsaSigner(
                open_key(config.tsa_key_uri, pin=_pin()),
                Certificate.load(config.tsa_certificate.read_bytes()),
                config.tsa_policy,
                config.tsa_accuracy,
            )
            tsa = TimeStampAuthority(tsa_signer, now=lambda: dt.datetime.now(dt.UTC))
    except BaseException:
        register.close()
        raise
    issuer_id = responder.issuers[0].issuer_id

    def healthy() -> bool:
        register.change_mark(issuer_id)
        return True

    return Services(responder, tsa, healthy, register.close)


def build_app(config: ServeConfig) -> StatusApp:
    ca_issuers = dict.fromkeys(config.ca_issuers_urls, config.ca_certificate)
    distribution = Distribution.from_urls(config.crl_urls, config.crl_dir, ca_issuers)
    limits = OcspLimits.for_count(config.ocsp_max_certificates)
    return StatusApp(lambda: open_services(config), distribution, max_body=limits.max_request_bytes)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(name)s: %(message)s"))
    root = logging.getLogger("atlas_ca")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def run_server(config: ServeConfig, *, on_ready: Callable[[], None] | None = None) -> None:
    """Run gunicorn in this process until SIGTERM/SIGINT (graceful shutdown)."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:
        raise Unavailable(
            "gunicorn is not installed: install atlas-ca with the [server] extra"
        ) from exc
    host, sep, port = config.listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InvalidInput(f"--listen {config.listen!r} is not HOST:PORT")
    app = build_app(config)

    def post_fork(_server: Any, worker: Any) -> None:
        configure_logging()

        def recycle() -> None:
            log.warning("the token failed; this worker exits and a fresh one replaces it")
            worker.alive = False  # gunicorn's graceful worker exit; the arbiter forks anew

        app.recycle = recycle

    def worker_exit(_server: Any, _worker: Any) -> None:
        app.close()

    def when_ready(_server: Any) -> None:
        configure_logging()
        log.info("atlas-ca serve: listening on %s", config.listen)
        if on_ready is not None:
            on_ready()

    options: dict[str, Any] = {
        "bind": config.listen,
        "workers": config.workers,
        "worker_class": "gthread",
        "threads": config.threads,
        "graceful_timeout": config.graceful_timeout,
        "timeout": 60,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "atlas-ca-serve",
        "limit_request_line": 8190,
        "post_fork": post_fork,
        "worker_exit": worker_exit,
        "when_ready": when_ready,
    }

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> StatusApp:
            return app

    _Gunicorn().run()
