"""The one place that teaches asn1crypto what it does not know (style lesson 2).

:func:`register` adds the GOST algorithms and key parameters (through
:func:`atlas_ca.asn1.gost.register_gost`), the Russian certificate extensions and the Russian
subject attributes to asn1crypto's maps. It is idempotent and patches the reverse maps when
asn1crypto has already built them, so a name registered late still encodes.
"""

from __future__ import annotations

import threading
from typing import Any

from asn1crypto import x509

from atlas_ca.asn1 import oids, ru
from atlas_ca.asn1.gost import register_gost

_lock = threading.Lock()
_done = False

_EXTENSIONS: tuple[tuple[oids.Oid, str, Any], ...] = (
    (oids.RuExtension.SUBJECT_SIGN_TOOL, "subject_sign_tool", ru.SubjectSignTool),
    (oids.RuExtension.ISSUER_SIGN_TOOL, "issuer_sign_tool", ru.IssuerSignTool),
    (oids.RuExtension.IDENTIFICATION_KIND, "identification_kind", ru.IdentificationKind),
)

_ATTRIBUTES: tuple[tuple[oids.Oid, str], ...] = (
    (oids.RuAttribute.OGRN, "ogrn"),
    (oids.RuAttribute.SNILS, "snils"),
    (oids.RuAttribute.INNLE, "innle"),
    (oids.RuAttribute.OGRNIP, "ogrnip"),
    (oids.RuAttribute.INN, "inn"),
)


def add_to_map(oid_class: Any, dotted: str, name: str) -> None:
    """Map ``dotted`` to ``name`` in an asn1crypto ObjectIdentifier class, reverse map too."""
    oid_class._map[dotted] = name
    reverse = getattr(oid_class, "_reverse_map", None)
    if reverse is not None:
        reverse[name] = dotted


def register() -> None:
    """Register every asn1crypto addition of atlas_ca; safe to call any number of times."""
    global _done
    with _lock:
        if _done:
            return
        register_gost()
        for oid, name, spec in _EXTENSIONS:
            add_to_map(x509.ExtensionId, oid.dotted, name)
            x509.Extension._oid_specs[name] = spec
        for oid, name in _ATTRIBUTES:
            add_to_map(x509.NameType, oid.dotted, name)
            x509.NameTypeAndValue._oid_specs[name] = ru.RuNumericString
        _done = True


__all__ = ["add_to_map", "register"]
