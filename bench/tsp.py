"""Benchmark: RFC 3161 tokens/s, atlas_ca's TSA vs ``openssl ts -reply`` (gost engine), same run.

Setup (one temporary directory): a fresh SoftHSM-GOST token with the CA key and our TSA key
(GOST R 34.10-2012-256, CryptoPro-A, on the token); a CA certificate; TSA certificates under
the ``tsa`` profile for our key and for a key OpenSSL made (``openssl ts -reply -inkey`` needs a
file). The same ``openssl ts -query`` (Streebog-256 imprint, certReq) is answered:

* **openssl** — ``openssl ts -reply`` once per token (a process per token: how OpenSSL's TSA is
  driven), ``--tokens`` times; its rate is tokens / total wall time;
* **atlas** — :class:`atlas_ca.status.tsp.TimeStampAuthority.respond` in one process (the
  signature on SoftHSM), for ``--seconds``; and the same through ``atlas-ca serve``'s
  ``POST /tsp`` from 4 concurrent wrk connections (benchlib.load_http).

Prints ``RESULT tsp ratio=<atlas library / openssl> goal=1`` and ``RESULT tsp http_ratio=...``.

Usage: ``.venv/bin/python bench/tsp.py [--seconds S] [--tokens N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib

TOKEN = "bench-tsp"
PIN = "123456"
POLICY = "2.999.3161.1"  # the example-arc policy of atlas_ca.asn1.oids.Tsp.EXAMPLE_POLICY

TS_CONF = """
[tsa]
default_tsa = tsa_config1
[tsa_config1]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/ref-tsa.pem
signer_key = $dir/ref-tsa.key
signer_digest = md_gost12_256
default_policy = {policy}
digests = md_gost12_256, md_gost12_512, sha256
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def setup(base: Path, ca_uri: str, tsa_uri: str) -> None:
    from atlas_ca.hsm import open_key
    from atlas_ca.x509.pem import read_der_or_pem

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    benchlib.bench_ca(
        base,
        ca_uri,
        [
            ("tsa", open_key(tsa_uri).public_key_info),
            ("ref-tsa", read_der_or_pem((base / "ref-tsa.pub").read_bytes())[1]),
        ],
        "tsa",
        now=now,
    )
    (base / "atlas-ca.toml").write_text(
        f'[register]\nlocation = "{base / "register.sqlite3"}"\n\n'
        f'[ca]\ncertificate = "{base / "ca.pem"}"\nkey_uri = "{ca_uri}"\n\n'
        f'[serve]\ntsa_key_uri = "{tsa_uri}"\ntsa_certificate = "{base / "tsa.pem"}"\n'
        f'tsa_policy = "{POLICY}"\nthreads = 8\n'
    )


def library_rate(base: Path, tsa_uri: str, seconds: float) -> dict[str, float]:
    from atlas_ca.asn1.oids import Tsp
    from atlas_ca.hsm import open_key
    from atlas_ca.status.tsp import TimeStampAuthority, TsaSigner, parse_response
    from atlas_ca.x509.certificate import Certificate

    signer = TsaSigner(
        open_key(tsa_uri), Certificate.load((base / "tsa.pem").read_bytes()), Tsp.EXAMPLE_POLICY
    )
    tsa = TimeStampAuthority(signer, now=lambda: datetime.now(UTC))
    query = (base / "query.tsq").read_bytes()
    assert parse_response(tsa.respond(query))[0] == "granted"
    count, stop = 0, time.monotonic() + seconds
    t0 = time.perf_counter()
    while time.monotonic() < stop:
        tsa.respond(query)
        count += 1
    return {"rate": count / (time.perf_counter() - t0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args()

    from atlas_ca.cli.demo.interop import OPENSSL_GOST_CONF, openssl_gost_env
    from atlas_ca.status.process import ServerProcess

    with tempfile.TemporaryDirectory(prefix="bench-tsp-") as tmp:
        base = Path(tmp)
        (base / "hsm").mkdir()
        token = benchlib.init_softhsm_token(base / "hsm", TOKEN, PIN)
        benchlib.generate_gost_key(token, "ca")
        benchlib.generate_gost_key(token, "tsa")
        conf = base / "openssl-ts.cnf"
        conf.write_text(OPENSSL_GOST_CONF + TS_CONF.format(dir=base, policy=POLICY))
        (base / "tsaserial").write_text("01\n")
        env = openssl_gost_env(conf)

        def openssl(*argv: object) -> None:
            subprocess.run(
                ["openssl", *map(str, argv)], env=env, check=True, capture_output=True, cwd=base
            )

        openssl("genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A", "-out",
                base / "ref-tsa.key")  # fmt: skip
        openssl("pkey", "-in", base / "ref-tsa.key", "-pubout", "-out", base / "ref-tsa.pub")
        subprocess.run(
            [sys.executable, __file__, "--setup", str(base), token.uri("ca"), token.uri("tsa")],
            env=token.env, check=True,
        )  # fmt: skip
        (base / "doc.bin").write_bytes(b"bench document\n" * 64)
        openssl("ts", "-query", "-data", base / "doc.bin", "-md_gost12_256", "-cert", "-out",
                base / "query.tsq")  # fmt: skip
        # OpenSSL: one process per token.
        t0 = time.perf_counter()
        for _ in range(args.tokens):
            openssl("ts", "-reply", "-config", conf, "-queryfile", base / "query.tsq",
                    "-out", base / "ref.tsr")  # fmt: skip
        openssl_rate = args.tokens / (time.perf_counter() - t0)
        openssl("ts", "-verify", "-in", base / "ref.tsr", "-queryfile", base / "query.tsq",
                "-CAfile", base / "ca.pem", "-untrusted", base / "ref-tsa.pem")  # fmt: skip
        ours = benchlib.run_json_child(
            __file__, ["--library", str(base), token.uri("tsa"), str(args.seconds)], token.env
        )["rate"]
        requests = benchlib.write_requests(
            base / "tsp-requests.txt",
            [("POST", "/tsp", "application/timestamp-query", (base / "query.tsq").read_bytes())],
        )
        with ServerProcess(base / "atlas-ca.toml", workers=2, env=token.env) as server:
            benchlib.load_http(server.url, requests, 1, connections=4, min_bytes=500)  # warm-up
            load = benchlib.load_http(
                server.url, requests, args.seconds, connections=4, min_bytes=500
            )
            over_http = load.rate
        print(f"openssl ts -reply: {openssl_rate:.1f} tokens/s (a process per token)")
        print(f"atlas_ca library: {ours:.1f} tokens/s; atlas-ca serve POST /tsp: {over_http:.1f}")
        benchlib.print_result("tsp", "ratio", ours / openssl_rate, 1)
        benchlib.print_result("tsp", "http_ratio", over_http / openssl_rate, 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        setup(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--library":
        import json

        print(json.dumps(library_rate(Path(sys.argv[2]), sys.argv[3], float(sys.argv[4]))))
    else:
        main()
