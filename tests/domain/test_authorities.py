"""Authorities (R4): a verified person acting for an organisation, checked at issuance."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.cli.demo.fakes import ATLAS_2, SERVER_CENTRE, sample_registrar, verified_subscriber
from atlas_ca.domain.authorities import (
    Authority,
    AuthorityProblem,
    AuthorityRefused,
    AuthorityScope,
    HeadPerEgrul,
    PowerOfAttorney,
    authority_problems,
    check_authority,
    require_authority,
    revoke,
    verify_authority,
)
from atlas_ca.domain.ids import AuthorityId, SubscriberId
from atlas_ca.domain.registrars import RegistrarRefused, suspend
from atlas_ca.domain.subscribers import NotVerified, SubscriberKind, register
from atlas_ca.errors import InvalidIdentifier

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
MCHD = "0f4a5b3c-1d2e-4f60-8a9b-0c1d2e3f4a5b"
PERSON = verified_subscriber("sub-1", at=T0 - 10 * DAY)


def mchd_authority(**changes: object) -> Authority:
    a = Authority(
        id=AuthorityId("auth-1"),
        person=SubscriberId("sub-1"),
        organisation=SERVER_CENTRE.inn,
        position="главный бухгалтер",
        basis=PowerOfAttorney(MCHD.upper(), SERVER_CENTRE.inn, dt.date(2026, 2, 1)),
        valid_from=T0 - 30 * DAY,
        valid_until=T0 + 335 * DAY,
        scope=frozenset({AuthorityScope.QUALIFIED_CERTIFICATE, AuthorityScope.SIGN_DOCUMENTS}),
    )
    a = verify_authority(a, sample_registrar(), at=T0 - 29 * DAY)
    return replace(a, **changes)  # type: ignore[arg-type]


def test_a_valid_verified_authority_allows_the_issue() -> None:
    a = mchd_authority()
    assert require_authority([a], person=PERSON, organisation=SERVER_CENTRE.inn, at=T0) is a
    assert isinstance(a.basis, PowerOfAttorney)
    assert a.basis.number == MCHD  # canonical lower-case UUID


def test_head_per_egrul_may_be_open_ended() -> None:
    a = Authority(
        id=AuthorityId("auth-head"),
        person=SubscriberId("sub-1"),
        organisation=ATLAS_2.inn,
        position="генеральный директор",
        basis=HeadPerEgrul(dt.date(2020, 1, 1)),
        valid_from=T0 - 1000 * DAY,
        valid_until=None,
    )
    a = verify_authority(a, sample_registrar(), at=T0 - 999 * DAY)
    assert require_authority([a], person=PERSON, organisation=ATLAS_2.inn, at=T0) is a


def test_expired_authority_blocks_with_the_date() -> None:
    a = mchd_authority(valid_until=T0 - DAY)
    with pytest.raises(AuthorityRefused, match="auth-1: expired on 2026-03-01") as exc:
        require_authority([a], person=PERSON, organisation=SERVER_CENTRE.inn, at=T0)
    assert exc.value.rule == "R4"


def test_revoked_authority_blocks_with_the_reason() -> None:
    a = revoke(mchd_authority(), at=T0 - DAY, reason="МЧД отозвана доверителем")
    assert revoke(a, at=T0, reason="again").revoked_at == T0 - DAY  # first revocation stays
    with pytest.raises(AuthorityRefused, match=r"revoked on .*\(МЧД отозвана доверителем\)"):
        require_authority([a], person=PERSON, organisation=SERVER_CENTRE.inn, at=T0)


def test_out_of_scope_authority_blocks() -> None:
    a = mchd_authority(scope=frozenset({AuthorityScope.SIGN_DOCUMENTS}))
    with pytest.raises(AuthorityRefused, match="does not cover this action"):
        require_authority([a], person=PERSON, organisation=SERVER_CENTRE.inn, at=T0)
    assert (
        require_authority(
            [a],
            person=PERSON,
            organisation=SERVER_CENTRE.inn,
            action=AuthorityScope.SIGN_DOCUMENTS,
            at=T0,
        )
        is a
    )


def test_unverified_and_not_yet_valid_authorities_block() -> None:
    a = mchd_authority(verified_by=None, valid_from=T0 + DAY)
    problems = authority_problems(
        a,
        person=SubscriberId("sub-1"),
        organisation=SERVER_CENTRE.inn,
        action=AuthorityScope.QUALIFIED_CERTIFICATE,
        at=T0,
    )
    assert problems == (AuthorityProblem.NOT_VERIFIED, AuthorityProblem.NOT_YET_VALID)


def test_no_authority_for_that_organisation() -> None:
    with pytest.raises(AuthorityRefused, match="no authority recorded for organisation 2536161885"):
        require_authority([mchd_authority()], person=PERSON, organisation=ATLAS_2.inn, at=T0)


def test_an_unverified_person_is_refused_first_under_r3() -> None:
    stranger = register(SubscriberId("sub-1"), SubscriberKind.INDIVIDUAL, PERSON.phone, at=T0 - DAY)
    with pytest.raises(NotVerified):
        require_authority(
            [mchd_authority()], person=stranger, organisation=SERVER_CENTRE.inn, at=T0
        )


def test_the_first_good_authority_wins_and_all_bad_ones_are_reported() -> None:
    expired = mchd_authority(id=AuthorityId("old"), valid_until=T0 - DAY)
    good = mchd_authority(id=AuthorityId("new"))
    assert (
        require_authority([expired, good], person=PERSON, organisation=SERVER_CENTRE.inn, at=T0)
        is good
    )
    revoked = revoke(good, at=T0 - DAY, reason="уволен")
    with pytest.raises(AuthorityRefused) as exc:
        require_authority([expired, revoked], person=PERSON, organisation=SERVER_CENTRE.inn, at=T0)
    assert "old: expired" in str(exc.value)
    assert "new: revoked" in str(exc.value)


def test_check_authority_names_other_person() -> None:
    with pytest.raises(AuthorityRefused) as exc:
        check_authority(
            mchd_authority(),
            person=SubscriberId("sub-2"),
            organisation=SERVER_CENTRE.inn,
            action=AuthorityScope.QUALIFIED_CERTIFICATE,
            at=T0,
        )
    assert exc.value.context["problems"] == ("OTHER_PERSON",)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"position": " "}, "должность"),
        ({"valid_until": T0 - 40 * DAY}, "after valid_from"),
        ({"valid_until": None}, "end date"),
        ({"organisation": ATLAS_2.inn}, "issued by 2539038819"),
        ({"scope": frozenset()}, "non-empty"),
    ],
)
def test_malformed_authorities_are_refused(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment):
        mchd_authority(**changes)


def test_mchd_number_must_be_a_uuid() -> None:
    with pytest.raises(InvalidIdentifier, match="UUID"):
        PowerOfAttorney("МЧД-123", SERVER_CENTRE.inn, dt.date(2026, 1, 1))


def test_only_an_active_registrar_verifies_an_authority() -> None:
    a = mchd_authority(verified_by=None)
    with pytest.raises(RegistrarRefused):
        verify_authority(a, suspend(sample_registrar(), at=T0, reason="x"), at=T0)
    with pytest.raises(AuthorityRefused, match="revoked"):
        verify_authority(revoke(a, at=T0, reason="x"), sample_registrar(), at=T0)


@settings(max_examples=100, deadline=None)
@given(offset_hours=st.integers(-2000, 12000), revoked_after=st.none() | st.integers(-2000, 12000))
def test_an_authority_allows_exactly_inside_its_period_until_revoked(
    offset_hours: int, revoked_after: int | None
) -> None:
    a = mchd_authority()
    if revoked_after is not None:
        a = revoke(a, at=T0 + dt.timedelta(hours=revoked_after), reason="r")
    at = T0 + dt.timedelta(hours=offset_hours)
    assert a.valid_until is not None
    allowed = a.valid_from <= at < a.valid_until and (a.revoked_at is None or at < a.revoked_at)
    problems = authority_problems(
        a,
        person=SubscriberId("sub-1"),
        organisation=SERVER_CENTRE.inn,
        action=AuthorityScope.QUALIFIED_CERTIFICATE,
        at=at,
    )
    assert (problems == ()) == allowed


def test_a_registrar_cannot_verify_an_authority_in_which_they_are_the_person() -> None:
    """Issue 12 (R4): the registrar who is the authority's person is refused; another is not."""
    a = mchd_authority()
    themselves = sample_registrar(person=a.person.value)
    with pytest.raises(AuthorityRefused, match="R4") as info:
        verify_authority(a, themselves, at=T0)
    assert info.value.context["registrar"] == str(themselves.id)
    other = sample_registrar("reg-2", person="someone-else")
    assert verify_authority(a, other, at=T0).verified_by == other.id
