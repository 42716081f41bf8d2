"""Typed identifiers of domain entities; each validates on construction.

Add new ID types here (append-style) rather than passing bare strings between modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atlas_ca.errors import InvalidIdentifier

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True, slots=True, order=True)
class _EntityId:
    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _ID.fullmatch(self.value):
            raise InvalidIdentifier(
                type(self).__name__,
                "must be 1–64 characters of letters, digits and . _ : - starting with a letter "
                "or digit",
            )

    def __str__(self) -> str:
        return self.value


class SubscriberId(_EntityId):
    """A subscriber (ФЛ, ИП or ЮЛ) of the digital profile."""


class RegistrarId(_EntityId):
    """A registrar (оператор удостоверения) of the network."""


class AuthorityId(_EntityId):
    """A recorded authority (должностные полномочия) of a person for an organisation."""


class OrderId(_EntityId):
    """An order placed in the digital profile (R8)."""


class ProductCode(_EntityId):
    """A product or service in the tariff catalogue (R11)."""


class TariffPlanId(_EntityId):
    """A tariff plan (R11)."""


class OfficeId(_EntityId):
    """An office of the network or an agent's point of service (R19 agent networks)."""


class ChallengeId(_EntityId):
    """A one-time-code challenge sent by SMS (R7)."""
