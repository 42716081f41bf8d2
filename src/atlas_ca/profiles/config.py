"""CA configuration the profiles read: tools, conformity certificates, policy class, URLs.

These values differ per CA and change when the CA re-certifies its tools, so they are
configuration, never constants (Order 795: issuerSignTool names the CA's tools and the
numbers of their conformity certificates; the class of the signature tool goes into
certificatePolicies). :meth:`CaConfig.from_mapping` reads the same values from a parsed
TOML/JSON document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from atlas_ca.asn1 import oids
from atlas_ca.asn1.oids import Oid
from atlas_ca.errors import InvalidInput

POLICY_CLASSES: Mapping[str, Oid] = {
    "КС1": oids.RuPolicy.KC1,
    "КС2": oids.RuPolicy.KC2,
    "КС3": oids.RuPolicy.KC3,
    "КВ1": oids.RuPolicy.KB1,
    "КВ2": oids.RuPolicy.KB2,
    "КА1": oids.RuPolicy.KA1,
    # Latin spellings, as operators type them
    "KC1": oids.RuPolicy.KC1,
    "KC2": oids.RuPolicy.KC2,
    "KC3": oids.RuPolicy.KC3,
    "KB1": oids.RuPolicy.KB1,
    "KB2": oids.RuPolicy.KB2,
    "KA1": oids.RuPolicy.KA1,
}
_CLASS_OIDS = frozenset(o.dotted for o in POLICY_CLASSES.values())

#: Profiles issuable without enabling them (ИП and ЮЛ are issued by the tax service's CA).
DEFAULT_ENABLED = frozenset({"individual", "ca", "ocsp", "tsa"})


class ConfigError(InvalidInput):
    """The CA configuration is incomplete or malformed; ``field`` names the setting."""


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ConfigError(
            f"{name} must be a non-empty string of at most {limit} characters", field=name
        )
    return value


def _urls(name: str, values: object) -> tuple[str, ...]:
    if not isinstance(values, tuple | list):
        raise ConfigError(f"{name} must be a list of URLs", field=name)
    out = []
    for v in values:
        if (
            not isinstance(v, str)
            or not v.isascii()
            or not v.startswith(("http://", "https://", "ldap://"))
        ):
            raise ConfigError(f"{name}: {v!r} is not an http(s)/ldap URL", field=name)
        out.append(v)
    return tuple(out)


def _policy_class(name: object) -> Oid:
    found = POLICY_CLASSES.get(str(name))
    if found is None:
        raise ConfigError(
            f"policy_classes: {name!r} is not a class КС1…КА1", field="policy_classes"
        )
    return found


@dataclass(frozen=True, slots=True)
class IssuerTools:
    """The four strings of issuerSignTool (Order 795)."""

    sign_tool: str
    ca_tool: str
    sign_tool_certificate: str
    ca_tool_certificate: str

    def __post_init__(self) -> None:
        _text("sign_tool", self.sign_tool, 200)
        _text("ca_tool", self.ca_tool, 200)
        _text("sign_tool_certificate", self.sign_tool_certificate, 100)
        _text("ca_tool_certificate", self.ca_tool_certificate, 100)


#: Serials drawn at issuance are below 2**127 (``x509.certificate.SERIAL_RANDOM_BITS``).
_PARTITION_SPAN = 1 << 127
_MAX_SERIAL = (1 << 159) - 1
PARTITION_PLACEHOLDER = "{partition}"


@dataclass(frozen=True, slots=True)
class CrlPartitioning:
    """Partitioned CRLs (RFC 5280 §5.2.5 issuingDistributionPoint, as EJBCA offers them).

    The issuer's serials are cut into ``count`` ranges of equal width; a certificate's
    partition follows from its serial, which is drawn at random at issuance, so the
    partitions fill evenly, and its cRLDistributionPoints names ``url_template`` with
    ``{partition}`` replaced by the partition's number. Each partition has its own full and
    delta CRL, whose issuingDistributionPoint names the same URL (RFC 5280 §6.3.3 (b)(2)(i)
    matches it against the certificate's CDP), so no CRL grows beyond ≈ 1/``count`` of the
    revoked certificates. A range is one stretch of the register's serial-ordered index.

    ``count`` is fixed for the life of the CA key: certificates already issued name their
    partition's URL, and changing ``count`` would move serials to other partitions.
    """

    count: int
    url_template: str

    def __post_init__(self) -> None:
        if type(self.count) is not int or not 1 <= self.count <= 65_536:
            raise ConfigError(
                "crl_partitions.count must be an integer from 1 to 65536",
                field="crl_partitions.count",
            )
        template = self.url_template
        if not isinstance(template, str) or template.count(PARTITION_PLACEHOLDER) != 1:
            raise ConfigError(
                f"crl_partitions.url_template must contain {PARTITION_PLACEHOLDER} once",
                field="crl_partitions.url_template",
            )
        _urls("crl_partitions.url_template", [template.replace(PARTITION_PLACEHOLDER, "0")])
        if template.endswith("/") or "/" not in template.split("://", 1)[-1]:
            raise ConfigError(
                "crl_partitions.url_template must end in the CRL's file name",
                field="crl_partitions.url_template",
            )

    def partition_of(self, serial: int) -> int:
        """The partition of ``serial``: the range it falls in (serials above the random
        range, e.g. imported ones, fall in the last partition)."""
        if type(serial) is not int or not 1 <= serial <= _MAX_SERIAL:
            raise ValueError(f"{serial!r} is not a certificate serial")
        return min(serial * self.count >> 127, self.count - 1)

    def serial_range(self, partition: int) -> tuple[int, int]:
        """``(low, high)``: the serials ``low <= s < high`` of ``partition``."""
        self._check(partition)
        low = max(1, -(-partition * _PARTITION_SPAN // self.count))
        if partition == self.count - 1:
            return low, _MAX_SERIAL + 1
        return low, -(-(partition + 1) * _PARTITION_SPAN // self.count)

    def url(self, partition: int) -> str:
        """The partition's CRL URL: the certificates' CDP and the CRL's IDP."""
        self._check(partition)
        return self.url_template.replace(PARTITION_PLACEHOLDER, str(partition))

    def file_name(self, partition: int) -> str:
        """The name of the partition's full CRL file: the URL's last path segment."""
        return self.url(partition).rsplit("/", 1)[1]

    def _check(self, partition: int) -> None:
        if type(partition) is not int or not 0 <= partition < self.count:
            raise ValueError(f"partition {partition!r} is not in 0..{self.count - 1}")

    @classmethod
    def from_mapping(cls, data: object) -> CrlPartitioning:
        if not isinstance(data, Mapping):
            raise ConfigError("crl_partitions must be a table", field="crl_partitions")
        return cls(data.get("count"), data.get("url_template"))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CaConfig:
    """What a CA deployment configures.

    ``ca_sign_tool`` is the CA's own signature tool, written as subjectSignTool in the CA's
    and the OCSP responder's certificates. ``allow_unqualified_keys`` lets the qualified
    profiles sign with keys outside a certified HSM (the software backend): tests and demos
    only, never production.
    """

    issuer_tools: IssuerTools
    ca_sign_tool: str
    policy_classes: tuple[Oid, ...]
    crl_urls: tuple[str, ...] = ()
    ocsp_urls: tuple[str, ...] = ()
    ca_issuers_urls: tuple[str, ...] = ()
    enabled_profiles: frozenset[str] = field(default=DEFAULT_ENABLED)
    allow_unqualified_keys: bool = False
    #: Partitioned CRLs: the certificates' CDP names their partition's URL instead of
    #: ``crl_urls`` (which must then be empty).
    crl_partitions: CrlPartitioning | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.issuer_tools, IssuerTools):
            raise ConfigError("issuer_tools must be IssuerTools", field="issuer_tools")
        _text("ca_sign_tool", self.ca_sign_tool, 200)
        if not self.policy_classes:
            raise ConfigError("policy_classes needs at least one class", field="policy_classes")
        for p in self.policy_classes:
            if not isinstance(p, Oid) or p.dotted not in _CLASS_OIDS:
                raise ConfigError(f"{p!r} is not a class КС1…КА1", field="policy_classes")
        for name in ("crl_urls", "ocsp_urls", "ca_issuers_urls"):
            _urls(name, getattr(self, name))
        if self.crl_partitions is not None:
            if not isinstance(self.crl_partitions, CrlPartitioning):
                raise ConfigError("crl_partitions must be CrlPartitioning", field="crl_partitions")
            if self.crl_urls:
                raise ConfigError(
                    "crl_urls and crl_partitions exclude each other: a partitioned CA's "
                    "certificates name their partition's CRL",
                    field="crl_urls",
                )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CaConfig:
        """Read a parsed TOML/JSON document (keys as the field names; classes by name)."""
        try:
            tools = data["issuer_tools"]
            classes = tuple(_policy_class(c) for c in data["policy_classes"])
            return cls(
                issuer_tools=IssuerTools(
                    tools["sign_tool"],
                    tools["ca_tool"],
                    tools["sign_tool_certificate"],
                    tools["ca_tool_certificate"],
                ),
                ca_sign_tool=data["ca_sign_tool"],
                policy_classes=classes,
                crl_urls=_urls("crl_urls", data.get("crl_urls", [])),
                ocsp_urls=_urls("ocsp_urls", data.get("ocsp_urls", [])),
                ca_issuers_urls=_urls("ca_issuers_urls", data.get("ca_issuers_urls", [])),
                enabled_profiles=frozenset(data.get("enabled_profiles", DEFAULT_ENABLED)),
                allow_unqualified_keys=bool(data.get("allow_unqualified_keys", False)),
                crl_partitions=(
                    None
                    if data.get("crl_partitions") is None
                    else CrlPartitioning.from_mapping(data["crl_partitions"])
                ),
            )
        except KeyError as exc:
            raise ConfigError(
                f"CA configuration lacks {exc.args[0]!r}", field=str(exc.args[0])
            ) from None
        except TypeError as exc:
            raise ConfigError(f"CA configuration is malformed: {exc}") from exc


__all__ = [
    "DEFAULT_ENABLED",
    "POLICY_CLASSES",
    "CaConfig",
    "ConfigError",
    "CrlPartitioning",
    "IssuerTools",
]
