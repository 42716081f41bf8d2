"""Benchmark: RFC 5280 path validation of a 3-certificate GOST chain with a 100,000-entry CRL,
atlas_ca (pyhanko-certvalidator with GOST plugged in) vs ``openssl verify`` with the gost engine.

The same files for both: root (self-signed) → sub CA → leaf, GOST R 34.10-2012 256 (CryptoPro-A
curve, made by atlas_ca's builders and software keys), the root's empty CRL and the sub CA's CRL
of N random revoked serials (not the leaf), PEM. Validation requires revocation information for
the sub CA and the leaf (atlas_ca ``RevocationMode.REQUIRE``; OpenSSL ``-crl_check_all``); the
issue's reference ``-crl_check`` (the leaf only) is measured too.

* **cold**: everything from the files for each validation — atlas_ca builds a new
  ``PathValidator`` (parses both CRLs) in this process; OpenSSL runs one process per validation
  (its start-up and engine load included, which is what an operator's ``openssl verify`` costs).
* **warm**: the CRLs parsed once — atlas_ca reuses one ``PathValidator``; OpenSSL verifies the
  same leaf K times in one process (``openssl verify ... leaf leaf ...``), the process cost
  spread over K.

Usage: ``.venv/bin/python bench/verify.py [--entries N] [--rounds K]``.
Prints ``RESULT verify warm_ratio=... goal=1`` (ours / OpenSSL's validations per second, warm,
against ``-crl_check``) and the other figures as RESULT lines.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.cli.demo.interop import openssl_gost_env, write_openssl_gost_conf
from atlas_ca.hsm.software import generate_software_key, open_software_key
from atlas_ca.trust import PathValidator
from atlas_ca.x509.certificate import Certificate, CertificateBuilder
from atlas_ca.x509.crl import CrlBuilder, RevocationReason, RevokedEntry
from atlas_ca.x509.extensions import BasicConstraints, KeyUsage, KeyUsageBit, SubjectKeyIdentifier
from atlas_ca.x509.names import Name
from atlas_ca.x509.pem import PemLabel, pem_encode
from benchlib import print_result

NOW = datetime.now(UTC).replace(microsecond=0)
CA = KeyUsage(True, frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}))
EE = KeyUsage(True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE}))


def _key(base: Path, name: str):  # type: ignore[no-untyped-def]
    uri = generate_software_key(
        base / f"{name}.key", KeyType.GOST3410_2012_256, password="b", iterations=1000,
        param_set="cryptopro-a",
    )  # fmt: skip
    return open_software_key(uri, password="b")


def _cert(subject: str, key, signer, issuer: Certificate | None, *ext) -> Certificate:  # type: ignore[no-untyped-def]
    name = Name.build([(oids.NameAttribute.COMMON_NAME, subject)])
    b = CertificateBuilder().subject_name(name).public_key(key.public_key_info)
    b = b.issuer_certificate(issuer) if issuer is not None else b.issuer_name(name)
    return (
        b.random_serial_number()
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extensions([SubjectKeyIdentifier.from_public_key_info(key.public_key_info), *ext])
        .sign(signer)
    )


def _crl(issuer: Certificate, key, serials: list[int]) -> bytes:  # type: ignore[no-untyped-def]
    revoked = (
        RevokedEntry(s, NOW - timedelta(hours=2), RevocationReason.KEY_COMPROMISE) for s in serials
    )
    signed = (
        CrlBuilder()
        .issuer_certificate(issuer.der)
        .this_update(NOW - timedelta(hours=1))
        .next_update(NOW + timedelta(days=7))
        .crl_number(1)
        .sign(key, revoked)
    )
    return signed.der()


def build(base: Path, entries: int) -> dict[str, Path]:
    root_key, sub_key, leaf_key = _key(base, "root"), _key(base, "sub"), _key(base, "leaf")
    root = _cert("Bench root", root_key, root_key, None, BasicConstraints(True, True, None), CA)
    sub = _cert("Bench CA", sub_key, root_key, root, BasicConstraints(True, True, 0), CA)
    leaf = _cert("Bench subscriber", leaf_key, sub_key, sub, EE)
    serials = [int.from_bytes(secrets.token_bytes(16), "big") | 1 for _ in range(entries)]
    files = {
        "root": base / "root.pem",
        "sub": base / "sub.pem",
        "leaf": base / "leaf.pem",
        "root_crl": base / "root.crl.pem",
        "sub_crl": base / "sub.crl.pem",
    }
    files["root"].write_bytes(root.pem())
    files["sub"].write_bytes(sub.pem())
    files["leaf"].write_bytes(leaf.pem())
    files["root_crl"].write_bytes(pem_encode(_crl(root, root_key, []), PemLabel.X509_CRL))
    files["sub_crl"].write_bytes(pem_encode(_crl(sub, sub_key, serials), PemLabel.X509_CRL))
    return files


def ours_cold(files: dict[str, Path], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        v = PathValidator(
            [files["root"].read_bytes()],
            intermediates=[files["sub"].read_bytes()],
            crls=[files["root_crl"].read_bytes(), files["sub_crl"].read_bytes()],
        )
        v.validate(files["leaf"].read_bytes(), at=NOW)
    return rounds / (time.perf_counter() - start)


def ours_warm(files: dict[str, Path], rounds: int) -> float:
    v = PathValidator(
        [files["root"].read_bytes()],
        intermediates=[files["sub"].read_bytes()],
        crls=[files["root_crl"].read_bytes(), files["sub_crl"].read_bytes()],
    )
    leaf = files["leaf"].read_bytes()
    v.validate(leaf, at=NOW)  # first use parses the CRL entries
    start = time.perf_counter()
    for _ in range(rounds):
        v.validate(leaf, at=NOW)
    return rounds / (time.perf_counter() - start)


def _openssl(files: dict[str, Path], flag: str, copies: int, env: dict[str, str]) -> None:
    crls = files["base"] / "crls.pem"
    if not crls.exists():
        crls.write_bytes(files["root_crl"].read_bytes() + files["sub_crl"].read_bytes())
    args = ["openssl", "verify", flag, "-CAfile", str(files["root"]), "-untrusted",
            str(files["sub"]), "-CRLfile", str(crls), *[str(files["leaf"])] * copies]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, env=env, check=False)
    if proc.returncode != 0 or proc.stdout.count(b": OK") != copies:
        raise SystemExit(f"openssl verify failed: {proc.stdout!r} {proc.stderr!r}")


def openssl_rate(
    files: dict[str, Path], flag: str, rounds: int, copies: int, env: dict[str, str]
) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        _openssl(files, flag, copies, env)
    return rounds * copies / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        base = Path(tmp)
        env = {**os.environ, **openssl_gost_env(write_openssl_gost_conf(base))}
        t = time.perf_counter()
        files = build(base, args.entries)
        files["base"] = base
        size = files["sub_crl"].stat().st_size
        built = time.perf_counter() - t
        print(f"# files built in {built:.1f} s (sub CA CRL: {args.entries} entries, {size} bytes)")
        cold_rounds = max(2, args.rounds // 4)
        figures = {
            "ours_cold": ours_cold(files, cold_rounds),
            "ours_warm": ours_warm(files, args.rounds),
            "openssl_cold_crl_check": openssl_rate(files, "-crl_check", cold_rounds, 1, env),
            "openssl_cold_crl_check_all": openssl_rate(
                files, "-crl_check_all", cold_rounds, 1, env
            ),
            "openssl_warm_crl_check": openssl_rate(files, "-crl_check", 1, args.rounds * 10, env),
            "openssl_warm_crl_check_all": openssl_rate(
                files, "-crl_check_all", 1, args.rounds * 10, env
            ),
        }
        for name, rate in figures.items():
            print(f"# {name}: {rate:,.1f} validations/s")
        print_result(
            "verify", "cold_ratio", figures["ours_cold"] / figures["openssl_cold_crl_check"], 1
        )
        print_result(
            "verify", "warm_ratio", figures["ours_warm"] / figures["openssl_warm_crl_check"], 1
        )
        print_result(
            "verify", "warm_ratio_crl_check_all",
            figures["ours_warm"] / figures["openssl_warm_crl_check_all"], 1,
        )  # fmt: skip


if __name__ == "__main__":
    main()
