"""Benchmark: OCSP responses/s, ``atlas-ca serve`` vs ``openssl ocsp -port`` (gost engine).

Setup (one temporary directory): a fresh SoftHSM-GOST token with the CA key and our responder's
key (GOST R 34.10-2012-256, CryptoPro-A, generated on the token through atlas_ca.hsm); a CA
certificate; a register (SQLite) holding ``--serials`` certificates of which every tenth is
revoked; the same serials in an OpenSSL ``index.txt``. OpenSSL's responder gets a key made by
OpenSSL (a key file: ``openssl ocsp -rkey`` cannot use the token) and a responder certificate
from the same CA. Every server runs with two processes (``--workers 2`` / ``-multi 2``):
OpenSSL's, ours under gunicorn (the default) and ours under granian (``--server granian``).

Load: ``wrk`` (C, one thread) with 16 concurrent connections, RFC 5019 GET requests with the
same DER for every server (OpenSSL's responder wants the base64 right after the first ``/``,
ours after ``/ocsp/``): single-CertID requests over random serials without nonce (ours
pre-signed and cached, OpenSSL signs each), and with a fresh nonce per request (every request
distinct; both sign each, ours on SoftHSM). Each case runs twice: a new connection per request
(``Connection: close``, what OpenSSL's responder is built for) and keep-alive. Every run gets a
freshly started server, warmed by one sequential pass over the serials: OpenSSL's responder
spins at 100 % CPU on a connection its client closes without a request (a bare TCP probe, or
wrk closing its idle keep-alive connections at the end of a run), so it is never reused.

Besides rates and p99 latencies, the CPU time the server's processes used per good response
(user + system, from /proc) is printed: on a 2-core machine shared with the load generator
that, not the rate, says how far apart the servers are once the cores are full.

Prints ``RESULT ocsp presigned_ratio=…`` (our faster server / OpenSSL, new connection per
request), ``nonce_ratio``, the keep-alive ratios, the CPU ratios and the p99 latencies.

Usage: ``.venv/bin/python bench/ocsp.py [--seconds S] [--serials N]`` (needs ``wrk``).
"""

from __future__ import annotations

import argparse
import base64
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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import benchlib

TOKEN = "bench-ocsp"
PIN = "123456"


# --- setup (child process with SOFTHSM2_CONF set) -------------------------------------------


def setup(base: Path, ca_uri: str, ocsp_uri: str, ref_spki_pem: Path, serials: int) -> None:
    from atlas_ca.audit import Actor
    from atlas_ca.domain.ids import SubscriberId
    from atlas_ca.hsm import open_key
    from atlas_ca.storage import RevocationReason, open_register
    from atlas_ca.storage.ports import IssuedCertificate, IssuerKeyId, NewIntent, ProfileName
    from atlas_ca.x509.crl import issuer_facts
    from atlas_ca.x509.pem import read_der_or_pem

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    ca = benchlib.bench_ca(
        base,
        ca_uri,
        [
            ("ocsp", open_key(ocsp_uri).public_key_info),
            ("ref-ocsp", read_der_or_pem(ref_spki_pem.read_bytes())[1]),
        ],
        "ocsp",
        now=now,
        crl_urls=("http://ca.example.ru/cdp/ca.crl",),
    )
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


def wait_openssl(port: int, path: str, seconds: float = 30) -> None:
    """Until OpenSSL's responder answers a whole request (never a bare TCP probe: see the
    module docstring)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
                if s.recv(12).startswith(b"HTTP/1."):
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"openssl ocsp does not answer on {port}")


def warm(port: int, paths: list[str]) -> None:
    """One sequential pass over ``paths``, each on its own connection."""
    for path in paths:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"Connection": "close"})
        conn.getresponse().read()
        conn.close()


def request_files(base: Path) -> dict[str, Path]:
    """GET request files of the two cases, for OpenSSL's paths and for ours."""
    from atlas_ca.status.ocsp import CertId, build_request
    from atlas_ca.x509.certificate import Certificate

    ca = Certificate.load((base / "ca.pem").read_bytes())
    serials = json.loads((base / "serials.json").read_text())
    ids = [CertId.for_serial(ca, s) for s in serials]
    rnd = random.Random(1)
    plain = [build_request([i]) for i in ids]
    # Enough distinct nonces that no run repeats one.
    nonced = [build_request([rnd.choice(ids)], nonce=os.urandom(16)) for _ in range(40_000)]
    files = {}
    for case, ders in (("plain", plain), ("nonce", nonced)):
        for server, prefix in (("openssl", "/"), ("atlas", "/ocsp/")):
            paths = [prefix + quote(base64.b64encode(d).decode(), safe="") for d in ders]
            files[f"{server}-{case}"] = benchlib.write_requests(
                base / f"{server}-{case}.txt", [("GET", p, "", b"") for p in paths]
            )
    return files


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
    args = parser.parse_args()

    from atlas_ca.cli.demo.interop import openssl_gost_env, write_openssl_gost_conf
    from atlas_ca.status.process import ServerProcess, free_port

    benchlib.print_load("at start")
    with tempfile.TemporaryDirectory(prefix="bench-ocsp-") as tmp:
        base = Path(tmp)
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
        config = (base / "atlas-ca.toml").read_text()
        (base / "atlas-ca-granian.toml").write_text(config + 'server = "granian"\n')
        files = request_files(base)
        warm_paths = {
            side: [ln.split(" ")[1] for ln in files[f"{side}-plain"].read_text().splitlines()]
            for side in ("openssl", "atlas")
        }

        def measure(server: str, case: str, close: bool) -> tuple[benchlib.HttpLoad, float]:
            side = "openssl" if server == "openssl" else "atlas"
            if server == "openssl":
                port = free_port()
                log = (base / "openssl-ocsp.log").open("ab")
                proc = subprocess.Popen(
                    ["openssl", "ocsp", "-index", base / "index.txt", "-port", str(port),
                     "-rsigner", base / "ref-ocsp.pem", "-rkey", base / "ref-ocsp.key",
                     "-CA", base / "ca.pem", "-nmin", "60", "-multi", "2"],
                    env=ossl_env, stdout=log, stderr=log, cwd=base,
                )  # fmt: skip
                log.close()
                wait_openssl(port, warm_paths[side][0])
                pid, stop = proc.pid, lambda: stop_with_children(proc)
            else:
                name = "atlas-ca.toml" if server == "gunicorn" else "atlas-ca-granian.toml"
                srv = ServerProcess(base / name, workers=2, env=token.env).start()
                assert srv.proc is not None
                port, pid, stop = srv.port, srv.proc.pid, lambda: srv.stop() and None
            try:
                warm(port, warm_paths[side])
                cpu0 = benchlib.cpu_seconds(pid)
                load = benchlib.load_http(
                    f"http://127.0.0.1:{port}", files[f"{side}-{case}"], args.seconds,
                    once=case == "nonce", close=close,
                )  # fmt: skip
                cpu = benchlib.cpu_seconds(pid) - cpu0
            finally:
                stop()
            return load, cpu / max(load.good, 1)

        results: dict[tuple[str, str, str], tuple[benchlib.HttpLoad, float]] = {}
        for mode, close in (("close", True), ("keepalive", False)):
            for case in ("plain", "nonce"):
                for server in ("openssl", "gunicorn", "granian"):
                    load, cpu = measure(server, case, close)
                    results[(server, case, mode)] = (load, cpu)
                    one, _, _ = os.getloadavg()
                    print(
                        f"{mode:9} {case:5} {server:8} {load.rate:8.0f} responses/s  "
                        f"p50 {load.p50_ms:6.1f} ms  p99 {load.p99_ms:7.1f} ms  "
                        f"server CPU {cpu * 1e6:6.0f} us/response  bad {load.bad}  "
                        f"socket errors {load.socket_errors}  load {one:.1f}",
                        flush=True,
                    )
        benchlib.print_load("at end")

        def ratio(server: str, case: str, mode: str) -> float:
            return results[(server, case, mode)][0].rate / results[("openssl", case, mode)][0].rate

        def cpu_ratio(server: str, case: str, mode: str) -> float:
            return results[("openssl", case, mode)][1] / results[(server, case, mode)][1]

        best = max(("gunicorn", "granian"), key=lambda s: ratio(s, "plain", "close"))
        benchlib.print_result("ocsp", "presigned_ratio", ratio(best, "plain", "close"), 10)
        benchlib.print_result("ocsp", "nonce_ratio", ratio(best, "nonce", "close"), 1)
        for server in ("gunicorn", "granian"):
            for case, goal in (("plain", 10), ("nonce", 1)):
                for mode in ("close", "keepalive"):
                    tag = f"{'presigned' if case == 'plain' else 'nonce'}_{mode}_{server}"
                    benchlib.print_result("ocsp", f"ratio_{tag}", ratio(server, case, mode), goal)
                    benchlib.print_result(
                        "ocsp", f"cpu_ratio_{tag}", cpu_ratio(server, case, mode), goal
                    )
        for (server, case, mode), (load, _) in results.items():
            print(f"RESULT ocsp p99_ms_{server}_{case}_{mode}={load.p99_ms:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        setup(Path(sys.argv[2]), sys.argv[3], sys.argv[4], Path(sys.argv[2]) / "ref-ocsp.pub",
              int(sys.argv[5]))  # fmt: skip
    else:
        main()
