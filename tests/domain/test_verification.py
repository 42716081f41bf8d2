"""Identity verification as a state machine (R2–R6): stages, checks, registrar, data changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from atlas_ca.cli.demo.fakes import (
    SAMPLE_OGRNIP,
    SERVER_CENTRE,
    FakeEgrip,
    FakeEgrul,
    confirmed_change,
    fake_government,
    sample_person,
    sample_registrar,
)
from atlas_ca.domain.identifiers import Kpp, MobilePhone, Ogrnip, Snils
from atlas_ca.domain.identity_ports import CheckResult, CheckSource, RegistryUnavailable
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.otp import OtpRefused, create_challenge, verify_code
from atlas_ca.domain.registrars import RegistrarRefused, suspend
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    FieldStatus,
    IdentificationMethod,
    IdentityField,
    IndividualData,
    NotVerified,
    OrganisationData,
    Stage,
    Subscriber,
    SubscriberKind,
    register,
)
from atlas_ca.domain.verification import (
    VerificationRefused,
    apply_check,
    change_binding,
    change_phone,
    complete_verification,
    confirm_with_egrul,
    enter_data,
    is_verified,
    phone_binding,
    require_verified,
    run_government_checks,
    verified_fields_changed,
    verified_record,
)
from atlas_ca.errors import DomainError, InvalidInput

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PHONE = MobilePhone("+79161234567")


def t(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def new(kind: SubscriberKind = SubscriberKind.INDIVIDUAL, sid: str = "sub-1") -> Subscriber:
    return register(SubscriberId(sid), kind, PHONE, at=T0)


def checked_individual() -> tuple[Subscriber, IndividualData]:
    person = sample_person()
    checks, *_ = fake_government(person)
    sub = enter_data(new(), person, at=t(1))
    return run_government_checks(sub, checks, at=t(2)), person


# --- the happy paths ------------------------------------------------------------------------


def test_individual_goes_through_every_stage_to_verified() -> None:
    person = sample_person()
    checks, mvd, fns, sfr, _ = fake_government(person)
    sub = new()
    assert sub.stage is Stage.REGISTERED
    sub = enter_data(sub, person, at=t(1))
    assert sub.stage is Stage.DATA_ENTERED
    assert not is_verified(sub)
    sub = run_government_checks(sub, checks, at=t(2))
    assert sub.stage is Stage.CHECKS_PASSED
    assert (mvd.calls, fns.calls, sfr.calls) == (1, 1, 1)
    assert not is_verified(sub)
    sub = complete_verification(
        sub, sample_registrar(), IdentificationMethod.PERSONAL_PRESENCE, at=t(3)
    )
    assert sub.stage is Stage.VERIFIED
    assert is_verified(sub)
    require_verified(sub)
    assert sub.identification_method is IdentificationMethod.PERSONAL_PRESENCE
    assert sub.state(IdentityField.SNILS).note == "verified by registrar reg-1"


def test_entrepreneur_needs_the_ogrnip_confirmed_by_egrip() -> None:
    person = sample_person()
    checks, *_, egrip = fake_government(person)
    sub = enter_data(
        new(SubscriberKind.ENTREPRENEUR), EntrepreneurData(person, Ogrnip(SAMPLE_OGRNIP)), at=t(1)
    )
    sub = run_government_checks(sub, checks, at=t(2))
    assert sub.status(IdentityField.OGRNIP) is FieldStatus.REJECTED
    assert sub.stage is Stage.DATA_ENTERED
    with pytest.raises(VerificationRefused, match="ogrnip"):
        complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(3))
    egrip.known[SAMPLE_OGRNIP] = person.inn.value
    sub = run_government_checks(sub, checks, at=t(4))
    assert sub.stage is Stage.CHECKS_PASSED
    assert egrip.calls == 2


def test_organisation_is_confirmed_through_egrul_with_ogrn_and_name() -> None:
    egrul = FakeEgrul()
    egrul.add(SERVER_CENTRE)
    sub = enter_data(
        new(SubscriberKind.ORGANISATION),
        OrganisationData(SERVER_CENTRE.inn, SERVER_CENTRE.kpp),
        at=t(1),
    )
    sub = confirm_with_egrul(sub, egrul, at=t(2))
    assert sub.stage is Stage.CHECKS_PASSED
    assert isinstance(sub.data, OrganisationData)
    assert sub.data.ogrn == SERVER_CENTRE.ogrn
    assert sub.data.full_name == 'АО "Сервер-Центр"'
    sub = complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(3))
    assert is_verified(sub)


def test_organisation_with_a_wrong_kpp_or_unknown_inn_is_rejected() -> None:
    egrul = FakeEgrul()
    egrul.add(SERVER_CENTRE)
    sub = enter_data(
        new(SubscriberKind.ORGANISATION),
        OrganisationData(SERVER_CENTRE.inn, Kpp("253601002")),
        at=t(1),
    )
    sub = confirm_with_egrul(sub, egrul, at=t(2))
    assert sub.status(IdentityField.ORG_INN) is FieldStatus.CHECKED
    assert sub.status(IdentityField.KPP) is FieldStatus.REJECTED
    assert "КПП 253601002 ≠ 253601001" in (sub.state(IdentityField.KPP).note or "")
    unknown = confirm_with_egrul(sub, FakeEgrul(), at=t(3))
    assert unknown.status(IdentityField.KPP) is FieldStatus.REJECTED


def test_organisation_is_not_checked_through_person_registries() -> None:
    sub = enter_data(
        new(SubscriberKind.ORGANISATION),
        OrganisationData(SERVER_CENTRE.inn, SERVER_CENTRE.kpp),
        at=t(1),
    )
    checks, *_ = fake_government()
    with pytest.raises(VerificationRefused, match="ЕГРЮЛ"):
        run_government_checks(sub, checks, at=t(2))


# --- refusals -------------------------------------------------------------------------------


def test_a_failed_check_blocks_the_registrar_and_names_the_field() -> None:
    person = sample_person()
    checks, _mvd, fns, *_ = fake_government(person)
    fns.known.clear()
    sub = enter_data(new(), person, at=t(1))
    sub = run_government_checks(sub, checks, at=t(2))
    assert sub.status(IdentityField.INN) is FieldStatus.REJECTED
    assert sub.state(IdentityField.INN).note == "ФНС: ИНН does not match the person"
    with pytest.raises(VerificationRefused, match=r"inn \(rejected\)") as exc:
        complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(3))
    assert exc.value.rule == "R5"


def test_registrar_cannot_verify_before_checks() -> None:
    sub = enter_data(new(), sample_person(), at=t(1))
    with pytest.raises(VerificationRefused, match="data_entered"):
        complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(2))


def test_only_an_active_registrar_with_a_certificate_completes_a_verification() -> None:
    sub, _ = checked_individual()
    suspended = suspend(sample_registrar(), at=t(3), reason="отпуск")
    with pytest.raises(RegistrarRefused, match="suspended: отпуск"):
        complete_verification(sub, suspended, IdentificationMethod(0), at=t(4))
    no_cert = replace(sample_registrar(), signing_certificate=None)
    with pytest.raises(RegistrarRefused, match="no signing certificate"):
        complete_verification(sub, no_cert, IdentificationMethod(0), at=t(4))
    closed = replace(sample_registrar(), office=replace(sample_registrar().office, active=False))
    with pytest.raises(RegistrarRefused, match="not active"):
        complete_verification(sub, closed, IdentificationMethod(0), at=t(4))


def test_a_registrar_never_verifies_themselves() -> None:
    sub, _ = checked_individual()
    with pytest.raises(RegistrarRefused, match="their own identity"):
        complete_verification(
            sub, sample_registrar(person="sub-1"), IdentificationMethod(0), at=t(3)
        )


def test_unavailable_registry_records_nothing() -> None:
    person = sample_person()
    checks, mvd, *_ = fake_government(person)
    mvd.unavailable = True
    sub = enter_data(new(), person, at=t(1))
    with pytest.raises(RegistryUnavailable):
        run_government_checks(sub, checks, at=t(2))
    assert sub.status(IdentityField.PASSPORT) is FieldStatus.ENTERED


def test_data_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(VerificationRefused, match="ЮЛ"):
        enter_data(
            new(),
            OrganisationData(SERVER_CENTRE.inn, SERVER_CENTRE.kpp),
            at=t(1),
        )


def test_a_check_from_the_wrong_registry_is_refused() -> None:
    sub = enter_data(new(), sample_person(), at=t(1))
    with pytest.raises(VerificationRefused, match="confirmed by СФР, not ФНС"):
        apply_check(sub, IdentityField.SNILS, CheckResult(CheckSource.FNS, True), at=t(2))


def test_time_must_be_aware_and_must_not_go_backwards() -> None:
    sub = enter_data(new(), sample_person(), at=t(5))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        enter_data(sub, sample_person(), at=dt.datetime(2026, 3, 2, 10, 0))
    checks, *_ = fake_government(sample_person())
    with pytest.raises(VerificationRefused, match="cannot precede"):
        run_government_checks(sub, checks, at=t(4))


def test_not_verified_error_cites_r3_and_lists_fields() -> None:
    sub = enter_data(new(), sample_person(), at=t(1))
    with pytest.raises(NotVerified) as exc:
        require_verified(sub)
    assert exc.value.rule == "R3"
    assert exc.value.context["fields"] == ("person", "passport", "inn", "snils")
    assert isinstance(exc.value, DomainError)
    with pytest.raises(NotVerified):
        verified_record(sub)


# --- data changes un-verify only the changed fields ------------------------------------------


def test_a_new_passport_unverifies_only_the_passport() -> None:
    sub, person = checked_individual()
    sub = complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(3))
    renewed = replace(person, passport=replace(person.passport, number="654321"))
    with pytest.raises(OtpRefused, match=r"\(passport\) needs a one-time code") as exc:
        enter_data(sub, renewed, at=t(4))
    assert exc.value.rule == "R7"
    sub = enter_data(sub, renewed, at=t(4), confirmation=confirmed_change(sub, renewed, at=t(4)))
    assert sub.status(IdentityField.PASSPORT) is FieldStatus.ENTERED
    for f in (IdentityField.PERSON, IdentityField.INN, IdentityField.SNILS):
        assert sub.status(f) is FieldStatus.VERIFIED
    assert not is_verified(sub)
    checks, mvd, fns, sfr, _ = fake_government(renewed)
    sub = run_government_checks(sub, checks, at=t(5))
    assert (mvd.calls, fns.calls, sfr.calls) == (1, 0, 0)  # only the changed field is checked
    sub = complete_verification(
        sub,
        sample_registrar("reg-2"),
        IdentificationMethod.REMOTE_UNIFIED_BIOMETRIC_SYSTEM,
        at=t(6),
    )
    assert is_verified(sub)
    assert sub.identification is not None
    assert sub.identification.fields == (IdentityField.PASSPORT,)
    assert len(sub.identifications) == 2


def test_re_entering_the_same_data_keeps_the_verification() -> None:
    sub, _ = checked_individual()
    sub = complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(3))
    again = enter_data(sub, sample_person(), at=t(4))
    assert is_verified(again)


def test_verified_record_carries_method_registrar_and_data() -> None:
    sub, person = checked_individual()
    sub = complete_verification(
        sub, sample_registrar(), IdentificationMethod.REMOTE_QUALIFIED_CERTIFICATE, at=t(3)
    )
    rec = verified_record(sub)
    assert rec.method == 1
    assert rec.data == person
    assert str(rec.registrar) == "reg-1"
    assert rec.verified_at == t(3)
    assert "123456" not in repr(rec)


# --- property tests: the state machine ------------------------------------------------------

OPS = (
    "enter",
    "new_passport",
    "new_surname",
    "new_snils",
    "new_passport_no_code",
    "checks_ok",
    "checks_fail",
    "verify",
    "verify_suspended",
    "verify_self",
)
SURNAMES = ("Иванов", "Петров", "Сидоров")
PASSPORT_NUMBERS = ("123456", "234567", "345678")


def _person(surname: int, passport: int, snils: int) -> IndividualData:
    return sample_person(
        surname=SURNAMES[surname % 3],
        passport_number=PASSPORT_NUMBERS[passport % 3],
        snils=("112-233-445 95", "999-999-999 01")[snils % 2],
    )


def _data(kind: SubscriberKind, person: IndividualData) -> IndividualData | EntrepreneurData:
    if kind is SubscriberKind.ENTREPRENEUR:
        return EntrepreneurData(person, Ogrnip(SAMPLE_OGRNIP))
    return person


def _verified(sub: Subscriber) -> set[IdentityField]:
    return {f for f in IdentityField if sub.status(f) is FieldStatus.VERIFIED}


@settings(max_examples=150, deadline=None)
@example(
    kind=SubscriberKind.INDIVIDUAL,
    ops=[
        "enter",
        "checks_ok",
        "verify",
        "new_passport_no_code",
        "new_surname",
        "checks_ok",
        "verify_suspended",
        "verify",
    ],
)
@example(
    kind=SubscriberKind.ENTREPRENEUR,
    ops=["enter", "checks_fail", "verify", "checks_ok", "verify_self", "verify", "new_snils"],
)
@given(
    kind=st.sampled_from([SubscriberKind.INDIVIDUAL, SubscriberKind.ENTREPRENEUR]),
    ops=st.lists(st.sampled_from(OPS), max_size=14),
)
def test_no_path_reaches_verified_without_a_registrar_and_changes_unverify(
    kind: SubscriberKind, ops: list[str]
) -> None:
    sub = new(kind)
    counters = {"surname": 0, "passport": 0, "snils": 0}
    entered = False
    for i, op in enumerate(ops, start=1):
        at = t(i)
        before = sub
        registrar_completed = False
        changed: set[IdentityField] = set()
        try:
            if op == "enter" or (op.startswith("new_") and entered):
                if op.startswith("new_"):
                    key = op.removeprefix("new_").removesuffix("_no_code")
                    counters[key] += 1
                    changed = {
                        "surname": {IdentityField.PERSON},
                        "passport": {IdentityField.PASSPORT},
                        "snils": {IdentityField.SNILS},
                    }[key]
                person = _person(counters["surname"], counters["passport"], counters["snils"])
                data = _data(kind, person)
                needs_code = bool(verified_fields_changed(sub, data))
                code = None if op.endswith("_no_code") else confirmed_change(sub, data, at=at)
                try:
                    sub = enter_data(sub, data, at=at, confirmation=code)
                except OtpRefused:
                    assert needs_code
                    assert code is None  # only a missing code refuses a change here
                    counters[key] -= 1
                    raise
                entered = True
            elif op in ("checks_ok", "checks_fail"):
                current = sub.data
                people = []
                if op == "checks_ok" and current is not None:
                    p = current.person if isinstance(current, EntrepreneurData) else current
                    assert isinstance(p, IndividualData)
                    people.append(p)
                checks, *_, egrip = fake_government(*people)
                if people:
                    assert isinstance(egrip, FakeEgrip)
                    egrip.known[SAMPLE_OGRNIP] = people[0].inn.value
                sub = run_government_checks(sub, checks, at=at)
            elif op == "verify":
                sub = complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=at)
                registrar_completed = True
            elif op == "verify_suspended":
                reg = suspend(sample_registrar(), at=at, reason="проверка")
                sub = complete_verification(sub, reg, IdentificationMethod(0), at=at)
            elif op == "verify_self":
                reg = sample_registrar(person=str(sub.id))
                sub = complete_verification(sub, reg, IdentificationMethod(0), at=at)
        except DomainError:
            assert sub is before  # a refused step changes nothing
            registrar_completed = False
            changed = set()
        gained = _verified(sub) - _verified(before)
        if gained:
            assert registrar_completed, f"{op} verified {gained} without a registrar"
            assert sub.identification is not None
            assert sub.identification.at == at
        for f in changed:
            if before.status(f) is not FieldStatus.MISSING:
                assert sub.status(f) is FieldStatus.ENTERED
        for f in set(IdentityField) - changed:
            if op.startswith("new_") and entered:
                assert sub.status(f) is before.status(f)
        assert is_verified(sub) == all(sub.status(f) is FieldStatus.VERIFIED for f in sub.required)


def test_a_code_for_another_change_or_subscriber_does_not_confirm() -> None:
    sub, person = checked_individual()
    sub = complete_verification(sub, sample_registrar(), IdentificationMethod(0), at=t(3))
    passport_a = replace(person, passport=replace(person.passport, number="654321"))
    passport_b = replace(person, passport=replace(person.passport, number="765432"))
    code_for_a = confirmed_change(sub, passport_a, at=t(4))
    with pytest.raises(OtpRefused, match="another operation or another change"):
        enter_data(sub, passport_b, at=t(4), confirmation=code_for_a)
    other = replace(sub, id=SubscriberId("sub-2"))
    with pytest.raises(OtpRefused, match="another subscriber"):
        enter_data(other, passport_a, at=t(4), confirmation=code_for_a)
    with pytest.raises(OtpRefused, match="after this operation"):
        enter_data(
            sub, passport_a, at=t(3), confirmation=confirmed_change(sub, passport_a, at=t(5))
        )
    binding = change_binding(sub, passport_a)
    challenge, code = create_challenge(
        sub.id, binding, now=t(4), random_bytes=lambda n: bytes(range(n))
    )
    wrong = verify_code(
        challenge, "999999" if code != "999999" else "000000", binding, subscriber=sub.id, now=t(4)
    )
    with pytest.raises(OtpRefused, match="not accepted"):
        enter_data(sub, passport_a, at=t(4), confirmation=wrong)
    assert is_verified(sub)  # every refusal left the subscriber as it was


def test_entering_data_for_unverified_fields_needs_no_code() -> None:
    sub = enter_data(new(), sample_person(), at=t(1))
    changed = replace(sample_person(), snils=Snils("999-999-999 01"))
    assert verified_fields_changed(sub, changed) == ()
    assert enter_data(sub, changed, at=t(2)).status(IdentityField.SNILS) is FieldStatus.ENTERED


def test_a_new_phone_needs_a_code_bound_to_that_number() -> None:
    sub, _ = checked_individual()
    new_phone = MobilePhone("+79241234567")
    binding = phone_binding(sub, new_phone)
    challenge, code = create_challenge(
        sub.id, binding, now=t(3), random_bytes=lambda n: bytes(range(n))
    )
    ok = verify_code(challenge, code, binding, subscriber=sub.id, now=t(3))
    with pytest.raises(OtpRefused, match="changing the phone number needs a one-time code"):
        change_phone(sub, new_phone, at=t(3), confirmation=None)
    with pytest.raises(OtpRefused, match="another operation"):
        change_phone(sub, MobilePhone("+79241234568"), at=t(3), confirmation=ok)
    changed = change_phone(sub, new_phone, at=t(3), confirmation=ok)
    assert changed.phone == new_phone
    assert changed.states == sub.states
