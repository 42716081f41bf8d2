"""Benchmark: a full CRL published from the register by CrlPublisher vs ``openssl ca -gencrl``.

Same serials on both sides: bench/crl.py's ``prepare`` writes the CA key and certificate
(OpenSSL, gost engine, GOST R 34.10-2012-256) and an ``index.txt`` of N revoked serials; the
same serials, dates and reasons are then loaded into a register (SQLite file, or PostgreSQL
with ``--store postgres``) as revoked (or, for certificateHold, suspended) certificates with
their completed intents — bulk SQL, before any timing. Then, each in its own child process,
wall time and peak RSS from ``os.wait4`` (bench/benchlib.py's ``measure_lean``: the children
are forked by a small launcher, since a child of this process would inherit its peak RSS
until it execs; this process imports atlas_ca's CLI through bench/crl.py, ≈ 60 MB). atlas_ca's
bytecode is compiled first (``compileall``), as a ``pip install`` leaves it:

* **openssl** — ``openssl ca -gencrl`` over ``index.txt`` (PEM out);
* **ours** — ``CrlPublisher.publish_full()`` in a child that imports only the publication
  path (``CrlIssuer``: key and certificate, no certificate model): open the key file, allocate
  the cRLNumber, open a snapshot of the register, stream the CRL entries it stored at
  revocation (``CrlScan.listed_encoded``, schema 7) a fetch batch at a time into a temporary
  file (``sign(spool=...)``), hash them back (Streebog), sign (software GOST key), verify the
  signature, write the PEM file atomically (temp file, fsync, rename), record it.

With ``--partitions N`` the serials are 127-bit (as atlas_ca draws them), the CA is
partitioned (``CaConfig.crl_partitions``) and, per partition, ``openssl ca -gencrl`` over an
``index.txt`` of that partition's serials runs against ``publish_full(partition)``; the totals
give the RESULT.

Usage: ``.venv/bin/python bench/crl_publish.py [--entries N] [--store sqlite|postgres]
[--pg-dsn DSN [--pg-db NAME]] [--workdir DIR [--reuse]] [--partitions N] [--cold]``. The register's
schema carries the covering partial index the CRL scan reads from (version 3) and each listed
certificate's CRL entry as DER (version 6; the loader stores it as ``SqlRegister.revoke``
would). A
``--reuse``d register of an older schema is migrated on the first publication, which then
fills the stored entries (measured as part of that run). Prints the load average before and
after the timed runs, then ``RESULT crl_publish time_ratio=... goal=0.25``,
``RESULT crl_publish rss_ratio=... goal=0.25`` and
``RESULT crl_publish cpu_ratio=... goal=none`` (user + system CPU of the same children: the
figure the machine's other load moves least)
(``crl_publish_partitioned_N`` with partitions). Before the timed runs the SQLite register is
read once into the page cache, as openssl's ``index.txt`` is by construction (``--cold``: not).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

# The measured child (``--child ours``) imports the publication path only (not the CLI, which
# still loads click and the whole app) and nothing of the bench: the bench's own modules
# (bench/crl.py, benchlib, argparse, subprocess) are imported by the parent and the other
# children only — bench/crl.py alone brings atlas_ca's CLI (≈ 50 MB).
PASSWORD = "bench-password"  # bench/crl.py's PASSWORD: the key file ca.enc.pem's password

REASON_CODES = {
    "unspecified": 0,
    "keyCompromise": 1,
    "CACompromise": 2,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
}
BATCH = 20_000


def _bench_modules() -> None:
    """bench/crl.py (``prepare``, ``OPENSSL_GOST_CONF``) and benchlib, as globals."""
    global crl_bench, measure, print_load, print_result
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import crl as crl_bench
    from benchlib import measure_lean_cpu as measure
    from benchlib import print_load, print_result

    assert crl_bench.PASSWORD == PASSWORD


def _index_rows(work: Path) -> list[tuple[int, datetime, int]]:
    rows = []
    with (work / "index.txt").open() as fh:
        for line in fh:
            status, _, when, serial, _ = line.split("\t", 4)
            if status != "R":
                continue
            stamp, _, reason = when.partition(",")
            at = datetime.strptime(stamp, "%y%m%d%H%M%SZ").replace(tzinfo=UTC)
            rows.append((int(serial, 16), at, REASON_CODES[reason]))
    return rows


def load_register(work: Path, location: str) -> None:
    """Put index.txt's serials into the register at ``location`` (migrated first)."""
    from atlas_ca.audit.events import utc_text
    from atlas_ca.storage import open_register
    from atlas_ca.storage.ports import IssuerKeyId, serial_text
    from atlas_ca.x509.crl import RevocationReason, encode_entry, issuer_facts

    now = datetime.now(UTC)
    open_register(location, opened_at=now).close()
    issuer = IssuerKeyId.from_bytes(issuer_facts((work / "ca.pem").read_bytes()).key_identifier)
    rows = _index_rows(work)
    postgres = location.startswith(("postgres://", "postgresql://"))

    def ts(at: datetime) -> object:
        return at if postgres else utc_text(at)

    intents = []
    certs = []
    for i, (serial, at, reason) in enumerate(rows, start=1):
        s = serial_text(serial)
        intents.append((issuer.value, s, b"\x00" * 32, "sub-bench", "individual", "completed",
                        ts(at), ts(at)))  # fmt: skip
        status = "suspended" if reason == 6 else "revoked"
        # the CRL entry the register stores at revocation (schema 6)
        entry = encode_entry(serial, at, RevocationReason(reason))
        certs.append((issuer.value, s, b"\x30\x00", b"\x01", "sub-bench", "individual", ts(at),
                      ts(at.replace(year=at.year + 1)), ts(at), status, ts(at), reason, ts(at),
                      i, entry))  # fmt: skip
    intent_sql = (
        "INSERT INTO issuance_intents (issuer, serial, tbs_digest, subscriber, profile, state,"
        " created_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    cert_sql = (
        "INSERT INTO certificates (issuer, serial, der, subject_key_id, subscriber, profile,"
        " not_before, not_after, issued_at, status, status_changed_at, reason, revocation_date,"
        " last_change, crl_entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    changes_sql = "INSERT INTO issuer_changes (issuer, last_change) VALUES (?, ?)"
    if postgres:
        import psycopg

        with psycopg.connect(location) as conn, conn.cursor() as cur:
            for sql_text, data in ((intent_sql, intents), (cert_sql, certs)):
                for start in range(0, len(data), BATCH):
                    cur.executemany(sql_text.replace("?", "%s"), data[start : start + BATCH])
            cur.execute(changes_sql.replace("?", "%s"), (issuer.value, len(rows)))
            conn.commit()
        # VACUUM as autovacuum does for a register in service: it sets the visibility map,
        # without which PostgreSQL cannot answer the CRL scan from the covering index alone
        # (a freshly bulk-loaded table: 3.4 s of heap fetches for a million rows, not 0.7 s).
        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        return
    import sqlite3

    lite = sqlite3.connect(location)
    with lite:
        lite.executemany(intent_sql, intents)
        lite.executemany(cert_sql, certs)
        lite.execute(changes_sql, (issuer.value, len(rows)))
    lite.execute("ANALYZE")
    lite.close()


PARTITION_URL = "http://ca.example.ru/cdp/ca-{partition}.crl"


def ours(work: Path, location: str, partitions: int = 0, partition: int | None = None) -> None:
    """The measured child: publish one full CRL from the register (with ``partitions``, the
    full CRL of ``partition``) — the steps of ``atlas-ca crl publish`` through the library's
    lean entry point: open the key, check it against the CA certificate (``CrlIssuer``), open
    the register, publish. (The CLI itself still imports click and the app around them.)"""
    from atlas_ca.hsm.software import open_software_key
    from atlas_ca.profiles.config import CrlPartitioning
    from atlas_ca.services.crl_publication import CrlIssuer, CrlPolicy, CrlPublisher
    from atlas_ca.services.ports import SystemClock
    from atlas_ca.storage import open_register

    key = open_software_key(f"file:{work / 'ca.enc.pem'}", password=PASSWORD)
    ca = CrlIssuer(
        key,
        (work / "ca.pem").read_bytes(),
        CrlPartitioning(partitions, PARTITION_URL) if partitions else None,
    )
    clock = SystemClock()
    register = open_register(location, opened_at=clock.now())
    try:
        publisher = CrlPublisher(
            ca=ca,
            register=register,
            directory=work / "pub",
            clock=clock,
            policy=CrlPolicy(file_name="service.pem", pem=True),
        )
        published = publisher.publish_full(partition)
        print(f"published CRL {published.number}: {published.entries} entries, {published.size} B")
    finally:
        register.close()


def main() -> None:
    if sys.argv[1:3] == ["--child", "ours"]:  # the measured child: no argparse, no bench modules
        opts = dict(zip(sys.argv[3::2], sys.argv[4::2], strict=True))
        part = opts.get("--partition")
        ours(
            Path(opts["--workdir"]),
            opts["--location"],
            int(opts.get("--partitions", 0)),
            None if part is None else int(part),
        )
        return
    import argparse
    import shutil
    import subprocess
    import tempfile
    import time
    import uuid

    _bench_modules()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-dsn", default=os.environ.get("ATLAS_CA_TEST_PG_DSN"))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--partitions",
        type=int,
        default=0,
        help="partitioned CRLs: publish each of N partitions, against openssl over each "
        "partition's serials",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the key, index.txt and SQLite register already in --workdir (PostgreSQL: "
        "the database named by --pg-db)",
    )
    parser.add_argument(
        "--pg-db",
        default=None,
        help="PostgreSQL: load into (or with --reuse, publish from) this database and keep it",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="SQLite: do not read the register into the page cache before the timed runs (the "
        "register's pages are then wherever the kernel left them; openssl's index.txt is hot)",
    )
    parser.add_argument("--child", choices=["ours", "load", "split"], help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--partition", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "load":
        load_register(args.workdir, args.location)
        return
    if args.child == "split":
        split_index(args.workdir, args.partitions)
        return

    openssl_bin = shutil.which("openssl")
    if openssl_bin is None:
        raise SystemExit("openssl not found")
    own_tmp = None
    if args.workdir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="atlas-crl-publish-bench-")
        work = Path(own_tmp.name)
    else:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    conf = work / "openssl-gost.cnf"
    conf.write_text(crl_bench.OPENSSL_GOST_CONF)
    env = dict(os.environ, OPENSSL_CONF=str(conf))
    src = Path(__file__).resolve().parent.parent / "src"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))

    pg_admin, pg_name = args.pg_dsn, None
    if args.store == "postgres":
        if not pg_admin:
            raise SystemExit("--store postgres needs --pg-dsn or ATLAS_CA_TEST_PG_DSN")
        import psycopg
        from psycopg import conninfo, sql

        pg_name = args.pg_db or f"atlas_crl_bench_{uuid.uuid4().hex[:8]}"
        if not args.reuse:
            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(pg_name)))
        params = conninfo.conninfo_to_dict(pg_admin)
        location = (
            f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}"
            f":{params.get('port', 5432)}/{pg_name}"
        )
    else:
        location = str(work / "register.sqlite3")

    try:
        reuse = args.reuse and (args.store == "postgres" or Path(location).exists())
        if reuse:
            (work / "pub").mkdir(exist_ok=True)
            for old in (work / "pub").iterdir():
                old.unlink()
        else:
            t0 = time.perf_counter()
            # Serials of 127 random bits, as atlas_ca issues them (x509.certificate.random_serial):
            # the partitions are ranges of that span.
            crl_bench.prepare(
                work, args.entries, [openssl_bin], env, serial_bits=127 if args.partitions else 128
            )
            # The same key and subject, with basicConstraints cA=TRUE (a CertificateAuthority needs
            # it); both sides use this ca.pem.
            subprocess.run(
                [openssl_bin, "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem",
                 "-days", "365", "-subj", "/C=RU/O=Bench/CN=Atlas bench GOST CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "subjectKeyIdentifier=hash",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                cwd=work, env=env, check=True, capture_output=True,
            )  # fmt: skip
            # In a child: the parent stays small, since a forked child's peak RSS counts the
            # parent's pages until it execs.
            subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", "load",
                 "--workdir", str(work), "--location", location],
                cwd=work, env=env, check=True,
            )  # fmt: skip
            print(f"prepared {args.entries} revoked serials (index.txt and the {args.store}"
                  f" register) in {time.perf_counter() - t0:.1f} s")  # fmt: skip

        # The bytecode ``pip install`` writes for the package: without it (a source checkout,
        # PYTHONDONTWRITEBYTECODE) every measured child would compile atlas_ca's modules first.
        # (In a child: this process stays as it is while it launches the measured ones.)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "atlas_ca")],
                       check=True)  # fmt: skip
        if args.store == "sqlite" and not args.cold:
            _warm(Path(location))
        print_load("before")
        if args.partitions:
            our_time, our_rss, ossl_time, ossl_rss, our_cpu, ossl_cpu = _partitioned(
                work, env, openssl_bin, location, args.partitions, args.entries
            )
        else:
            our_time, our_rss, ossl_time, ossl_rss, our_cpu, ossl_cpu = _full(
                work, env, openssl_bin, location, args.store, args.entries
            )
        print_load("after")
    finally:
        if pg_name is not None and pg_admin and args.pg_db is None:
            import psycopg
            from psycopg import sql

            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(pg_name)
                    )
                )
        if own_tmp is not None:
            own_tmp.cleanup()
    name = f"crl_publish_partitioned_{args.partitions}" if args.partitions else "crl_publish"
    print_result(name, "time_ratio", our_time / ossl_time, 0.25)
    print_result(name, "rss_ratio", our_rss / ossl_rss, 0.25)
    # CPU time (user + system) of the same children: what the other jobs' load moves least
    print_result(name, "cpu_ratio", our_cpu / ossl_cpu, None)  # explains; the issue sets none


def _warm(register: Path) -> None:
    """Read the SQLite register (and its WAL) once, as ``cat > /dev/null`` would, so that both
    sides start from the page cache: openssl's ``index.txt`` is hot by construction (the
    parent wrote it, or split it into the partitions' files, just before), while the
    register's pages are wherever the kernel left them — on this machine DAMON pages out
    what was not read for a minute, and a cold partition (≈ 13,000 scattered 4 KiB index
    pages of the 1M register) cost ours ≈ 1.5 s of wall time instead of ≈ 0.5 s (issue 17,
    docs/performance.md "Issue 17: CRL partition publication margin and the 5M point").
    ``--cold`` skips it. Not part of any measured child (the page cache is no process's RSS)."""
    import time

    t0 = time.perf_counter()
    size = 0
    buf = bytearray(1 << 20)
    for path in (register, register.with_name(register.name + "-wal")):
        if path.exists():
            with path.open("rb", buffering=0) as fh:
                while n := fh.readinto(buf):
                    size += n
    print(f"register read into the page cache: {size / 1e6:.0f} MB in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip


def _ours_cmd(work: Path, location: str, partitions: int = 0, partition: int = 0) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "ours",
           "--workdir", str(work), "--location", location]  # fmt: skip
    if partitions:
        cmd += ["--partitions", str(partitions), "--partition", str(partition)]
    return cmd


def _check(work: Path, env: dict[str, str], openssl_bin: str, ours_pem: Path, theirs_pem: Path,
           entries: int) -> None:  # fmt: skip
    """Both CRLs parse, ours verifies (atlas_ca and openssl), the same entries are listed."""
    import subprocess

    from atlas_ca.x509.crl import load_crl

    ca = (work / "ca.pem").read_bytes()
    mine = load_crl(ours_pem.read_bytes())
    theirs = load_crl(theirs_pem.read_bytes())
    mine.verify_issued_by(ca)
    if len(mine) != entries or len(theirs) != entries:
        raise SystemExit(f"entry counts differ: ours {len(mine)}, openssl {len(theirs)}")
    if entries:
        probe = next(iter(theirs))
        if mine.lookup(probe.serial) != probe:
            raise SystemExit(f"serial {probe.serial:#x} differs between the two CRLs")
    check = subprocess.run(
        [openssl_bin, "crl", "-in", str(ours_pem), "-verify", "-CAfile", "ca.pem", "-noout"],
        cwd=work,
        env=env,
        capture_output=True,
    )
    if b"verify OK" not in check.stdout + check.stderr:
        raise SystemExit(f"openssl does not verify the published CRL: {check.stderr.decode()}")


def _full(work: Path, env: dict[str, str], openssl_bin: str, location: str, store: str,
          entries: int) -> tuple[float, int, float, int, float, float]:  # fmt: skip
    ossl_time, ossl_rss, ossl_cpu = measure(
        [openssl_bin, "ca", "-config", "ca.cnf", "-gencrl", "-out", "openssl.pem", "-batch"],
        work,
        env,
    )
    our_time, our_rss, our_cpu = measure(_ours_cmd(work, location), work, env)
    ours_path = work / "pub" / "service.pem"
    mb = 1024 * 1024
    print(f"openssl ca -gencrl:         {ossl_time:6.2f} s  peak RSS {ossl_rss / mb:7.1f} MB"
          f"  CPU {ossl_cpu:.2f} s")  # fmt: skip
    print(f"CrlPublisher ({store:8s}):  {our_time:6.2f} s  peak RSS {our_rss / mb:7.1f} MB"
          f"  CPU {our_cpu:.2f} s  CRL {ours_path.stat().st_size / mb:.1f} MB")  # fmt: skip
    _check(work, env, openssl_bin, ours_path, work / "openssl.pem", entries)
    print("published CRL verified (atlas_ca parser; openssl crl -verify), same entries")
    return our_time, our_rss, ossl_time, ossl_rss, our_cpu, ossl_cpu


def split_index(work: Path, partitions: int) -> None:
    """Per partition, a CA directory ``p<N>`` whose index.txt holds that partition's lines."""
    import shutil

    from atlas_ca.profiles.config import CrlPartitioning

    parts = CrlPartitioning(partitions, PARTITION_URL)
    lines: list[list[str]] = [[] for _ in range(partitions)]
    with (work / "index.txt").open() as fh:
        for line in fh:
            lines[parts.partition_of(int(line.split("\t", 4)[3], 16))].append(line)
    cnf = (work / "ca.cnf").read_text()
    for p in range(partitions):
        part_dir = work / f"p{p}"
        part_dir.mkdir(exist_ok=True)
        for name in ("ca.pem", "ca.key", "index.txt.attr"):
            shutil.copy(work / name, part_dir / name)
        (part_dir / "ca.cnf").write_text(cnf)
        (part_dir / "crlnumber").write_text("1000\n")
        (part_dir / "index.txt").write_text("".join(lines[p]))


_Totals = tuple[float, int, float, int, float, float]  # ours/openssl: time, RSS; CPU ours, openssl


def _partitioned(work: Path, env: dict[str, str], openssl_bin: str, location: str,
                 partitions: int, entries: int) -> _Totals:  # fmt: skip
    """Per partition: ``openssl ca -gencrl`` over an index.txt of that partition's serials
    against ``publish_full(partition)``; the totals (time and CPU summed, RSS the peak) are
    returned."""
    import subprocess

    from atlas_ca.profiles.config import CrlPartitioning

    parts = CrlPartitioning(partitions, PARTITION_URL)
    # Split index.txt in a child: a forked child's peak RSS counts this process's pages until
    # it execs, so this process must not grow before measuring.
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "split",
         "--workdir", str(work), "--partitions", str(partitions)],
        check=True, env=env,
    )  # fmt: skip
    totals = [0.0, 0, 0.0, 0, 0.0, 0.0]
    mb = 1024 * 1024
    checks = []  # after every measurement: parsing the CRLs grows this process
    for p in range(partitions):
        part_dir = work / f"p{p}"
        count = sum(1 for _ in (part_dir / "index.txt").open())
        ossl_time, ossl_rss, ossl_cpu = measure(
            [openssl_bin, "ca", "-config", "ca.cnf", "-gencrl", "-out", "openssl.pem", "-batch"],
            part_dir,
            env,
        )
        our_time, our_rss, our_cpu = measure(_ours_cmd(work, location, partitions, p), work, env)
        ours_path = work / "pub" / parts.file_name(p)
        print(f"partition {p}: {count} entries  openssl {ossl_time:6.2f} s "
              f"{ossl_rss / mb:6.1f} MB  ours {our_time:6.2f} s {our_rss / mb:6.1f} MB  "
              f"time ratio {our_time / ossl_time:.3f}  CPU openssl {ossl_cpu:.2f} s ours "
              f"{our_cpu:.2f} s")  # fmt: skip
        checks.append((part_dir, ours_path, count))
        totals[0] += our_time
        totals[1] = max(totals[1], our_rss)
        totals[2] += ossl_time
        totals[3] = max(totals[3], ossl_rss)
        totals[4] += our_cpu
        totals[5] += ossl_cpu
    for part_dir, ours_path, count in checks:
        _check(part_dir, env, openssl_bin, ours_path, part_dir / "openssl.pem", count)
    print(f"all {partitions} partitions ({entries} entries): openssl {totals[2]:.2f} s, "
          f"ours {totals[0]:.2f} s (CPU {totals[5]:.2f} s / {totals[4]:.2f} s); every "
          "partition's CRL verified, same entries")  # fmt: skip
    return totals[0], int(totals[1]), totals[2], int(totals[3]), totals[4], totals[5]


if __name__ == "__main__":
    main()
