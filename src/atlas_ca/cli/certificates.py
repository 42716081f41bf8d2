"""``atlas-ca issue``, ``revoke``, ``suspend``, ``resume`` and ``crl publish``: thin commands
over :mod:`atlas_ca.services` (issuance, revocation, CRL publication).

Issuing takes two runs, as the one-time code does (R7): the first run sends the code to the
subscriber's phone and stores the challenge; the second, with ``--otp CODE``, issues. Only the
console SMS gateway exists in this package: it prints the message (phone masked) on stderr.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from atlas_ca.cli.config import Workspace, config_option, json_option, open_workspace
from atlas_ca.cli.config import operator_actor as _actor
from atlas_ca.cli.errors import handle_errors, shown
from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.domain.ids import OrderId, SubscriberId
from atlas_ca.errors import InvalidInput, RecordNotFound
from atlas_ca.limits import InputKind, read_input
from atlas_ca.profiles.planning import Address
from atlas_ca.services.certificates import (
    DEFAULT_SIGN_TOOL,
    NO_CHALLENGE,
    RESOLVE_GRACE,
    CertificateApplication,
    CertificateService,
    CertificateStatusService,
    OrganisationRef,
    StatusAction,
    StatusRequester,
    SubscriberCode,
)
from atlas_ca.services.files import PRIVATE_FILE, FileExists, write_file
from atlas_ca.services.revocation import ByOperator
from atlas_ca.storage import CertificateRecord, RevocationReason
from atlas_ca.storage.ports import serial_text

_I = TypeVar("_I", SubscriberId, OrderId)


class ConsoleSmsGateway:
    """Prints the SMS on stderr instead of sending it (demos, tests, a desk with no gateway)."""

    def send(self, phone: MobilePhone, text: str) -> None:
        click.echo(f"[console SMS gateway] to {phone}: {text}", err=True)


def _id(kind: Callable[[str], _I], text: str) -> _I:
    """An id from the command line; one that cannot be an id names no record either."""
    try:
        return kind(text)
    except InvalidInput:
        what = "subscriber" if kind is SubscriberId else "order"
        raise RecordNotFound(f"no {what} {text!r} in the register", kind=what, key=text) from None


def _certificates(ws: Workspace) -> CertificateService:
    return CertificateService(
        issuance=ws.issuance(),
        records=ws.records,
        challenges=ws.challenges(),
        gateway=ConsoleSmsGateway(),
        clock=ws.clock,
        random_bytes=secrets.token_bytes,
    )


def _statuses(ws: Workspace) -> CertificateStatusService:
    return CertificateStatusService(
        revocation=ws.revocation(),
        records=ws.records,
        challenges=ws.challenges(),
        gateway=ConsoleSmsGateway(),
        clock=ws.clock,
        random_bytes=secrets.token_bytes,
    )


def parse_serial(text: str) -> int:
    """A serial in hex (``0x`` and colons allowed)."""
    cleaned = text.strip().lower().removeprefix("0x").replace(":", "").lstrip("0")
    if len(cleaned) > 40:  # RFC 5280 §4.1.2.2: at most 20 octets
        raise InvalidInput(
            f"{shown(text)} is not a serial number: at most 20 octets (40 hex digits)"
        )
    try:
        value = int(cleaned or "0", 16)
    except ValueError:
        raise InvalidInput(f"{shown(text)} is not a hexadecimal serial number") from None
    if value <= 0:
        raise InvalidInput("a serial number is positive")
    return value


def _record_json(record: CertificateRecord) -> dict[str, object]:
    return {
        "serial": serial_text(record.serial),
        "issuer": record.issuer.value,
        "subscriber": record.subscriber.value,
        "profile": record.profile.value,
        "status": record.status.value,
        "not_before": record.not_before.isoformat(),
        "not_after": record.not_after.isoformat(),
    }


def _workspace(config_path: Path | None) -> Workspace:
    return open_workspace(config_path)


@click.command("issue")
@click.option("--csr", "csr_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--subscriber", "subscriber_id", required=True, help="Subscriber id (verified).")
@click.option("--profile", default="individual", show_default=True, help="Certificate profile.")
@click.option("--order", "order_id", required=True, help="A paid order naming the subscriber.")
@click.option("--otp", "otp_code", help="The one-time code from the SMS (second run).")
@click.option("--sign-tool", default=DEFAULT_SIGN_TOOL, show_default=True, help="subjectSignTool.")
@click.option(
    "--organisation",
    "organisation_id",
    help="legal-entity profile: the verified organisation (subscriber id) the person acts for.",
)
@click.option("--org-region", help="Organisation's stateOrProvinceName (legal-entity).")
@click.option("--org-locality", help="Organisation's localityName (legal-entity).")
@click.option("--org-street", help="Organisation's streetAddress (legal-entity).")
@click.option("--title", help="The person's title in the organisation (default: the authority's).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Certificate file (0600: it holds personal data); an existing file needs --force.",
)
@click.option("--force", is_flag=True, help="Overwrite the --out file if it exists.")
@config_option
@json_option
@handle_errors
def issue(
    csr_path: Path,
    subscriber_id: str,
    profile: str,
    order_id: str,
    otp_code: str | None,
    sign_tool: str,
    organisation_id: str | None,
    org_region: str | None,
    org_locality: str | None,
    org_street: str | None,
    title: str | None,
    out_path: Path | None,
    force: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Issue a qualified certificate from a CSR for a verified subscriber and a paid order.

    Without --otp, a one-time code bound to this CSR, order and profile is sent to the
    subscriber's phone (R7); run the command again with --otp CODE to issue. The certificate
    (PEM) goes to --out, or to stdout.

    \b
    Examples:
      atlas-ca issue --csr req.pem --subscriber sub-0001 --order ord-0001
      atlas-ca issue --csr req.pem --subscriber sub-0001 --order ord-0001 --otp 123456 \\
          --out cert.pem
      atlas-ca issue --csr req.pem --subscriber sub-0001 --order ord-0001 \\
          --profile legal-entity --organisation org-0001 --org-region '25 Приморский край' \\
          --org-locality 'г. Владивосток' --org-street 'ул. Алеутская, д. 11'
    """
    if out_path is not None and not force and out_path.exists():  # before a code is spent
        raise FileExists(
            f"{out_path} exists; nothing was issued (use --force to overwrite it)",
            path=str(out_path),
        )
    csr = read_input(csr_path, InputKind.CERTIFICATION_REQUEST)
    application = CertificateApplication(
        csr=csr,
        subscriber=_id(SubscriberId, subscriber_id),
        order=_id(OrderId, order_id),
        profile=profile,
        subject_sign_tool=sign_tool,
        organisation=None
        if organisation_id is None
        else OrganisationRef(
            _id(SubscriberId, organisation_id), Address(org_region, org_locality, org_street)
        ),
        title=title,
    )
    with _workspace(config_path) as ws:
        service = _certificates(ws)
        if otp_code is None:
            sent = service.send_code(application)
            message = "one-time code sent; run the same command again with --otp CODE"
            data = {"sent": True, "challenge": sent.challenge.value}
            click.echo(json.dumps(data) if as_json else message)
            return
        result = service.issue(application, otp_code)
    pem = result.certificate.pem()
    if out_path is not None:
        write_file(out_path, pem, mode=PRIVATE_FILE, overwrite=force)
    if as_json:
        data = _record_json(result.record)
        data["warnings"] = list(result.warnings)
        data["file"] = str(out_path) if out_path else None
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if out_path is None:
        click.echo(pem.decode("ascii"), nl=False)
    else:
        click.echo(f"issued {serial_text(result.record.serial)} to {out_path}")


_REASONS = {r.name.lower().replace("_", "-"): r for r in RevocationReason}


def _status_command(action: str) -> click.Command:
    @click.argument("serial")
    @click.option("--operator", "operator", help="Operator account id (default: $USER).")
    @click.option(
        "--by-subscriber",
        "subscriber_id",
        help="The certificate's own subscriber asks; confirmed by a one-time code (R7).",
    )
    @click.option("--otp", "otp_code", help="The one-time code from the SMS (second run).")
    @config_option
    @json_option
    @handle_errors
    def command(
        serial: str,
        operator: str | None,
        subscriber_id: str | None,
        otp_code: str | None,
        config_path: Path | None,
        as_json: bool,
        **kw: str,
    ) -> None:
        if otp_code is not None and subscriber_id is None:
            raise click.UsageError("--otp confirms a subscriber's request: give --by-subscriber")
        if operator is not None and subscriber_id is not None:
            raise click.UsageError("--operator and --by-subscriber exclude each other")
        number = parse_serial(serial)
        kind = StatusAction(action)
        reason = _REASONS[kw["reason"]] if action == "revoke" else None
        with _workspace(config_path) as ws:
            service = _statuses(ws)
            by: StatusRequester
            if subscriber_id is None:
                by = ByOperator(_actor(operator))
            else:
                person = _id(SubscriberId, subscriber_id)
                if otp_code is None:
                    sent = service.send_code(kind, number, person, reason=reason)
                    message = "one-time code sent; run the same command again with --otp CODE"
                    data = {"sent": True, "challenge": sent.challenge.value}
                    click.echo(json.dumps(data) if as_json else message)
                    return
                by = SubscriberCode(person, otp_code)
            record = service.change(
                kind, number, by=by, reason=reason or RevocationReason.UNSPECIFIED
            )
        if as_json:
            click.echo(json.dumps(_record_json(record), ensure_ascii=False))
        else:
            click.echo(f"{serial_text(record.serial)}: {record.status.value}")

    doc = {
        "revoke": "Revoke a certificate (final); the next CRL lists it.\n\n"
        "\b\nExamples:\n  atlas-ca revoke 5ec3d50f0124a18d --reason key-compromise\n"
        "  atlas-ca revoke 5ec3d50f0124a18d --by-subscriber sub-0001 --reason superseded\n"
        "  atlas-ca revoke 5ec3d50f0124a18d --by-subscriber sub-0001 --reason superseded"
        " --otp 123456",
        "suspend": "Suspend a certificate (certificateHold, 63-ФЗ art. 14).\n\n"
        "\b\nExamples:\n  atlas-ca suspend 5ec3d50f0124a18d\n"
        "  atlas-ca suspend 5ec3d50f0124a18d --by-subscriber sub-0001 --otp 123456",
        "resume": "Lift a suspension (removeFromCRL in the next delta CRL).\n\n"
        "\b\nExamples:\n  atlas-ca resume 5ec3d50f0124a18d",
    }[action]
    command.__doc__ = (
        doc + "\n\nSERIAL is hexadecimal. The operator is recorded in the audit log. With "
        "--by-subscriber ID the certificate's own subscriber asks: the first run sends a "
        "one-time code to their phone (R7), the same command with --otp CODE confirms it; "
        "a subscriber may not give the CA's reasons (ca-compromise, privilege-withdrawn, ...)."
    )
    if action == "revoke":
        command = click.option(
            "--reason",
            type=click.Choice(sorted(_REASONS)),
            default="unspecified",
            show_default=True,
        )(command)
    return click.command(action)(command)


revoke = _status_command("revoke")
suspend = _status_command("suspend")
resume = _status_command("resume")


@click.group("crl")
def crl() -> None:
    """Certificate revocation lists."""


@crl.command("publish")
@click.option("--delta", is_flag=True, help="A delta CRL since the latest full CRL.")
@click.option(
    "--partition",
    type=int,
    default=None,
    help="Only this CRL partition (a CA with [ca.profile.crl_partitions]; default: all).",
)
@click.option("--operator", "operator", help="Operator account id (default: $USER).")
@config_option
@json_option
@handle_errors
def crl_publish(
    delta: bool, partition: int | None, operator: str | None, config_path: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Publish the CA's full (or delta) CRL into the configured directory; of a CA with
    partitioned CRLs, every partition's (or one with --partition).

    \b
    Examples:
      atlas-ca crl publish
      atlas-ca crl publish --delta --json
      atlas-ca crl publish --partition 3 --delta
    """
    steps = ("number", "sign", "verify", "write", "record")
    show = not as_json and sys.stderr.isatty()  # a bar only for a person at a terminal
    with _workspace(config_path) as ws:
        publisher = ws.crl_publisher(
            _actor(operator), on_step=(lambda _step: bar.update(1)) if show else None
        )
        count = publisher.partitions
        everyone = count is not None and partition is None
        parts: list[int | None] = list(range(count or 0)) if everyone else [partition]
        bar = click.progressbar(
            length=len(steps) * len(parts),
            label="publishing the CRL",
            file=sys.stderr,
            show_eta=False,
        )
        with bar if show else contextlib.nullcontext(bar):
            published = [
                publisher.publish_delta(p) if delta else publisher.publish_full(p) for p in parts
            ]
    data = [
        {
            "number": one.number,
            "base_number": one.base_number,
            "this_update": one.this_update.isoformat(),
            "next_update": one.next_update.isoformat(),
            "entries": one.entries,
            "path": str(one.path),
            "size": one.size,
            **({} if one.partition is None else {"partition": one.partition}),
        }
        for one in published
    ]
    if as_json:
        # one CRL: its object, as before partitions; a partitioned CA: a list, per partition
        click.echo(json.dumps(data if count is not None else data[0]))
        return
    for one in published:
        kind = f"delta CRL (base {one.base_number})" if delta else "CRL"
        where = "" if one.partition is None else f"partition {one.partition}: "
        click.echo(
            f"{where}{kind} {one.number}: {one.entries} entries, next update "
            f"{one.next_update.isoformat()}, written to {one.path}"
        )


__all__ = [
    "DEFAULT_SIGN_TOOL",
    "NO_CHALLENGE",
    "RESOLVE_GRACE",
    "ConsoleSmsGateway",
    "crl",
    "issue",
    "parse_serial",
    "resume",
    "revoke",
    "suspend",
]
