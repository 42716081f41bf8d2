"""ASN.1 of the Russian qualified-certificate extensions and subject attributes.

Sources: FSB Order 795 of 27.12.2011 §§ 16–20 (as amended by Order 31 of 29.01.2021) for the
structures; the OIDs live in :mod:`atlas_ca.asn1.oids`. These classes are registered into
asn1crypto by :func:`atlas_ca.asn1.specs.register`; they never leave the ``asn1``/``x509``
packages.
"""

from __future__ import annotations

from asn1crypto import core


class SubjectSignTool(core.UTF8String):  # type: ignore[misc]
    """subjectSignTool ::= UTF8String SIZE (1..200) (Order 795 §19)."""


class IssuerSignTool(core.Sequence):  # type: ignore[misc]
    """issuerSignTool (Order 795 §20): the CA's signature tool, CA tool and their certificates."""

    _fields = [  # noqa: RUF012
        ("sign_tool", core.UTF8String),
        ("ca_tool", core.UTF8String),
        ("sign_tool_cert", core.UTF8String),
        ("ca_tool_cert", core.UTF8String),
    ]


class IdentificationKind(core.Integer):  # type: ignore[misc]
    """identificationKind ::= INTEGER (Order 795 as amended by Order 31, §20.1): 0..3."""


class RuNumericString(core.Choice):  # type: ignore[misc]
    """OGRN, SNILS, INNLE, OGRNIP, INN: NumericString, PrintableString accepted on input."""

    _alternatives = [  # noqa: RUF012
        ("numeric_string", core.NumericString),
        ("printable_string", core.PrintableString),
    ]


__all__ = ["IdentificationKind", "IssuerSignTool", "RuNumericString", "SubjectSignTool"]
