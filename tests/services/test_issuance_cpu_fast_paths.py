"""Issue 17 (less CPU per issuance in the service): each shortcut agrees with the slow path.

Each shortcut is compared with the path it stands in for, on valid values and on arbitrary or
damaged bytes: the same value, or an error of the same class (the style of
tests/x509/test_x509_fast_paths.py).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.asn1 import gost as asn1_gost
from atlas_ca.asn1 import oids
from atlas_ca.errors import InvalidPublicKey
from atlas_ca.gost import PARAM_SETS, TEST_PARAM_SETS, ParamSet, public_key_from_private
from atlas_ca.gost.keys import spki_param_set_oid
from atlas_ca.profiles import PROFILES, UnknownProfile, get_profile, planning
from atlas_ca.profiles.base import Profile, ProfileKind
from atlas_ca.profiles.config import CaConfig
from atlas_ca.profiles.fields import Presence
from atlas_ca.profiles.lint import lint_der
from atlas_ca.profiles.lint import view as view_module
from atlas_ca.profiles.lint.registry import (
    Finding,
    LintContext,
    LintReport,
    Policy,
    Target,
    certificate_lints,
    registry,
)
from atlas_ca.profiles.lint.view import view_of
from atlas_ca.profiles.planning import prepare_tbs
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509 import keys as keys_module
from atlas_ca.x509.certificate import CertificateBuilder
from atlas_ca.x509.der import tlv
from atlas_ca.x509.keys import PublicKeyInfo
from support.profiles_certkit import children, edit_subject, extensions_of, with_extensions
from support.profiles_samples import CONFIG, World, build_world, plan_individual


def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return ("error", type(exc))


def _reference_param_set(der: bytes) -> str:
    """Before issue 17: asn1crypto for every key."""
    return asn1_gost.decode_spki(der).public_key_param_set


def _spkis(ps: ParamSet, point: bytes) -> list[bytes]:
    """The SPKI of ``point`` on ``ps`` with and without digestParamSet (both accepted)."""
    n = 2 * ps.size
    raw = (point * n)[:n]
    return [
        asn1_gost.encode_spki(ps.algorithm_oid.dotted, ps.oid.dotted, digest, raw)
        for digest in (None, ps.digest_oid.dotted)
    ]


_SETS = st.sampled_from((*PARAM_SETS, *TEST_PARAM_SETS))


@settings(max_examples=200, deadline=None)
@given(_SETS, st.binary(min_size=1, max_size=8), st.integers(0, 200), st.integers(0, 255))
def test_param_set_oid_matches_asn1crypto(
    ps: ParamSet, point: bytes, position: int, value: int
) -> None:
    for der in _spkis(ps, point):
        assert spki_param_set_oid(der) == _reference_param_set(der) == ps.oid.dotted
        damaged = bytearray(der)
        damaged[position % len(der)] = value
        for variant in (bytes(damaged), der[:-1], der + b"\x00", der[: position % len(der)]):
            assert _outcome(spki_param_set_oid, variant) == _outcome(_reference_param_set, variant)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_param_set_oid_matches_asn1crypto_on_arbitrary_bytes(der: bytes) -> None:
    assert _outcome(spki_param_set_oid, der) == _outcome(_reference_param_set, der)


@pytest.mark.parametrize("ps", PARAM_SETS, ids=lambda ps: ps.name)
def test_param_set_oid_of_usual_encodings_needs_no_asn1crypto(
    ps: ParamSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    ders = _spkis(ps, b"\x01")

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("asn1crypto was asked")

    monkeypatch.setattr(asn1_gost, "decode_spki", refuse)
    assert {spki_param_set_oid(der) for der in ders} == {ps.oid.dotted}


# --- lint families: one check per certificate for its two or three codes -------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("fast-paths")))


def _reference_lint(der: bytes, profile: str, policy: Policy) -> LintReport:
    """Before issue 17: each code of a family ran the family's check over a context of its own."""
    view, chosen = view_of(der), get_profile(profile)
    findings: list[Finding] = []
    for item in registry().values():
        ctx = LintContext(view, chosen, chosen.kind, policy)
        if item.target is Target.CERTIFICATE and item.applies(ctx):
            findings.extend(item.run(ctx))
    return LintReport(chosen.name, tuple(findings), policy)


def _flip_critical(ext: bytes) -> bytes:
    parts = children(ext)
    if len(parts) == 3:  # OID, critical TRUE, value: make it non-critical
        return tlv(0x30, parts[0] + parts[2])
    return tlv(0x30, parts[0] + b"\x01\x01\xff" + parts[1])


def _drop_extension(tbs: bytes, oid: oids.Oid) -> bytes:
    from asn1crypto import core

    def keep(raw: bytes) -> bool:
        return core.ObjectIdentifier.load(children(raw)[0]).dotted != oid.dotted

    return with_extensions(tbs, [e for e in extensions_of(tbs) if keep(e)])


_ATTRS = (
    oids.NameAttribute.SURNAME,
    oids.NameAttribute.COMMON_NAME,
    oids.NameAttribute.COUNTRY_NAME,
    oids.RuAttribute.SNILS,
    oids.RuAttribute.INN,
)
_EXTS = (
    oids.Extension.KEY_USAGE,
    oids.Extension.AUTHORITY_KEY_IDENTIFIER,
    oids.Extension.CERTIFICATE_POLICIES,
    oids.RuExtension.SUBJECT_SIGN_TOOL,
)


def individual_tbs(world: World, serial: int) -> bytes:
    """The DER of an individual's TBS planned and linted as the service does."""
    return prepare_tbs(
        plan_individual(world.keys),
        serial=serial,
        algorithm=world.keys.ca.signature_algorithm,
        issuer=world.root,
    ).tbs.der


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(("none", "attr", "ext", "critical")),
    st.integers(0, 20),
    st.sampled_from(Policy),
)
def test_lint_families_report_as_when_each_code_ran_its_check(
    world: World, what: str, which: int, policy: Policy
) -> None:
    tbs = individual_tbs(world, 0x1F00000000000200 + which)
    if what == "attr":
        oid = _ATTRS[which % len(_ATTRS)]
        tbs = edit_subject(tbs, lambda attrs: [a for a in attrs if a[0].dotted != oid.dotted])
    elif what == "ext":
        tbs = _drop_extension(tbs, _EXTS[which % len(_EXTS)])
    elif what == "critical":  # flip one extension's criticality: the criticality family
        exts = extensions_of(tbs)
        tbs = with_extensions(tbs, [_flip_critical(e) if i == which % len(exts) else e
                                    for i, e in enumerate(exts)])  # fmt: skip
    fast = lint_der(tbs, "individual", policy)
    assert fast == _reference_lint(tbs, "individual", policy)
    if what != "none":
        assert fast.findings  # the corruption is seen


def test_lint_family_hits_are_kept_per_check_and_context(world: World) -> None:
    tbs = individual_tbs(world, 0x1F00000000000300)
    chosen = get_profile("individual")
    ctx = LintContext(view_of(tbs), chosen, chosen.kind, Policy.ISSUANCE)
    for item in registry().values():
        if item.target is Target.CERTIFICATE and item.applies(ctx):
            item.run(ctx)
    stems = Counter(code[2:] for code in registry())
    families = {stem for stem, codes in stems.items() if codes > 1}  # e_X, w_X, n_X
    assert len(families) == 3
    assert len(ctx.families) == len(families)  # one entry per family check, no more
    other = LintContext(ctx.cert, chosen, chosen.kind, Policy.ISSUANCE)
    assert other.families == {}  # a context of its own
    assert other == ctx  # the kept hits are not part of the context's value


# --- PublicKeyInfo: the keys last accepted, by their exact bytes ---------------------------


def _read_fresh(der: bytes) -> PublicKeyInfo:
    """Before issue 17: every read walked the DER and checked the key."""
    keys_module._ACCEPTED.clear()
    try:
        return PublicKeyInfo.from_der(der, where="test input")
    finally:
        keys_module._ACCEPTED.clear()


def _key_spkis(ps: ParamSet, d: int) -> list[bytes]:
    key = public_key_from_private(ps, d)
    point = key.to_bytes()
    return [
        key.spki_der(),
        *(
            asn1_gost.encode_spki(ps.algorithm_oid.dotted, ps.oid.dotted, digest, point)
            for digest in (None, ps.digest_oid.dotted)
        ),
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from((*PARAM_SETS, *TEST_PARAM_SETS)),
    st.integers(1, 2**250),
    st.integers(0, 300),
    st.integers(0, 255),
)
def test_kept_keys_read_as_fresh_ones(ps: ParamSet, d: int, position: int, value: int) -> None:
    for der in _key_spkis(ps, d % (ps.q - 1) + 1):
        damaged = bytearray(der)
        damaged[position % len(der)] = value
        for variant in (der, bytes(damaged), der[:-1] + bytes([der[-1] ^ 1])):
            fresh = _outcome(_read_fresh, variant)
            first = _outcome(PublicKeyInfo.from_der, variant)  # may keep it
            again = _outcome(PublicKeyInfo.from_der, variant)  # may use the kept value
            checked = _outcome(PublicKeyInfo.from_checked_der, variant)
            assert fresh == first == again
            if fresh[0] == "ok":
                assert checked == fresh
                assert keys_module._ACCEPTED[variant] == fresh[1]
            else:
                assert variant not in keys_module._ACCEPTED  # refusals are never kept


def test_kept_keys_are_bounded_and_keyed_by_exact_bytes() -> None:
    ps = PARAM_SETS[0]
    keys_module._ACCEPTED.clear()
    for d in range(1, keys_module._ACCEPTED_MAX + 40):
        PublicKeyInfo.from_der(public_key_from_private(ps, d).spki_der())
        assert len(keys_module._ACCEPTED) <= keys_module._ACCEPTED_MAX
    key = public_key_from_private(ps, 7)
    plain, with_digest = (
        asn1_gost.encode_spki(ps.algorithm_oid.dotted, ps.oid.dotted, digest, key.to_bytes())
        for digest in (None, ps.digest_oid.dotted)
    )
    assert PublicKeyInfo.from_der(plain).der == plain  # the same key, another encoding:
    assert PublicKeyInfo.from_der(with_digest).der == with_digest  # each its own entry


def test_a_refused_key_still_names_where_it_came_from() -> None:
    ps = next(p for p in PARAM_SETS if p.cofactor != 1)
    good = public_key_from_private(ps, 5).spki_der()
    bad = good[: -2 * ps.size] + bytes(2 * ps.size)  # (0, 0): not a point of the curve
    for _ in range(2):
        with pytest.raises(InvalidPublicKey) as caught:
            PublicKeyInfo.from_der(bad, where="the request")
        assert caught.value.context.get("where") == "the request"


# --- profile rules and certificate parts by OID: indexed once ------------------------------


def _all_oids() -> list[oids.Oid]:
    found = {
        o.dotted: o
        for p in PROFILES.values()
        for o in (*(a.oid for a in p.attributes), *(e.oid for e in p.extensions))
    }
    return [*found.values(), oids.Oid("1.2.3.4", "unknown")]


@pytest.mark.parametrize("profile", PROFILES.values(), ids=lambda p: p.name)
def test_profile_rules_by_oid_are_those_a_scan_finds(profile: Profile) -> None:
    for oid in _all_oids():
        assert profile.attribute(oid) == next(
            (a for a in profile.attributes if a.oid.dotted == oid.dotted), None
        )
        assert profile.extension(oid) == next(
            (e for e in profile.extensions if e.oid.dotted == oid.dotted), None
        )
    assert profile.required_attributes == tuple(
        a for a in profile.attributes if a.presence is Presence.REQUIRED
    )
    assert profile.required_extensions == tuple(
        e for e in profile.extensions if e.presence is Presence.REQUIRED
    )
    assert dataclasses.replace(profile) == profile  # the tables are rebuilt, not compared


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 20), st.integers(0, 20), st.booleans())
def test_certificate_parts_by_oid_are_those_a_scan_finds(
    world: World, ext_index: int, attr_index: int, duplicate: bool
) -> None:
    tbs = individual_tbs(world, 0x1F00000000000400 + ext_index)
    if duplicate:  # an extension and an attribute twice: the scan found the first of each
        exts = extensions_of(tbs)
        tbs = with_extensions(tbs, [*exts, _flip_critical(exts[ext_index % len(exts)])])
        tbs = edit_subject(tbs, lambda attrs: [*attrs, attrs[attr_index % len(attrs)]])
    view = view_of(tbs)
    for oid in (*_all_oids(), *(e.oid for e in view.extensions), *(a.oid for a in view.subject)):
        assert view.ext(oid) is next(
            (e for e in view.extensions if e.oid.dotted == oid.dotted), None
        )
        assert view.attrs(oid) == tuple(a for a in view.subject if a.oid.dotted == oid.dotted)


@pytest.mark.parametrize("kind", ProfileKind, ids=lambda k: k.value)
def test_certificate_lints_of_a_kind_are_those_the_registry_filter_finds(kind: ProfileKind) -> None:
    expected = tuple(
        item
        for item in registry().values()
        if item.target is Target.CERTIFICATE and kind in item.kinds
    )
    assert certificate_lints(kind) == expected
    assert certificate_lints(kind) is certificate_lints(kind)  # filtered once


def test_get_profile_reads_the_loaded_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import atlas_ca.profiles as profiles_module

    assert get_profile("individual") is PROFILES["individual"]

    def no_import(name: str, package: str | None = None) -> object:
        raise AssertionError(f"get_profile imported {name} again")

    monkeypatch.setattr(importlib, "import_module", no_import)
    for name, profile in profiles_module.PROFILES.items():
        assert get_profile(name) is profile
    with pytest.raises(UnknownProfile):
        get_profile("no-such-profile")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_kept_issuer_names_read_as_fresh_ones(content: bytes) -> None:
    assert _outcome(view_module._fast_issuer, content) == _outcome(
        view_module._fast_name, content, "issuer"
    )
    assert view_module._fast_issuer.cache_info().maxsize == 64


def test_kept_issuer_name_of_a_tbs_is_the_fresh_one(world: World) -> None:
    tbs = individual_tbs(world, 0x1F00000000000500)
    view_module._fast_issuer.cache_clear()
    first, again = view_of(tbs), view_of(tbs)
    assert first.issuer == again.issuer == view_module._full_view(tbs, None).issuer
    assert view_module._fast_issuer.cache_info().hits == 1


# --- planning: the extensions fixed by profile and configuration, built once ----------------


def _reference_common_extensions(
    profile: Profile, config: CaConfig, spki: bytes, include_policies: bool
) -> list[x509ext.Extension]:
    """Before issue 17: every extension built for every certificate."""
    exts: list[x509ext.Extension] = [x509ext.KeyUsage(True, profile.key_usage.emit)]
    if profile.extended_key_usage:
        exts.append(x509ext.ExtendedKeyUsage(False, profile.extended_key_usage))
    if include_policies:
        exts.append(x509ext.CertificatePolicies.of(*config.policy_classes))
    exts.append(x509ext.SubjectKeyIdentifier.from_public_key_info(spki))
    if config.crl_urls and profile.extension(oids.Extension.CRL_DISTRIBUTION_POINTS):
        exts.append(x509ext.CrlDistributionPoints.of_uris(*config.crl_urls))
    if (config.ocsp_urls or config.ca_issuers_urls) and profile.extension(
        oids.Extension.AUTHORITY_INFO_ACCESS
    ):
        ocsp = config.ocsp_urls if profile.kind is not ProfileKind.OCSP else ()
        if ocsp or config.ca_issuers_urls:
            exts.append(
                x509ext.AuthorityInformationAccess.of(ca_issuers=config.ca_issuers_urls, ocsp=ocsp)
            )
    return exts


_URLS = st.lists(st.sampled_from(("http://a.example/x", "http://b.example/y")), max_size=2)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(list(PROFILES.values())),
    _URLS,
    _URLS,
    _URLS,
    st.booleans(),
    st.integers(1, 50),
)
def test_fixed_extensions_are_those_built_for_each_certificate(
    profile: Profile,
    crl: list[str],
    ocsp: list[str],
    ca_issuers: list[str],
    include_policies: bool,
    d: int,
) -> None:
    config = dataclasses.replace(
        CONFIG, crl_urls=tuple(crl), ocsp_urls=tuple(ocsp), ca_issuers_urls=tuple(ca_issuers)
    )
    info = PublicKeyInfo.from_der(public_key_from_private(PARAM_SETS[0], d).spki_der())
    expected = _reference_common_extensions(profile, config, info.der, include_policies)
    first = planning._common_extensions(profile, config, info, include_policies)
    again = planning._common_extensions(profile, config, info, include_policies)
    assert first == again == expected
    assert all(a is b for a, b in zip(first, again, strict=True) if a.oid_dotted != SKI)
    assert [e.der() for e in first] == [e.der() for e in expected]
    tool = planning._issuer_sign_tool(config)
    assert tool is planning._issuer_sign_tool(config)
    assert tool == x509ext.IssuerSignTool(False, *dataclasses.astuple(config.issuer_tools)[:4])
    assert len(planning._FIXED) <= planning._FIXED_MAX
    assert len(planning._TOOLS) <= planning._FIXED_MAX


SKI = oids.Extension.SUBJECT_KEY_IDENTIFIER.dotted


def test_fixed_extensions_follow_a_new_configuration() -> None:
    profile = PROFILES["individual"]
    info = PublicKeyInfo.from_der(public_key_from_private(PARAM_SETS[0], 3).spki_der())
    seen = set()
    for i in range(planning._FIXED_MAX + 5):  # more configurations than kept: still bounded
        config = dataclasses.replace(CONFIG, crl_urls=(f"http://crl.example/{i}.crl",))
        cdp = next(
            e
            for e in planning._common_extensions(profile, config, info, True)
            if isinstance(e, x509ext.CrlDistributionPoints)
        )
        assert cdp == x509ext.CrlDistributionPoints.of_uris(*config.crl_urls)
        seen.add(cdp.der())
        assert len(planning._FIXED) <= planning._FIXED_MAX
    assert len(seen) == planning._FIXED_MAX + 5


# --- the certificate builder: one copy for all the extensions ------------------------------


def _reference_add(builder: CertificateBuilder, extension: object) -> CertificateBuilder:
    """Before issue 17: add_extension's checks, one builder copy per extension."""
    if not isinstance(extension, x509ext.Extension):
        raise TypeError("add_extension takes a typed Extension")
    if isinstance(extension, x509ext.UnrecognizedExtension) and extension.parsed:
        raise TypeError("parsed")
    if any(e.oid_dotted == extension.oid_dotted for e in builder._extensions):
        raise ValueError("already added")
    return builder._with("_extensions", (*builder._extensions, extension))


_POOL: tuple[object, ...] = (
    x509ext.BasicConstraints(True, False, None),
    x509ext.SubjectKeyIdentifier(False, bytes(20)),
    x509ext.SubjectKeyIdentifier(False, bytes(range(20))),  # the same OID again
    x509ext.SubjectSignTool(False, "tool"),
    x509ext.UnrecognizedExtension(False, "1.2.3.4", b"\x05\x00"),
    x509ext.UnrecognizedExtension(False, "1.2.3.5", b"\x05\x00", parsed=True),
    "not an extension",
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_POOL), max_size=5),
    st.lists(st.sampled_from(_POOL), max_size=5),
)
def test_add_extensions_is_add_extension_of_each(first: list[object], then: list[object]) -> None:
    def fast() -> tuple[x509ext.Extension, ...]:
        b = CertificateBuilder()
        for e in first:  # one at a time through the public method
            b = b.add_extension(e)  # type: ignore[arg-type]
        return b.add_extensions(then)._extensions  # type: ignore[arg-type]

    def reference() -> tuple[x509ext.Extension, ...]:
        b = CertificateBuilder()
        for e in (*first, *then):
            b = _reference_add(b, e)
        return b._extensions

    assert _outcome(fast) == _outcome(reference)
