"""``atlas-ca serve`` (OCSP, TSA, CDP and AIA over HTTP) and ``atlas-ca service-cert`` (the
OCSP responder's and the TSA's certificates, keys on the token). See :mod:`atlas_ca.status`."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from atlas_ca.asn1.oids import Oid, Tsp
from atlas_ca.cli.config import (
    config_option,
    load_config,
    open_workspace,
    operator_actor,
    pin_from_environment,
)
from atlas_ca.cli.errors import handle_errors
from atlas_ca.errors import InvalidInput, Unavailable
from atlas_ca.hsm import open_key
from atlas_ca.profiles.config import ConfigError
from atlas_ca.services.service_certificates import ServiceKind, issue_service_certificate
from atlas_ca.status.http import StatusApp
from atlas_ca.status.ocsp import MAX_CERT_IDS_CEILING
from atlas_ca.status.server import (
    OtherIssuer,
    ServeConfig,
    build_app,
    configure_logging,
    organisation_of,
    run_server,
)

__all__ = ["granian_app", "load_serve_config", "run_granian", "serve", "service_cert"]


def _int(table: Mapping[str, Any], key: str, default: int, low: int = 1) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"serve.{key} must be an integer ≥ {low}", field=f"serve.{key}")
    return value


def _path(base: Path, value: object, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a non-empty path", field=key)
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def load_serve_config(path: Path | None) -> ServeConfig:
    """The ``[serve]`` table with ``[register]`` and ``[ca]`` of the operator's file."""
    operator = load_config(path)
    serve: Mapping[str, Any] = {}
    base = Path.cwd()
    if operator.source is not None:
        base = operator.source.resolve().parent
        with operator.source.open("rb") as fh:
            data = tomllib.load(fh)
        raw = data.get("serve", {})
        if not isinstance(raw, dict):
            raise ConfigError("[serve] must be a table", field="serve")
        serve = raw
    profile = operator.profile or {}
    policy = serve.get("tsa_policy", Tsp.EXAMPLE_POLICY.dotted)
    if not isinstance(policy, str) or not all(p.isdigit() for p in policy.split(".")):
        raise ConfigError("serve.tsa_policy must be a dotted OID", field="serve.tsa_policy")
    return ServeConfig(
        register=operator.register,
        ca_certificate=operator.require_certificate(),
        ca_key_uri=operator.key_uri,
        crl_dir=operator.crl_dir,
        crl_urls=tuple(profile.get("crl_urls", ())),
        ca_issuers_urls=tuple(profile.get("ca_issuers_urls", ())),
        listen=str(serve.get("listen", "127.0.0.1:8080")),
        workers=_int(serve, "workers", 2),
        threads=_int(serve, "threads", 4),
        ocsp_key_uri=serve.get("ocsp_key_uri"),
        ocsp_certificate=(
            _path(base, serve["ocsp_certificate"], "serve.ocsp_certificate")
            if "ocsp_certificate" in serve
            else None
        ),
        ocsp_validity=dt.timedelta(minutes=_int(serve, "ocsp_validity_minutes", 240)),
        ocsp_max_certificates=_max_certificates(serve),
        tsa_key_uri=serve.get("tsa_key_uri"),
        tsa_certificate=(
            _path(base, serve["tsa_certificate"], "serve.tsa_certificate")
            if "tsa_certificate" in serve
            else None
        ),
        tsa_policy=Oid(policy, "configured TSA policy"),
        tsa_accuracy=dt.timedelta(milliseconds=_int(serve, "tsa_accuracy_ms", 1000)),
        other_issuers=tuple(_other_issuers(base, serve.get("issuers", []))),
        server=_server_name(serve.get("server", "gunicorn")),
    )


SERVERS = ("gunicorn", "granian")
#: Set by ``atlas-ca serve --server granian`` for its workers: the configuration file they
#: read again (granian starts workers that import the application by name; a path, no secret).
CONFIG_ENV = "ATLAS_CA_SERVE_CONFIG"


def _server_name(value: object) -> str:
    if value not in SERVERS:
        raise ConfigError(f"serve.server must be one of {', '.join(SERVERS)}", field="serve.server")
    return str(value)


def granian_app() -> StatusApp:
    """The application of one granian worker (``atlas_ca.cli.serve:granian_app``, a factory):
    the configuration read again from :data:`CONFIG_ENV`; the token and the register are
    opened on first use, in this worker, as under gunicorn."""
    configure_logging()
    raw = os.environ.get(CONFIG_ENV, "")
    return build_app(load_serve_config(Path(raw) if raw else None))


def run_granian(config: ServeConfig, config_path: Path | None) -> None:
    """Serve under granian (HTTP/1.1 in Rust, WSGI application in blocking threads) until
    SIGTERM/SIGINT, which it handles gracefully. Listen, workers and threads from ``config``;
    the application itself is rebuilt in each worker from the same file."""
    try:
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces
    except ImportError as exc:
        raise Unavailable(
            "granian is not installed: install atlas-ca with the [server] extra"
        ) from exc
    host, sep, port = config.listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InvalidInput(f"--listen {config.listen!r} is not HOST:PORT")
    os.environ[CONFIG_ENV] = "" if config_path is None else str(config_path.resolve())
    configure_logging()
    Granian(
        "atlas_ca.cli.serve:granian_app",
        address=host,
        port=int(port),
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        workers=config.workers,
        blocking_threads=config.threads,
        websockets=False,
        factory=True,
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=config.graceful_timeout,
    ).serve()


def _max_certificates(serve: Mapping[str, Any]) -> int:
    value = _int(serve, "ocsp_max_certificates", 256)
    if value > MAX_CERT_IDS_CEILING:
        raise ConfigError(
            f"serve.ocsp_max_certificates must be at most {MAX_CERT_IDS_CEILING}",
            field="serve.ocsp_max_certificates",
        )
    return value


def _other_issuers(base: Path, entries: object) -> list[OtherIssuer]:
    """``[[serve.issuers]]``: further CAs answered by the responder."""
    if not isinstance(entries, list):
        raise ConfigError("serve.issuers must be an array of tables", field="serve.issuers")
    out = []
    for n, entry in enumerate(entries):
        where = f"serve.issuers[{n}]"
        if not isinstance(entry, dict) or "certificate" not in entry:
            raise ConfigError(f"{where} needs a certificate", field=where)
        key_uri = entry.get("ocsp_key_uri") or entry.get("key_uri")
        if not isinstance(key_uri, str) or not key_uri:
            raise ConfigError(f"{where} needs key_uri or ocsp_key_uri", field=where)
        out.append(
            OtherIssuer(
                _path(base, entry["certificate"], f"{where}.certificate"),
                key_uri,
                _path(base, entry["ocsp_certificate"], f"{where}.ocsp_certificate")
                if "ocsp_certificate" in entry
                else None,
            )
        )
    return out


@click.command("serve")
@config_option
@click.option(
    "--listen", help="HOST:PORT to listen on (default: [serve] listen or 127.0.0.1:8080)."
)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 2).")
@click.option(
    "--server",
    "server_name",
    type=click.Choice(SERVERS),
    help="HTTP server (default: [serve] server or gunicorn; granian: HTTP in Rust, faster).",
)
@handle_errors
def serve(
    config_path: Path | None, listen: str | None, workers: int | None, server_name: str | None
) -> None:
    """Serve OCSP (POST /ocsp, GET /ocsp/…), RFC 3161 time stamps (POST /tsp), the published
    CRLs at the CDP URLs' paths and the CA certificate at the AIA caIssuers paths, and /health.

    Runs gunicorn (gthread workers) or, with --server granian, granian (HTTP in Rust); each
    worker opens the token and the register itself. SIGTERM shuts down gracefully.
    Configuration: the [serve] table (docs/operator-guide.md).

    \b
    Examples:
      atlas-ca serve --config /etc/atlas-ca/atlas-ca.toml
      atlas-ca serve --config atlas-ca.toml --listen 127.0.0.1:8080 --workers 4
      atlas-ca serve --config atlas-ca.toml --server granian
    """
    config = load_serve_config(config_path)
    overrides: dict[str, Any] = {}
    if listen:
        overrides["listen"] = listen
    if workers:
        overrides["workers"] = workers
    if server_name:
        overrides["server"] = server_name
    if overrides:
        from dataclasses import replace

        config = replace(config, **overrides)
    if config.server == "granian":
        run_granian(config, config_path)
    else:
        run_server(config)


@click.command("service-cert")
@config_option
@click.argument("kind", type=click.Choice(["ocsp", "tsa"]))
@click.option("--key-uri", required=True, help="pkcs11: URI of the service's key on the token.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the certificate (PEM); an existing one is replaced (renewal).",
)
@handle_errors
def service_cert(config_path: Path | None, kind: str, key_uri: str, out: Path) -> None:
    """Issue (or renew) the OCSP responder's or the TSA's certificate for a key on the token.

    The certificate follows the ``ocsp`` profile (id-kp-OCSPSigning, ocsp-nocheck) or the
    ``tsa`` profile (critical EKU id-kp-timeStamping only), is signed by the CA key and names
    the CA's organisation. Renew it the same way before it expires; the service picks the new
    file up when its workers restart (SIGHUP to gunicorn's master).

    \b
    Examples:
      atlas-ca service-cert ocsp --key-uri 'pkcs11:token=CA;object=ocsp;type=private' --out ocsp.pem
      atlas-ca service-cert tsa --key-uri 'pkcs11:token=CA;object=tsa;type=private' --out tsa.pem
    """
    with open_workspace(config_path) as ws:
        ca = ws.ca
        key = open_key(key_uri, pin=pin_from_environment())
        cert = issue_service_certificate(
            ws.register,
            ca,
            ServiceKind(kind),
            organisation_of(ca.certificate),
            key.public_key_info,
            actor=operator_actor(None),
            now=ws.now,
        )
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(cert.pem())
        tmp.replace(out)
        click.echo(
            f"{kind} certificate {cert.serial_number:x} valid until "
            f"{cert.not_after.isoformat()} written to {out} and kept in the register"
        )
