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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from atlas_ca.cli.config import (
    Workspace,
    config_option,
    json_option,
    load_config,
    pin_from_environment,
)
from atlas_ca.cli.errors import handle_errors
from atlas_ca.domain import identifiers as ids
from atlas_ca.domain.authorities import (
    Authority,
    AuthorityBasis,
    HeadPerEgrul,
    PowerOfAttorney,
    verify_authority,
)
from atlas_ca.domain.authorities import revoke as revoke_authority
from atlas_ca.domain.identity_ports import CheckResult, EgrulRecord
from atlas_ca.domain.ids import AuthorityId, OfficeId, RegistrarId, SubscriberId
from atlas_ca.domain.registrars import Office, OfficeKind, Registrar
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    IdentificationMethod,
    IdentityData,
    IdentityField,
    IndividualData,
    OrganisationData,
    PersonName,
    Subscriber,
    SubscriberKind,
    is_verified,
    register,
)
from atlas_ca.domain.verification import (
    FIELD_SOURCES,
    apply_check,
    complete_verification,
    confirm_with_egrul,
    enter_data,
)
from atlas_ca.errors import InvalidInput
from atlas_ca.hsm import open_key
from atlas_ca.limits import InputKind, read_input
from atlas_ca.services.attestation import attest_verification
from atlas_ca.services.files import PRIVATE_FILE, write_file
from atlas_ca.storage.ports import RecordKind, get_record
from atlas_ca.x509.certificate import Certificate

_KINDS = {
    "individual": SubscriberKind.INDIVIDUAL,
    "entrepreneur": SubscriberKind.ENTREPRENEUR,
    "organisation": SubscriberKind.ORGANISATION,
}
_METHODS = {m.name.lower().replace("_", "-"): m for m in IdentificationMethod}


def read_json(path: Path) -> Any:
    """JSON from ``path`` (``-``: stdin); InvalidInput when it is not JSON."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _date(data: dict[str, Any], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(data[key]))
    except KeyError:
        raise InvalidInput(f"the data lacks {key!r}") from None
    except ValueError:
        raise InvalidInput(f"{key}: not a date YYYY-MM-DD") from None


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"the data lacks the text field {key!r}")
    return value


def identity_data(kind: SubscriberKind, data: Any) -> IdentityData:
    """Typed stage-1 data from the parsed JSON document (see the module docstring)."""
    if not isinstance(data, dict):
        raise InvalidInput("the data file must hold a JSON object")
    if kind is SubscriberKind.ORGANISATION:
        return OrganisationData(ids.InnLegal(_text(data, "inn")), ids.Kpp(_text(data, "kpp")))
    passport = data.get("passport")
    if not isinstance(passport, dict):
        raise InvalidInput("the data lacks the 'passport' object")
    person = IndividualData(
        name=PersonName(
            _text(data, "surname"), _text(data, "given_name"), data.get("patronymic") or None
        ),
        birth_date=_date(data, "birth_date"),
        passport=ids.Passport(
            _text(passport, "series"),
            _text(passport, "number"),
            _date(passport, "issued"),
            _text(passport, "issuer_code"),
        ),
        inn=ids.InnPerson(_text(data, "inn")),
        snils=ids.Snils(_text(data, "snils")),
    )
    if kind is SubscriberKind.ENTREPRENEUR:
        return EntrepreneurData(person, ids.Ogrnip(_text(data, "ogrnip")))
    return person


def _summary(sub: Subscriber) -> dict[str, object]:
    """What ``show`` prints: identifiers and statuses, personal data masked (R21)."""
    return {
        "id": sub.id.value,
        "kind": sub.kind.name.lower(),
        "phone": str(sub.phone) if sub.phone else None,
        "stage": sub.stage.value,
        "verified": is_verified(sub),
        "fields": {f.value: sub.status(f).value for f in sub.required},
        "data": None if sub.data is None else repr(sub.data),
        "identified_by": None if sub.identification is None else sub.identification.registrar.value,
    }


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
@click.option("--kind", type=click.Choice(sorted(_KINDS)), default="individual", show_default=True)
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
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        sid = SubscriberId(subscriber_id)
        if ws.records.find(RecordKind.SUBSCRIBER, sid.value) is not None:
            raise InvalidInput(f"subscriber {sid} already exists")
        sub = register(sid, _KINDS[kind], ids.MobilePhone(phone), at=now)
        if data_path is not None:
            sub = enter_data(sub, identity_data(sub.kind, read_json(data_path)), at=now)
        ws.records.put(RecordKind.SUBSCRIBER, sid.value, sub, at=now)
    finally:
        ws.close()
    _echo(_summary(sub), as_json)


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
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        seen: set[str] = set()
        parsed: list[Subscriber] = []
        show = not as_json and sys.stderr.isatty()
        bar = click.progressbar(lines, label="checking", file=sys.stderr)
        with bar if show else contextlib.nullcontext(bar):
            for number, line in enumerate(bar if show else lines, start=1):
                try:
                    item = json.loads(line)
                    if not isinstance(item, dict):
                        raise InvalidInput("not a JSON object")
                    sid = SubscriberId(str(item.get("id")))
                    if sid.value in seen or ws.records.find(RecordKind.SUBSCRIBER, sid.value):
                        raise InvalidInput(f"subscriber {sid} already exists")
                    kind = _KINDS.get(str(item.get("kind", "individual")))
                    if kind is None:
                        raise InvalidInput(f"unknown kind {item.get('kind')!r}")
                    sub = register(sid, kind, ids.MobilePhone(str(item.get("phone"))), at=now)
                    if item.get("data") is not None:
                        sub = enter_data(sub, identity_data(kind, item["data"]), at=now)
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"{jsonl}:{number}: not valid JSON ({exc.msg})") from None
                except InvalidInput as exc:
                    raise InvalidInput(f"{jsonl}:{number}: {exc}") from exc
                seen.add(sid.value)
                parsed.append(sub)
        for sub in parsed:
            ws.records.put(RecordKind.SUBSCRIBER, sub.id.value, sub, at=now)
    finally:
        ws.close()
    if as_json:
        click.echo(json.dumps({"imported": [s.id.value for s in parsed]}))
    else:
        click.echo(f"imported {len(parsed)} subscriber(s)")


@dataclass(frozen=True, slots=True)
class EgrulExtract:
    """An ЕГРЮЛ extract the operator obtained, as the :class:`EgrulRegistry` port."""

    record: EgrulRecord

    def find(self, inn: ids.InnLegal) -> EgrulRecord | None:
        return self.record if self.record.inn == inn else None


def egrul_extract(data: Any) -> EgrulExtract:
    """``{"inn", "kpp", "ogrn", "full_name", "active"}`` from an ЕГРЮЛ extract."""
    if not isinstance(data, dict):
        raise InvalidInput("the ЕГРЮЛ extract must be a JSON object")
    return EgrulExtract(
        EgrulRecord(
            inn=ids.InnLegal(_text(data, "inn")),
            kpp=ids.Kpp(_text(data, "kpp")),
            ogrn=ids.Ogrn(_text(data, "ogrn")),
            full_name=_text(data, "full_name"),
            active=bool(data.get("active", True)),
        )
    )


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
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        sub = get_record(ws.records, RecordKind.SUBSCRIBER, subscriber_id, Subscriber)
        if egrul_path is not None:
            sub = confirm_with_egrul(sub, egrul_extract(read_json(egrul_path)), at=now)
        elif answers_path is not None:
            sub = _apply_answers(sub, read_json(answers_path), now)
        ws.records.put(RecordKind.SUBSCRIBER, sub.id.value, sub, at=now)
    finally:
        ws.close()
    _echo(_summary(sub), as_json)


def _apply_answers(sub: Subscriber, answers: Any, now: dt.datetime) -> Subscriber:
    if not isinstance(answers, list):
        raise InvalidInput("the answers file must hold a JSON list")
    for answer in answers:
        if not isinstance(answer, dict):
            raise InvalidInput("each answer is a JSON object")
        try:
            field = IdentityField(str(answer.get("field")))
        except ValueError:
            raise InvalidInput(f"unknown field {answer.get('field')!r}") from None
        result = CheckResult(
            FIELD_SOURCES[field], bool(answer.get("confirmed")), answer.get("reason")
        )
        sub = apply_check(sub, field, result, at=now)
    return sub


@subscriber.command("verify")
@click.argument("subscriber_id")
@click.option("--registrar", "registrar_id", required=True, help="The verifying registrar.")
@click.option(
    "--method",
    type=click.Choice(sorted(_METHODS)),
    default="personal-presence",
    show_default=True,
    help="identificationKind (Order 795).",
)
@click.option("--attest-key", help="Registrar's key URI: sign the verified record (R5).")
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
    attest_key: str | None,
    attest_out: Path | None,
    force: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """A registrar completes the verification after every check passed (R2 stage 2, R5).

    With --attest-key, the registrar signs the verified record as GOST CMS (detached).

    \b
    Examples:
      atlas-ca subscriber verify sub-0002 --registrar reg-0001
      atlas-ca subscriber verify sub-0002 --registrar reg-0001 \\
          --attest-key 'pkcs11:token=REG;object=reg-1?pin-source=file:reg.pin' --attest-out att/
    """
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        sub = get_record(ws.records, RecordKind.SUBSCRIBER, subscriber_id, Subscriber)
        registrar = get_record(ws.records, RecordKind.REGISTRAR, registrar_id, Registrar)
        sub = complete_verification(sub, registrar, _METHODS[method], at=now)
        files: dict[str, str] = {}
        if attest_key is not None:
            key = open_key(attest_key, pin=pin_from_environment())
            attestation = attest_verification(sub, registrar, key, at=now)
            target = attest_out or Path(".")
            record, signature = (
                target / f"{sub.id}.record.der",
                target / f"{sub.id}.record.p7s",
            )
            # the record is the verified personal data (152-ФЗ): 0600 in a 0700 directory
            write_file(record, attestation.record_der, mode=PRIVATE_FILE, overwrite=force)
            write_file(signature, attestation.signature_der, mode=PRIVATE_FILE, overwrite=force)
            files = {"record": str(record), "attestation": str(signature)}
        ws.records.put(RecordKind.SUBSCRIBER, sub.id.value, sub, at=now)
    finally:
        ws.close()
    summary = _summary(sub)
    summary.update(files)
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
    ws = Workspace(load_config(config_path))
    try:
        sub = get_record(ws.records, RecordKind.SUBSCRIBER, subscriber_id, Subscriber)
        summary = _summary(sub)
        summary["certificates"] = {
            format(r.serial, "x"): r.status.value for r in ws.register.certificates_of(sub.id)
        }
    finally:
        ws.close()
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
    certificate = (
        None
        if cert_path is None
        else Certificate.load(read_input(cert_path, InputKind.CERTIFICATE)).der
    )
    office = Office(
        OfficeId(office_id),
        office_name,
        OfficeKind.AGENT if agent_inn else OfficeKind.OWN,
        ids.InnLegal(agent_inn) if agent_inn else None,
    )
    reg = Registrar(
        id=RegistrarId(registrar_id),
        name=PersonName(surname, given_name),
        office=office,
        signing_certificate=certificate,
        person=SubscriberId(person) if person else None,
    )
    ws = Workspace(load_config(config_path))
    try:
        ws.records.put(RecordKind.REGISTRAR, reg.id.value, reg, at=ws.now())
    finally:
        ws.close()
    _echo(
        {
            "id": reg.id.value,
            "office": office.id.value,
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
    organisation = ids.InnLegal(org_inn)
    basis: AuthorityBasis
    if (head_since is None) == (poa_number is None):
        raise InvalidInput("give exactly one basis: --head-since DATE or --poa NUMBER")
    if head_since is not None:
        basis = HeadPerEgrul(_date({"d": head_since}, "d"))
    else:
        if poa_issued is None or poa_number is None:
            raise InvalidInput("a МЧД needs --poa-issued")
        basis = PowerOfAttorney(poa_number, organisation, _date({"d": poa_issued}, "d"))
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        get_record(ws.records, RecordKind.SUBSCRIBER, person, Subscriber)
        reg = get_record(ws.records, RecordKind.REGISTRAR, registrar_id, Registrar)
        found = Authority(
            id=AuthorityId(authority_id),
            person=SubscriberId(person),
            organisation=organisation,
            position=position,
            basis=basis,
            valid_from=_moment(valid_from),
            valid_until=_moment(valid_until) if valid_until else None,
        )
        found = verify_authority(found, reg, at=now)
        ws.records.put(RecordKind.AUTHORITY, found.id.value, found, at=now)
    finally:
        ws.close()
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
    ws = Workspace(load_config(config_path))
    try:
        now = ws.now()
        found = get_record(ws.records, RecordKind.AUTHORITY, authority_id, Authority)
        found = revoke_authority(found, at=now, reason=reason)
        ws.records.put(RecordKind.AUTHORITY, found.id.value, found, at=now)
    finally:
        ws.close()
    revoked = found.revoked_at.isoformat() if found.revoked_at else None
    _echo({"id": found.id.value, "revoked_at": revoked}, as_json)


__all__ = ["authority", "identity_data", "read_json", "registrar", "subscriber"]
