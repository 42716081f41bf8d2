"""``atlas-ca renew --request FILE``: remote renewal (R20) over :mod:`atlas_ca.services.renewal`.

Two runs, as for ``issue`` (R7): the first checks the signed request completely (signature,
the signer's path with revocation, same subscriber, unchanged data, renewal line, new key) and
sends the one-time code; the second, with ``--otp CODE``, issues.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import click

from atlas_ca.cli.certificates import (
    DEFAULT_SIGN_TOOL,
    NO_CHALLENGE,
    RESOLVE_GRACE,
    ConsoleSmsGateway,
)
from atlas_ca.cli.config import Workspace, config_option, json_option, open_workspace
from atlas_ca.cli.errors import handle_errors
from atlas_ca.domain.orders import Order
from atlas_ca.domain.otp import OtpChallenge, send_challenge
from atlas_ca.domain.subscribers import Subscriber
from atlas_ca.errors import InvalidInput
from atlas_ca.services.issuance import OtpConfirmation
from atlas_ca.services.renewal import RenewalRequest, RenewalService, renewal_binding
from atlas_ca.storage.ports import RecordKind, get_record, serial_text
from atlas_ca.trust import PathValidator
from atlas_ca.trust.store import SUFFIXES, TrustStore, read_objects

_FILE = click.Path(dir_okay=False, path_type=Path)


def published_crls(directory: Path) -> list[bytes]:
    """The CRLs in the CA's publication directory (full and delta, PEM or DER)."""
    if not directory.is_dir():
        return []
    crls: list[bytes] = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            crls.extend(read_objects(path)[1])
    return crls


def renewal_service(
    ws: Workspace, trust_store: Path | None, crl_files: tuple[Path, ...]
) -> RenewalService:
    """The renewal service of the workspace's CA: trust anchors are the CA's own certificate
    and the trust store's; CRLs are the CA's published ones, the store's and ``crl_files``."""
    store = TrustStore((ws.ca.certificate.der,))
    if trust_store is not None:
        store = store.merged(TrustStore.from_directory(trust_store))
    crls = [*published_crls(ws.config.crl_dir), *store.crls]
    for f in crl_files:
        crls.extend(read_objects(f)[1])
    validator = PathValidator(store.anchors, intermediates=store.certificates, crls=crls)
    return RenewalService(
        issuance=ws.issuance(), validator=validator, register=ws.register, clock=ws.clock
    )


@click.command("renew")
@click.option(
    "--request",
    "request_path",
    required=True,
    type=_FILE,
    help="The signed renewal request: CMS (CAdES-BES) carrying the new CSR.",
)
@click.option("--order", "order_id", required=True, help="A paid order with a renewal line.")
@click.option(
    "--subscriber",
    "subscriber_id",
    help="Subscriber id (default: the one the signer's certificate was issued to).",
)
@click.option("--profile", default="individual", show_default=True, help="Certificate profile.")
@click.option("--otp", "otp_code", help="The one-time code from the SMS (second run).")
@click.option("--sign-tool", default=DEFAULT_SIGN_TOOL, show_default=True, help="subjectSignTool.")
@click.option(
    "--trust-store",
    type=click.Path(file_okay=False, path_type=Path),
    help="Extra trust anchors (head CA roots), cross-certificates and CRLs.",
)
@click.option(
    "--crl",
    "crl_files",
    multiple=True,
    type=_FILE,
    help="More CRLs (the CA's published ones are always used).",
)
@click.option("--out", "out_path", type=_FILE)
@config_option
@json_option
@handle_errors
def renew(
    request_path: Path,
    order_id: str,
    subscriber_id: str | None,
    profile: str,
    otp_code: str | None,
    sign_tool: str,
    trust_store: Path | None,
    crl_files: tuple[Path, ...],
    out_path: Path | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Renew a qualified certificate remotely from a request signed with the current key (R20).

    \b
    Examples:
      atlas-ca renew --request renewal.p7m --order ord-0007
      atlas-ca renew --request renewal.p7m --order ord-0007 --otp 123456 --out new.pem
    """
    signed = request_path.read_bytes()
    ws = open_workspace(config_path)
    try:
        service = renewal_service(ws, trust_store, crl_files)
        records = ws.records
        if subscriber_id is None:
            found = service.signer_subscriber(signed)
            if found is None:
                raise InvalidInput(
                    "the request's signer is not a certificate of this CA: give --subscriber"
                )
            subscriber_id = found.value
        subscriber = get_record(records, RecordKind.SUBSCRIBER, subscriber_id, Subscriber)
        order = get_record(records, RecordKind.ORDER, order_id, Order)
        binding = renewal_binding(signed, order, profile)
        pending = f"pending-renew-{binding.digest().hex()[:40]}"

        def request(confirmation: OtpConfirmation) -> RenewalRequest:
            return RenewalRequest(
                signed_request=signed,
                subscriber=subscriber,
                order=order,
                confirmation=confirmation,
                profile=profile,
                subject_sign_tool=sign_tool,
            )

        if otp_code is None:
            checked = service.check(request(OtpConfirmation(NO_CHALLENGE, "")))
            if subscriber.phone is None:
                raise InvalidInput(f"subscriber {subscriber.id} has no phone for the code (R1)")
            challenge = send_challenge(
                ConsoleSmsGateway(), subscriber.phone, subscriber.id, binding,
                now=ws.now(), random_bytes=secrets.token_bytes,
            )  # fmt: skip
            ws.challenges().save(challenge)
            records.put(RecordKind.CHALLENGE, pending, challenge, at=ws.now())
            message = (
                f"signer {checked.signer.label} is valid and is subscriber {subscriber.id}; "
                "one-time code sent; run the same command again with --otp CODE"
            )
            click.echo(
                json.dumps({"sent": True, "challenge": challenge.id.value}) if as_json else message
            )
            return
        sent = get_record(records, RecordKind.CHALLENGE, pending, OtpChallenge)
        ws.issuance().resolve_open_intents(older_than=RESOLVE_GRACE)
        result = service.renew(request(OtpConfirmation(sent.id, otp_code)))
    finally:
        ws.close()
    pem = result.certificate.pem()
    if out_path is not None:
        out_path.write_bytes(pem)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "serial": serial_text(result.record.serial),
                    "subscriber": result.record.subscriber.value,
                    "order": order_id,
                    "file": str(out_path) if out_path else None,
                },
                ensure_ascii=False,
            )
        )
    elif out_path is None:
        click.echo(pem.decode("ascii"), nl=False)
    else:
        click.echo(f"renewed: issued {serial_text(result.record.serial)} to {out_path}")


__all__ = ["published_crls", "renew", "renewal_service"]
