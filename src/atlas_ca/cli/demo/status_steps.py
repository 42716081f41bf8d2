"""The status services' part of ``atlas-ca demo``: one function, :func:`run_status_demo`.

On the demo CA (its token, register and ``atlas-ca.toml``) it generates the OCSP responder's
and the TSA's keys on the token, issues their certificates (``ocsp`` and ``tsa`` profiles),
publishes the CRLs under the CDP URL's file name, adds a ``[serve]`` table to the
configuration, starts ``atlas-ca serve`` on a free loopback port and checks it with outside
clients, each a demo step: ``openssl ocsp`` (gost engine) and GnuTLS ``ocsptool`` about the
valid and the revoked certificate, ``openssl ts -query`` + ``openssl ts -verify`` through
``POST /tsp``, and the CRL fetched by its CDP URL's path and verified with OpenSSL.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from atlas_ca.algorithms import KeyType
from atlas_ca.audit import Actor
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.profiles.planning import (
    issue_certificate,
    plan_ocsp_certificate,
    plan_tsa_certificate,
)
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.crl_publication import CrlPolicy, CrlPublisher
from atlas_ca.services.ports import SystemClock
from atlas_ca.status.process import ServerProcess, http_get, http_post
from atlas_ca.status.server import organisation_of
from atlas_ca.storage.ports import Register
from atlas_ca.x509.certificate import random_serial

__all__ = ["run_status_demo"]

Step = Callable[[str, bool, str], None]


def _run(argv: Sequence[str | os.PathLike[str]], env: Mapping[str, str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run(
            [str(a) for a in argv], capture_output=True, env=dict(env), timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{argv[0]} did not run: {exc}"
    return proc.returncode == 0, (proc.stdout + proc.stderr).decode("utf-8", "replace")


def _line(text: str, *needles: str) -> str:
    for line in text.splitlines():
        if any(n in line for n in needles):
            return line.strip()[:160]
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    return lines[0][:160] if lines else ""


def _token_uri(key_uri: str, obj: str | None) -> str:
    """The demo CA key's pkcs11: URI with another object (or none: the token itself)."""
    path, _, query = key_uri.partition("?")
    attrs = [a for a in path.removeprefix("pkcs11:").split(";") if a.split("=")[0] == "token"]
    if obj is not None:
        attrs += [f"object={obj}", "type=private"]
    return "pkcs11:" + ";".join(attrs) + (f"?{query}" if query else "")


def run_status_demo(
    out: Path,
    ca: CertificateAuthority,
    register: Register,
    config: Path,
    openssl_conf: Path,
    files: dict[str, Path],
    step: Step,
) -> None:
    """Serve the demo CA over HTTP and check it with OpenSSL and GnuTLS (module docstring).

    ``config`` is the demo's ``atlas-ca.toml`` (its ``[ca] key_uri`` names the token).
    """
    with config.open("rb") as fh:
        ca_key_uri = str(tomllib.load(fh)["ca"]["key_uri"])
    token = open_token(_token_uri(ca_key_uri, None))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    org = organisation_of(ca.certificate)
    paths: dict[str, Path] = {}
    for role, plan_fn in (("ocsp", plan_ocsp_certificate), ("tsa", plan_tsa_certificate)):
        key = token.generate_key(KeyType.GOST3410_2012_256, label=role, param_set="cryptopro-a")
        plan = plan_fn(org, key.public_key_info, ca.config, ca.key, not_before=now)
        cert = issue_certificate(plan, ca.key, serial=random_serial(), issuer=ca.certificate)
        paths[role] = out / f"{role}.pem"
        paths[role].write_bytes(cert.pem())
    files["OCSP responder certificate"] = paths["ocsp"]
    files["TSA certificate"] = paths["tsa"]
    cdp_name = urllib.parse.urlsplit(ca.config.crl_urls[0]).path.rsplit("/", 1)[-1]
    publisher = CrlPublisher(
        ca=ca,
        register=register,
        directory=out / "crl",
        clock=SystemClock(),
        policy=CrlPolicy(file_name=cdp_name, delta_file_name=f"delta-{cdp_name}"),
        actor=Actor("operator:demo"),
    )
    publisher.publish_full()
    publisher.publish_delta()
    with config.open("a", encoding="utf-8") as fh:
        fh.write(
            "\n[serve]\n"
            f'ocsp_key_uri = "{_token_uri(ca_key_uri, "ocsp")}"\n'
            f'ocsp_certificate = "{paths["ocsp"]}"\n'
            f'tsa_key_uri = "{_token_uri(ca_key_uri, "tsa")}"\n'
            f'tsa_certificate = "{paths["tsa"]}"\n'
        )
    step(
        "status certificates",
        True,
        "OCSP responder (ocsp profile) and TSA (tsa profile) keys on the token, certificates "
        "issued; CRLs published under the CDP file name",
    )
    env = dict(os.environ, OPENSSL_CONF=str(openssl_conf))
    openssl = shutil.which("openssl") or "openssl"
    ca_pem = files["CA certificate"]
    with ServerProcess(config, workers=2, log_path=out / "serve.log") as server:
        step("serve", True, f"atlas-ca serve on {server.url} (gunicorn, 2 workers)")
        for label, pem, expected in (
            ("valid", files["certificate"], "good"),
            ("revoked", files["revoked certificate"], "revoked"),
        ):
            ok, text = _run(
                [openssl, "ocsp", "-url", f"{server.url}/ocsp", "-issuer", ca_pem, "-cert",
                 pem, "-CAfile", ca_pem],
                env,
            )  # fmt: skip
            good = ok and "Response verify OK" in text and f"{pem.name}: {expected}" in text
            step(f"openssl ocsp ({label})", good, _line(text, f"{pem.name}:"))
        ocsptool = shutil.which("ocsptool")
        for label, pem, expected in (
            ("valid", files["certificate"], "good"),
            ("revoked", files["revoked certificate"], "revoked"),
        ):
            if ocsptool is None:
                step(f"ocsptool ({label})", True, "GnuTLS ocsptool not installed: skipped")
                continue
            ok, text = _run(
                [ocsptool, f"--ask={server.url}/ocsp", "--load-issuer", ca_pem, "--load-cert",
                 pem, "--load-trust", ca_pem, "--outfile", out / f"ocsp-{label}.der"],
                dict(os.environ),
            )  # fmt: skip
            good = (
                ok
                and "Verifying OCSP Response: Success." in text
                and f"Certificate Status: {expected}" in text
            )
            step(f"ocsptool ({label})", good, _line(text, "Certificate Status:"))
        document = files["certificate"]
        query = out / "demo.tsq"
        ok, text = _run(
            [openssl, "ts", "-query", "-data", document, "-md_gost12_256", "-cert", "-out", query],
            env,
        )
        status, _, reply = (
            http_post(f"{server.url}/tsp", query.read_bytes(), "application/timestamp-query")
            if ok
            else (0, {}, b"")
        )
        (out / "demo.tsr").write_bytes(reply)
        files["time-stamp reply"] = out / "demo.tsr"
        ok, text = _run(
            [openssl, "ts", "-verify", "-in", out / "demo.tsr", "-data", document, "-CAfile",
             ca_pem, "-untrusted", paths["tsa"]],
            env,
        )  # fmt: skip
        step("openssl ts -query/-verify", ok and "Verification: OK" in text, _line(text, "Verif"))
        cdp_path = urllib.parse.urlsplit(ca.config.crl_urls[0]).path
        status, headers, crl = http_get(server.url + cdp_path)
        fetched = out / "fetched.crl"
        fetched.write_bytes(crl)
        ok, text = _run(
            [openssl, "crl", "-inform", "DER", "-in", fetched, "-noout", "-verify", "-CAfile",
             ca_pem],
            env,
        )  # fmt: skip
        good = status == 200 and headers.get("Content-Type") == "application/pkix-crl"
        step(
            "CRL by its CDP URL",
            good and ok and "verify OK" in text,
            f"GET {cdp_path}: {status} {headers.get('Content-Type')}; {_line(text, 'verify')}",
        )
