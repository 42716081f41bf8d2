"""Russian identifiers as value types that validate on construction (R2, R12, R1).

Each type is a frozen dataclass whose ``value`` is the normalised form (digits only, or E.164
for a phone). An invalid input raises :class:`~atlas_ca.errors.InvalidIdentifier` naming the
field and the rule broken — e.g. ``СНИЛС: checksum 12 ≠ 15 (R2)`` — never a bare ``ValueError``.

What comes from libraries and what is written here:

* ИНН (10 and 12 digits): check digits from ``stdnum.ru.inn`` (python-stdnum).
* ОГРН (13 digits): check digit from ``stdnum.ru.ogrn``.
* ОГРНИП (15 digits): **written here**. python-stdnum 2.2 computes ``int(first 14) % 13`` and
  compares it with the last digit, omitting the final ``% 10`` of the rule, so it rejects every
  valid ОГРНИП whose remainder is 10, 11 or 12 (about 3 in 13).
* СНИЛС: **written here** (python-stdnum has no module): weights 9..1 over the first nine
  digits; a sum below 100 is the checksum, 100 and 101 give 00, a larger sum is reduced
  mod 101 (a remainder of 100 gives 00). The check applies to numbers above 001-001-998.
* КПП: **written here** (no stdnum module); structure only, it has no check digit.
* Passport of a citizen of Russia: **written here** (structure only, no check digit exists).
* Mobile phone: ``phonenumbers`` parses, validates and classifies the number (R1).

``str``/``repr`` of a person's identifiers (ИНН of a person, СНИЛС, passport, phone) are masked
(R21, see :mod:`atlas_ca.domain.masking`); organisation identifiers are public and shown whole.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from stdnum.ru import inn as _stdnum_inn
from stdnum.ru import ogrn as _stdnum_ogrn

from atlas_ca.domain.masking import mask_inn_person, mask_passport, mask_phone, mask_snils
from atlas_ca.errors import InvalidIdentifier

__all__ = [
    "PASSPORT_INTRODUCED",
    "SNILS_CHECK_THRESHOLD",
    "InnLegal",
    "InnPerson",
    "Kpp",
    "MobilePhone",
    "Ogrn",
    "Ogrnip",
    "Passport",
    "Snils",
    "inn_legal_check_digit",
    "inn_person_check_digits",
    "ogrn_check_digit",
    "ogrnip_check_digit",
    "parse_inn",
    "snils_checksum",
]

_SEPARATORS = re.compile(r"[\s\-]+")

#: СНИЛС numbers up to and including 001-001-998 predate the checksum and are not checked.
SNILS_CHECK_THRESHOLD = 1_001_998

#: The passport of a citizen of Russia of the current form is issued since 1 October 1997.
PASSPORT_INTRODUCED = dt.date(1997, 10, 1)


def _require_str(field: str, value: object, rule: str) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifier(
            field, f"must be a string, not {type(value).__name__} ({rule})", rule=rule
        )
    return value


def _digits(field: str, value: object, length: int, rule: str) -> str:
    """Strip spaces and hyphens; require exactly ``length`` ASCII digits."""
    text = _SEPARATORS.sub("", _require_str(field, value, rule))
    if not text.isascii() or not text.isdigit():
        raise InvalidIdentifier(field, f"must contain only digits ({rule})", rule=rule)
    if len(text) != length:
        raise InvalidIdentifier(
            field, f"must have {length} digits, got {len(text)} ({rule})", rule=rule
        )
    return text


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# --- check-digit functions -------------------------------------------------------------------


def inn_person_check_digits(first10: str) -> str:
    """The two check digits of a person's ИНН from its first ten digits (python-stdnum)."""
    return str(_stdnum_inn.calc_personal_check_digits(first10))


def inn_legal_check_digit(first9: str) -> str:
    """The check digit of an organisation's ИНН from its first nine digits (python-stdnum)."""
    return str(_stdnum_inn.calc_company_check_digit(first9))


def ogrn_check_digit(first12: str) -> str:
    """The check digit of a 13-digit ОГРН: ``int(first12) % 11 % 10`` (python-stdnum)."""
    return str(_stdnum_ogrn.calc_check_digit(first12 + "0"))


def ogrnip_check_digit(first14: str) -> str:
    """The check digit of a 15-digit ОГРНИП: the last digit of ``int(first14) % 13``.

    Written here: python-stdnum 2.2 omits the final ``% 10`` and so rejects remainders 10–12.
    """
    return str(int(first14) % 13 % 10)


def snils_checksum(first9: str) -> str:
    """The two-digit СНИЛС checksum of the first nine digits (weights 9..1, mod 101 rule)."""
    total = sum(w * int(d) for w, d in zip(range(9, 0, -1), first9, strict=True))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        if check == 100:
            check = 0
    return f"{check:02d}"


# --- organisation identifiers (public register data: not masked) ----------------------------


@dataclass(frozen=True, slots=True, repr=False)
class InnLegal:
    """ИНН of an organisation (ЮЛ): 10 digits, the last a check digit."""

    value: str

    def __post_init__(self) -> None:
        digits = _digits("ИНН ЮЛ", self.value, 10, "R2")
        expected = inn_legal_check_digit(digits[:9])
        if digits[9] != expected:
            raise InvalidIdentifier(
                "ИНН ЮЛ", f"check digit {digits[9]} ≠ {expected} (R2)", rule="R2"
            )
        _set(self, "value", digits)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"InnLegal({self.value!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Kpp:
    """КПП of an organisation: 9 characters ``NNNNPPXXX``, no check digit (structure only).

    ``NNNN`` is the tax office code, ``PP`` the reason code (digits, or Latin capitals A–Z since
    2013 per the FNS order on the КПП format), ``XXX`` a serial number. Written here:
    python-stdnum has no КПП module.
    """

    value: str

    _FORMAT = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")

    def __post_init__(self) -> None:
        text = _SEPARATORS.sub("", _require_str("КПП", self.value, "R2")).upper()
        if len(text) != 9:
            raise InvalidIdentifier(
                "КПП", f"must have 9 characters, got {len(text)} (R2)", rule="R2"
            )
        if not self._FORMAT.fullmatch(text):
            raise InvalidIdentifier(
                "КПП",
                "must be 4 digits (tax office), 2 digits or Latin capitals (reason), 3 digits (R2)",
                rule="R2",
            )
        if text[:4] == "0000":
            raise InvalidIdentifier("КПП", "tax office code 0000 does not exist (R2)", rule="R2")
        _set(self, "value", text)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Kpp({self.value!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Ogrn:
    """ОГРН of an organisation: 13 digits starting with 1 or 5; check digit ``% 11 % 10``."""

    value: str

    def __post_init__(self) -> None:
        digits = _digits("ОГРН", self.value, 13, "R2")
        if digits[0] not in "15":
            raise InvalidIdentifier(
                "ОГРН",
                f"must start with 1 or 5 (a ОГРН, not a ГРН of a later record), "
                f"got {digits[0]} (R2)",
                rule="R2",
            )
        expected = ogrn_check_digit(digits[:12])
        if digits[12] != expected:
            raise InvalidIdentifier(
                "ОГРН", f"check digit {digits[12]} ≠ {expected} (R2)", rule="R2"
            )
        _set(self, "value", digits)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Ogrn({self.value!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Ogrnip:
    """ОГРНИП of an individual entrepreneur: 15 digits starting with 3.

    Check digit: the last digit of ``int(first 14) % 13`` (validated here, see module doc).
    """

    value: str

    def __post_init__(self) -> None:
        digits = _digits("ОГРНИП", self.value, 15, "R2")
        if digits[0] != "3":
            raise InvalidIdentifier(
                "ОГРНИП",
                f"must start with 3 (a ОГРНИП, not a ГРНИП of a later record), "
                f"got {digits[0]} (R2)",
                rule="R2",
            )
        expected = ogrnip_check_digit(digits[:14])
        if digits[14] != expected:
            raise InvalidIdentifier(
                "ОГРНИП", f"check digit {digits[14]} ≠ {expected} (R2)", rule="R2"
            )
        _set(self, "value", digits)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Ogrnip({self.value!r})"


# --- personal identifiers (masked in str/repr, R21) -----------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class InnPerson:
    """ИНН of a person (ФЛ or ИП): 12 digits, the last two check digits. Masked (R21)."""

    value: str

    def __post_init__(self) -> None:
        digits = _digits("ИНН ФЛ", self.value, 12, "R2")
        expected = inn_person_check_digits(digits[:10])
        if digits[10:] != expected:
            raise InvalidIdentifier(
                "ИНН ФЛ", f"check digits {digits[10:]} ≠ {expected} (R2)", rule="R2"
            )
        _set(self, "value", digits)

    @property
    def masked(self) -> str:
        return mask_inn_person(self.value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"InnPerson({self.masked!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Snils:
    """СНИЛС: 11 digits ``XXX-XXX-XXX YY``; ``YY`` is the checksum (see module doc). Masked."""

    value: str

    def __post_init__(self) -> None:
        digits = _digits("СНИЛС", self.value, 11, "R2")
        if digits[:9] == "000000000":
            raise InvalidIdentifier("СНИЛС", "number 000-000-000 is never issued (R2)", rule="R2")
        if int(digits[:9]) > SNILS_CHECK_THRESHOLD:
            expected = snils_checksum(digits[:9])
            if digits[9:] != expected:
                raise InvalidIdentifier(
                    "СНИЛС", f"checksum {digits[9:]} ≠ {expected} (R2)", rule="R2"
                )
        _set(self, "value", digits)

    @property
    def formatted(self) -> str:
        """The printed layout ``XXX-XXX-XXX YY`` (unmasked: use only where the law needs it)."""
        v = self.value
        return f"{v[:3]}-{v[3:6]}-{v[6:9]} {v[9:]}"

    @property
    def masked(self) -> str:
        return mask_snils(self.value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Snils({self.masked!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Passport:
    """Passport of a citizen of Russia: series (4 digits), number (6), issue date, issuer code.

    Structure only (the passport has no check digit); written here. The series' first two
    digits are the region (ОКАТО) code, never ``00``; the issuer code (код подразделения) is
    ``NNN-NNN`` and is normalised to that form. ``value`` is series + number (10 digits).
    Masked in ``str``/``repr`` (R21). Whether the passport is *valid* (not reported lost,
    not expired by age) is the МВД check of R5, not a format question.
    """

    series: str
    number: str
    issue_date: dt.date
    issuer_code: str

    def __post_init__(self) -> None:
        series = _digits("паспорт: серия", self.series, 4, "R2")
        if series[:2] == "00":
            raise InvalidIdentifier(
                "паспорт: серия", "region code 00 does not exist (R2)", rule="R2"
            )
        number = _digits("паспорт: номер", self.number, 6, "R2")
        if number == "000000":
            raise InvalidIdentifier(
                "паспорт: номер", "number 000000 is never issued (R2)", rule="R2"
            )
        if not isinstance(self.issue_date, dt.date) or isinstance(self.issue_date, dt.datetime):
            raise InvalidIdentifier(
                "паспорт: дата выдачи",
                f"must be a date, not {type(self.issue_date).__name__} (R2)",
                rule="R2",
            )
        if self.issue_date < PASSPORT_INTRODUCED:
            raise InvalidIdentifier(
                "паспорт: дата выдачи",
                f"before {PASSPORT_INTRODUCED.isoformat()}, when this passport form was "
                "introduced (R2)",
                rule="R2",
            )
        code = _digits("паспорт: код подразделения", self.issuer_code, 6, "R2")
        _set(self, "series", series)
        _set(self, "number", number)
        _set(self, "issuer_code", f"{code[:3]}-{code[3:]}")

    @property
    def value(self) -> str:
        return self.series + self.number

    @property
    def masked(self) -> str:
        return mask_passport(self.series, self.number)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Passport({self.masked!r})"


@dataclass(frozen=True, slots=True, repr=False)
class MobilePhone:
    """A mobile phone number in E.164 (R1: registration needs a mobile number).

    Parsed by ``phonenumbers`` (a number without ``+`` is read as Russian); it must be a valid
    number of type MOBILE, or FIXED_LINE_OR_MOBILE where the numbering plan cannot tell the two
    apart (e.g. the NANP). ``value`` is the E.164 form. Masked in ``str``/``repr`` (R21: contact
    data).
    """

    value: str

    _MOBILE = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )

    def __post_init__(self) -> None:
        text = _require_str("телефон", self.value, "R1").strip()
        try:
            parsed = phonenumbers.parse(text, "RU")
        except phonenumbers.NumberParseException as exc:
            raise InvalidIdentifier("телефон", "is not a phone number (R1)", rule="R1") from exc
        if not phonenumbers.is_valid_number(parsed):
            raise InvalidIdentifier(
                "телефон", "is not a valid number of any numbering plan (R1)", rule="R1"
            )
        if phonenumbers.number_type(parsed) not in self._MOBILE:
            raise InvalidIdentifier(
                "телефон", "must be a mobile number, SMS codes go to it (R1, R7)", rule="R1"
            )
        _set(self, "value", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))

    @property
    def masked(self) -> str:
        return mask_phone(self.value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"MobilePhone({self.masked!r})"


def parse_inn(text: str) -> InnPerson | InnLegal:
    """Read an ИНН of either kind by its length (12 → person, 10 → organisation)."""
    digits = _SEPARATORS.sub("", _require_str("ИНН", text, "R2"))
    if len(digits) == 12:
        return InnPerson(digits)
    if len(digits) == 10:
        return InnLegal(digits)
    raise InvalidIdentifier(
        "ИНН",
        f"must have 10 (organisation) or 12 (person) digits, got {len(digits)} (R2)",
        rule="R2",
    )
