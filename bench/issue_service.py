"""End-to-end issuances/s through IssuanceService vs the raw SoftHSM signing rate, same run.

Setup: a fresh SoftHSM-GOST token in a temporary directory with one GOST R 34.10-2012-256 CA key
(CryptoPro-A, generated on the token through atlas_ca.hsm), a self-signed CA certificate planned
from the CA profile, a verified subscriber, a paid order and one CSR per issuance (bench/issue.py's
``_ca_and_csrs``), all before timing.

Child processes, one after the other (twice, alternating; the best count wins), each working
for ``--seconds`` seconds:

* **raw** — bench/issue.py's ``worker_raw``: python-pkcs11, ``C_SignInit + C_Sign``
  (CKM_GOSTR3410) over a precomputed digest: the token's bare signing rate.
* **sqlite** / **pg** — ``--processes`` worker processes (default 2, as ``atlas-ca serve`` runs
  several; released together once all are set up) on the same register and the same token,
  each with ``--threads`` concurrent requests (default 32) into its own ``IssuanceService``
  (its own group commit), each request the whole service: create the one-time-code challenge
  for the request (what the SMS step stores), then ``IssuanceService.issue``: parse the CSR and
  check its proof of possession, check R3/R10, plan from the profile, build and lint the TBS,
  spend the code, record the intent (committed before the token signs), sign on SoftHSM,
  verify, write the outbox file, store the certificate and complete the intent (committed).
  The writes of *record* and *store* of the requests waiting at the same time share one
  transaction (group commit, issue 17; the bench prints the mean writes per transaction).
  SQLite runs with WAL and ``synchronous=FULL`` (every commit is on disk);
  PostgreSQL is the local server (``--pg-dsn`` or ``ATLAS_CA_TEST_PG_DSN``; a fresh database is
  created and dropped).

The service's rate is all the processes' issuances over the span from the first start to the
last end; each run prints how many each process made (a process starved by another shows).
Per issuance the bench prints the wall and the CPU time (thread time) of each pipeline
step and the CPU of the worker processes; ``--profile FILE`` instead writes a cProfile of one
thread issuing one request after another (SQLite).

Prints ``RESULT issue_service ratio_sqlite=<sqlite/raw> ratio_pg=<pg/raw> goal=0.1
processes=<N> threads=<T>``; the raw side stays one python-pkcs11 session in one process.

Usage: ``.venv/bin/python bench/issue_service.py [--seconds S] [--processes P] [--threads N]
[--pg-dsn DSN] [--profile FILE]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # bench/benchlib.py: SoftHSM bench token and key, raw reference, child runs

TOKEN = "bench-issue-service"
LABEL = "bench-ca"
PIN = "123456"
CSRS = 200
#: Enough CSRs for the fastest pipeline seen (about 250 issuances/s in one thread, ≈ 400 with
#: group commit), each certified once.
CSRS_PER_SECOND = 1000
#: Concurrent requests into one service (threads of one process, as a WSGI worker has them).
THREADS = 32
#: Worker processes (as ``atlas-ca serve`` runs several), each with THREADS requests into its
#: own IssuanceService, on the same register and the same token.
PROCESSES = 2


def worker_raw(module: str, seconds: float) -> dict[str, float]:
    """The reference: python-pkcs11 ``C_SignInit + C_Sign`` (CKM_GOSTR3410) on a ready digest."""
    from pkcs11 import Mechanism

    [key] = benchlib.raw_gost_keys(module, TOKEN, PIN, LABEL, 1)
    digest = bytes(range(32))
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        key.sign(digest, mechanism=Mechanism.GOSTR3410)
        n += 1
    return {"count": n, "elapsed": time.perf_counter() - start}


def make_csrs(count: int) -> list[bytes]:
    """GOST CSRs of throw-away CryptoPro-A keys in memory (made before timing): one key per
    certificate, since the register certifies a key once (63-FZ art. 13)."""
    from atlas_ca.algorithms import KeyType
    from atlas_ca.asn1 import oids
    from atlas_ca.gost import generate_private_scalar, param_set, public_key_from_private
    from atlas_ca.hsm.software import SoftwarePrehashKey
    from atlas_ca.x509.csr import CsrBuilder
    from atlas_ca.x509.names import Name

    ps = param_set("cryptopro-a")
    csrs = []
    for i in range(count):
        d = generate_private_scalar(ps)
        spki = public_key_from_private(ps, d).spki_der()
        key = SoftwarePrehashKey(KeyType.GOST3410_2012_256, spki, (ps, d), f"memory:{i}")
        subject = Name.build([(oids.NameAttribute.COMMON_NAME, f"Иванов Иван Иванович {i}")])
        csrs.append(CsrBuilder().subject_name(subject).sign(key).der)
    return csrs


def worker_service(
    uri: str,
    store: str,
    location: str,
    base: str,
    seconds: float,
    threads: int,
    profile: str | None = None,
    at: float | None = None,
    wait_for_go: bool = False,
) -> dict[str, float]:
    import secrets

    from atlas_ca.cli.demo.fakes import verified_subscriber
    from atlas_ca.domain.ids import OrderId, ProductCode, TariffPlanId
    from atlas_ca.domain.money import Money
    from atlas_ca.domain.orders import (
        EntryPoint,
        OrderItem,
        PaymentReceipt,
        RegisteredCustomers,
        draft_order,
        place_order,
        record_receipt,
    )
    from atlas_ca.domain.otp import create_challenge
    from atlas_ca.domain.sellers import PaymentMethod, SellerCode
    from atlas_ca.domain.tariffs import Catalogue, PriceVersion, Product, ProductKind, TariffPlan
    from atlas_ca.profiles.planning import (
        issue_certificate,
        plan_ca_certificate,
    )
    from atlas_ca.services.ca import CertificateAuthority
    from atlas_ca.services.issuance import (
        IssuanceRequest,
        IssuanceService,
        OtpConfirmation,
        issuance_binding,
    )
    from atlas_ca.services.ports import DirectoryOutbox, InMemoryChallengeStore, SystemClock
    from atlas_ca.storage import open_register

    # the processes of one run plan the same CA certificate (same key, names and validity)
    now = datetime.fromtimestamp(at, UTC) if at is not None else datetime.now(UTC)
    from atlas_ca.hsm import open_key

    csrs = make_csrs(max(CSRS, int(seconds * CSRS_PER_SECOND)))
    ca_key = open_key(uri)
    config, org = benchlib.bench_ca_identity(("http://ca.example.ru/cdp/ca.crl",))
    plan = plan_ca_certificate(
        org, ca_key.public_key_info, config, ca_key, not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=3650),
    )  # fmt: skip
    ca = CertificateAuthority(
        ca_key, issue_certificate(plan, ca_key, serial=1, self_signed=True), config
    )
    subscriber = verified_subscriber("sub-bench", at=now - timedelta(days=3))
    kep, plan_id = ProductCode("kep"), TariffPlanId("basic")
    catalogue = Catalogue(
        products=[Product(kep, "КЭП", ProductKind.CERTIFICATE_ISSUANCE)],
        plans=[TariffPlan(plan_id, "Базовый")],
        prices=[PriceVersion(plan_id, kep, date(2025, 1, 1), Money(Decimal("3600.00")))],
    )
    # The order buys more issuances than a run makes: IssuanceService refuses a certificate
    # beyond what the order bought (R10, atlas_ca.domain.entitlements).
    order = draft_order(
        OrderId("ord-bench"), subscriber.id, EntryPoint.DIGITAL_PROFILE, SellerCode.ATLAS_2,
        PaymentMethod.BANK_CARD, plan_id, (OrderItem(kep, 1_000_000),), (subscriber.id,), now,
    )  # fmt: skip
    order = place_order(order, catalogue, now, RegisteredCustomers(frozenset({subscriber.id})))
    order = record_receipt(
        order, PaymentReceipt("pay-bench", order.total, PaymentMethod.BANK_CARD, now)
    )
    register = open_register(location, opened_at=now)
    challenges = InMemoryChallengeStore()
    clock = SystemClock()
    spent: dict[str, float] = {}
    cpu: dict[str, float] = {}
    spent_lock = threading.Lock()
    local = threading.local()

    def on_step(step: str) -> None:  # wall and CPU time per step, per request (per thread)
        t, c = time.perf_counter(), time.thread_time()
        with spent_lock:
            spent[step] = spent.get(step, 0.0) + t - local.last
            cpu[step] = cpu.get(step, 0.0) + c - local.cpu
        local.last, local.cpu = t, c

    service = IssuanceService(
        on_step=on_step,
        ca=ca,
        register=register,
        challenges=challenges,
        outbox=DirectoryOutbox(Path(base) / f"outbox-{store}"),
        clock=clock,
        random_bytes=secrets.token_bytes,
    )
    bindings = [issuance_binding(csr, order, "individual") for csr in csrs]

    def one(i: int) -> None:
        challenge, code = create_challenge(
            subscriber.id,
            bindings[i % len(csrs)],
            now=clock.now(),
            random_bytes=secrets.token_bytes,
        )
        challenges.save(challenge)
        local.last, local.cpu = time.perf_counter(), time.thread_time()
        service.issue(
            IssuanceRequest(
                csr=csrs[i % len(csrs)],
                subscriber=subscriber,
                order=order,
                profile="individual",
                subject_sign_tool="СКЗИ «КриптоПро CSP» (версия 5.0)",
                confirmation=OtpConfirmation(challenge.id, code),
            )
        )

    one(0)  # warm-up: imports, first session, first transaction
    spent.clear()
    cpu.clear()
    if profile is not None:  # one request after another in this thread, under cProfile
        import cProfile

        prof = cProfile.Profile()
        n, start = 0, time.perf_counter()
        prof.enable()
        while time.perf_counter() < start + seconds and n + 1 < len(csrs):
            n += 1
            one(n)
        prof.disable()
        prof.dump_stats(profile)
        return {"count": n, "elapsed": time.perf_counter() - start}
    next_csr = itertools.count(1)
    done = [0]
    failures: list[BaseException] = []
    if wait_for_go:  # the other processes of the run are ready too: start together
        print("ready", flush=True)
        sys.stdin.readline()
    wall_start, cpu_start = time.time(), time.process_time()
    start = time.perf_counter()
    deadline = start + seconds

    def client() -> None:  # one concurrent requester: issue until the time is up
        while time.perf_counter() < deadline:
            i = next(next_csr)
            if i >= len(csrs):
                return
            try:
                one(i)
            except BaseException as exc:
                failures.append(exc)
                return
            with spent_lock:
                done[0] += 1

    clients = [threading.Thread(target=client) for _ in range(threads)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    elapsed = time.perf_counter() - start
    wall_end, process_cpu = time.time(), time.process_time() - cpu_start
    if failures:
        raise failures[0]
    n = done[0]
    register.close()
    steps = {f"us_{k}": v / n * 1e6 for k, v in spent.items()}
    steps |= {f"cpu_{k}": v / n * 1e6 for k, v in cpu.items()}
    stats = service.batches
    return {
        "count": n,
        "elapsed": elapsed,
        "t_start": wall_start,
        "t_end": wall_end,
        "process_cpu": process_cpu,
        "flushes": stats.flushes,
        "items": stats.items,
        **steps,
    }


def _child(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, float]]:
    out = benchlib.run_json_child(__file__, args, env, timeout=600)
    return float(out["count"]) / float(out["elapsed"]), out


def _children(
    args: list[str], env: dict[str, str], processes: int
) -> tuple[float, dict[str, float]]:
    """``processes`` workers on the same register and token, released together once all are
    set up; the rate is all their issuances over the span from the first start to the last
    end, the per-step figures are per issuance over all of them."""
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, *args, "--go"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"worker {args} failed:\n{line}{p.communicate()[1]}")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=600)
            if p.returncode != 0:
                raise SystemExit(f"worker {args} failed:\n{stderr}")
            outs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    count = sum(o["count"] for o in outs)
    span = max(o["t_end"] for o in outs) - min(o["t_start"] for o in outs)
    merged: dict[str, float] = {"count": count, "elapsed": span}
    merged |= {f"count_p{i}": o["count"] for i, o in enumerate(outs)}  # fairness (issue 17)
    for key in {k for o in outs for k in o if k.startswith(("us_", "cpu_"))}:
        merged[key] = sum(o.get(key, 0.0) * o["count"] for o in outs) / count
    merged["process_cpu_us"] = sum(o["process_cpu"] for o in outs) / count * 1e6
    merged["writes_per_commit"] = sum(o["items"] for o in outs) / max(
        1, sum(o["flushes"] for o in outs)
    )
    return count / span, merged


def _pg_database(dsn: str) -> tuple[str, str]:
    import psycopg
    from psycopg import conninfo, sql

    name = f"atlas_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo.conninfo_to_dict(dsn)
    params["dbname"] = name
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    return name, f"postgresql://{user}@{host}:{port}/{name}"


def _drop_pg_database(dsn: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="concurrent requests into one service"
    )
    parser.add_argument("--pg-dsn", default=os.environ.get("ATLAS_CA_TEST_PG_DSN"))
    parser.add_argument("--worker", choices=["raw", "sqlite", "pg"])
    parser.add_argument("--module")
    parser.add_argument("--uri")
    parser.add_argument("--location")
    parser.add_argument("--base")
    parser.add_argument(
        "--processes",
        type=int,
        default=PROCESSES,
        help="worker processes, each with --threads requests into its own service",
    )
    parser.add_argument(
        "--profile", help="write a cProfile of one thread's requests (SQLite) to this file"
    )
    parser.add_argument("--at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--go", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "raw":
        print(json.dumps(worker_raw(args.module, args.seconds)))
        return
    if args.worker in ("sqlite", "pg"):
        out = worker_service(
            args.uri,
            args.worker,
            args.location,
            args.base,
            args.seconds,
            args.threads,
            args.profile,
            args.at,
            args.go,
        )
        print(json.dumps(out))
        return

    with tempfile.TemporaryDirectory(prefix="atlas-issue-service-bench-") as tmp:
        base = Path(tmp)
        token = benchlib.init_softhsm_token(base, TOKEN, PIN)
        benchlib.generate_gost_key(token, LABEL)
        env, module, key_uri = token.env, token.module, token.uri(LABEL)

        pg: tuple[str, str] | None = None
        if args.pg_dsn:
            pg = _pg_database(args.pg_dsn)
        try:
            best = {"raw": 0.0, "sqlite": 0.0, "pg": 0.0}
            steps: dict[str, dict[str, float]] = {}
            common = ["--seconds", str(args.seconds), "--uri", key_uri, "--base", str(base),
                      "--threads", str(args.threads), "--at", str(time.time())]  # fmt: skip
            if args.profile:
                location = str(base / "register-profile.sqlite3")
                _child(["--worker", "sqlite", "--location", location, "--profile",
                        args.profile, *common], env)  # fmt: skip
                print(f"profile of one thread's requests written to {args.profile}")
                return
            for _ in range(2):
                rate, _out = _child(["--worker", "raw", "--module", module, *common], env)
                best["raw"] = max(best["raw"], rate)
                runs = [("sqlite", str(base / f"register-{uuid.uuid4().hex[:6]}.sqlite3"))]
                if pg is not None:
                    runs.append(("pg", pg[1]))
                for name, location in runs:
                    work = ["--worker", name, "--location", location, *common]
                    rate, out = _children(work, env, args.processes)
                    each = ", ".join(f"{out[f'count_p{i}']:.0f}" for i in range(args.processes))
                    print(f"run on {name}: {rate:.1f} issuances/s; issuances per process: {each}")
                    if rate > best[name]:
                        best[name], steps[name] = rate, out
        finally:
            if pg is not None and args.pg_dsn:
                _drop_pg_database(args.pg_dsn, pg[0])

    raw = best["raw"]
    print(f"raw CKM_GOSTR3410 signatures (SoftHSM):  {raw:7.0f}/s")
    print(f"issuances, SQLite (WAL, synchronous=FULL): {best['sqlite']:7.1f}/s")
    if pg is not None:
        print(f"issuances, PostgreSQL (local server):      {best['pg']:7.1f}/s")
    for name, out in steps.items():
        parts = ", ".join(f"{k[3:]}={v:.0f}" for k, v in out.items() if k.startswith("us_"))
        print(f"per issuance on {name}, us of wall time in each step: {parts}")
        parts = ", ".join(f"{k[4:]}={v:.0f}" for k, v in out.items() if k.startswith("cpu_"))
        total = sum(v for k, v in out.items() if k.startswith("cpu_"))
        print(f"per issuance on {name}, us of CPU (thread time) in each step: {parts};"
              f" total {total:.0f}")  # fmt: skip
        print(
            f"per issuance on {name}, us of CPU of the worker processes (all threads, waits for"
            f" the GIL included): {out['process_cpu_us']:.0f}"
        )
        print(
            f"group commit on {name}: {out['writes_per_commit']:.1f} writes (intents and"
            " certificates) per transaction on average"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"processes: {args.processes}, threads each: {args.threads}; load average (1, 5, 15 min)"
        f" at the end: {load}"
    )
    ratio_pg = f"{best['pg'] / raw:.4f}" if pg is not None else "nan"
    print(
        f"RESULT issue_service ratio_sqlite={best['sqlite'] / raw:.4f} ratio_pg={ratio_pg} goal=0.1"
        f" processes={args.processes} threads={args.threads}"
    )


if __name__ == "__main__":
    main()
