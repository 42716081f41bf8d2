"""One person's identity data as the CLI's ``--data`` file and the facade take it (valid
ИНН and СНИЛС check digits; test data, not a real person)."""

from __future__ import annotations

PERSON = {
    "surname": "Кузнецов",
    "given_name": "Пётр",
    "patronymic": "Андреевич",
    "birth_date": "1979-02-03",
    "passport": {
        "series": "0512",
        "number": "123456",
        "issued": "2012-06-01",
        "issuer_code": "250-001",
    },
    "inn": "500100732259",
    "snils": "112-233-445 95",
}
