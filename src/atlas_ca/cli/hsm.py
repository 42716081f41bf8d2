"""``atlas-ca hsm info|keys|generate``: tokens, their GOST mechanisms, keys, key generation.

PINs come from the URI's ``pin-source`` (``file:`` or ``env:``) or ``ATLAS_CA_PIN``; they are
never command arguments and never printed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

from atlas_ca.algorithms import KeyType
from atlas_ca.cli.config import (
    config_option,
    json_option,
    load_config,
    pin_from_environment,
    prepare_hsm_environment,
)
from atlas_ca.cli.errors import handle_errors
from atlas_ca.errors import ModuleNotFound
from atlas_ca.hsm.mechanisms import mechanism_name
from atlas_ca.hsm.pkcs11 import Pkcs11Module, open_token


@dataclass(frozen=True, slots=True)
class TokenReport:
    slot: int
    label: str
    serial: str
    manufacturer: str
    model: str
    gost_mechanisms: tuple[str, ...]
    mechanism_count: int
    user_pin_locked: bool


def module_path(explicit: str | None, config_path: Path | None) -> str:
    """The PKCS#11 module: ``--module``, the configuration, ATLAS_CA_PKCS11_MODULE, or
    ATLAS_CA_SOFTHSM_MODULE (in that order)."""
    config = load_config(config_path)
    prepare_hsm_environment(config)
    path = (
        explicit
        or config.hsm_module
        or os.environ.get("ATLAS_CA_PKCS11_MODULE")
        or os.environ.get("ATLAS_CA_SOFTHSM_MODULE")
    )
    if not path:
        raise ModuleNotFound(
            "no PKCS#11 module: pass --module, set [hsm] module or ATLAS_CA_PKCS11_MODULE"
        )
    return path


def token_reports(path: str) -> list[TokenReport]:
    """Every token of the module with its GOST mechanisms (no login needed)."""
    module = Pkcs11Module.load(path)
    out = []
    for slot in module.slots():
        info = module.token_info(slot)
        token = module.token(slot_id=slot)
        names = sorted(mechanism_name(n) for n in token.mechanisms)
        out.append(
            TokenReport(
                slot,
                info.label,
                info.serial,
                info.manufacturer,
                info.model,
                tuple(n for n in names if "GOST" in n),
                len(names),
                info.user_pin_locked,
            )
        )
    return out


@click.group("hsm")
def hsm() -> None:
    """Tokens and keys of a PKCS#11 module (HSM, token, SoftHSM)."""


@hsm.command("info")
@click.option("--module", "module", help="Path of the PKCS#11 library.")
@config_option
@json_option
@handle_errors
def hsm_info(module: str | None, config_path: Path | None, as_json: bool) -> None:
    """List the tokens of the module and the GOST mechanisms each one offers.

    \b
    Examples:
      atlas-ca hsm info --module /usr/lib/softhsm/libsofthsm2.so
      atlas-ca hsm info --config /etc/atlas-ca/atlas-ca.toml --json
    """
    path = module_path(module, config_path)
    reports = token_reports(path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "module": path,
                    "tokens": [
                        {
                            "slot": r.slot,
                            "label": r.label,
                            "serial": r.serial,
                            "manufacturer": r.manufacturer,
                            "model": r.model,
                            "gost_mechanisms": list(r.gost_mechanisms),
                            "mechanisms": r.mechanism_count,
                            "user_pin_locked": r.user_pin_locked,
                        }
                        for r in reports
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"module {path}: {len(reports)} token(s)")
    for r in reports:
        click.echo(
            f"  slot {r.slot}: {r.label!r} serial {r.serial} ({r.manufacturer} {r.model}), "
            f"{r.mechanism_count} mechanisms" + (", USER PIN LOCKED" if r.user_pin_locked else "")
        )
        gost = ", ".join(r.gost_mechanisms) if r.gost_mechanisms else "none (no GOST support)"
        click.echo(f"    GOST: {gost}")


@hsm.command("keys")
@click.option("--uri", required=True, help="pkcs11: URI of the token (with pin-source).")
@config_option
@json_option
@handle_errors
def hsm_keys(uri: str, config_path: Path | None, as_json: bool) -> None:
    """List the private keys on a token (logs in with the URI's pin-source or ATLAS_CA_PIN).

    \b
    Examples:
      atlas-ca hsm keys --uri 'pkcs11:token=CA?module-path=/usr/lib/...&pin-source=file:ca.pin'
    """
    prepare_hsm_environment(load_config(config_path))
    token = open_token(uri, pin=pin_from_environment())
    keys = token.list_keys()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "label": k.label,
                        "id": k.id.hex(),
                        "type": k.key_type.value if k.key_type else None,
                        "uri": k.uri.masked(),
                    }
                    for k in keys
                ],
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"token {token.label!r}: {len(keys)} private key(s)")
    for k in keys:
        kind = k.key_type.value if k.key_type else "unknown type"
        click.echo(f"  {k.label!r} id {k.id.hex()} ({kind})  {k.uri.masked()}")


_TYPES = {t.value: t for t in KeyType if not t.read_only}


@hsm.command("generate")
@click.option("--uri", required=True, help="pkcs11: URI of the token (with pin-source).")
@click.option("--label", required=True, help="CKA_LABEL of the new key pair.")
@click.option(
    "--type",
    "key_type",
    type=click.Choice(sorted(_TYPES)),
    default=KeyType.GOST3410_2012_256.value,
    show_default=True,
)
@click.option("--param-set", help="GOST curve (default cryptopro-a for 256, tc26-512-a for 512).")
@config_option
@json_option
@handle_errors
def hsm_generate(
    uri: str,
    label: str,
    key_type: str,
    param_set: str | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Generate a key pair on the token (private key sensitive, never extractable).

    Prints the key's URI (without the PIN) for the configuration's [ca] key_uri.

    \b
    Examples:
      atlas-ca hsm generate --uri 'pkcs11:token=CA?pin-source=file:ca.pin' --label ca-2026
      atlas-ca hsm generate --uri '...' --label reg-1 --type gost2012-256 --param-set cryptopro-a
    """
    prepare_hsm_environment(load_config(config_path))
    token = open_token(uri, pin=pin_from_environment())
    key = token.generate_key(_TYPES[key_type], label=label, param_set=param_set)
    masked = key.uri.masked()
    if as_json:
        click.echo(json.dumps({"label": key.label, "id": key.key_id.hex(), "uri": masked}))
        return
    click.echo(f"generated {key_type} key {label!r} on token {token.label!r}: {masked}")


__all__ = ["hsm", "module_path", "token_reports"]
