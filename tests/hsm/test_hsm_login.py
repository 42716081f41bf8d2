"""Login on a fresh SoftHSM token, in a child process (login state is per process): a bad PIN,
the retry counter, and what SoftHSM 2.6.1 really does after many wrong PINs (it does not lock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.softhsm

SCRIPT = r"""
import json, sys
from atlas_ca.errors import AtlasCaError
from atlas_ca.hsm.pkcs11 import Pkcs11Module, open_token
from atlas_ca.hsm.uri import Pkcs11Uri

uri, right = sys.argv[1], sys.argv[2]
import dataclasses
bare = str(dataclasses.replace(Pkcs11Uri.parse(uri), pin_source=None))
assert "pin-source" not in bare
out = {}

def attempt(pin):
    try:
        open_token(bare, pin=pin)
        return ["ok", "", ""]
    except AtlasCaError as exc:
        return [type(exc).__name__, str(exc), repr(exc)]

out["no_pin"] = attempt(None)
out["bad"] = attempt("0000")
out["more_bad"] = [attempt(f"99{i:02d}")[0] for i in range(15)]
module = Pkcs11Module.load(Pkcs11Uri.parse(uri).module_path)
token = module.token(label=Pkcs11Uri.parse(uri).token)
info = module.token_info(token.slot)
out["locked_flag"] = info.user_pin_locked
out["count_low_flag"] = info.user_pin_count_low
out["right"] = attempt(right)
print(json.dumps(out))
"""


def test_bad_pins_are_refused_readably_and_softhsm_never_locks(tmp_path: Path) -> None:
    from support.atlas_testing import init_softhsm_token

    fresh: Any = init_softhsm_token(tmp_path, "fresh-login", user_pin="246810")
    env = dict(os.environ, SOFTHSM2_CONF=str(fresh.conf))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, fresh.uri(), fresh.user_pin],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    kind, message, rep = out["no_pin"]
    assert kind == "PinIncorrect"
    assert "no PIN given" in message
    kind, message, rep = out["bad"]
    assert kind == "PinIncorrect"
    assert message.startswith("C_Login on slot ")
    assert "(token 'fresh-login')" in message
    assert "CKR_PIN_INCORRECT (0xA0)" in message
    for text in (message, rep):
        assert "0000" not in text
        assert "246810" not in text
    # Fact of SoftHSM 2.6.1: sixteen wrong PINs in a row never lock the user PIN; it only raises
    # CKF_USER_PIN_COUNT_LOW. (A token that locks answers CKR_PIN_LOCKED -> PinLocked, see
    # test_ckr_codes_map_to_readable_errors_naming_call_slot_and_token.)
    assert out["more_bad"] == ["PinIncorrect"] * 15
    assert out["locked_flag"] is False
    assert out["count_low_flag"] is True
    assert out["right"] == ["ok", "", ""]
