"""The identity side for operators and registrars: ``subscriber add|check|verify|show``,
``registrar add``, ``authority add|revoke`` — thin commands over :mod:`atlas_ca.domain`
(R1–R5), persisted in the record store next to the register.

Personal data is read from a JSON file (``--data FILE``, ``-`` for stdin), never from command
arguments (they are visible to every user of the machine in the process list), and is printed
only masked (R21).

Data file of an individual (ФЛ)::

    {"surname": "Смирнова", "given_name": "Мария", "patronymic": "Ивановна",
     "birth_date": "1985-04-12",
     "passport": {"series": "0512", "number": "000022", "issued": "2010-06-01",
                  "issuer_code": "250-001"},
     "inn": "250000002284", "snils": "122-000-022 45"}

An entrepreneur (ИП) adds ``"ogrnip"``; an organisation (ЮЛ) is ``{"inn": ..., "kpp": ...}``.
Registry answers for ``subscriber check`` (what СМЭВ returned)::

    [{"field": "passport", "confirmed": true}, {"field": "inn", "confirmed": false,
      "reason": "ФНС: ИНН не найден"}]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from atlas_ca.cli.config import Workspace, config_option, json_option, load_config
from atlas_ca.cli.errors import handle_errors
from atlas_ca.errors import InvalidInput
from atlas_ca.limits import InputKind, read_input
from atlas_ca.services.files import PRIVATE_FILE, FileExists, write_file
from atlas_ca.services.identity import (
    KINDS,
    METHODS,
    authority_basis,
    new_registrar,
    parse_date,
    subscriber_summary,
)


def read_json(path: Path) -> Any:
    """JSON from ``path`` (``-``: stdin); InvalidInput when it is not JSON."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _echo(data: dict[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        click.echo(f"{key}: {value}")


# --- subscriber ---------------------------------------------------------------------------------


@click.group("subscriber")
def subscriber() -> None:
    """Subscribers of the digital profile (R1–R3, R5)."""


@subscriber.command("add")
@click.argument("subscriber_id")
@click.option("--kind", type=click.Choice(sorted(KINDS)), default="individual", show_default=True)
@click.option("--phone", required=True, help="Mobile phone: +7 and ten digits (R1).")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@json_option
@handle_errors
def subscriber_add(
    subscriber_id: str,
    kind: str,
    phone: str,
    data_path: Path | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Register a subscriber with a phone (R1) and, with --data, the entered data (R2 stage 1).

    \b
    Examples:
      atlas-ca subscriber add sub-0002 --phone +79241234567 --data person.json
      atlas-ca subscriber add org-0001 --kind organisation --phone +79240000000 --data org.json
    """
    data = None if data_path is None else read_json(data_path)
    with Workspace(load_config(config_path)) as ws:
        sub = ws.add_subscriber(subscriber_id, phone=phone, kind=KINDS[kind], data=data)
    _echo(subscriber_summary(sub), as_json)


@subscriber.command("import")
@click.argument("jsonl", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@json_option
@handle_errors
def subscriber_import(jsonl: Path, config_path: Path | None, as_json: bool) -> None:
    """Register many subscribers from a JSON Lines file (bulk import; R1, R2 stage 1).

    Each line: {"id": ..., "kind": "individual", "phone": "+7...", "data": {...}} with
    "data" as for ``subscriber add --data``. Every line is checked before anything is written;
    the first bad line is named and nothing is imported.

    \b
    Examples:
      atlas-ca subscriber import people.jsonl --config ca.toml
    """
    lines = [line for line in jsonl.read_text().splitlines() if line.strip()]
    items: list[Any] = []
    show = not as_json and sys.stderr.isatty()
    bar = click.progressbar(lines, label="checking", file=sys.stderr)
    with bar if show else contextlib.nullcontext(bar):
        for number, line in enumerate(bar if show else lines, start=1):
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{jsonl}:{number}: not valid JSON ({exc.msg})") from None
    ws = Workspace(load_config(config_path))
    try:  # every line is checked before any is written (the service's all-or-none)
        parsed = ws.import_subscribers(items)
    except InvalidInput as exc:
        raise InvalidInput(f"{jsonl}:{exc.context.get('item', '?')}: {exc}") from exc
    finally:
        ws.close()
    if as_json:
        click.echo(json.dumps({"imported": [s.id.value for s in parsed]}))
    else:
        click.echo(f"imported {len(parsed)} subscriber(s)")


@subscriber.command("check")
@click.argument("subscriber_id")
@click.option(
    "--answers",
    "answers_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON list of the registries' answers (СМЭВ), for a person.",
)
@click.option(
    "--egrul",
    "egrul_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="ЕГРЮЛ extract (JSON), for an organisation.",
)
@config_option
@json_option
@handle_errors
def subscriber_check(
    subscriber_id: str,
    answers_path: Path | None,
    egrul_path: Path | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Record the government registries' answers for the entered fields (R2, R5).

    A person's fields are confirmed by МВД, ФНС, СФР (and ЕГРИП for an ИП): --answers.
    An organisation's ИНН and КПП by ЕГРЮЛ: --egrul, which also records its ОГРН and name.

    \b
    Examples:
      atlas-ca subscriber check sub-0002 --answers smev.json
      atlas-ca subscriber check org-0001 --egrul egrul.json
    """
    if (answers_path is None) == (egrul_path is None):
        raise InvalidInput("give exactly one of --answers FILE or --egrul FILE")
    document = read_json(egrul_path if egrul_path is not None else answers_path)  # type: ignore[arg-type]
    with Workspace(load_config(config_path)) as ws:
        if egrul_path is not None:
            sub = ws.confirm_with_egrul(subscriber_id, document)
        else:
            sub = ws.record_checks(subscriber_id, document)
    _echo(subscriber_summary(sub), as_json)


@subscriber.command("verify")
@click.argument("subscriber_id")
@click.option("--registrar", "registrar_id", required=True, help="The verifying registrar.")
@click.option(
    "--method",
    type=click.Choice(sorted(METHODS)),
    default="personal-presence",
    show_default=True,
    help="identificationKind (Order 795).",
)
@click.option(
    "--attest-key",
    required=True,
    help="Registrar's key URI: signs the verified record; no verification without it (R5).",
)
@click.option(
    "--attest-out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for <id>.record.der and <id>.record.p7s (0600; created 0700).",
)
@click.option("--force", is_flag=True, help="Overwrite existing --attest-out files.")
@config_option
@json_option
@handle_errors
def subscriber_verify(
    subscriber_id: str,
    registrar_id: str,
    method: str,
    attest_key: str,
    attest_out: Path | None,
    force: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """A registrar completes the verification after every check passed and signs the
    verified record with their key as GOST CMS, detached (R2 stage 2, R5): there is no
    verification without the registrar's signature on the verified data.

    \b
    Examples:
      atlas-ca subscriber verify sub-0002 --registrar reg-0001 \\
          --attest-key 'pkcs11:token=REG;object=reg-1?pin-source=file:reg.pin' --attest-out att/
    """
    target = attest_out or Path(".")
    record = target / f"{subscriber_id}.record.der"
    signature = target / f"{subscriber_id}.record.p7s"
    for path in (record, signature):
        if not force and path.exists():  # before anything is verified or signed
            raise FileExists(
                f"{path} exists; nothing was verified (use --force to overwrite it)",
                path=str(path),
            )
    with Workspace(load_config(config_path)) as ws:
        done = ws.verify_subscriber(
            subscriber_id, registrar=registrar_id, key=attest_key, method=METHODS[method]
        )
    # the record is the verified personal data (152-ФЗ): 0600 in a 0700 directory
    write_file(record, done.attestation.record_der, mode=PRIVATE_FILE, overwrite=force)
    write_file(signature, done.attestation.signature_der, mode=PRIVATE_FILE, overwrite=force)
    summary = subscriber_summary(done.subscriber)
    summary.update({"record": str(record), "attestation": str(signature)})
    _echo(summary, as_json)


@subscriber.command("show")
@click.argument("subscriber_id")
@config_option
@json_option
@handle_errors
def subscriber_show(subscriber_id: str, config_path: Path | None, as_json: bool) -> None:
    """Show a subscriber: stage, field statuses, masked data, certificates.

    \b
    Examples:
      atlas-ca subscriber show sub-0001 --json
    """
    with Workspace(load_config(config_path)) as ws:
        summary = subscriber_summary(ws.subscriber(subscriber_id))
        summary["certificates"] = {
            format(r.serial, "x"): r.status.value for r in ws.certificates_of(subscriber_id)
        }
    _echo(summary, as_json)


# --- registrar ----------------------------------------------------------------------------------


@click.group("registrar")
def registrar() -> None:
    """Registrars of the network (R2, R5, R19)."""


@registrar.command("add")
@click.argument("registrar_id")
@click.option("--surname", required=True)
@click.option("--given-name", required=True)
@click.option("--office", "office_id", required=True, help="Office id.")
@click.option("--office-name", required=True, help="Office name (address).")
@click.option("--agent-inn", help="ИНН of the agent's legal entity (an agent's point).")
@click.option(
    "--certificate",
    "cert_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The registrar's signing certificate (PEM or DER), needed to verify (R5).",
)
@click.option("--person", help="The registrar's own subscriber id (never verifies themselves).")
@config_option
@json_option
@handle_errors
def registrar_add(
    registrar_id: str,
    surname: str,
    given_name: str,
    office_id: str,
    office_name: str,
    agent_inn: str | None,
    cert_path: Path | None,
    person: str | None,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Add (or replace) a registrar with their office and signing certificate.

    \b
    Examples:
      atlas-ca registrar add reg-0002 --surname Петрова --given-name Анна \\
          --office office-vl --office-name 'Владивосток, офис' --certificate reg.pem
    """
    certificate = None if cert_path is None else read_input(cert_path, InputKind.CERTIFICATE)
    reg = new_registrar(
        registrar_id,
        surname=surname,
        given_name=given_name,
        office_id=office_id,
        office_name=office_name,
        agent_inn=agent_inn,
        certificate=certificate,
        person=person,
    )
    with Workspace(load_config(config_path)) as ws:
        ws.add_registrar(reg)
    _echo(
        {
            "id": reg.id.value,
            "office": reg.office.id.value,
            "can_verify": reg.can_verify,
            "certificate": certificate is not None,
        },
        as_json,
    )


# --- authority ----------------------------------------------------------------------------------


@click.group("authority")
def authority() -> None:
    """Authorities of persons to act for organisations (R4)."""


def _moment(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@authority.command("add")
@click.argument("authority_id")
@click.option("--person", required=True, help="Subscriber id of the person.")
@click.option("--organisation", "org_inn", required=True, help="ИНН of the organisation.")
@click.option("--position", required=True, help="Должность.")
@click.option("--head-since", help="Basis: head per ЕГРЮЛ, confirmed on DATE.")
@click.option("--poa", "poa_number", help="Basis: МЧД number (UUID).")
@click.option("--poa-issued", help="МЧД issue date.")
@click.option("--valid-from", required=True, help="ISO 8601.")
@click.option("--valid-until", help="ISO 8601 (required for a МЧД).")
@click.option("--registrar", "registrar_id", required=True, help="The verifying registrar.")
@config_option
@json_option
@handle_errors
def authority_add(
    authority_id: str,
    person: str,
    org_inn: str,
    position: str,
    head_since: str | None,
    poa_number: str | None,
    poa_issued: str | None,
    valid_from: str,
    valid_until: str | None,
    registrar_id: str,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Record an authority verified by a registrar (R4).

    \b
    Examples:
      atlas-ca authority add auth-1 --person sub-0002 --organisation 2536161885 \\
          --position 'Генеральный директор' --head-since 2026-01-10 \\
          --valid-from 2026-01-10 --registrar reg-0001
    """
    basis = authority_basis(
        org_inn,
        head_since=None if head_since is None else parse_date(head_since, "--head-since"),
        poa_number=poa_number,
        poa_issued=None if poa_issued is None else parse_date(poa_issued, "--poa-issued"),
    )
    with Workspace(load_config(config_path)) as ws:
        found = ws.add_authority(
            authority_id,
            person=person,
            organisation=org_inn,
            position=position,
            basis=basis,
            valid_from=_moment(valid_from),
            valid_until=_moment(valid_until) if valid_until else None,
            registrar=registrar_id,
        )
    _echo({"id": found.id.value, "person": person, "verified_by": registrar_id}, as_json)


@authority.command("revoke")
@click.argument("authority_id")
@click.option("--reason", required=True, help="Why (e.g. the МЧД was revoked).")
@config_option
@json_option
@handle_errors
def authority_revoke(
    authority_id: str, reason: str, config_path: Path | None, as_json: bool
) -> None:
    """Revoke an authority (R4); certificates naming the organisation are no longer issued.

    \b
    Examples:
      atlas-ca authority revoke auth-1 --reason 'МЧД отозвана доверителем'
    """
    with Workspace(load_config(config_path)) as ws:
        found = ws.revoke_authority(authority_id, reason)
    revoked = found.revoked_at.isoformat() if found.revoked_at else None
    _echo({"id": found.id.value, "revoked_at": revoked}, as_json)


__all__ = ["authority", "read_json", "registrar", "subscriber"]
