"""``atlas-ca init``: create a CA — its key (on the token, or a software key for tests), its
certificate by the ``ca`` profile (self-signed root) or a CSR for a head CA, and the register."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import click

from atlas_ca.cli.config import (
    Workspace,
    config_option,
    json_option,
    load_config,
    pin_from_environment,
)
from atlas_ca.cli.errors import handle_errors
from atlas_ca.domain import identifiers
from atlas_ca.profiles.planning import Address, Organisation
from atlas_ca.services.ca_setup import CA_KEY_TYPES, CaSetupService

_TYPES = CA_KEY_TYPES


@click.command("init")
@click.option("--key-uri", help="CA key (pkcs11: or file:); default: [ca] key_uri.")
@click.option("--generate", is_flag=True, help="Generate the key the URI names first.")
@click.option("--key-type", type=click.Choice(sorted(_TYPES)), default="gost2012-256")
@click.option("--param-set", help="GOST curve for --generate (default cryptopro-a).")
@click.option("--name", "org_name", required=True, help='organizationName, e.g. АО "Сервер-Центр".')
@click.option("--common-name", help="commonName (default: --name).")
@click.option("--ogrn", required=True, help="ОГРН of the CA's organisation.")
@click.option("--inn", required=True, help="ИНН of the CA's organisation (10 digits).")
@click.option("--region", required=True, help="stateOrProvinceName, e.g. '25 Приморский край'.")
@click.option("--locality", required=True, help="localityName.")
@click.option("--street", required=True, help="streetAddress.")
@click.option("--email", default=None, help="emailAddress.")
@click.option(
    "--subordinate",
    "csr_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a CSR for the head CA here instead of a self-signed root.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Certificate file (default: [ca] certificate).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing --subordinate CSR file.")
@config_option
@json_option
@handle_errors
def init(
    key_uri: str | None,
    generate: bool,
    key_type: str,
    param_set: str | None,
    org_name: str,
    common_name: str | None,
    ogrn: str,
    inn: str,
    region: str,
    locality: str,
    street: str,
    email: str | None,
    csr_out: Path | None,
    out_path: Path | None,
    force: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Create a CA: key, certificate by the ca profile (or a CSR), and the register.

    The configuration's [ca.profile] gives the tools, policy classes and URLs. A root is
    self-signed; with --subordinate the CSR goes to the head CA, and the certificate it
    returns is put where [ca] certificate points.

    \b
    Examples:
      atlas-ca init --config ca.toml --generate --name 'АО "Сервер-Центр"' \\
          --ogrn 1022502121476 --inn 2539038819 --region '25 Приморский край'
      atlas-ca init --config ca.toml --subordinate ca.csr --name ... --ogrn ... --inn ...
    """
    config = load_config(config_path)
    # the workspace sets SOFTHSM2_CONF / the module before any token is opened
    with Workspace(config) as ws:
        setup = CaSetupService(clock=ws.clock, random_bytes=secrets.token_bytes)
        uri = key_uri or config.require_key_uri()
        if generate:
            setup.generate_key(
                uri, _TYPES[key_type], pin=pin_from_environment(), param_set=param_set
            )
        key = setup.open_key(uri, pin=pin_from_environment())
        organisation = Organisation(
            name=org_name,
            ogrn=identifiers.Ogrn(ogrn),
            inn=identifiers.InnLegal(inn),
            address=Address(region, locality, street),
            common_name=common_name,
            email=email,
        )
        profile = config.ca_config()
        result: dict[str, str]
        if csr_out is not None:
            setup.request_subordinate(key, organisation, profile, csr_path=csr_out, overwrite=force)
            result = {"csr": str(csr_out)}
        else:
            target = out_path or config.require_certificate()
            root = setup.create_root(
                key, organisation, profile, register=ws.register, certificate_path=target
            )
            result = {
                "certificate": str(target),
                "serial": format(root.certificate.serial_number, "x"),
                "issuer_id": root.issuer_id.value,
            }
        ws.register  # noqa: B018 - create (and migrate) the register now
        ws.records  # noqa: B018 - and the record store next to it
        result["register"] = config.register
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for name, value in result.items():
        click.echo(f"{name}: {value}")


__all__ = ["init"]
