"""Business time: the one time zone in which every "day" of the rules is counted.

«Деловая сеть» works from Vladivostok for customers everywhere, and its books (the day whose
prices apply, the VAT day, the day a written refund request was received, the 30 working days
of R18) follow one configured zone — by default Moscow time, the network's business day. A
moment (an aware ``datetime``) becomes a day only through :func:`business_day`; nowhere else
does the billing domain call ``.date()`` on a moment, so a caller whose clock runs in UTC (the
services' :class:`~atlas_ca.services.ports.SystemClock`) or in Vladivostok gets the same days.

The zone is a parameter, never read from the machine (no ``TZ``, no local time).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from atlas_ca.domain.money import InvalidBillingInput

#: The default business time zone: Moscow time (UTC+3 all year since 2014).
MOSCOW = ZoneInfo("Europe/Moscow")


def business_zone(name: str) -> dt.tzinfo:
    """The zone named ``name`` (IANA, e.g. ``Europe/Moscow``, ``Asia/Vladivostok``)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise InvalidBillingInput(f"{name!r} is not a known IANA time zone") from exc


def business_day(at: dt.datetime, zone: dt.tzinfo = MOSCOW) -> dt.date:
    """The business day of the moment ``at`` (aware) in ``zone``."""
    if not isinstance(at, dt.datetime):
        raise TypeError(f"at must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidBillingInput(f"a moment must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(zone).date()


__all__ = ["MOSCOW", "business_day", "business_zone"]
