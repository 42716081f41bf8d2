"""Identity verification (удостоверение) as immutable state transitions (R2–R6).

The per-subscriber state machine::

    registered ──enter_data──▶ data entered ──government checks──▶ checks passed
        ──complete_verification (an active registrar)──▶ verified

Every transition returns a new :class:`~atlas_ca.domain.subscribers.Subscriber`. Changing
data (a new passport, a new surname) puts only the *changed* fields back to ``entered``; the
others keep their status (R2: verification happens once). Only
:func:`complete_verification` with a registrar that may verify can make a field ``verified``.

For R3 callers use :func:`is_verified` / :func:`require_verified` (re-exported here from
:mod:`atlas_ca.domain.subscribers`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace

from atlas_ca.domain.identifiers import (
    InnLegal,
    InnPerson,
    Kpp,
    MobilePhone,
    Ogrnip,
    Passport,
    Snils,
)
from atlas_ca.domain.identity_ports import (
    CheckResult,
    CheckSource,
    EgrulRegistry,
    GovernmentChecks,
)
from atlas_ca.domain.ids import RegistrarId, SubscriberId
from atlas_ca.domain.otp import (
    Operation,
    OperationBinding,
    OtpVerification,
    bind,
    require_confirmed,
)
from atlas_ca.domain.registrars import Registrar, RegistrarRefused, require_can_verify
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    FieldState,
    FieldStatus,
    IdentificationMethod,
    IdentificationRecord,
    IdentityData,
    IdentityField,
    IndividualData,
    NotVerified,
    OrganisationData,
    PersonName,
    Stage,
    Subscriber,
    SubscriberKind,
    is_verified,
    kind_of_data,
    require_aware,
    require_verified,
)
from atlas_ca.errors import DomainError

__all__ = [
    "FIELD_SOURCES",
    "NotVerified",
    "VerificationRefused",
    "VerifiedRecord",
    "apply_check",
    "change_binding",
    "change_phone",
    "complete_verification",
    "confirm_with_egrul",
    "enter_data",
    "is_verified",
    "phone_binding",
    "require_verified",
    "run_government_checks",
    "verified_fields_changed",
    "verified_record",
]


class VerificationRefused(DomainError):
    """A verification step that the rules of R2/R5 do not allow."""


#: Which registry confirms which field (R2 for ЕГРЮЛ, R5 for the СМЭВ checks).
FIELD_SOURCES: dict[IdentityField, CheckSource] = {
    IdentityField.PERSON: CheckSource.MVD,
    IdentityField.PASSPORT: CheckSource.MVD,
    IdentityField.INN: CheckSource.FNS,
    IdentityField.SNILS: CheckSource.SFR,
    IdentityField.OGRNIP: CheckSource.EGRIP,
    IdentityField.ORG_INN: CheckSource.EGRUL,
    IdentityField.KPP: CheckSource.EGRUL,
}


def _latest_time(sub: Subscriber) -> dt.datetime:
    times = [sub.registered_at, *(s.at for _, s in sub.states if s.at is not None)]
    return max(times)


def _require_not_before(sub: Subscriber, at: dt.datetime) -> None:
    require_aware("at", at)
    latest = _latest_time(sub)
    if at < latest:
        raise VerificationRefused(
            f"subscriber {sub.id}: a step at {at.isoformat()} cannot precede the last recorded "
            f"step at {latest.isoformat()} (R2)",
            rule="R2",
            subscriber=str(sub.id),
        )


def _canonical(value: object) -> str:
    """A stable text form of one field's value, for binding a one-time code to a change."""
    if isinstance(value, tuple):
        name, birth = value
        if isinstance(name, PersonName) and isinstance(birth, dt.date):
            return "\x1f".join(
                (name.surname, name.given_name, name.patronymic or "", birth.isoformat())
            )
    if isinstance(value, Passport):
        return "\x1f".join((value.value, value.issue_date.isoformat(), value.issuer_code))
    if isinstance(value, InnPerson | Snils | Ogrnip | InnLegal | Kpp):
        return value.value
    raise VerificationRefused(f"cannot bind a one-time code to a {type(value).__name__}")


def verified_fields_changed(sub: Subscriber, data: IdentityData) -> tuple[IdentityField, ...]:
    """The fields that are ``verified`` now and that ``data`` would change (R7 needs a code)."""
    old = sub.data.field_values() if sub.data is not None else {}
    new = data.field_values()
    return tuple(
        f
        for f in IdentityField
        if f in new and sub.status(f) is FieldStatus.VERIFIED and old.get(f) != new[f]
    )


def change_binding(sub: Subscriber, data: IdentityData) -> OperationBinding:
    """What the one-time code for changing verified data must be bound to (R7).

    The subscriber, the verified fields that change and a digest of their new values: a code
    sent to confirm a new passport cannot confirm a different passport or another field.
    """
    changed = verified_fields_changed(sub, data)
    new = data.field_values()
    fingerprint = hashlib.sha256(
        "\x1e".join(f"{f.value}={_canonical(new[f])}" for f in changed).encode()
    ).hexdigest()
    return bind(
        Operation.CHANGE_VERIFIED_DATA,
        {
            "subscriber": sub.id.value,
            "fields": ",".join(f.value for f in changed),
            "data": fingerprint,
        },
    )


def enter_data(
    sub: Subscriber,
    data: IdentityData,
    *,
    at: dt.datetime,
    confirmation: OtpVerification | None = None,
) -> Subscriber:
    """Stage 1 of R2: the person enters (or changes) their data.

    A field whose value is new or different goes to ``entered`` (losing any earlier check or
    verification); a field whose value is unchanged keeps its status. For a ЮЛ the
    organisation's ОГРН and name from ЕГРЮЛ are kept when ИНН and КПП are unchanged.

    Changing a *verified* field is a sensitive operation (R7): ``confirmation`` must be an
    accepted one-time code of this subscriber bound to :func:`change_binding` of this change.
    """
    _require_not_before(sub, at)
    if kind_of_data(data) is not sub.kind:
        raise VerificationRefused(
            f"subscriber {sub.id} is a {sub.kind.value}; {type(data).__name__} belongs to "
            f"a {kind_of_data(data).value} (R2)",
            rule="R2",
            subscriber=str(sub.id),
        )
    touched = verified_fields_changed(sub, data)
    if touched:
        names = ", ".join(f.value for f in touched)
        require_confirmed(
            confirmation,
            change_binding(sub, data),
            subscriber=sub.id,
            at=at,
            what=f"changing verified data ({names})",
        )
    old_values = sub.data.field_values() if sub.data is not None else {}
    changes: dict[IdentityField, FieldState] = {}
    for f, value in data.field_values().items():
        if f in old_values and old_values[f] == value and sub.status(f) is not FieldStatus.MISSING:
            continue
        changes[f] = FieldState(FieldStatus.ENTERED, at, "entered by the subscriber")
    old = sub.data
    if (
        isinstance(data, OrganisationData)
        and isinstance(old, OrganisationData)
        and data.ogrn is None
        and data.inn == old.inn
    ):
        # the ЕГРЮЛ details belong to the ИНН, which has not changed
        data = replace(data, ogrn=old.ogrn, full_name=old.full_name)
    return sub.with_states(changes, data=data)


def phone_binding(sub: Subscriber, phone: MobilePhone) -> OperationBinding:
    """What the one-time code for a new phone number is bound to (R1, R7)."""
    return bind(Operation.CHANGE_PHONE, {"subscriber": sub.id.value, "phone": phone.value})


def change_phone(
    sub: Subscriber,
    phone: MobilePhone,
    *,
    at: dt.datetime,
    confirmation: OtpVerification | None,
) -> Subscriber:
    """R1: the mobile phone is the key to the profile; a new one needs a one-time code (R7).

    Send the code to the *new* number (it proves the person holds it) with
    :func:`phone_binding`; the identity fields keep their status.
    """
    _require_not_before(sub, at)
    if not isinstance(phone, MobilePhone):
        raise VerificationRefused("the new phone must be a MobilePhone (R1)", rule="R1")
    require_confirmed(
        confirmation,
        phone_binding(sub, phone),
        subscriber=sub.id,
        at=at,
        what="changing the phone number",
    )
    return replace(sub, phone=phone)


def apply_check(
    sub: Subscriber, f: IdentityField, result: CheckResult, *, at: dt.datetime
) -> Subscriber:
    """Record one registry answer for one field: ``checked`` or ``rejected`` (R5).

    Only an ``entered`` or ``rejected`` field takes a check; a ``checked`` or ``verified``
    field is left as it is (its data has not changed since it was confirmed).
    """
    _require_not_before(sub, at)
    expected = FIELD_SOURCES[f]
    if result.source is not expected:
        raise VerificationRefused(
            f"field {f.value} is confirmed by {expected.value}, not {result.source.value} (R5)",
            rule="R5",
            subscriber=str(sub.id),
        )
    status = sub.status(f)
    if status is FieldStatus.MISSING:
        raise VerificationRefused(
            f"subscriber {sub.id}: field {f.value} has not been entered, nothing to check (R2)",
            rule="R2",
            subscriber=str(sub.id),
        )
    if status in (FieldStatus.CHECKED, FieldStatus.VERIFIED):
        return sub
    if result.confirmed:
        state = FieldState(FieldStatus.CHECKED, at, f"confirmed by {result.source.value}")
    else:
        why = result.reason or "not confirmed"
        state = FieldState(FieldStatus.REJECTED, at, f"{result.source.value}: {why}")
    return sub.with_states({f: state})


def _person(sub: Subscriber) -> IndividualData:
    if isinstance(sub.data, EntrepreneurData):
        return sub.data.person
    if isinstance(sub.data, IndividualData):
        return sub.data
    raise VerificationRefused(
        f"subscriber {sub.id} has no personal data to check (R2)",
        rule="R2",
        subscriber=str(sub.id),
    )


def run_government_checks(
    sub: Subscriber, checks: GovernmentChecks, *, at: dt.datetime
) -> Subscriber:
    """Stage 2 of R2, first half: the СМЭВ checks of R5 for every field awaiting one.

    МВД confirms the passport and the name and birth date in it; ФНС the ИНН; СФР the СНИЛС;
    ЕГРИП the ОГРНИП. A port that cannot answer raises
    :class:`~atlas_ca.domain.identity_ports.RegistryUnavailable`, and nothing is recorded.
    """
    _require_not_before(sub, at)
    if sub.kind is SubscriberKind.ORGANISATION:
        raise VerificationRefused(
            f"subscriber {sub.id} is a ЮЛ: its data is confirmed through ЕГРЮЛ "
            "(confirm_with_egrul), not the СМЭВ checks of a person (R2)",
            rule="R2",
            subscriber=str(sub.id),
        )
    pending = sub.fields_with(FieldStatus.ENTERED, FieldStatus.REJECTED)
    if not pending:
        return sub
    person = _person(sub)
    results: dict[IdentityField, CheckResult] = {}
    if IdentityField.PERSON in pending or IdentityField.PASSPORT in pending:
        mvd = checks.mvd.check_passport(person.name, person.birth_date, person.passport)
        for f in (IdentityField.PERSON, IdentityField.PASSPORT):
            if f in pending:
                results[f] = mvd
    if IdentityField.INN in pending:
        results[IdentityField.INN] = checks.fns.check_inn(
            person.name, person.birth_date, person.passport, person.inn
        )
    if IdentityField.SNILS in pending:
        results[IdentityField.SNILS] = checks.sfr.check_snils(
            person.name, person.birth_date, person.snils
        )
    if IdentityField.OGRNIP in pending and isinstance(sub.data, EntrepreneurData):
        results[IdentityField.OGRNIP] = checks.egrip.check_ogrnip(sub.data.ogrnip, person.inn)
    for f, result in results.items():
        sub = apply_check(sub, f, result, at=at)
    return sub


def confirm_with_egrul(sub: Subscriber, egrul: EgrulRegistry, *, at: dt.datetime) -> Subscriber:
    """R2 stage 1 for a ЮЛ: ИНН and КПП confirmed automatically against ЕГРЮЛ.

    On success both fields become ``checked`` and the ОГРН and full name from ЕГРЮЛ are
    recorded; an unknown ИНН, a different КПП or a liquidated organisation is ``rejected``.
    """
    _require_not_before(sub, at)
    data = sub.data
    if not isinstance(data, OrganisationData):
        raise VerificationRefused(
            f"subscriber {sub.id} has no organisation data to confirm through ЕГРЮЛ (R2)",
            rule="R2",
            subscriber=str(sub.id),
        )
    record = egrul.find(data.inn)
    if record is None:
        inn_result = CheckResult(CheckSource.EGRUL, False, f"ИНН {data.inn} not in ЕГРЮЛ")
        kpp_result = inn_result
    elif not record.active:
        inn_result = CheckResult(CheckSource.EGRUL, False, f"{record.full_name} is liquidated")
        kpp_result = inn_result
    else:
        inn_result = CheckResult(CheckSource.EGRUL, True)
        kpp_result = (
            CheckResult(CheckSource.EGRUL, True)
            if record.kpp == data.kpp
            else CheckResult(CheckSource.EGRUL, False, f"КПП {data.kpp} ≠ {record.kpp} in ЕГРЮЛ")
        )
    sub = apply_check(sub, IdentityField.ORG_INN, inn_result, at=at)
    sub = apply_check(sub, IdentityField.KPP, kpp_result, at=at)
    if record is not None and record.active:
        filled = OrganisationData(data.inn, data.kpp, record.ogrn, record.full_name)
        sub = sub.with_states({}, data=filled)
    return sub


def complete_verification(
    sub: Subscriber,
    registrar: Registrar,
    method: IdentificationMethod,
    *,
    at: dt.datetime,
) -> Subscriber:
    """R2 stage 2, R5: a registrar compared the data with the originals and verifies it.

    Refused unless the registrar may verify (active, active office, has a signing certificate),
    is not the subscriber themselves, and every required field passed its checks. The fields
    that were ``checked`` become ``verified``; ``method`` is recorded for the certificate's
    identificationKind extension.
    """
    _require_not_before(sub, at)
    require_can_verify(registrar)
    if not isinstance(method, IdentificationMethod):
        raise VerificationRefused(
            "the identification method must be an IdentificationMethod (codes 0..3) (R2)",
            rule="R2",
            subscriber=str(sub.id),
        )
    if registrar.person is not None and registrar.person == sub.id:
        raise RegistrarRefused(
            f"registrar {registrar.id} cannot verify their own identity (R5)",
            rule="R5",
            registrar=str(registrar.id),
        )
    if sub.stage is not Stage.CHECKS_PASSED:
        waiting = sub.fields_with(FieldStatus.MISSING, FieldStatus.ENTERED, FieldStatus.REJECTED)
        detail = ", ".join(f"{f.value} ({sub.status(f).value})" for f in waiting)
        raise VerificationRefused(
            f"subscriber {sub.id} is at stage {sub.stage.value}; a registrar verifies only "
            f"after every check passed (R2, R5)" + (f": waiting for {detail}" if detail else ""),
            rule="R5",
            subscriber=str(sub.id),
        )
    newly = sub.fields_with(FieldStatus.CHECKED)
    note = f"verified by registrar {registrar.id}"
    record = IdentificationRecord(registrar.id, method, at, newly)
    return sub.with_states(
        {f: FieldState(FieldStatus.VERIFIED, at, note) for f in newly},
        identification=record,
        identifications=(*sub.identifications, record),
    )


@dataclass(frozen=True, slots=True)
class VerifiedRecord:
    """What a registrar signs (R5): the verified data, how and when it was established.

    Encoded canonically (DER) and signed by :mod:`atlas_ca.services.attestation`. Its ``repr``
    masks personal data (the data objects mask themselves, R21).
    """

    subscriber: SubscriberId
    kind: SubscriberKind
    data: IdentityData
    method: IdentificationMethod
    registrar: RegistrarId
    verified_at: dt.datetime


def verified_record(sub: Subscriber) -> VerifiedRecord:
    """The record of a verified subscriber, to be signed by the verifying registrar (R5)."""
    require_verified(sub)
    if sub.identification is None or sub.data is None:
        raise NotVerified(
            f"subscriber {sub.id} has no registrar identification record (R3)",
            rule="R3",
            subscriber=str(sub.id),
        )
    ident = sub.identification
    return VerifiedRecord(
        subscriber=sub.id,
        kind=sub.kind,
        data=sub.data,
        method=ident.method,
        registrar=ident.registrar,
        verified_at=ident.at,
    )
