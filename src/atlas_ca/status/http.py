"""The status services over HTTP as one WSGI application (served by gunicorn, :mod:`.server`).

Routes:

* ``POST /ocsp`` (``application/ocsp-request``) and ``GET /ocsp/{base64}`` (RFC 6960
  Appendix A; base64url or percent-encoded standard base64) → ``application/ocsp-response``.
  Responses without a nonce carry ``Cache-Control: max-age=…, public, no-transform,
  must-revalidate``, ``Last-Modified`` (thisUpdate), ``Expires`` (nextUpdate) and an ``ETag``
  (RFC 5019 §6.2); nonced responses ``Cache-Control: no-cache, no-store``.
* ``POST /tsp`` (``application/timestamp-query``) → ``application/timestamp-reply``.
* ``GET`` of the published CRLs (full and delta, ``application/pkix-crl``, DER) under the
  directory of each configured CDP URL, and of the CA certificate at each AIA caIssuers URL
  (``application/pkix-cert``, DER), with ``ETag``/``Last-Modified`` and conditional GET.
* ``GET /health``: 200 when the register answers, 503 otherwise.

The services are opened lazily, once per worker process (after gunicorn forked it), by the
``opener`` given; if opening fails (token or register away) the request is answered with
tryLater / a rejection and the next request tries again. Access log lines name the method,
the route (never the request bytes), the status, the size and the time: no client address or
other personal data.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from atlas_ca.errors import AtlasCaError, HsmError
from atlas_ca.status.ocsp import OcspResponder, OcspStatus, error_response
from atlas_ca.status.tsp import FailureInfo, TimeStampAuthority
from atlas_ca.status.tsp import rejection as tsp_rejection
from atlas_ca.x509.pem import read_der_or_pem

__all__ = ["Distribution", "Services", "StatusApp"]

access_log = logging.getLogger("atlas_ca.status.access")
log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
TSP_QUERY = "application/timestamp-query"
TSP_REPLY = "application/timestamp-reply"
PKIX_CRL = "application/pkix-crl"
PKIX_CERT = "application/pkix-cert"

MAX_BODY = 64 * 1024
MAX_GET_PATH = 8 * 1024
REOPEN_INTERVAL = 2.0


class HealthCheck(Protocol):
    def __call__(self) -> bool: ...


@dataclass
class Services:
    """What one worker serves; ``close`` releases the register and the token sessions."""

    ocsp: OcspResponder | None
    tsa: TimeStampAuthority | None
    healthy: HealthCheck
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Distribution:
    """URL paths of the CDP and AIA: a CRL directory served under each CDP directory, and the
    CA certificate (DER) at each caIssuers path."""

    crl_prefixes: tuple[str, ...]
    crl_dir: Path | None
    certificates: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def from_urls(
        cls,
        crl_urls: Iterable[str],
        crl_dir: Path | None,
        ca_issuers: Mapping[str, Path],
    ) -> Distribution:
        prefixes = tuple(
            sorted({urllib.parse.urlsplit(u).path.rsplit("/", 1)[0] + "/" for u in crl_urls})
        )
        certs = {urllib.parse.urlsplit(u).path: p for u, p in ca_issuers.items()}
        return cls(prefixes, crl_dir, certs)

    def find(self, path: str) -> tuple[Path, str] | None:
        if path in self.certificates:
            return self.certificates[path], PKIX_CERT
        if self.crl_dir is None:
            return None
        for prefix in self.crl_prefixes:
            if path.startswith(prefix):
                name = path[len(prefix) :]
                if not name or "/" in name or name.startswith(".") or not name.endswith(".crl"):
                    return None
                for candidate in (name, name + ".pem"):
                    file = self.crl_dir / candidate
                    if file.is_file():
                        return file, PKIX_CRL
        return None


@dataclass(frozen=True)
class _Published:
    der: bytes
    etag: str
    last_modified: str
    mtime_ns: int


def _http_date(at: dt.datetime | float) -> str:
    stamp = at.timestamp() if isinstance(at, dt.datetime) else at
    return email.utils.formatdate(stamp, usegmt=True)


class StatusApp:
    """The WSGI application (see the module docstring)."""

    def __init__(
        self,
        opener: Callable[[], Services],
        distribution: Distribution | None = None,
        *,
        max_body: int = MAX_BODY,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._opener = opener
        self._services: Services | None = None
        self._lock = threading.Lock()
        self._distribution = distribution
        self._max_body = max_body
        self._now = now
        self._published: dict[Path, _Published] = {}
        self._opened_at = 0.0
        #: Set by the server: end this worker gracefully so that a fresh one replaces it.
        self.recycle: Callable[[], None] | None = None

    # --- plumbing -------------------------------------------------------------------------

    def services(self) -> Services | None:
        """The worker's services, opened on first use; None while they cannot be opened."""
        if self._services is not None:
            return self._services
        with self._lock:
            if self._services is None:
                try:
                    self._services = self._opener()
                    self._opened_at = time.monotonic()
                except AtlasCaError as exc:
                    log.warning("services unavailable: %s", exc)
                    if isinstance(exc, HsmError) and self.recycle is not None:
                        # atlas_ca.hsm.pkcs11 initialises a module anew after its token went
                        # away; a token that still cannot be opened is a last resort for the
                        # server (gunicorn): replace this worker with a fresh process.
                        self.recycle()
                    return None
        return self._services

    def close(self) -> None:
        with self._lock:
            if self._services is not None:
                self._services.close()
                self._services = None

    def _reopen_later(self, services: Services) -> None:
        """After the token or the register failed, open them afresh on a later request (a
        token put back, a database restarted), at most every ``REOPEN_INTERVAL`` seconds."""
        now = time.monotonic()
        with self._lock:
            if self._services is not services or now - self._opened_at < REOPEN_INTERVAL:
                return
            self._services = None
        log.warning("reopening the register and the token after a failure")
        try:
            services.close()
        except Exception:  # the failed register may not even close cleanly
            log.debug("closing the failed services", exc_info=True)

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.monotonic()
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", "/"))
        route = path
        try:
            route, status, headers, body = self._dispatch(method, path, environ)
        except Exception:
            log.exception("unhandled error on %s", route)
            status, headers, body = "500 Internal Server Error", [], b"internal error\n"
        if not any(h[0] == "Content-Type" for h in headers):
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        access_log.info(
            "%s %s %s %d %.1fms",
            method,
            route,
            status.split(" ", 1)[0],
            len(body),
            (time.monotonic() - started) * 1000,
        )
        return [body] if method != "HEAD" else [b""]

    def _read_body(self, environ: Mapping[str, Any]) -> bytes | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length <= 0 or length > self._max_body:
            return None
        stream = environ["wsgi.input"]
        data: bytes = stream.read(length)
        return data if len(data) == length else None

    def _dispatch(
        self, method: str, path: str, environ: Mapping[str, Any]
    ) -> tuple[str, str, list[tuple[str, str]], bytes]:
        if path == "/health":
            return "/health", *self._health()
        if path == "/ocsp" or path == "/ocsp/" or path.startswith("/ocsp/"):
            if method == "POST" and path in ("/ocsp", "/ocsp/"):
                body = self._read_body(environ)
                return "/ocsp", *self._ocsp(body)
            if method in ("GET", "HEAD") and path.startswith("/ocsp/"):
                raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or path)
                encoded = raw.split("/ocsp/", 1)[-1].split("?", 1)[0]
                return "/ocsp/{request}", *self._ocsp(_decode_get(encoded))
            return "/ocsp", "405 Method Not Allowed", [("Allow", "GET, POST")], b""
        if path == "/tsp":
            if method != "POST":
                return "/tsp", "405 Method Not Allowed", [("Allow", "POST")], b""
            return "/tsp", *self._tsp(self._read_body(environ))
        if self._distribution is not None and method in ("GET", "HEAD"):
            found = self._distribution.find(path)
            if found is not None:
                return path, *self._file(found[0], found[1], environ)
        return "(unknown)", "404 Not Found", [], b"not found\n"

    # --- endpoints ------------------------------------------------------------------------

    def _health(self) -> tuple[str, list[tuple[str, str]], bytes]:
        services = self.services()
        ok = False
        if services is not None:
            try:
                ok = services.healthy()
            except Exception:  # a health probe reports, it never raises
                ok = False
        status = "200 OK" if ok else "503 Service Unavailable"
        return status, [("Cache-Control", "no-store")], b"ok\n" if ok else b"unavailable\n"

    def _ocsp(self, body: bytes | None) -> tuple[str, list[tuple[str, str]], bytes]:
        headers = [("Content-Type", OCSP_RESPONSE)]
        if body is None:
            return "200 OK", headers, error_response(OcspStatus.MALFORMED_REQUEST)
        services = self.services()
        if services is None or services.ocsp is None:
            status = OcspStatus.TRY_LATER if services is None else OcspStatus.UNAUTHORIZED
            return "200 OK", [*headers, ("Cache-Control", "no-store")], error_response(status)
        failures = services.ocsp.unavailable_count
        answer = services.ocsp.respond(body)
        if services.ocsp.unavailable_count != failures:
            self._reopen_later(services)
        if answer.cacheable and answer.this_update and answer.next_update:
            max_age = max(0, int((answer.next_update - self._now()).total_seconds()))
            headers += [
                ("Cache-Control", f"max-age={max_age}, public, no-transform, must-revalidate"),
                ("Last-Modified", _http_date(answer.this_update)),
                ("Expires", _http_date(answer.next_update)),
                ("ETag", '"' + hashlib.sha1(answer.der, usedforsecurity=False).hexdigest() + '"'),
            ]
        else:
            headers.append(("Cache-Control", "no-cache, no-store"))
        return "200 OK", headers, answer.der

    def _tsp(self, body: bytes | None) -> tuple[str, list[tuple[str, str]], bytes]:
        headers = [("Content-Type", TSP_REPLY), ("Cache-Control", "no-store")]
        if body is None:
            return (
                "200 OK",
                headers,
                tsp_rejection("empty or oversized request", FailureInfo.BAD_REQUEST),
            )
        services = self.services()
        if services is None or services.tsa is None:
            reply = tsp_rejection(
                "the time-stamp service is unavailable", FailureInfo.SYSTEM_FAILURE
            )
            return "200 OK", headers, reply
        failures = services.tsa.unavailable_count
        reply = services.tsa.respond(body)
        if services.tsa.unavailable_count != failures:
            self._reopen_later(services)
        return "200 OK", headers, reply

    def _file(
        self, file: Path, content_type: str, environ: Mapping[str, Any]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        try:
            published = self._load(file)
        except OSError:
            return "404 Not Found", [], b"not published\n"
        headers = [
            ("Content-Type", content_type),
            ("ETag", published.etag),
            ("Last-Modified", published.last_modified),
            ("Cache-Control", "public, max-age=300"),
        ]
        if environ.get("HTTP_IF_NONE_MATCH") == published.etag or (
            environ.get("HTTP_IF_MODIFIED_SINCE") == published.last_modified
            and "HTTP_IF_NONE_MATCH" not in environ
        ):
            return "304 Not Modified", headers, b""
        return "200 OK", headers, published.der

    def _load(self, file: Path) -> _Published:
        stat = file.stat()
        cached = self._published.get(file)
        if cached is not None and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        _, der = read_der_or_pem(file.read_bytes())
        published = _Published(
            der,
            '"' + hashlib.sha256(der).hexdigest()[:32] + '"',
            _http_date(stat.st_mtime),
            stat.st_mtime_ns,
        )
        self._published[file] = published
        return published


def _decode_get(encoded: str) -> bytes | None:
    """The DER of a GET request path: percent-decoded, then base64 or base64url."""
    if not encoded or len(encoded) > MAX_GET_PATH:
        return None
    text = urllib.parse.unquote(encoded).strip()
    text += "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
