"""R21: no str/repr/log line/exception message of a domain object shows raw personal data."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.cli.demo.fakes import (
    SAMPLE_OGRNIP,
    SERVER_CENTRE,
    confirmed_change,
    fake_government,
    sample_person,
    sample_registrar,
)
from atlas_ca.domain import masking
from atlas_ca.domain.authorities import Authority, AuthorityScope, PowerOfAttorney
from atlas_ca.domain.identifiers import InnPerson, MobilePhone, Ogrnip, Passport, Snils
from atlas_ca.domain.ids import AuthorityId, SubscriberId
from atlas_ca.domain.otp import Operation, bind, create_challenge, verify_code
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    IdentificationMethod,
    PersonName,
    SubscriberKind,
    register,
    require_verified,
)
from atlas_ca.domain.verification import (
    complete_verification,
    enter_data,
    run_government_checks,
    verified_record,
)
from atlas_ca.errors import AtlasCaError

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

PERSON = sample_person()
RAW = [
    "500100732259",  # ИНН of the person
    "5001007322",
    "770708389324",  # the changed ИНН
    "11223344595",  # СНИЛС
    "112-233-445",
    "112233445",
    "0503123456",  # passport series + number
    "0503 123456",
    "05 03",
    "123456",
    "9161234567",  # phone
    "Иванов",  # surname
    "Иванович",
    "1980-05-17",  # birth date
    "1980, 5, 17",
]


def _objects() -> list[object]:
    phone = MobilePhone("+79161234567")
    sub = register(SubscriberId("sub-1"), SubscriberKind.ENTREPRENEUR, phone, at=T0)
    data = EntrepreneurData(PERSON, Ogrnip(SAMPLE_OGRNIP))
    entered = enter_data(sub, data, at=T0)
    checks, _mvd, fns, _sfr, egrip = fake_government(PERSON)
    egrip.known[SAMPLE_OGRNIP] = PERSON.inn.value
    checked = run_government_checks(entered, checks, at=T0)
    verified = complete_verification(
        checked, sample_registrar(), IdentificationMethod.PERSONAL_PRESENCE, at=T0
    )
    fns.known.clear()
    new_inn = replace(data, person=replace(PERSON, inn=InnPerson("770708389324")))
    code = confirmed_change(verified, new_inn, at=T0)
    rejected = run_government_checks(
        enter_data(verified, new_inn, at=T0, confirmation=code), checks, at=T0
    )
    challenge, _code = create_challenge(
        sub.id, bind(Operation.ISSUE_CERTIFICATE), now=T0, random_bytes=lambda n: b"\x01" * n
    )
    authority = Authority(
        id=AuthorityId("a-1"),
        person=sub.id,
        organisation=SERVER_CENTRE.inn,
        position="директор",
        basis=PowerOfAttorney(
            "0f4a5b3c-1d2e-4f60-8a9b-0c1d2e3f4a5b", SERVER_CENTRE.inn, dt.date(2026, 1, 1)
        ),
        valid_from=T0,
        valid_until=T0 + dt.timedelta(days=10),
        scope=frozenset({AuthorityScope.QUALIFIED_CERTIFICATE}),
    )
    return [
        PERSON,
        PERSON.name,
        PERSON.passport,
        PERSON.inn,
        PERSON.snils,
        phone,
        data,
        sub,
        entered,
        checked,
        verified,
        rejected,
        verified_record(verified),
        verified.identification,
        sample_registrar(),
        challenge,
        code,
        verify_code(
            challenge, "000000", bind(Operation.ISSUE_CERTIFICATE), subscriber=sub.id, now=T0
        ),
        authority,
    ]


def _errors() -> list[AtlasCaError]:
    errors: list[AtlasCaError] = []
    attempts = [
        lambda: InnPerson("500100732258"),
        lambda: Snils("112-233-445 96"),
        lambda: Passport("0503", "123456", dt.date(1990, 1, 1), "252-001"),
        lambda: Passport("0503", "123456", "1980-05-17", "252-001"),  # type: ignore[arg-type]
        lambda: replace(PERSON, birth_date=dt.date(1995, 5, 17)),
        lambda: MobilePhone("+7 495 123-45-67"),
        lambda: PersonName("Иванов1", "Иван"),
        lambda: require_verified(
            enter_data(
                register(
                    SubscriberId("s"), SubscriberKind.INDIVIDUAL, MobilePhone("+79161234567"), at=T0
                ),
                PERSON,
                at=T0,
            )
        ),
    ]
    for attempt in attempts:
        with pytest.raises(AtlasCaError) as exc:
            attempt()
        errors.append(exc.value)
    return errors


def _renderings(obj: object) -> list[str]:
    out = [str(obj), repr(obj), f"{obj}", f"{obj!r}", "%s" % (obj,), "%r" % (obj,)]  # noqa: UP031
    if isinstance(obj, AtlasCaError):
        out.append(obj.message)
        out.append(repr(dict(obj.context)))
        out.extend(str(a) for a in obj.args)
    return out


def test_every_object_and_error_renders_without_raw_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    things: list[object] = [*_objects(), *_errors()]
    log = logging.getLogger("atlas_ca.test_masking")
    with caplog.at_level(logging.DEBUG, logger="atlas_ca.test_masking"):
        for thing in things:
            log.info("object %s / %r", thing, thing)
            if isinstance(thing, AtlasCaError):
                log.error("refused: %s (%r) context=%s", thing, thing, dict(thing.context))
    assert "ФНС: ИНН does not match" in repr(things[11])  # the rejected subscriber
    texts = [r for t in things for r in _renderings(t)] + [caplog.text]
    leaks = [(raw, text[:120]) for text in texts for raw in RAW if raw in text]
    assert leaks == []
    assert len(things) == 27
    assert "***-***-*** 95" in caplog.text  # the masked form is what appears


def test_raw_values_are_still_available_to_code_that_needs_them() -> None:
    assert PERSON.inn.value == "500100732259"
    assert PERSON.snils.value == "11223344595"
    assert PERSON.passport.value == "0503123456"


def test_mask_helpers() -> None:
    assert masking.mask_tail("500100732259") == "**********59"
    assert masking.mask_tail("12") == "**"
    assert masking.mask_snils("11223344595") == "***-***-*** 95"
    assert masking.mask_passport("0503", "123456") == "** ** ****56"
    assert masking.mask_phone("+79161234567") == "+7********67"
    assert masking.mask_text("Иванов") == "И*****"
    assert masking.mask_text("") == ""


@settings(max_examples=100)
@given(st.text(alphabet="0123456789", min_size=3, max_size=20))
def test_mask_tail_keeps_length_and_only_two_digits(value: str) -> None:
    masked = masking.mask_tail(value)
    assert len(masked) == len(value)
    assert masked.endswith(value[-2:])
    assert masked[:-2] == "*" * (len(value) - 2)
