"""A token that goes away and comes back (real SoftHSM, in a child process with its own token
directory): signing fails readably while it is gone, then works again without reopening the
key: the token keeps the PIN it logged in with (only a PIN the token *refused* is forgotten)
and the module is initialised anew, which SoftHSM needs before it sees the token again."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from atlas_ca import gost
from support.atlas_testing import init_softhsm_token

pytestmark = pytest.mark.softhsm

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from atlas_ca.algorithms import KeyType
    from atlas_ca.errors import HsmError
    from atlas_ca.hsm.pkcs11 import REINIT_INTERVAL, open_pkcs11_key, open_token

    uri, tokens, pin = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    open_token(uri).generate_key(KeyType.GOST3410_2012_256, label="k")
    key = open_pkcs11_key(uri.replace("token=", "object=k;token=", 1))
    out = {"spki": key.public_key_info.hex(), "before": key.sign(b"before").hex()}
    # The token goes away: every session closes, its store disappears.
    key.token.module.lib.closeAllSessions(key.token.slot)
    away = tokens.with_name("tokens-away")
    tokens.rename(away)
    tokens.mkdir()
    try:
        key.sign(b"away")
        out["away"] = "signed"
    except HsmError as exc:
        out["away"] = type(exc).__name__
        out["away_message"] = str(exc) + repr(exc)
    tokens.rmdir()
    away.rename(tokens)  # ... and comes back
    time.sleep(REINIT_INTERVAL)
    out["after"] = key.sign(b"after").hex()
    out["reprs"] = repr(key) + repr(key.token) + repr(key.token.module)
    print(json.dumps(out))
    """
)


def test_a_token_that_comes_back_signs_again_with_the_pin_kept(tmp_path: Path) -> None:
    token = init_softhsm_token(tmp_path, "comes-back", user_pin="pin-741852")
    env = {"SOFTHSM2_CONF": str(token.conf), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, token.uri(), str(tmp_path / "tokens"), token.user_pin],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    pub = gost.GostPublicKey.from_spki_der(bytes.fromhex(out["spki"]))
    assert gost.verify(pub, b"before", bytes.fromhex(out["before"]))
    # While the token is gone: a specific HSM error, not a crash; the PIN is in no message.
    assert out["away"] == "Pkcs11Failure", out
    assert "CKR_GENERAL_ERROR" in out["away_message"]
    assert "no PIN given" not in out["away_message"]
    # Back: the same key object signs again (before the fix: "no PIN given" for good).
    assert gost.verify(pub, b"after", bytes.fromhex(out["after"]))
    for text in (out["away_message"], out["reprs"], proc.stderr.decode()):
        assert token.user_pin not in text
