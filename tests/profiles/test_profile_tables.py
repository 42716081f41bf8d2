"""The profile tables themselves: every rule sourced, consistent, documented, configurable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from atlas_ca.asn1 import oids
from atlas_ca.profiles import PROFILES, UnknownProfile, get_profile
from atlas_ca.profiles.base import add_months
from atlas_ca.profiles.config import CaConfig, ConfigError
from atlas_ca.profiles.docs import BEGIN, END, render_markdown
from atlas_ca.profiles.fields import Presence
from atlas_ca.x509.names import StringType

DOC = Path(__file__).resolve().parents[2] / "docs" / "profiles.md"


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_every_rule_of_every_profile_names_its_source(profile) -> None:  # type: ignore[no-untyped-def]
    for rule in (*profile.attributes, *profile.extensions, *profile.keys):
        assert rule.source.strip(), rule
    assert profile.validity.source
    assert profile.key_usage.source


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_identifiers_are_emitted_as_numeric_strings_and_accept_printable(profile) -> None:  # type: ignore[no-untyped-def]
    ru = {o.dotted for o in vars(oids.RuAttribute).values() if isinstance(o, oids.Oid)}
    for rule in profile.attributes:
        if rule.oid.dotted in ru:
            assert rule.emit is StringType.NUMERIC
            assert rule.accept == {StringType.NUMERIC, StringType.PRINTABLE}
            assert rule.digits == rule.max_length


@pytest.mark.parametrize("name", ["individual", "entrepreneur", "legal-entity"])
def test_qualified_subscriber_profiles_require_the_order_795_extensions(name: str) -> None:
    profile = get_profile(name)
    required = {e.oid.dotted for e in profile.required_extensions}
    for oid in (
        oids.RuExtension.SUBJECT_SIGN_TOOL,
        oids.RuExtension.ISSUER_SIGN_TOOL,
        oids.RuExtension.IDENTIFICATION_KIND,
        oids.Extension.CERTIFICATE_POLICIES,
        oids.Extension.KEY_USAGE,
    ):
        assert oid.dotted in required
    assert profile.extension(oids.Extension.KEY_USAGE).critical  # type: ignore[union-attr]
    assert not profile.extension(oids.RuExtension.SUBJECT_SIGN_TOOL).critical  # type: ignore[union-attr]


def test_who_needs_which_identifier() -> None:
    def required(name: str) -> set[str]:
        return {a.oid.name for a in get_profile(name).attributes if a.presence is Presence.REQUIRED}

    assert {"SNILS", "INN"} <= required("individual")
    assert "OGRNIP" not in required("individual")
    assert {"SNILS", "INN", "OGRNIP"} <= required("entrepreneur")
    assert {"OGRN", "INNLE", "organizationName", "streetAddress"} <= required("legal-entity")
    assert {"OGRN", "INNLE"} <= required("ca")


def test_only_the_individual_ca_ocsp_and_tsa_profiles_issue_without_configuration() -> None:
    assert {p.name for p in PROFILES.values() if p.issuable_by_default} == {
        "individual",
        "ca",
        "ocsp",
        "tsa",
    }


def test_an_unknown_profile_name_is_invalid_input() -> None:
    with pytest.raises(UnknownProfile, match="known: individual"):
        get_profile("nonsense")


def test_calendar_months_clamp_to_the_end_of_the_month() -> None:
    start = dt.datetime(2025, 11, 30, 12, tzinfo=dt.UTC)
    assert add_months(start, 15) == dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)
    assert add_months(start, 1) == dt.datetime(2025, 12, 30, 12, tzinfo=dt.UTC)


CONFIG_DOC = {
    "issuer_tools": {
        "sign_tool": 'ПАК "КриптоПро HSM"',
        "ca_tool": 'ПАК "КриптоПро УЦ"',
        "sign_tool_certificate": "СФ/124-0001",
        "ca_tool_certificate": "СФ/128-0002",
    },
    "ca_sign_tool": 'ПАК "КриптоПро HSM"',
    "policy_classes": ["КС1", "KC2"],
    "crl_urls": ["http://ca.example.ru/ca.crl"],
}


def test_ca_configuration_reads_from_a_document() -> None:
    config = CaConfig.from_mapping(CONFIG_DOC)
    assert config.policy_classes == (oids.RuPolicy.KC1, oids.RuPolicy.KC2)
    assert config.issuer_tools.ca_tool_certificate == "СФ/128-0002"
    assert config.allow_unqualified_keys is False
    assert "entrepreneur" not in config.enabled_profiles


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"policy_classes": ["KC9"]}, "policy_classes"),
        ({"crl_urls": ["ftp://x"]}, "crl_urls"),
        ({"ca_sign_tool": ""}, "ca_sign_tool"),
        ({"issuer_tools": {"sign_tool": "x"}}, "ca_tool"),
    ],
)
def test_a_malformed_ca_configuration_is_refused_naming_the_setting(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        CaConfig.from_mapping({**CONFIG_DOC, **change})
    assert field in str(info.value) or info.value.context.get("field") == field


def test_docs_profiles_md_shows_the_tables_rendered_from_the_data() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(BEGIN)
    end = text.index(END) + len(END) + 1
    assert text[start:end] == render_markdown()
    for profile in PROFILES.values():
        assert f"### `{profile.name}`" in text
