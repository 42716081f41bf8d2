"""Token lookup under concurrency (issue 15 item 7): SoftHSM reads its token directory when the
module is initialised, and 2 of 24 ``crl publish`` started together failed with "no token with
label". The lookup now tries again, briefly and a bounded number of times; several tokens
matching is still an immediate error."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from support import hsm_workers
from support.atlas_testing import missing, softhsm_module_path

pytestmark = [pytest.mark.softhsm]


def _fresh_conf(base: Path) -> Path:
    tokens = base / "tokens"
    tokens.mkdir(parents=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    return conf


def test_a_token_written_by_another_process_while_looking_is_found(tmp_path: Path) -> None:
    module = softhsm_module_path()
    if module is None:
        missing("SoftHSM built with GOST (run scripts/bootstrap.sh)")
        return
    conf = _fresh_conf(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    looker = ctx.Process(
        target=hsm_workers.report_look_up, args=(str(conf), str(module), "late", results)
    )
    looker.start()
    result = results.get(timeout=300)
    looker.join(60)
    assert "late" not in result["before"]  # the lookup started before the token existed
    assert result.get("found") == "late", result.get("error")


def test_init_token_refuses_empty_pins_and_needs_a_free_slot(tmp_path: Path) -> None:
    from atlas_ca.errors import PinSourceError
    from atlas_ca.hsm.pkcs11 import Pkcs11Module

    module = softhsm_module_path()
    if module is None:
        missing("SoftHSM built with GOST (run scripts/bootstrap.sh)")
        return
    with pytest.raises(PinSourceError):
        Pkcs11Module.load(str(module)).init_token("x", so_pin="", user_pin="1234")


def test_the_key_uris_module_path_wins_over_the_environment() -> None:
    from atlas_ca.errors import ModuleNotFound
    from atlas_ca.hsm.pkcs11 import module_for
    from atlas_ca.hsm.uri import Pkcs11Uri

    with_path = Pkcs11Uri.parse("pkcs11:token=CA;object=k?module-path=/opt/hsm/lib.so")
    without = Pkcs11Uri.parse("pkcs11:token=CA;object=k")
    env = {"ATLAS_CA_PKCS11_MODULE": "/usr/lib/other.so"}
    path, source = module_for(with_path, env)
    assert path == "/opt/hsm/lib.so"
    assert "wins over ATLAS_CA_PKCS11_MODULE" in source
    assert module_for(with_path, {}) == ("/opt/hsm/lib.so", "module-path of the key URI")
    path, source = module_for(without, env)
    assert (path, "no module-path" in source) == ("/usr/lib/other.so", True)
    with pytest.raises(ModuleNotFound, match="no module-path"):
        module_for(without, {})
