"""CRL partitions as CA configuration: serial ranges, URLs, and the configuration's checks."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas_ca.profiles.config import CaConfig, ConfigError, CrlPartitioning
from support.profiles_samples import CONFIG

MAX_SERIAL = (1 << 159) - 1
URL = "http://ca.example.ru/cdp/ca-{partition}.crl"


@given(st.integers(min_value=1, max_value=4096), st.integers(min_value=1, max_value=MAX_SERIAL))
def test_a_serial_falls_in_the_range_of_its_partition(count: int, serial: int) -> None:
    parts = CrlPartitioning(count, URL)
    p = parts.partition_of(serial)
    low, high = parts.serial_range(p)
    assert 0 <= p < count
    assert low <= serial < high


@pytest.mark.parametrize("count", [1, 2, 3, 7, 16, 1000])
def test_the_ranges_cover_every_serial_once_in_order(count: int) -> None:
    parts = CrlPartitioning(count, URL)
    ranges = [parts.serial_range(p) for p in range(count)]
    assert ranges[0][0] == 1
    assert ranges[-1][1] == MAX_SERIAL + 1
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    # random 127-bit serials spread evenly: the ranges below 2**127 are equally wide
    widths = {high - low for low, high in ranges[1:-1]}
    assert max(widths, default=0) - min(widths, default=0) <= 1


def test_urls_and_file_names_name_the_partition() -> None:
    parts = CrlPartitioning(4, URL)
    assert parts.url(3) == "http://ca.example.ru/cdp/ca-3.crl"
    assert parts.file_name(0) == "ca-0.crl"
    with pytest.raises(ValueError, match=r"not in 0\.\.3"):
        parts.url(4)
    with pytest.raises(ValueError, match="not a certificate serial"):
        parts.partition_of(0)


@pytest.mark.parametrize(
    ("count", "template", "message"),
    [
        (0, URL, "from 1 to 65536"),
        (True, URL, "from 1 to 65536"),
        (2, "http://ca.example.ru/cdp/ca.crl", "contain {partition} once"),
        (2, "http://ca.example.ru/{partition}/ca-{partition}.crl", "contain {partition} once"),
        (2, "ftp://ca.example.ru/ca-{partition}.crl", "not an http"),
        (2, "http://ca.example.ru/cdp-{partition}/", "end in the CRL's file name"),
    ],
)
def test_a_bad_partitioning_is_refused_naming_the_setting(
    count: object, template: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        CrlPartitioning(count, template)  # type: ignore[arg-type]


def test_partitions_and_a_fixed_crl_url_exclude_each_other() -> None:
    assert CONFIG.crl_urls
    with pytest.raises(ConfigError, match="exclude each other"):
        dataclasses.replace(CONFIG, crl_partitions=CrlPartitioning(2, URL))


def test_partitions_are_read_from_the_configuration_document() -> None:
    document = {
        "issuer_tools": {
            "sign_tool": "a",
            "ca_tool": "b",
            "sign_tool_certificate": "c",
            "ca_tool_certificate": "d",
        },
        "ca_sign_tool": "a",
        "policy_classes": ["KC1"],
        "crl_partitions": {"count": 8, "url_template": URL},
    }
    config = CaConfig.from_mapping(document)
    assert config.crl_partitions == CrlPartitioning(8, URL)
    with pytest.raises(ConfigError, match="crl_partitions must be a table"):
        CaConfig.from_mapping({**document, "crl_partitions": 8})
