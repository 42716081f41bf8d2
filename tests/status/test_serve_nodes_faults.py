"""Several responder nodes on one PostgreSQL register, and the environment failing under them:
the register going away (tryLater, then normal service) and the token removed and put back.

Bounded loops on 127.0.0.1 only; the register's connection runs through a TCP relay the test
can cut, and the token the servers use is a copy of the session's token in a directory of its
own, so taking it away touches nothing else."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from asn1crypto import ocsp as asn1_ocsp
from psycopg import sql

from atlas_ca.status.ocsp import CertId, CertState, build_request, parse_response
from atlas_ca.status.process import ServerProcess, free_port, http_get, http_post
from support.atlas_testing import missing
from support.status_env import Pki, build_pki, write_serve_config

pytestmark = [pytest.mark.softhsm, pytest.mark.postgres]
PG_ENV = "ATLAS_CA_TEST_PG_DSN"


class Relay:
    """A TCP relay 127.0.0.1:port -> target that the test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """The database 'goes away': no new connections, every open one reset."""
        if self._server is not None:
            with contextlib.suppress(OSError):  # wakes the accepting thread (close alone may not)
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._conns.clear()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[tuple[str, str]]:
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        missing(f"PostgreSQL ({PG_ENV})")
    assert dsn is not None
    name = f"atlas_h13_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    host = str(info.get("host") or "127.0.0.1")
    port = str(info.get("port") or 5432)
    user = str(info.get("user") or "postgres")
    try:
        yield f"postgresql://{user}@{host}:{port}/{name}", name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def pki(softhsm: Any, tmp_path_factory: pytest.TempPathFactory, pg_url: tuple[str, str]) -> Pki:
    return build_pki(tmp_path_factory.mktemp("nodes"), softhsm, pg_url[0], "nodes")


def private_token(pki: Pki, softhsm: Any, name: str) -> dict[str, str]:
    """A copy of the session token in its own directory; the environment of a server using it."""
    base = pki.directory / name
    tokens = base / "tokens"
    shutil.copytree(softhsm.conf.parent / "tokens", tokens)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    return dict(os.environ, SOFTHSM2_CONF=str(conf))


def status_of(url: str, pki: Pki, serial: int, nonce: bytes | None = None) -> str:
    der = build_request([CertId.for_serial(pki.ca.certificate, serial)], nonce=nonce)
    _, _, body = http_post(f"{url}/ocsp", der, "application/ocsp-request", timeout=30)
    top = asn1_ocsp.OCSPResponse.load(body)["response_status"].native
    if top != "successful":
        return str(top)
    return parse_response(body, issuer=pki.ca.certificate).responses[0].status.state.value


def test_two_nodes_answer_a_revocation_made_by_a_third_process(
    pki: Pki, pg_url: tuple[str, str], softhsm: Any
) -> None:
    world = pki.world
    target = world.service().issue(world.request()).certificate
    config = write_serve_config(pki)
    env = dict(os.environ, SOFTHSM2_CONF=str(softhsm.conf))
    with (
        ServerProcess(config, workers=2, env=env) as a,
        ServerProcess(config, workers=1, env=env) as b,
    ):
        for url in (a.url, b.url):
            for _ in range(3):  # pre-signed answers cached in every worker
                assert status_of(url, pki, target.serial_number) == "good"
        script = (
            "import datetime as dt, sys\n"
            "from atlas_ca.storage import open_register, RevocationReason\n"
            "from atlas_ca.storage.ports import IssuerKeyId\n"
            "from atlas_ca.audit import Actor\n"
            "now = dt.datetime.now(dt.UTC)\n"
            "r = open_register(sys.argv[1], opened_at=now)\n"
            "r.revoke(IssuerKeyId(sys.argv[2]), int(sys.argv[3]),"
            " reason=RevocationReason.KEY_COMPROMISE, revocation_date=now,"
            " actor=Actor('operator:third'))\n"
            "r.close()\n"
        )
        subprocess.run(
            [sys.executable, "-c", script, pg_url[0], pki.ca.issuer_id.value,
             str(target.serial_number)],
            check=True, timeout=60,
        )  # fmt: skip
        for url in (a.url, b.url):
            for _ in range(3):
                assert status_of(url, pki, target.serial_number) == CertState.REVOKED.value


def test_the_register_going_away_answers_try_later_then_service_resumes(
    pki: Pki, pg_url: tuple[str, str], softhsm: Any
) -> None:
    relay = Relay(("127.0.0.1", int(pg_url[0].rsplit(":", 1)[1].split("/", 1)[0])))
    relay.start()
    through = pg_url[0].replace(
        pg_url[0].split("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{relay.port}"
    )
    config = write_serve_config(pki, register_location=through)
    env = dict(os.environ, SOFTHSM2_CONF=str(softhsm.conf))
    serial = pki.good.serial_number
    with ServerProcess(config, workers=1, env=env) as srv:
        assert status_of(srv.url, pki, serial) == "good"
        relay.cut()
        seen = {status_of(srv.url, pki, serial, nonce=os.urandom(8)) for _ in range(3)}
        assert seen == {"try_later"}
        assert http_get(srv.url + "/health")[0] == 503
        relay.start()
        deadline = time.monotonic() + 30
        answer = "try_later"
        while answer != "good" and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = status_of(srv.url, pki, serial, nonce=os.urandom(8))
        assert answer == "good"
        assert http_get(srv.url + "/health")[0] == 200
    relay.cut()


def test_the_token_removed_answers_try_later_then_service_resumes(pki: Pki, softhsm: Any) -> None:
    env = private_token(pki, softhsm, "token-copy")
    tokens = Path(env["SOFTHSM2_CONF"]).parent / "tokens"
    away = tokens.with_name("tokens-away")
    config = write_serve_config(pki)
    serial = pki.good.serial_number
    with ServerProcess(config, workers=1, env=env) as srv:
        assert status_of(srv.url, pki, serial, nonce=b"12345678") == "good"
        tokens.rename(away)
        tokens.mkdir()
        try:
            seen = {status_of(srv.url, pki, serial, nonce=os.urandom(8)) for _ in range(3)}
            assert seen == {"try_later"}
        finally:
            tokens.rmdir()
            away.rename(tokens)
        deadline = time.monotonic() + 60
        answer = "try_later"
        while answer != "good" and time.monotonic() < deadline:
            time.sleep(0.5)
            with contextlib.suppress(OSError):
                answer = status_of(srv.url, pki, serial, nonce=os.urandom(8))
        assert answer == "good", srv.log()[-3000:]
