"""Threads share one logged-in token through the session pool; a forked child re-initialises."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from atlas_ca import gost
from atlas_ca.algorithms import KeyType
from atlas_ca.hsm import open_key
from atlas_ca.hsm.pkcs11 import Pkcs11Key, Pkcs11Token, open_token

pytestmark = pytest.mark.softhsm

THREADS = 4
PER_THREAD = 25


@pytest.fixture(scope="module")
def key(softhsm: Any) -> Pkcs11Key:
    token = open_token(softhsm.uri())
    return token.generate_key(KeyType.GOST3410_2012_256, label="hsm-test-threads")


def test_four_threads_sign_on_one_key_and_every_signature_verifies(key: Pkcs11Key) -> None:
    results: list[tuple[bytes, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                data = f"thread {n} message {i}".encode()
                sig = key.sign(data)
                with lock:
                    results.append((data, sig))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == THREADS * PER_THREAD
    pub = gost.GostPublicKey.from_spki_der(key.public_key_info)
    assert all(gost.verify(pub, data, sig) for data, sig in results)
    token: Pkcs11Token = key.token
    assert token._open <= token.config.max_sessions


def test_a_bounded_pool_makes_threads_wait_instead_of_failing(softhsm: Any) -> None:
    from atlas_ca.hsm.pkcs11 import Pkcs11Module, Pkcs11Token, TokenConfig

    module = Pkcs11Module.load(str(softhsm.module))
    shared = module.token(label=softhsm.label)
    narrow = Pkcs11Token(module, shared.info, TokenConfig(max_sessions=1))
    narrow.login(softhsm.user_pin)
    k = narrow.key(label="hsm-test-threads")
    out: list[bytes] = []

    def work() -> None:
        for _ in range(5):
            out.append(k.sign(b"narrow"))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 15
    assert narrow._open == 1
    narrow.close()


def test_a_forked_child_reinitialises_the_module_and_signs(key: Pkcs11Key, softhsm: Any) -> None:
    pub = gost.GostPublicKey.from_spki_der(key.public_key_info)
    assert gost.verify(pub, b"parent", key.sign(b"parent"))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report a signature through the pipe, never run pytest code
        code = 1
        try:
            os.close(read_fd)
            generation_before = key.token.module.generation
            child_key = open_key(softhsm.uri(object="hsm-test-threads"))
            sig = key.sign(b"child") + child_key.sign(b"child")
            reinitialised = key.token.module.generation == generation_before + 1
            os.write(write_fd, sig + (b"R" if reinitialised else b"-"))
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(payload) == 129
    assert payload[128:] == b"R"  # the child ran C_Finalize + C_Initialize once
    assert gost.verify(pub, b"child", payload[:64])
    assert gost.verify(pub, b"child", payload[64:128])
    # The parent's sessions are untouched by the child's C_Finalize/C_Initialize.
    assert gost.verify(pub, b"parent again", key.sign(b"parent again"))
