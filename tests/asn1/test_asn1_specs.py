"""The one register(): asn1crypto learns the Russian extensions and attributes (and GOST)."""

from __future__ import annotations

from asn1crypto import x509

from atlas_ca.asn1 import oids, ru, specs
from atlas_ca.x509.extensions import (
    IdentificationKind,
    IdentificationKindValue,
    IssuerSignTool,
    SubjectSignTool,
)
from atlas_ca.x509.names import Name


def test_register_is_idempotent_and_teaches_asn1crypto_the_russian_extensions() -> None:
    specs.register()
    specs.register()
    for ext, native in (
        (SubjectSignTool(False, "КриптоПро CSP"), "КриптоПро CSP"),
        (IdentificationKind(False, IdentificationKindValue.REMOTE_WITH_PASSPORT_CHIP), 2),
    ):
        parsed = x509.Extension.load(ext.der())
        assert parsed["extn_id"].native == ext.oid.name[0].lower() + "".join(
            "_" + c.lower() if c.isupper() else c for c in ext.oid.name[1:]
        )
        assert parsed["extn_value"].parsed.native == native
    ist = x509.Extension.load(IssuerSignTool(False, "a", "b", "c", "d").der())
    assert ist["extn_value"].parsed.native == {
        "sign_tool": "a",
        "ca_tool": "b",
        "sign_tool_cert": "c",
        "ca_tool_cert": "d",
    }


def test_russian_attributes_have_names_and_encode_through_asn1crypto() -> None:
    specs.register()
    name = Name.build([(oids.RuAttribute.SNILS, "11223344595"), (oids.RuAttribute.OGRN, "1")])
    parsed = x509.Name.load(name.der)
    assert parsed.native == {"snils": "11223344595", "ogrn": "1"}
    # a name registered after asn1crypto built its reverse map still encodes
    assert x509.NameType("snils").dotted == oids.RuAttribute.SNILS.dotted
    atv = x509.NameTypeAndValue(
        {"type": "inn", "value": ru.RuNumericString(name="numeric_string", value="253600000000")}
    )
    assert atv.dump() == next(iter(Name.build([(oids.RuAttribute.INN, "253600000000")]))).der()
