"""Benchmark: OCSP responses/s, ``atlas-ca serve`` vs ``openssl ocsp -port`` (gost engine).

Setup (one temporary directory): a fresh SoftHSM-GOST token with the CA key and our responder's
key (GOST R 34.10-2012-256, CryptoPro-A, generated on the token through atlas_ca.hsm); a CA
certificate; a register (SQLite) holding ``--serials`` certificates of which every tenth is
revoked; the same serials in an OpenSSL ``index.txt``. OpenSSL's responder gets a key made by
OpenSSL (a key file: ``openssl ocsp -rkey`` cannot use the token) and a responder certificate
from the same CA. Both servers run with two processes (``--workers 2`` / ``-multi 2``).

Load: 16 concurrent clients (4 processes x 4 threads), each request on a new connection
(OpenSSL's responder closes every connection), single-CertID requests over random serials, for
``--seconds`` per case. Cases: without nonce (ours pre-signed and cached, OpenSSL signs each)
and with a fresh nonce per request (both sign each; ours on SoftHSM, OpenSSL in software).

Prints ``RESULT ocsp presigned_ratio=<ours/openssl> goal=10``, ``RESULT ocsp nonce_ratio=...
goal=1`` and the p99 latencies of each side.

Usage: ``.venv/bin/python bench/ocsp.py [--seconds S] [--serials N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib

TOKEN = "bench-ocsp"
PIN = "123456"
CLIENT_PROCESSES = 4
THREADS_PER_CLIENT = 4


# --- setup (child process with SOFTHSM2_CONF set) -------------------------------------------


def setup(base: Path, ca_uri: str, ocsp_uri: str, ref_spki_pem: Path, serials: int) -> None:
    from atlas_ca.asn1 import oids
    from atlas_ca.audit import Actor
    from atlas_ca.domain.identifiers import InnLegal, Ogrn
    from atlas_ca.domain.ids import SubscriberId
    from atlas_ca.hsm import open_key
    from atlas_ca.profiles.config import CaConfig, IssuerTools
    from atlas_ca.profiles.planning import (
        Address,
        Organisation,
        issue_certificate,
        plan_ca_certificate,
        plan_ocsp_certificate,
    )
    from atlas_ca.storage import RevocationReason, open_register
    from atlas_ca.storage.ports import IssuedCertificate, IssuerKeyId, NewIntent, ProfileName
    from atlas_ca.x509.crl import issuer_facts
    from atlas_ca.x509.pem import read_der_or_pem

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    config = CaConfig(
        issuer_tools=IssuerTools("ПАК HSM", "ПАК УЦ", "СФ/124-0000", "СФ/128-0000"),
        ca_sign_tool="ПАК HSM",
        policy_classes=(oids.RuPolicy.KC1,),
        crl_urls=("http://ca.example.ru/cdp/ca.crl",),
    )
    org = Organisation(
        'АО "Сервер-Центр"',
        Ogrn("1022502121476"),
        InnLegal("2539038819"),
        Address("25 Приморский край", "г. Владивосток", "ул. Светланская, д. 1"),
        common_name="УЦ (bench)",
    )
    ca_key, ocsp_key = open_key(ca_uri), open_key(ocsp_uri)
    ca = issue_certificate(
        plan_ca_certificate(org, ca_key.public_key_info, config, ca_key, not_before=now),
        ca_key,
        serial=1,
        self_signed=True,
    )
    for name, spki in (
        ("ocsp", ocsp_key.public_key_info),
        ("ref-ocsp", read_der_or_pem(ref_spki_pem.read_bytes())[1]),
    ):
        plan = plan_ocsp_certificate(org, spki, config, ca_key, not_before=now)
        cert = issue_certificate(plan, ca_key, serial=random.getrandbits(120), issuer=ca)
        (base / f"{name}.pem").write_bytes(cert.pem())
    (base / "ca.pem").write_bytes(ca.pem())
    issuer = IssuerKeyId.from_bytes(issuer_facts(ca.der).key_identifier)
    register = open_register(base / "register.sqlite3", opened_at=now)
    actor = Actor("operator:bench")
    index = []
    expiry = (now + timedelta(days=365)).strftime("%y%m%d%H%M%SZ")
    revoked_at = now.strftime("%y%m%d%H%M%SZ")
    numbers = []
    for i in range(serials):
        serial = random.getrandbits(124) | (1 << 124)  # 32 hex digits: index.txt wants even
        numbers.append(serial)
        intent = NewIntent(
            issuer, serial, b"\x00" * 32, SubscriberId("bench-sub"), ProfileName("individual"), now
        )
        register.record_intent(intent, actor=actor)
        register.complete_intent(
            IssuedCertificate(
                issuer, serial, b"\x30\x00", b"\x01" * 20, SubscriberId("bench-sub"),
                ProfileName("individual"), now, now + timedelta(days=365), now,
            ),
            actor=actor,
        )  # fmt: skip
        hex_serial = format(serial, "X")
        if i % 10 == 9:
            register.revoke(
                issuer, serial, reason=RevocationReason.KEY_COMPROMISE, revocation_date=now,
                actor=actor,
            )  # fmt: skip
            index.append(f"R\t{expiry}\t{revoked_at},keyCompromise\t{hex_serial}\tunknown\t/CN=b")
        else:
            index.append(f"V\t{expiry}\t\t{hex_serial}\tunknown\t/CN=b")
    register.close()
    (base / "index.txt").write_text("\n".join(index) + "\n")
    (base / "index.txt.attr").write_text("unique_subject = no\n")
    (base / "serials.json").write_text(json.dumps(numbers))
    (base / "atlas-ca.toml").write_text(
        f'[register]\nlocation = "{base / "register.sqlite3"}"\n\n'
        f'[ca]\ncertificate = "{base / "ca.pem"}"\n\n'
        f'[serve]\nocsp_key_uri = "{ocsp_uri}"\nocsp_certificate = "{base / "ocsp.pem"}"\n'
        "threads = 8\n"
    )


# --- load (child process) -------------------------------------------------------------------


def load(port: int, seconds: float, nonce: bool, base: Path) -> dict[str, Any]:
    from atlas_ca.status.ocsp import CertId, build_request
    from atlas_ca.x509.certificate import Certificate

    ca = Certificate.load((base / "ca.pem").read_bytes())
    serials = json.loads((base / "serials.json").read_text())
    plain = [build_request([CertId.for_serial(ca, s)]) for s in serials]
    ids = [CertId.for_serial(ca, s) for s in serials]
    latencies: list[list[float]] = [[] for _ in range(THREADS_PER_CLIENT)]
    errors = [0] * THREADS_PER_CLIENT
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        rnd = random.Random(i)
        while time.monotonic() < stop:
            n = rnd.randrange(len(serials))
            body = build_request([ids[n]], nonce=os.urandom(16)) if nonce else plain[n]
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(
                    "POST", "/ocsp", body,
                    {"Content-Type": "application/ocsp-request", "Connection": "close"},
                )  # fmt: skip
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                ok = resp.status == 200 and data[:1] == b"\x30" and len(data) > 100
            except OSError:
                ok = False
            if ok:
                latencies[i].append(time.perf_counter() - t0)
            else:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS_PER_CLIENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": [x for part in latencies for x in part], "errors": sum(errors)}


def run_load(port: int, seconds: float, nonce: bool, base: Path) -> tuple[float, float, int]:
    """(responses/s, p99 seconds, errors) of 16 clients for ``seconds``."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--load",
                str(port),
                str(seconds),
                str(int(nonce)),
                str(base),
            ],
            stdout=subprocess.PIPE,
        )
        for _ in range(CLIENT_PROCESSES)
    ]
    lat: list[float] = []
    errors = 0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 120)
        result = json.loads(out.decode().strip().splitlines()[-1])
        lat += result["latencies"]
        errors += result["errors"]
    lat.sort()
    p99 = lat[int(len(lat) * 0.99)] if lat else float("nan")
    return len(lat) / seconds, p99, errors


def stop_with_children(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and the responders it forked (``-multi``; a new session would have been
    simpler, but OpenSSL's multi-process responder stops answering in one)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == proc.pid:
            children.append(int(stat.parent.name))
    proc.kill()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(10)


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--serials", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, help="Keep the files here (default: a temp dir).")
    args = parser.parse_args()

    from atlas_ca.cli.demo.interop import openssl_gost_env, write_openssl_gost_conf
    from atlas_ca.status.process import ServerProcess, free_port

    with tempfile.TemporaryDirectory(prefix="bench-ocsp-") as tmp:
        base = args.workdir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        (base / "hsm").mkdir()
        token = benchlib.init_softhsm_token(base / "hsm", TOKEN, PIN)
        benchlib.generate_gost_key(token, "ca")
        benchlib.generate_gost_key(token, "ocsp")
        ossl_env = openssl_gost_env(write_openssl_gost_conf(base))
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A",
             "-out", base / "ref-ocsp.key"],
            env=ossl_env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            ["openssl", "pkey", "-in", base / "ref-ocsp.key", "-pubout", "-out",
             base / "ref-ocsp.pub"],
            env=ossl_env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, __file__, "--setup", str(base), token.uri("ca"), token.uri("ocsp"),
             str(args.serials)],
            env=token.env, check=True,
        )  # fmt: skip
        ref_port = free_port()
        ref_log = (base / "openssl-ocsp.log").open("wb")
        ref = subprocess.Popen(
            ["openssl", "ocsp", "-index", base / "index.txt", "-port", str(ref_port), "-rsigner",
             base / "ref-ocsp.pem", "-rkey", base / "ref-ocsp.key", "-CA", base / "ca.pem",
             "-nmin", "60", "-multi", "2"],
            env=ossl_env, stdout=ref_log, stderr=ref_log, cwd=base,
        )  # fmt: skip
        server = ServerProcess(base / "atlas-ca.toml", workers=2, env=token.env)
        try:
            try:
                wait_port(ref_port)
            except SystemExit:
                print((base / "openssl-ocsp.log").read_text(errors="replace")[-1500:])
                raise
            server.start()
            results: dict[str, tuple[float, float, int]] = {}
            for nonce in (False, True):
                for name, port in (("openssl", ref_port), ("atlas", server.port)):
                    run_load(port, 1.0, nonce, base)  # warm-up (caches, sessions)
                    results[f"{name}-{'nonce' if nonce else 'plain'}"] = run_load(
                        port, args.seconds, nonce, base
                    )
        finally:
            server.stop()
            stop_with_children(ref)
        if any(r[2] for r in results.values()):
            print((base / "openssl-ocsp.log").read_text(errors="replace")[-1500:])
        for key, (rate, p99, errors) in results.items():
            print(f"{key}: {rate:.0f} responses/s, p99 {p99 * 1000:.1f} ms, errors {errors}")
        presigned = results["atlas-plain"][0] / results["openssl-plain"][0]
        nonced = results["atlas-nonce"][0] / results["openssl-nonce"][0]
        benchlib.print_result("ocsp", "presigned_ratio", presigned, 10)
        benchlib.print_result("ocsp", "nonce_ratio", nonced, 1)
        for key, (_, p99, _) in results.items():
            print(f"RESULT ocsp p99_ms_{key.replace('-', '_')}={p99 * 1000:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        setup(Path(sys.argv[2]), sys.argv[3], sys.argv[4], Path(sys.argv[2]) / "ref-ocsp.pub",
              int(sys.argv[5]))  # fmt: skip
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        print(json.dumps(load(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1",
                              Path(sys.argv[5]))))  # fmt: skip
    else:
        main()
