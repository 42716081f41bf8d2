"""``atlas-ca renew --request FILE``: remote renewal (R20) over :mod:`atlas_ca.services.renewal`.

Two runs, as for ``issue`` (R7): the first checks the signed request completely (signature,
the signer's path with revocation, same subscriber, unchanged data, renewal line, new key) and
sends the one-time code; the second, with ``--otp CODE``, issues.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from atlas_ca.cli.certificates import ConsoleSmsGateway
from atlas_ca.cli.config import config_option, json_option, open_workspace
from atlas_ca.cli.errors import handle_errors
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.services.certificates import DEFAULT_SIGN_TOOL
from atlas_ca.services.renewal import RenewalApplication
from atlas_ca.storage.ports import serial_text

_FILE = click.Path(dir_okay=False, path_type=Path)


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
    application = RenewalApplication(
        signed_request=request_path.read_bytes(),
        order=OrderId(order_id),
        subscriber=None if subscriber_id is None else SubscriberId(subscriber_id),
        profile=profile,
        subject_sign_tool=sign_tool,
    )
    with open_workspace(config_path, sms=ConsoleSmsGateway()) as ws:
        flow = ws.renewal(trust_store=trust_store, crl_files=crl_files)
        if otp_code is None:
            sent = flow.send_code(application)
            message = (
                f"signer {sent.signer} is valid and is subscriber {sent.subscriber}; "
                "one-time code sent; run the same command again with --otp CODE"
            )
            click.echo(
                json.dumps({"sent": True, "challenge": sent.challenge.value})
                if as_json
                else message
            )
            return
        result = flow.renew(application, otp_code)
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


__all__ = ["renew"]
