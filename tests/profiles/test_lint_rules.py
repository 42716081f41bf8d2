"""Every lint has a failing example: a clean certificate of ours with exactly that rule broken.

Each case starts from a TBS we issued (which lints clean) and breaks one thing by DER surgery,
then asserts that the lint's code is reported, with the severity the registry gives it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.asn1 import oids
from atlas_ca.asn1.oids import Oid
from atlas_ca.errors import DecodeError
from atlas_ca.profiles.lint import Severity, Target, lint_der, registry
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.der import tlv
from support.profiles_certkit import (
    ISSUER,
    SERIAL,
    SIGNATURE,
    SPKI,
    SUBJECT,
    VALIDITY,
    VERSION,
    Attrs,
    children,
    edit_subject,
    extensions_of,
    raw_extension,
    with_child,
    with_extensions,
)
from support.profiles_samples import NOW, World, build_world

ENUM_NAME = re.compile(r"\b[A-Z][A-Za-z]*\.[A-Z_]{3,}\b|\b[A-Z]+_[A-Z_]+\b")

A = oids.NameAttribute
R = oids.RuAttribute
X = oids.Extension


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("lint-rules")))


# --- surgery helpers --------------------------------------------------------------------------


def alg_id(oid: Oid) -> bytes:
    """An AlgorithmIdentifier without parameters (GOST, ECDSA)."""
    return tlv(0x30, core.ObjectIdentifier(oid.dotted).dump())


def ext_oid(raw: bytes) -> str:
    return str(core.ObjectIdentifier.load(children(raw)[0]).dotted)


def drop_ext(oid: Oid) -> Callable[[bytes], bytes]:
    def edit(tbs: bytes) -> bytes:
        return with_extensions(tbs, [e for e in extensions_of(tbs) if ext_oid(e) != oid.dotted])

    return edit


def put_ext(ext: x509ext.Extension | bytes) -> Callable[[bytes], bytes]:
    """Replace the extension of the same OID (or append it)."""
    raw = ext if isinstance(ext, bytes) else ext.der()

    def edit(tbs: bytes) -> bytes:
        oid = ext_oid(raw)
        exts = extensions_of(tbs)
        out = [raw if ext_oid(e) == oid else e for e in exts]
        if raw not in out:
            out.append(raw)
        return with_extensions(tbs, out)

    return edit


def add_raw_ext(raw: bytes) -> Callable[[bytes], bytes]:
    def edit(tbs: bytes) -> bytes:
        return with_extensions(tbs, [*extensions_of(tbs), raw])

    return edit


def subject(fn: Callable[[Attrs], Attrs]) -> Callable[[bytes], bytes]:
    return lambda tbs: edit_subject(tbs, fn)


def set_attr(
    oid: Oid, tag: int | None = None, value: bytes | None = None
) -> Callable[[bytes], bytes]:
    def fn(attrs: Attrs) -> Attrs:
        return [
            (
                o,
                tag if tag is not None and o.dotted == oid.dotted else t,
                value if value is not None and o.dotted == oid.dotted else v,
            )
            for o, t, v in attrs
        ]

    return subject(fn)


def drop_attr(oid: Oid) -> Callable[[bytes], bytes]:
    return subject(lambda attrs: [a for a in attrs if a[0].dotted != oid.dotted])


def add_attr(oid: Oid, tag: int, value: bytes) -> Callable[[bytes], bytes]:
    return subject(lambda attrs: [*attrs, (oid, tag, value)])


def repeat_attr(oid: Oid) -> Callable[[bytes], bytes]:
    return subject(lambda attrs: attrs + [a for a in attrs if a[0].dotted == oid.dotted])


def bump_last_digit(oid: Oid) -> Callable[[bytes], bytes]:
    def fn(attrs: Attrs) -> Attrs:
        out = []
        for o, t, v in attrs:
            if o.dotted == oid.dotted:
                v = v[:-1] + str((int(chr(v[-1])) + 1) % 10).encode()
            out.append((o, t, v))
        return out

    return subject(fn)


def utc(t: dt.datetime) -> bytes:
    return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode())


def validity(nb: bytes, na: bytes) -> Callable[[bytes], bytes]:
    return lambda tbs: with_child(tbs, VALIDITY, tlv(0x30, nb + na))


def child(index: int, new: bytes) -> Callable[[bytes], bytes]:
    return lambda tbs: with_child(tbs, index, new)


def ku(*bits: x509ext.KeyUsageBit, critical: bool = True) -> Callable[[bytes], bytes]:
    return put_ext(x509ext.KeyUsage(critical, frozenset(bits)))


KU = x509ext.KeyUsageBit
EE_BITS = (KU.DIGITAL_SIGNATURE, KU.CONTENT_COMMITMENT, KU.KEY_ENCIPHERMENT, KU.DATA_ENCIPHERMENT)


def not_der(tbs: bytes) -> bytes:
    # Re-encode the outer length in a non-minimal long form (BER, not DER).
    lb = tbs[1]
    content = tbs[2 + (lb & 0x7F) :] if lb & 0x80 else tbs[2:]
    return b"\x30\x84" + len(content).to_bytes(4, "big") + content


def ec_key(tbs: bytes) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return with_child(tbs, SPKI, spki)


def key_on_test_curve(tbs: bytes) -> bytes:
    spki = asn1_gost.encode_spki(
        oids.GostAlgorithm.GOST3410_2012_512.dotted,
        oids.GostTestParamSet.TC26_512_TEST.dotted,
        None,
        bytes(128),
    )
    return with_child(tbs, SPKI, spki)


def small_order_key(tbs: bytes) -> bytes:
    from support.small_order_keys import small_points

    return with_child(tbs, SPKI, small_points("tc26-256-a")[4].spki())


def gost2001_key(year: int) -> Callable[[bytes], bytes]:
    """The key and signature algorithm of GOST R 34.10-2001, on a certificate from ``year``."""

    def edit(tbs: bytes) -> bytes:
        spki = asn1_gost.encode_spki(
            oids.GostAlgorithm.GOST3410_2001.dotted,
            oids.GostParamSet.CRYPTOPRO_A.dotted,
            oids.GostAlgorithm.GOST3411_94_CRYPTOPRO_PARAMS.dotted,
            bytes(64),
        )
        start = dt.datetime(year, 3, 1, tzinfo=dt.UTC)
        tbs = with_child(tbs, SPKI, spki)
        tbs = with_child(tbs, SIGNATURE, alg_id(oids.GostAlgorithm.SIGN_WITH_GOST3411_94_2001))
        tbs = drop_ext(oids.Extension.PRIVATE_KEY_USAGE_PERIOD)(tbs)
        return with_child(
            tbs, VALIDITY, tlv(0x30, utc(start) + utc(start + dt.timedelta(days=300)))
        )

    return edit


def critical_ext(oid: Oid) -> Callable[[bytes], bytes]:
    """The extension ``oid`` re-encoded with critical TRUE."""

    def edit(tbs: bytes) -> bytes:
        out = []
        for e in extensions_of(tbs):
            if ext_oid(e) == oid.dotted:
                parts = children(e)
                e = tlv(0x30, parts[0] + core.Boolean(True).dump() + parts[-1])
            out.append(e)
        return with_extensions(tbs, out)

    return edit


TSP = oids.ExtendedKeyUsage.TIME_STAMPING


def tsa_eku(critical: bool, *purposes: Oid) -> Callable[[bytes], bytes]:
    """Our OCSP responder's certificate turned into a time-stamp authority's."""
    return put_ext(x509ext.ExtendedKeyUsage(critical, purposes))


def outer_sig_512(cert_der: bytes) -> bytes:
    return with_child(cert_der, 1, alg_id(oids.GostAlgorithm.SIGN_WITH_GOST3411_2012_512))


def padded_inn(year: int) -> Callable[[bytes], bytes]:
    """A legal entity's certificate of the pre-2021 form: INN = '00' + ИНН ЮЛ, no INNLE."""

    def edit(tbs: bytes) -> bytes:
        def fn(attrs: Attrs) -> Attrs:
            innle = next(v for o, _, v in attrs if o.dotted == R.INNLE.dotted)
            kept = [a for a in attrs if a[0].dotted not in (R.INNLE.dotted, R.INN.dotted)]
            return [*kept, (R.INN, 18, b"00" + innle)]

        start = dt.datetime(year, 3, 1, tzinfo=dt.UTC)
        tbs = with_child(tbs, VALIDITY, tlv(0x30, utc(start) + utc(start + dt.timedelta(days=400))))
        tbs = drop_ext(oids.Extension.PRIVATE_KEY_USAGE_PERIOD)(tbs)
        return edit_subject(tbs, fn)

    return edit


@dataclass(frozen=True)
class Case:
    code: str
    base: str  # which clean certificate of the world
    edit: Callable[[bytes], bytes]
    profile: str | None = None  # None: auto-detect
    whole_certificate: bool = False  # edit the signed certificate, not its TBS


LATER = NOW + dt.timedelta(days=30)
CASES: tuple[Case, ...] = (
    # X.690 / RFC 5280
    Case("e_x690_not_der", "individual", not_der),
    Case("e_rfc_version_not_v3", "individual", child(VERSION, b"\xa0\x03\x02\x01\x01")),
    Case("e_rfc_serial_not_positive", "individual", child(SERIAL, core.Integer(-5).dump())),
    Case("e_rfc_serial_too_long", "individual", child(SERIAL, core.Integer(2**170).dump())),
    Case("e_rfc_signature_algorithm_mismatch", "individual", outer_sig_512, whole_certificate=True),
    Case(
        "e_rfc_validity_time_type",
        "individual",
        validity(utc(NOW), tlv(0x18, LATER.strftime("%Y%m%d%H%M%SZ").encode())),
    ),
    Case(
        "e_rfc_validity_time_format",
        "individual",
        validity(tlv(0x17, NOW.strftime("%y%m%d%H%M+0000").encode()), utc(LATER)),
    ),
    Case("e_rfc_validity_inverted", "individual", validity(utc(LATER), utc(NOW))),
    Case("e_rfc_issuer_empty", "individual", child(ISSUER, b"\x30\x00")),
    Case("e_rfc_subject_empty", "individual", child(SUBJECT, b"\x30\x00")),
    Case("e_rfc_extensions_empty", "individual", lambda t: with_extensions(t, [])),
    Case(
        "e_rfc_extension_duplicate",
        "individual",
        add_raw_ext(x509ext.SubjectSignTool(False, "второй").der()),
    ),
    Case(
        "e_rfc_extension_value_empty",
        "individual",
        put_ext(raw_extension(oids.RuExtension.SUBJECT_SIGN_TOOL, b"")),
    ),
    Case(
        "e_ext_malformed",
        "individual",
        put_ext(
            raw_extension(
                oids.RuExtension.ISSUER_SIGN_TOOL,
                tlv(0x30, core.UTF8String("a").dump() * 3),
            )
        ),
    ),
    Case("e_rfc_ca_ski_missing", "ca", drop_ext(X.SUBJECT_KEY_IDENTIFIER)),
    Case("w_rfc_subscriber_ski_missing", "individual", drop_ext(X.SUBJECT_KEY_IDENTIFIER)),
    Case("e_rfc_aki_missing", "individual", drop_ext(X.AUTHORITY_KEY_IDENTIFIER)),
    Case("e_rfc_key_cert_sign_without_ca", "individual", ku(*EE_BITS, KU.KEY_CERT_SIGN)),
    Case("e_rfc_ca_key_usage_missing", "ca", drop_ext(X.KEY_USAGE)),
    Case("e_rfc_ca_key_cert_sign_missing", "ca", ku(KU.CRL_SIGN, KU.DIGITAL_SIGNATURE)),
    Case(
        "e_rfc_ca_basic_constraints_not_critical",
        "ca",
        put_ext(x509ext.BasicConstraints(False, True, 0)),
    ),
    Case(
        "e_rfc_private_key_usage_period_critical",
        "individual",
        put_ext(x509ext.PrivateKeyUsagePeriod(True, NOW, LATER)),
    ),
    Case("e_rfc_country_not_printable", "individual", set_attr(A.COUNTRY_NAME, tag=12)),
    Case("e_rfc_email_not_ia5", "ca", set_attr(A.EMAIL_ADDRESS, tag=12)),
    Case("e_rfc_directory_string_type", "individual", set_attr(A.COMMON_NAME, tag=22, value=b"x")),
    Case("e_rfc_attribute_value_invalid", "individual", set_attr(R.SNILS, value=b"1234567890A")),
    Case(
        "w_rfc_attribute_upper_bound",
        "ca",
        set_attr(A.COMMON_NAME, value=("У" * 65).encode()),
    ),
    # Russian rules
    Case("e_ru_key_not_gost2012", "individual", ec_key),
    Case("e_ru_key_param_set_not_allowed", "individual", key_on_test_curve),
    Case("e_ru_key_point_invalid", "individual", small_order_key),
    Case(
        "e_ru_signature_not_gost2012",
        "individual",
        child(SIGNATURE, alg_id(oids.SignatureAlgorithmOid.ECDSA_WITH_SHA256)),
    ),
    Case("n_ru_key_gost2001", "individual", gost2001_key(2018)),
    Case("e_ru_subject_attribute_missing", "individual", drop_attr(R.SNILS)),
    Case("w_ru_subject_attribute_missing", "ocsp", drop_attr(A.ORGANIZATION_NAME)),
    Case("n_ru_subject_attribute_missing", "individual", drop_attr(A.COUNTRY_NAME)),
    Case(
        "w_ru_subject_attribute_unexpected",
        "individual",
        add_attr(A.ORGANIZATION_NAME, 12, 'ООО "Ромашка"'.encode()),
    ),
    Case("e_ru_subject_attribute_repeated", "individual", repeat_attr(R.SNILS)),
    Case("e_ru_subject_attribute_string_type", "individual", set_attr(R.SNILS, tag=12)),
    Case("n_ru_identifier_printable_string", "individual", set_attr(R.SNILS, tag=19)),
    Case(
        "e_ru_subject_attribute_too_long",
        "individual",
        set_attr(A.SURNAME, value=("Ж" * 65).encode()),
    ),
    Case("w_ru_country_not_ru", "individual", set_attr(A.COUNTRY_NAME, value=b"KZ")),
    Case(
        "w_ru_common_name_not_full_name",
        "individual",
        set_attr(A.COMMON_NAME, value="Мария".encode()),
    ),
    Case("e_ru_identifier_format", "individual", set_attr(R.SNILS, value=b"1234567890")),
    Case("e_ru_inn_check_digit", "individual", bump_last_digit(R.INN)),
    Case("e_ru_innle_check_digit", "legal-entity", bump_last_digit(R.INNLE)),
    Case("e_ru_ogrn_check_digit", "legal-entity", bump_last_digit(R.OGRN)),
    Case("e_ru_ogrnip_check_digit", "entrepreneur", bump_last_digit(R.OGRNIP)),
    Case("e_ru_snils_check_digit", "individual", bump_last_digit(R.SNILS)),
    Case("n_ru_inn_padded_legal_entity", "legal-entity", padded_inn(2020)),
    Case("e_ru_inn_padded_after_2021", "legal-entity", padded_inn(2025)),
    Case("e_ru_extension_missing", "individual", drop_ext(oids.RuExtension.SUBJECT_SIGN_TOOL)),
    Case("w_ru_extension_missing", "individual", drop_ext(X.CRL_DISTRIBUTION_POINTS)),
    Case("w_ru_extension_criticality", "individual", ku(*EE_BITS, critical=False)),
    Case("e_ru_extension_criticality", "individual", critical_ext(X.AUTHORITY_KEY_IDENTIFIER)),
    Case("n_ru_extension_criticality", "individual", critical_ext(X.EXTENDED_KEY_USAGE)),
    Case(
        "e_ru_policy_class_missing",
        "individual",
        put_ext(x509ext.CertificatePolicies.of(oids.Policy.ANY_POLICY)),
    ),
    Case("e_ru_key_usage_bits_missing", "individual", ku(KU.DIGITAL_SIGNATURE)),
    Case("e_ru_key_usage_bits_forbidden", "individual", ku(*EE_BITS, KU.CRL_SIGN)),
    Case(
        "e_ru_subscriber_is_ca",
        "individual",
        put_ext(x509ext.BasicConstraints(True, True, None)),
        profile="individual",
    ),
    Case(
        "e_ru_ca_not_ca",
        "ca",
        put_ext(x509ext.BasicConstraints(True, False, None)),
        profile="ca",
    ),
    Case(
        "e_ru_ocsp_signing_missing",
        "ocsp",
        put_ext(x509ext.ExtendedKeyUsage(False, (oids.ExtendedKeyUsage.CLIENT_AUTH,))),
        profile="ocsp",
    ),
    Case(
        "n_ru_validity_too_long",
        "individual",
        validity(utc(NOW), utc(NOW + dt.timedelta(days=500))),
    ),
    Case(
        "n_ru_private_key_usage_too_long",
        "individual",
        put_ext(x509ext.PrivateKeyUsagePeriod(False, NOW, NOW + dt.timedelta(days=500))),
    ),
    Case("e_tsa_eku_not_critical", "ocsp", tsa_eku(False, TSP)),
    Case("e_tsa_eku_not_sole", "ocsp", tsa_eku(True, TSP, oids.ExtendedKeyUsage.CLIENT_AUTH)),
    Case(
        "e_ru_identification_kind_value",
        "individual",
        put_ext(raw_extension(oids.RuExtension.IDENTIFICATION_KIND, core.Integer(7).dump())),
    ),
)


def _broken(world: World, case: Case) -> bytes:
    cert = world.by_profile(case.base)
    return case.edit(cert.der if case.whole_certificate else cert.tbs_der)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.code)
def test_each_rule_reports_its_failing_example(world: World, case: Case) -> None:
    report = lint_der(_broken(world, case), case.profile)
    found = [f for f in report.findings if f.code == case.code]
    assert found, f"{case.code} not reported; got {sorted(report.codes)}"
    assert all(f.severity is registry()[case.code].severity for f in found)
    assert all(f.source and f.path for f in found)
    # Messages speak RFC / Order names, never a Python enum's (KEY_CERT_SIGN, PemLabel.X509_CRL).
    assert not [f.message for f in found if ENUM_NAME.search(f.message)]


@pytest.mark.parametrize("name", ["ca", "individual", "entrepreneur", "legal-entity", "ocsp"])
def test_the_clean_certificates_the_cases_start_from_have_no_findings(
    world: World, name: str
) -> None:
    cert = world.by_profile(name)
    assert lint_der(cert.der).findings == ()
    assert lint_der(cert.tbs_der, name).findings == ()


def test_every_registered_certificate_lint_has_a_failing_example() -> None:
    certificate_lints = {c for c, i in registry().items() if i.target is Target.CERTIFICATE}
    assert {c.code for c in CASES} == certificate_lints


def test_lint_codes_carry_their_severity_prefix_and_a_source() -> None:
    for code, item in registry().items():
        assert code.startswith(item.severity.value[0] + "_")
        assert item.source
        assert item.description
        assert item.description != code


def test_a_printable_identifier_is_only_a_notice(world: World) -> None:
    tbs = set_attr(R.SNILS, tag=19)(world.individual.tbs_der)
    report = lint_der(tbs)
    assert report.ok
    assert [f.severity for f in report.findings] == [Severity.NOTICE]


def test_an_old_certificate_with_a_padded_inn_is_not_an_error(world: World) -> None:
    report = lint_der(padded_inn(2020)(world.legal_entity.tbs_der))
    assert "n_ru_inn_padded_legal_entity" in report.codes
    assert report.ok, [str(f) for f in report.errors]


def test_identification_kind_is_not_required_before_order_31(world: World) -> None:
    start = dt.datetime(2020, 3, 1, tzinfo=dt.UTC)
    tbs = drop_ext(oids.RuExtension.IDENTIFICATION_KIND)(world.individual.tbs_der)
    tbs = drop_ext(X.PRIVATE_KEY_USAGE_PERIOD)(tbs)
    old = validity(utc(start), utc(start + dt.timedelta(days=400)))(tbs)
    new = drop_ext(oids.RuExtension.IDENTIFICATION_KIND)(world.individual.tbs_der)
    assert "e_ru_extension_missing" not in lint_der(old).codes
    assert "e_ru_extension_missing" in lint_der(new).codes


def test_garbage_is_unreadable_not_a_crash() -> None:
    with pytest.raises(DecodeError):
        lint_der(b"\x30\x03\x02\x01\x01")
    with pytest.raises(DecodeError):
        lint_der(b"not a certificate")
