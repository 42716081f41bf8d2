"""``atlas-ca init``: create a CA — its key (on the token, or a software key for tests), its
certificate by the ``ca`` profile (self-signed root) or a CSR for a head CA, and the register."""

from __future__ import annotations

import json
from pathlib import Path

import click

from atlas_ca.algorithms import KeyType
from atlas_ca.cli.config import (
    Workspace,
    config_option,
    json_option,
    keep_ca_certificate,
    load_config,
    pin_from_environment,
)
from atlas_ca.cli.errors import handle_errors
from atlas_ca.domain import identifiers as ids
from atlas_ca.errors import InvalidInput
from atlas_ca.hsm import open_key
from atlas_ca.hsm.base import SigningKey
from atlas_ca.hsm.pkcs11 import open_token
from atlas_ca.hsm.software import generate_software_key
from atlas_ca.hsm.uri import FileKeyUri, Pkcs11Uri, read_pin_source
from atlas_ca.profiles.issue import Address, Organisation, issue_certificate, plan_ca_certificate
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.services.files import PUBLIC_FILE, write_file
from atlas_ca.x509.certificate import random_serial
from atlas_ca.x509.csr import CsrBuilder

_TYPES = {"gost2012-256": KeyType.GOST3410_2012_256, "gost2012-512": KeyType.GOST3410_2012_512}


def _generate(uri: str, key_type: KeyType, param_set: str | None) -> None:
    """Generate the key ``uri`` names: on its token (pkcs11:) or as an encrypted file (file:)."""
    if uri.startswith("pkcs11:"):
        parsed = Pkcs11Uri.parse(uri)
        if not parsed.object:
            raise InvalidInput("name the new key with object=<label> in the pkcs11: URI")
        token = open_token(parsed, pin=pin_from_environment())
        token.generate_key(key_type, label=parsed.object, key_id=parsed.id, param_set=param_set)
        return
    parsed_file = FileKeyUri.parse(uri)
    password = pin_from_environment() or (
        read_pin_source(parsed_file.pin_source) if parsed_file.pin_source else None
    )
    if not password:
        raise InvalidInput("a software key needs a password: pin-source in the URI or ATLAS_CA_PIN")
    generate_software_key(parsed_file.path, key_type, password=password, param_set=param_set)


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
    ws = Workspace(config)  # sets SOFTHSM2_CONF / the module before any token is opened
    try:
        uri = key_uri or config.require_key_uri()
        if generate:
            _generate(uri, _TYPES[key_type], param_set)
        key: SigningKey = open_key(uri, pin=pin_from_environment())
        organisation = Organisation(
            name=org_name,
            ogrn=ids.Ogrn(ogrn),
            inn=ids.InnLegal(inn),
            address=Address(region, locality, street),
            common_name=common_name,
            email=email,
        )
        profile = config.ca_config()
        now = ws.now().replace(microsecond=0)
        plan = plan_ca_certificate(organisation, key.public_key_info, profile, key, not_before=now)
        if csr_out is not None:
            csr = CsrBuilder().subject_name(plan.subject).add_extensions(plan.extensions)
            write_file(csr_out, csr.sign(key).pem(), mode=PUBLIC_FILE, overwrite=force)
            result = {"csr": str(csr_out)}
        else:
            root = issue_certificate(plan, key, serial=random_serial(), self_signed=True)
            target = out_path or config.require_certificate()
            if target.exists():
                raise InvalidInput(f"{target} exists; a CA certificate is never overwritten")
            # public: relying parties and the web server (AIA) read it
            write_file(target, root.pem(), mode=PUBLIC_FILE)
            ca = CertificateAuthority(key, root, profile)
            keep_ca_certificate(ws.register, root, ca.issuer_id, now)
            result = {
                "certificate": str(target),
                "serial": format(root.serial_number, "x"),
                "issuer_id": ca.issuer_id.value,
            }
        ws.register  # noqa: B018 - create (and migrate) the register now
        ws.records  # noqa: B018 - and the record store next to it
        result["register"] = config.register
    finally:
        ws.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for name, value in result.items():
        click.echo(f"{name}: {value}")


__all__ = ["init"]
