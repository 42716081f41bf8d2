"""Subscribers: kinds, stage-1 data, the R3 check for billing and issuance."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from atlas_ca.cli.demo.fakes import SERVER_CENTRE, sample_person, verified_subscriber
from atlas_ca.domain.identifiers import MobilePhone, Ogrnip
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    FieldStatus,
    IdentificationMethod,
    IdentityField,
    NotVerified,
    OrganisationData,
    PersonName,
    Stage,
    Subscriber,
    SubscriberKind,
    is_verified,
    register,
    require_verified,
    required_fields,
)
from atlas_ca.errors import DomainError, InvalidIdentifier, InvalidInput

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PHONE = MobilePhone("+79161234567")


def test_registration_needs_a_mobile_phone_and_aware_time() -> None:
    s = register(SubscriberId("s-1"), SubscriberKind.INDIVIDUAL, PHONE, at=T0)
    assert s.stage is Stage.REGISTERED
    assert s.identification_method is None
    with pytest.raises(InvalidIdentifier, match="MobilePhone"):
        register(SubscriberId("s-1"), SubscriberKind.INDIVIDUAL, "+79161234567", at=T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="timezone-aware"):
        register(SubscriberId("s-1"), SubscriberKind.INDIVIDUAL, PHONE, at=dt.datetime(2026, 1, 1))


def test_required_fields_per_kind_follow_r2() -> None:
    assert required_fields(SubscriberKind.INDIVIDUAL) == (
        IdentityField.PERSON,
        IdentityField.PASSPORT,
        IdentityField.INN,
        IdentityField.SNILS,
    )
    assert required_fields(SubscriberKind.ENTREPRENEUR)[-1] is IdentityField.OGRNIP
    assert required_fields(SubscriberKind.ORGANISATION) == (
        IdentityField.ORG_INN,
        IdentityField.KPP,
    )


@pytest.mark.parametrize("kind", list(SubscriberKind))
def test_verified_subscribers_pass_the_r3_check(kind: SubscriberKind) -> None:
    s = verified_subscriber(kind=kind, at=T0)
    assert is_verified(s)
    require_verified(s)
    assert s.identification_method is IdentificationMethod.PERSONAL_PRESENCE


def test_unverified_subscribers_fail_the_r3_check() -> None:
    s = register(SubscriberId("s-1"), SubscriberKind.ORGANISATION, PHONE, at=T0)
    assert not is_verified(s)
    with pytest.raises(NotVerified, match=r"org_inn \(missing\), kpp \(missing\)") as exc:
        require_verified(s)
    assert exc.value.rule == "R3"
    assert exc.value.exit_code == 1


def test_data_must_match_the_kind() -> None:
    with pytest.raises(DomainError, match="does not belong"):
        Subscriber(
            id=SubscriberId("s-1"),
            kind=SubscriberKind.INDIVIDUAL,
            phone=PHONE,
            registered_at=T0,
            data=OrganisationData(SERVER_CENTRE.inn, SERVER_CENTRE.kpp),
        )


def test_passport_must_be_issued_at_fourteen_or_later() -> None:
    p = sample_person()
    with pytest.raises(InvalidIdentifier, match="14th birthday"):
        replace(p, birth_date=dt.date(1990, 1, 1))
    leap = replace(p, birth_date=dt.date(1988, 2, 29))  # 14 on 2002-03-01, passport 2002-06-01
    assert leap.birth_date == dt.date(1988, 2, 29)


def test_entrepreneur_data_adds_ogrnip() -> None:
    d = EntrepreneurData(sample_person(), Ogrnip("304500116000157"))
    assert set(d.field_values()) == set(required_fields(SubscriberKind.ENTREPRENEUR))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("", "Иван"), "1–100"),
        (("Иванов2", "Иван"), "letters"),
        (("Иванов", "Иван", "  "), "letters"),
    ],
)
def test_person_names_validate(args: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment):
        PersonName(*args)


def test_names_with_hyphens_and_latin_letters_are_accepted() -> None:
    assert PersonName("Салтыков-Щедрин", "Михаил", "Евграфович").surname == "Салтыков-Щедрин"
    assert PersonName("O'Neill", "Anna").patronymic is None


def test_field_state_defaults_to_missing() -> None:
    s = register(SubscriberId("s-1"), SubscriberKind.INDIVIDUAL, PHONE, at=T0)
    assert s.status(IdentityField.OGRNIP) is FieldStatus.MISSING
    assert s.unverified_fields() == required_fields(SubscriberKind.INDIVIDUAL)
