"""Russian identifiers validate on construction, with check digits (R2, R12, R1)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.ru import ogrn as stdnum_ogrn

from atlas_ca.domain.identifiers import (
    InnLegal,
    InnPerson,
    Kpp,
    MobilePhone,
    Ogrn,
    Ogrnip,
    Passport,
    Snils,
    parse_inn,
)
from atlas_ca.errors import DomainError, InvalidIdentifier, InvalidInput

# --- independent oracles, written from the published rules (not from our module) -----------


def oracle_inn10(n: str) -> bool:
    w = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return int(n[9]) == sum(a * int(b) for a, b in zip(w, n, strict=False)) % 11 % 10


def oracle_inn12(n: str) -> bool:
    w1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    w2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    d1 = sum(a * int(b) for a, b in zip(w1, n, strict=False)) % 11 % 10
    d2 = sum(a * int(b) for a, b in zip(w2, n, strict=False)) % 11 % 10
    return (int(n[10]), int(n[11])) == (d1, d2)


def oracle_ogrn(n: str) -> bool:
    return n[0] in "15" and int(n[12]) == int(n[:12]) % 11 % 10


def oracle_ogrnip(n: str) -> bool:
    return n[0] == "3" and int(n[14]) == int(n[:14]) % 13 % 10


def oracle_snils(n: str) -> bool:
    if int(n[:9]) <= 1001998:
        return n[:9] != "000000000"
    s = sum((9 - i) * int(d) for i, d in enumerate(n[:9]))
    c = s if s < 100 else 0 if s in (100, 101) else s % 101 % 100
    return int(n[9:]) == c


def _digits(k: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=k, max_size=k)


def _complete(prefix: str, length: int, oracle: object) -> str:
    """The valid number with this prefix: try every suffix (at most 100)."""
    rest = length - len(prefix)
    for i in range(10**rest):
        cand = prefix + f"{i:0{rest}d}"
        if oracle(cand):  # type: ignore[operator]
            return cand
    raise AssertionError("no completion")


inn10 = _digits(9).map(lambda p: _complete(p, 10, oracle_inn10))
inn12 = _digits(10).map(lambda p: _complete(p, 12, oracle_inn12))
ogrn13 = st.tuples(st.sampled_from("15"), _digits(11)).map(
    lambda t: _complete(t[0] + t[1], 13, oracle_ogrn)
)
ogrnip15 = _digits(13).map(lambda p: _complete("3" + p, 15, oracle_ogrnip))
snils11 = st.integers(1001999, 999_999_999).map(lambda n: _complete(f"{n:09d}", 11, oracle_snils))

SCHEMES = [
    (InnLegal, inn10, oracle_inn10),
    (InnPerson, inn12, oracle_inn12),
    (Ogrn, ogrn13, oracle_ogrn),
    (Ogrnip, ogrnip15, oracle_ogrnip),
    (Snils, snils11, oracle_snils),
]


# --- R12 legal entities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inn", "kpp", "ogrn"),
    [
        ("2539038819", "253601001", "1022502121476"),  # АО "Сервер-Центр"
        ("2536161885", "253601001", "1052503122902"),  # АО "Атлас-2"
    ],
)
def test_the_payment_entities_of_r12_validate(inn: str, kpp: str, ogrn: str) -> None:
    assert InnLegal(inn).value == inn
    assert Kpp(kpp).value == kpp
    assert Ogrn(ogrn).value == ogrn
    assert str(Ogrn(ogrn)) == ogrn  # organisation identifiers are not masked


def test_the_14_digit_ogrn_typo_of_the_standard_is_rejected_clearly() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        Ogrn("10225021211476")
    assert exc.value.field == "ОГРН"
    assert "13 digits, got 14" in str(exc.value)
    assert exc.value.rule == "R2"
    assert isinstance(exc.value, InvalidInput)
    assert isinstance(exc.value, DomainError)


# --- generated valid values pass, one changed digit fails where the scheme detects it --------


@pytest.mark.parametrize(
    ("cls", "strategy", "oracle"), SCHEMES, ids=lambda x: getattr(x, "__name__", "")
)
def test_generated_valid_identifiers_pass_and_single_digit_changes_fail(
    cls: type, strategy: st.SearchStrategy[str], oracle: object
) -> None:
    @settings(max_examples=80, deadline=None)
    @given(number=strategy, pos=st.integers(0, 100), delta=st.integers(1, 9))
    def check(number: str, pos: int, delta: int) -> None:
        assert cls(number).value == number
        i = pos % len(number)
        mutated = number[:i] + str((int(number[i]) + delta) % 10) + number[i + 1 :]
        if oracle(mutated):  # type: ignore[operator]
            assert cls(mutated).value == mutated
        else:
            with pytest.raises(InvalidIdentifier):
                cls(mutated)

    check()


@pytest.mark.parametrize(
    ("cls", "strategy", "oracle"), SCHEMES, ids=lambda x: getattr(x, "__name__", "")
)
def test_a_changed_check_digit_is_always_detected(
    cls: type, strategy: st.SearchStrategy[str], oracle: object
) -> None:
    @settings(max_examples=60, deadline=None)
    @given(number=strategy, delta=st.integers(1, 9))
    def check(number: str, delta: int) -> None:
        mutated = number[:-1] + str((int(number[-1]) + delta) % 10)
        with pytest.raises(InvalidIdentifier, match="check"):
            cls(mutated)

    check()


# --- ОГРНИП: the remainders python-stdnum gets wrong ----------------------------------------


@pytest.mark.parametrize("remainder", [10, 11, 12])
def test_ogrnip_with_remainder_10_to_12_is_valid_though_stdnum_rejects_it(remainder: int) -> None:
    base = 30450011600010  # 14 digits starting with 3
    first14 = str(next(n for n in range(base, base + 13) if n % 13 == remainder))
    number = first14 + str(remainder % 10)
    assert Ogrnip(number).value == number
    assert not stdnum_ogrn.is_valid(number)  # the library's omission this module works around


def test_ogrnip_real_world_example_and_wrong_prefix() -> None:
    assert Ogrnip("304500116000157").value == "304500116000157"
    with pytest.raises(InvalidIdentifier, match="must start with 3"):
        Ogrnip("404500116000157")


def test_ogrn_must_start_with_1_or_5() -> None:
    with pytest.raises(InvalidIdentifier, match="must start with 1 or 5"):
        Ogrn("2022502121476")


# --- СНИЛС ----------------------------------------------------------------------------------


def test_snils_checksum_message_names_field_and_both_values() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        Snils("112-233-445 12")
    assert str(exc.value) == "СНИЛС: checksum 12 ≠ 95 (R2)"


def test_snils_checksum_of_the_published_example() -> None:
    from atlas_ca.domain.identifiers import snils_checksum

    assert snils_checksum("112233445") == "95"  # 9+8+14+12+15+12+12+8+5 = 95 < 100
    assert Snils("112-233-445 95").value == "11223344595"


def test_snils_sums_of_100_and_101_give_00_and_large_sums_reduce_mod_101() -> None:
    from atlas_ca.domain.identifiers import snils_checksum

    def weighted(first9: str) -> int:
        return sum((9 - i) * int(d) for i, d in enumerate(first9))

    hundred = next(f"{n:09d}" for n in range(1001999, 10**9, 7) if weighted(f"{n:09d}") == 100)
    hundred_one = next(f"{n:09d}" for n in range(1001999, 10**9, 7) if weighted(f"{n:09d}") == 101)
    big = "999999999"  # sum 405 -> 405 % 101 = 1
    assert snils_checksum(hundred) == "00"
    assert snils_checksum(hundred_one) == "00"
    assert snils_checksum(big) == "01"
    assert Snils(hundred + "00").value == hundred + "00"
    assert Snils(big + "01").value == big + "01"


def test_snils_below_threshold_is_not_checked_but_zero_is_refused() -> None:
    assert Snils("001-001-998 77").value == "00100199877"
    with pytest.raises(InvalidIdentifier, match="checksum"):
        Snils("001-001-999 77")
    with pytest.raises(InvalidIdentifier, match="never issued"):
        Snils("000-000-000 00")


def test_snils_formatting_and_masking() -> None:
    s = Snils("11223344595")
    assert s.formatted == "112-233-445 95"
    assert str(s) == "***-***-*** 95"
    assert repr(s) == "Snils('***-***-*** 95')"
    assert "112233445" not in repr(s)


# --- ИНН ------------------------------------------------------------------------------------


def test_person_inn_is_masked_and_organisation_inn_is_not() -> None:
    p = InnPerson("500100732259")
    assert str(p) == "**********59"
    assert "5001007322" not in repr(p)
    assert repr(InnLegal("2539038819")) == "InnLegal('2539038819')"


def test_parse_inn_dispatches_on_length() -> None:
    assert isinstance(parse_inn("500100732259"), InnPerson)
    assert isinstance(parse_inn("2539038819"), InnLegal)
    with pytest.raises(InvalidIdentifier, match=r"10 .* or 12"):
        parse_inn("12345")


@pytest.mark.parametrize(
    ("cls", "text", "fragment"),
    [
        (InnLegal, "25390388x9", "only digits"),
        (InnLegal, "253903881", "10 digits, got 9"),
        (InnLegal, "2539038818", "check digit 8 ≠ 9"),
        (InnPerson, "500100732258", "check digits 58 ≠ 59"),
        (InnPerson, 500100732259, "must be a string"),
        (Ogrn, "1022502121477", "check digit 7 ≠ 6"),
    ],
)
def test_invalid_values_raise_specific_errors(cls: type, text: object, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment) as exc:
        cls(text)
    assert "(R2)" in str(exc.value)


def test_separators_are_normalised_away() -> None:
    assert InnLegal(" 2539 038 819 ").value == "2539038819"
    assert Ogrn("1 022502 121476").value == "1022502121476"


# --- КПП ------------------------------------------------------------------------------------


def test_kpp_structure_only() -> None:
    assert Kpp("7701ab001").value == "7701AB001"  # reason code letters since 2013
    for bad, frag in [
        ("25360100", "9 characters"),
        ("2536010A1", "3 digits"),
        ("000001001", "0000"),
    ]:
        with pytest.raises(InvalidIdentifier, match=frag):
            Kpp(bad)


# --- passport -------------------------------------------------------------------------------


def test_passport_normalises_and_masks() -> None:
    p = Passport("45 03", "123456", dt.date(2005, 1, 2), "772001")
    assert (p.series, p.number, p.issuer_code, p.value) == (
        "4503",
        "123456",
        "772-001",
        "4503123456",
    )
    assert str(p) == "** ** ****56"
    assert "123456" not in repr(p)
    assert "4503" not in repr(p)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("0003", "123456", dt.date(2005, 1, 2), "772-001"), "region code 00"),
        (("4503", "12345", dt.date(2005, 1, 2), "772-001"), "6 digits, got 5"),
        (("4503", "000000", dt.date(2005, 1, 2), "772-001"), "never issued"),
        (("4503", "123456", dt.date(1996, 1, 2), "772-001"), "1997-10-01"),
        (("4503", "123456", "2005-01-02", "772-001"), "must be a date"),
        (("4503", "123456", dt.date(2005, 1, 2), "77-200"), "код подразделения"),
    ],
)
def test_invalid_passports(args: tuple[object, ...], fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment):
        Passport(*args)  # type: ignore[arg-type]


def test_passport_error_does_not_leak_the_number() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        Passport("4503", "123456", dt.date(1990, 1, 2), "772-001")
    assert "123456" not in str(exc.value)
    assert "123456" not in repr(exc.value)


# --- mobile phone (R1) ----------------------------------------------------------------------


def test_mobile_phone_normalises_to_e164_and_masks() -> None:
    assert MobilePhone("8 (916) 123-45-67").value == "+79161234567"
    assert MobilePhone("+7 916 123 45 67").value == "+79161234567"
    assert str(MobilePhone("+79161234567")) == "+7********67"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("+7 495 123-45-67", "must be a mobile number"),  # Moscow landline
        ("not a number", "not a phone number"),
        ("+7 916 123", "not a valid number"),
    ],
)
def test_non_mobile_or_invalid_phones_are_refused_under_r1(text: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment) as exc:
        MobilePhone(text)
    assert exc.value.rule == "R1"


def test_identifiers_are_immutable_and_comparable() -> None:
    a, b = InnLegal("2539038819"), InnLegal("2539 038 819")
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.value = "2536161885"  # type: ignore[misc]
