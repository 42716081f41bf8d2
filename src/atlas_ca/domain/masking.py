"""Masking of personal data for str/repr/logs/error messages (R21, 152-ФЗ).

Every domain object that holds a passport number, a СНИЛС, a person's ИНН or a phone number
renders it through one of these functions, so the raw value never reaches a log line, a
traceback or an exception message. Only the last two digits stay visible — enough for a person
to recognise their own number, too little to identify anyone.

Organisation identifiers (ИНН of a legal entity, КПП, ОГРН, ОГРНИП) are public register data
and are not masked.
"""

from __future__ import annotations

MASK = "*"
VISIBLE_DIGITS = 2


def mask_tail(value: str, visible: int = VISIBLE_DIGITS) -> str:
    """``'500100732259'`` → ``'**********59'``: every character but the last ``visible``."""
    if visible <= 0 or len(value) <= visible:
        return MASK * len(value)
    return MASK * (len(value) - visible) + value[-visible:]


def mask_snils(digits: str) -> str:
    """An 11-digit СНИЛС in its printed layout: ``'***-***-*** 95'``."""
    return f"***-***-*** {digits[-2:]}" if len(digits) == 11 else mask_tail(digits)


def mask_inn_person(digits: str) -> str:
    """A person's 12-digit ИНН: ``'**********59'``."""
    return mask_tail(digits)


def mask_passport(series: str, number: str) -> str:
    """A passport in its printed layout ``'SS SS NNNNNN'``: ``'** ** ****56'``."""
    return f"** ** {mask_tail(number)}"


def mask_phone(e164: str) -> str:
    """A phone number in E.164 keeps its '+' and first digit and the last two: ``'+7*******67'``."""
    if len(e164) <= 4:
        return MASK * len(e164)
    return e164[:2] + MASK * (len(e164) - 4) + e164[-2:]


def mask_text(text: str) -> str:
    """Mask every character of a free-text personal field (a surname, an address)."""
    if not text:
        return ""
    return text[0] + MASK * (len(text) - 1)
