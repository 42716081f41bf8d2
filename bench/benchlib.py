"""What the benchmarks share: the environment, a throw-away SoftHSM token, the raw python-pkcs11
signing reference, child processes (JSON results, wall time and peak RSS) and RESULT lines.

Imported as ``benchlib`` by the scripts in this folder (``python bench/x.py`` puts the folder
first on ``sys.path``). The OpenSSL gost-engine configuration lives in the library,
:mod:`atlas_ca.cli.demo.interop`, because the tests and the demo need it too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def env_value(name: str) -> str:
    """``name`` from the environment, else from the ``export`` lines of ``.atlas-ca-env``."""
    value = os.environ.get(name)
    if value:
        return value
    env_file = REPO / ".atlas-ca-env"
    for line in env_file.read_text().splitlines():
        if line.startswith(f"export {name}="):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit(f"{name} is not set: run scripts/bootstrap.sh or source .atlas-ca-env")


# --- SoftHSM ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchToken:
    """A SoftHSM-GOST token initialised in a temporary directory for one bench run."""

    module: str
    label: str
    pin: str
    pin_file: Path
    env: dict[str, str]  # the caller's environment with SOFTHSM2_CONF pointing at the token

    def uri(self, obj: str | None = None) -> str:
        """The RFC 7512 URI of the token, or of the object labelled ``obj`` on it."""
        path = f"token={self.label}" if obj is None else f"token={self.label};object={obj}"
        return f"pkcs11:{path}?module-path={self.module}&pin-source=file:{self.pin_file}"


def init_softhsm_token(base: Path, label: str, pin: str, so_pin: str = "8765") -> BenchToken:
    """Write a SoftHSM config under ``base`` and initialise one token ``label`` with ``pin``.

    As the product does it (``Pkcs11Module.init_token``: C_InitToken, C_InitPIN), in a child
    process that reads both PINs from its standard input: ``softhsm2-util`` takes them only on
    its command line, which every user of the machine can read (docs/hsm.md); a child keeps
    this process free of the module, as ``generate_gost_key`` does.
    """
    module = env_value("ATLAS_CA_SOFTHSM_MODULE")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    init = (
        "import sys; from atlas_ca.hsm.pkcs11 import Pkcs11Module; "
        "so_pin, user_pin = sys.stdin.read().split(); "
        f"Pkcs11Module.load({module!r}).init_token({label!r}, so_pin=so_pin, user_pin=user_pin)"
    )
    subprocess.run(
        [sys.executable, "-c", init],
        input=f"{so_pin}\n{pin}\n",
        text=True,
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    pin_file = base / "pin"
    fd = os.open(pin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(pin)
    return BenchToken(module, label, pin, pin_file, env)


def generate_gost_key(token: BenchToken, label: str) -> None:
    """A GOST R 34.10-2012-256 (CryptoPro-A) key pair ``label`` on ``token``, made through
    atlas_ca.hsm in a child process (so this process never initialises the module)."""
    setup = (
        "from atlas_ca.algorithms import KeyType; "
        "from atlas_ca.hsm.pkcs11 import open_token; "
        f"t = open_token({token.uri()!r}); "
        f"t.generate_key(KeyType.GOST3410_2012_256, label={label!r})"
    )
    subprocess.run([sys.executable, "-c", setup], check=True, env=token.env, timeout=120)


def raw_gost_keys(
    module: str, token_label: str, pin: str, key_label: str, sessions: int
) -> list[Any]:
    """The reference side: python-pkcs11 private keys ``key_label``, one per session (the first
    session logs in), each found once. Sign with ``key.sign(digest, mechanism=GOSTR3410)``."""
    import pkcs11
    from pkcs11 import KeyType, ObjectClass

    # pkcs11.lib() keeps the loaded module for the process; each key holds its session.
    token = pkcs11.lib(module).get_token(token_label=token_label)
    opened = [token.open(user_pin=pin)]
    opened += [token.open() for _ in range(sessions - 1)]
    return [
        s.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.GOSTR3410, label=key_label)
        for s in opened
    ]


# --- child processes --------------------------------------------------------------------------


def run_json_child(
    script: str, args: list[str], env: dict[str, str] | None = None, *, timeout: float = 300
) -> dict[str, Any]:
    """Run ``python script *args`` and return the JSON object on its last stdout line."""
    proc = subprocess.run(
        [sys.executable, script, *args], capture_output=True, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{proc.stderr.decode()}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Run ``cmd`` as a child; return its wall time (s) and peak RSS (bytes), from wait4."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.decode()}\n{err.decode()}")
    return elapsed, usage.ru_maxrss * 1024


# A few lines of Python run with -S (no site, ≈ 6 MB): the process that forks the measured
# command. A child forked (or vforked) by a large process inherits that process's peak RSS
# until it execs — Linux records the old address space's high-water mark at exec — so a
# parent that imported atlas_ca, cryptography and click (≈ 60 MB) would be the floor of every
# child's figure. Used by measure_lean.
_LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - t0
cpu = usage.ru_utime + usage.ru_stime
print("MEASURED", elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status), cpu, flush=True)
"""


def measure_lean(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """As :func:`measure`, but forked from a small launcher process, so that the peak RSS is
    the command's own and not this (larger) process's: wall time (s) from fork to exit and
    peak RSS (bytes), from the launcher's wait4."""
    elapsed, rss, _ = measure_lean_cpu(cmd, cwd, env)
    return elapsed, rss


def measure_lean_cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, float]:
    """:func:`measure_lean` and the command's CPU time (user + system, s, its children
    included: ``ru_utime + ru_stime`` of the launcher's wait4) — on a shared machine the
    figure that moves least with the other jobs' load."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=False,
    )
    lines = proc.stdout.decode(errors="replace").splitlines()
    result = lines[-1].split() if lines else []
    if proc.returncode != 0 or len(result) != 5 or result[0] != "MEASURED" or result[3] != "0":
        raise SystemExit(
            f"{' '.join(cmd)} failed:\n{proc.stdout.decode(errors='replace')}\n"
            f"{proc.stderr.decode(errors='replace')}"
        )
    return float(result[1]), int(result[2]) * 1024, float(result[4])


# --- HTTP load (wrk, a load generator in C) -------------------------------------------------------

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_requests.lua"


@dataclass(frozen=True)
class HttpLoad:
    """What one ``wrk`` run measured: good answers/s, latency percentiles, failures."""

    rate: float
    p50_ms: float
    p99_ms: float
    good: int
    bad: int
    socket_errors: int


def write_requests(path: Path, requests: list[tuple[str, str, str, bytes]]) -> Path:
    """The request file of :func:`load_http`: (method, path, content type, body) each."""
    lines = []
    for method, target, ctype, body in requests:
        if " " in target or "\n" in target:
            raise ValueError(f"request path {target!r} has a space or a newline")
        lines.append(f"{method} {target}" + (f" {ctype} {body.hex()}" if method == "POST" else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def load_http(
    url: str,
    requests: Path,
    seconds: float,
    *,
    connections: int = 16,
    threads: int = 1,
    once: bool = False,
    close: bool = False,
    min_bytes: int = 100,
) -> HttpLoad:
    """``wrk`` with ``connections`` concurrent clients for ``seconds`` against ``url``, the
    requests of :func:`write_requests` (random order, or each once in turn with ``once``);
    ``close`` sends ``Connection: close`` (a new connection per request). One wrk thread by
    default: on a 2-core machine the load generator should take as little CPU as it can."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    env = dict(
        os.environ,
        WRK_REQUESTS=str(requests),
        WRK_ORDER="once" if once else "random",
        WRK_CLOSE="1" if close else "0",
        WRK_MIN_BYTES=str(min_bytes),
    )
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
           "--timeout", "30s", "-s", str(WRK_SCRIPT), url]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("WRK ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(lines[-1][4:])
    return HttpLoad(
        r["good"] / r["seconds"], r["p50_ms"], r["p99_ms"], r["good"], r["bad"],
        r["connect_errors"] + r["read_errors"] + r["timeouts"],
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and of its living descendants (from /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    return sum(times.get(p, 0.0) for p in tree)


# --- output -----------------------------------------------------------------------------------


def bench_ca_identity(crl_urls: tuple[str, ...]) -> tuple[Any, Any]:
    """The benches' CA configuration and organisation (``CaConfig``, ``Organisation``); imports
    atlas_ca lazily, as the benches' setups do."""
    from atlas_ca.asn1 import oids
    from atlas_ca.domain.identifiers import InnLegal, Ogrn
    from atlas_ca.profiles.config import CaConfig, IssuerTools
    from atlas_ca.profiles.planning import Address, Organisation

    config = CaConfig(
        issuer_tools=IssuerTools("ПАК HSM", "ПАК УЦ", "СФ/124-0000", "СФ/128-0000"),
        ca_sign_tool="ПАК HSM",
        policy_classes=(oids.RuPolicy.KC1,),
        crl_urls=crl_urls,
    )
    org = Organisation(
        'АО "Сервер-Центр"',
        Ogrn("1022502121476"),
        InnLegal("2539038819"),
        Address("25 Приморский край", "г. Владивосток", "ул. Светланская, д. 1"),
        common_name="УЦ (bench)",
    )
    return config, org


def bench_ca(
    base: Path,
    ca_uri: str,
    services: list[tuple[str, bytes]],
    profile: str,
    *,
    now: Any,
    crl_urls: tuple[str, ...] = (),
) -> Any:
    """The benches' CA (self-signed, key at ``ca_uri``) and, for each ``(name, spki)`` of
    ``services``, a certificate of the ``ocsp`` or ``tsa`` profile written to
    ``base/<name>.pem``; ``base/ca.pem`` too. Returns the CA certificate. Runs in the child
    that has SOFTHSM2_CONF set (imports atlas_ca lazily, as the benches' setups do)."""
    import random

    from atlas_ca.hsm import open_key
    from atlas_ca.profiles.planning import (
        issue_certificate,
        plan_ca_certificate,
        plan_ocsp_certificate,
        plan_tsa_certificate,
    )

    config, org = bench_ca_identity(crl_urls)
    ca_key = open_key(ca_uri)
    ca = issue_certificate(
        plan_ca_certificate(org, ca_key.public_key_info, config, ca_key, not_before=now),
        ca_key,
        serial=1,
        self_signed=True,
    )
    (base / "ca.pem").write_bytes(ca.pem())
    plan_service = {"ocsp": plan_ocsp_certificate, "tsa": plan_tsa_certificate}[profile]
    for name, spki in services:
        plan = plan_service(org, spki, config, ca_key, not_before=now)
        cert = issue_certificate(plan, ca_key, serial=random.getrandbits(120), issuer=ca)
        (base / f"{name}.pem").write_bytes(cert.pem())
    return ca


def print_load(when: str) -> None:
    """The machine's load average (1, 5, 15 min): the figures of a shared machine need it."""
    one, five, fifteen = os.getloadavg()
    print(f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)")


def print_result(
    bench: str, figure: str, value: float, goal: float | None, *, digits: int = 3
) -> None:
    """The line the bench harness collects: ``RESULT <bench> <figure>=<value> goal=<goal>``
    (``goal=none`` for a figure printed to explain the others, with no goal of its own)."""
    print(f"RESULT {bench} {figure}={value:.{digits}f} goal={'none' if goal is None else goal}")
