"""One-time SMS codes (R7): random source as a parameter, hashed, single use, bound, limited."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_ca.cli.demo.fakes import FakeSmsGateway
from atlas_ca.domain.identifiers import MobilePhone
from atlas_ca.domain.identity_ports import RegistryUnavailable
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.domain.otp import (
    DEFAULT_TTL,
    ChallengeState,
    Operation,
    OtpChallenge,
    OtpOutcome,
    OtpRefused,
    bind,
    create_challenge,
    generate_code,
    require_confirmed,
    send_challenge,
    verify_code,
)
from atlas_ca.errors import InvalidInput

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ALICE = SubscriberId("alice")
BOB = SubscriberId("bob")
ISSUE = bind(Operation.ISSUE_CERTIFICATE, {"order": "o-1"})
REVOKE = bind(Operation.REVOKE_CERTIFICATE, {"serial": "0a1b"})


def seeded(seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    return rng.randbytes


def new(seed: int = 1, binding=ISSUE) -> tuple[OtpChallenge, str]:  # type: ignore[no-untyped-def]
    return create_challenge(ALICE, binding, now=T0, random_bytes=seeded(seed))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_right_code_confirms_once_and_only_once() -> None:
    ch, code = new()
    assert len(code) == 6
    assert code.isdigit()
    r = verify_code(ch, code, ISSUE, subscriber=ALICE, now=T0 + dt.timedelta(minutes=1))
    assert r.accepted
    r.require_accepted()
    assert r.challenge.state(T0) is ChallengeState.USED
    again = verify_code(r.challenge, code, ISSUE, subscriber=ALICE, now=T0)
    assert again.outcome is OtpOutcome.ALREADY_USED
    with pytest.raises(OtpRefused, match="already used") as exc:
        again.require_accepted()
    assert exc.value.rule == "R7"


def test_only_a_salted_hash_is_stored() -> None:
    ch, code = new()
    assert code.encode() not in ch.code_hash
    assert code not in repr(ch)
    assert len(ch.salt) == 16
    ch2, code2 = new(seed=1)  # same seed, same code and salt: deterministic given the source
    assert (code2, ch2.code_hash) == (code, ch.code_hash)
    ch3, _ = create_challenge(ALICE, ISSUE, now=T0, random_bytes=secrets.token_bytes)
    assert ch3.salt != ch.salt


def test_code_expires_after_five_minutes_by_default() -> None:
    ch, code = new()
    assert ch.expires_at - ch.created_at == DEFAULT_TTL == dt.timedelta(minutes=5)
    late = verify_code(ch, code, ISSUE, subscriber=ALICE, now=T0 + dt.timedelta(minutes=5))
    assert late.outcome is OtpOutcome.EXPIRED
    just_in_time = verify_code(
        ch, code, ISSUE, subscriber=ALICE, now=T0 + dt.timedelta(minutes=4, seconds=59)
    )
    assert just_in_time.accepted


def test_three_wrong_attempts_kill_the_challenge() -> None:
    ch, code = new()
    for n in (1, 2, 3):
        r = verify_code(ch, wrong(code), ISSUE, subscriber=ALICE, now=T0)
        assert r.outcome is OtpOutcome.WRONG_CODE
        ch = r.challenge
        assert ch.attempts == n
    dead = verify_code(ch, code, ISSUE, subscriber=ALICE, now=T0)
    assert dead.outcome is OtpOutcome.EXHAUSTED
    with pytest.raises(OtpRefused, match="0 attempt"):
        dead.require_accepted()


def test_a_code_for_issue_cannot_confirm_revoke_and_counts_as_an_attempt() -> None:
    ch, code = new()
    r = verify_code(ch, code, REVOKE, subscriber=ALICE, now=T0)
    assert r.outcome is OtpOutcome.WRONG_OPERATION
    assert r.challenge.attempts == 1


def test_the_parameters_are_bound_too() -> None:
    ch, code = new(binding=REVOKE)
    other_serial = bind(Operation.REVOKE_CERTIFICATE, {"serial": "ffff"})
    assert verify_code(ch, code, other_serial, subscriber=ALICE, now=T0).outcome is (
        OtpOutcome.WRONG_OPERATION
    )
    same_params_other_order = bind(Operation.REVOKE_CERTIFICATE, {"serial": "0a1b"})
    assert verify_code(ch, code, same_params_other_order, subscriber=ALICE, now=T0).accepted


def test_another_subscriber_cannot_use_the_code() -> None:
    ch, code = new()
    r = verify_code(ch, code, ISSUE, subscriber=BOB, now=T0)
    assert r.outcome is OtpOutcome.WRONG_SUBSCRIBER
    assert not r.accepted


def test_binding_encoding_is_unambiguous() -> None:
    a = bind(Operation.KEY_ACTION, {"ab": "c"})
    b = bind(Operation.KEY_ACTION, {"a": "bc"})
    assert a.digest() != b.digest()
    x = bind(Operation.KEY_ACTION, {"k1": "1", "k2": "2"})
    y = bind(Operation.KEY_ACTION, {"k2": "2", "k1": "1"})
    assert x == y
    assert x.digest() == y.digest()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), guess=st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_any_other_code_is_refused(seed: int, guess: str) -> None:
    ch, code = new(seed)
    r = verify_code(ch, guess, ISSUE, subscriber=ALICE, now=T0)
    assert r.accepted == (guess == code)


def test_codes_are_uniform_enough_and_rejection_sampling_skips_the_biased_tail() -> None:
    draws = iter([b"\xff\xff\xff\xff", (123456).to_bytes(4, "big")])
    assert generate_code(lambda n: next(draws)) == "123456"
    rng = random.Random(7)
    first_digits = Counter(generate_code(rng.randbytes)[0] for _ in range(5000))
    assert set(first_digits) == set("0123456789")
    assert max(first_digits.values()) < 650  # expected 500 each


def test_a_broken_random_source_is_refused() -> None:
    with pytest.raises(InvalidInput, match="random source"):
        generate_code(lambda n: b"\x00")


def test_send_challenge_sends_the_code_through_the_sms_port() -> None:
    sms = FakeSmsGateway()
    phone = MobilePhone("+79161234567")
    ch = send_challenge(sms, phone, ALICE, ISSUE, now=T0, random_bytes=seeded(3))
    assert len(sms.sent) == 1
    assert sms.sent[0].phone == phone
    code = sms.sent[0].text.split()[1].rstrip(":")
    assert "выпуск сертификата" in sms.sent[0].text
    assert verify_code(ch, code, ISSUE, subscriber=ALICE, now=T0).accepted


def test_sms_gateway_failure_propagates() -> None:
    sms = FakeSmsGateway(unavailable=True)
    with pytest.raises(RegistryUnavailable):
        send_challenge(
            sms, MobilePhone("+79161234567"), ALICE, ISSUE, now=T0, random_bytes=seeded(3)
        )


def test_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        create_challenge(ALICE, ISSUE, now=dt.datetime(2026, 1, 1), random_bytes=seeded(1))


# --- the R7 gate other services call ---------------------------------------------------------


def test_require_confirmed_passes_only_an_accepted_code_for_exactly_this_operation() -> None:
    ch, code = new(binding=REVOKE)
    ok = verify_code(ch, code, REVOKE, subscriber=ALICE, now=T0)
    require_confirmed(ok, REVOKE, subscriber=ALICE, at=T0 + dt.timedelta(seconds=1))
    with pytest.raises(OtpRefused, match="needs a one-time code") as exc:
        require_confirmed(None, REVOKE, subscriber=ALICE, at=T0)
    assert exc.value.rule == "R7"
    with pytest.raises(OtpRefused, match="another operation"):
        require_confirmed(ok, ISSUE, subscriber=ALICE, at=T0)
    with pytest.raises(OtpRefused, match="another subscriber"):
        require_confirmed(ok, REVOKE, subscriber=BOB, at=T0)
    with pytest.raises(OtpRefused, match="after this operation"):
        require_confirmed(ok, REVOKE, subscriber=ALICE, at=T0 - dt.timedelta(seconds=1))
    bad = verify_code(ch, wrong(code), REVOKE, subscriber=ALICE, now=T0)
    with pytest.raises(OtpRefused, match="not accepted"):
        require_confirmed(bad, REVOKE, subscriber=ALICE, at=T0)
