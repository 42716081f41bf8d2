"""From verified data to a certificate plan, and from the plan to a linted TBS.

The subject is built **only from verified subscriber data** (R3, R6): a CSR's subject is read
only to warn when it disagrees. The identificationKind comes from how the identity was
established (the subscriber's identification record). Before anything is signed, a key type
or parameter set the profile does not allow, a validity longer than allowed, an authority not
in force when an organisation is named, a missing required identifier, or a CA key outside a
certified HSM is refused with the rule named.

The issuance service's steps, for a verified ``subscriber``, a ``csr`` (a
:class:`~atlas_ca.x509.csr.CertificationRequest`), the CA's ``config``, ``issuer_key`` and
``ca_certificate`` (this example runs in tests/profiles/test_issue_docstring.py)::

    >>> from atlas_ca.profiles import INDIVIDUAL
    >>> request = SubscriberRequest.from_csr(INDIVIDUAL, subscriber, csr, sign_tool, now)
    >>> plan = plan_subscriber_certificate(request, config, issuer_key, at=now)
    >>> prepared = prepare_tbs(
    ...     plan, serial=serial, algorithm=issuer_key.signature_algorithm, issuer=ca_certificate
    ... )
    >>> prepared.report.ok  # no lint error: prepare_tbs raises LintFailed for any
    True
    >>> # record the intent (the serial and the digest of prepared.tbs.der), then sign the TBS:
    >>> certificate = prepared.tbs.sign(issuer_key)
    >>> certificate.serial_number == serial and certificate.issuer == ca_certificate.subject
    True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from atlas_ca.algorithms import SignatureAlgorithm
from atlas_ca.asn1 import oids
from atlas_ca.asn1.oids import Oid
from atlas_ca.domain.authorities import Authority, AuthorityScope, check_authority
from atlas_ca.domain.identifiers import InnLegal, Ogrn
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    IndividualData,
    OrganisationData,
    Subscriber,
    require_verified,
)
from atlas_ca.errors import AtlasCaError, InvalidInput, InvalidPublicKey, Refused
from atlas_ca.gost.keys import spki_param_set_oid
from atlas_ca.hsm.base import SigningKey
from atlas_ca.profiles.base import Profile, ProfileKind, add_months
from atlas_ca.profiles.ca import CA
from atlas_ca.profiles.config import CaConfig, CrlPartitioning
from atlas_ca.profiles.fields import AttributeRule, Presence
from atlas_ca.profiles.lint import LintReport, require_clean
from atlas_ca.profiles.ocsp import OCSP
from atlas_ca.profiles.tsa import TSA
from atlas_ca.x509 import extensions as x509ext
from atlas_ca.x509.certificate import (
    Certificate,
    CertificateBuilder,
    TbsCertificate,
    authority_key_identifier_for,
)
from atlas_ca.x509.csr import CertificationRequest
from atlas_ca.x509.keys import PublicKeyInfo
from atlas_ca.x509.names import Name, NameAttribute


class ProfileViolation(Refused):
    """A profile rule refuses the request before anything is signed; ``rule`` names it."""

    def __init__(self, message: str, *, rule: str, profile: str, **context: object) -> None:
        super().__init__(message, rule=rule, profile=profile, **context)
        self.rule = rule
        self.profile = profile


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """Region (subject of the Federation), locality and street, from the verified record."""

    region: str | None = None
    locality: str | None = None
    street: str | None = None


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation named in a certificate (ЮЛ profile, or this CA / its OCSP responder).

    ``name`` goes into organizationName, ``common_name`` into commonName (defaults to
    ``name``); ``ogrn``/``inn`` into OGRN/INNLE; ``address`` into ST/L/street.
    """

    name: str
    ogrn: Ogrn
    inn: InnLegal
    address: Address
    common_name: str | None = None
    email: str | None = None

    @classmethod
    def from_verified(
        cls, data: OrganisationData, address: Address, *, email: str | None = None
    ) -> Organisation:
        """From the ЕГРЮЛ-confirmed data of a ЮЛ subscriber (needs its ОГРН and full name)."""
        if data.ogrn is None or not data.full_name:
            raise ProfileViolation(
                "the organisation's ОГРН and name are not confirmed from ЕГРЮЛ",
                rule="legal-entity: OGRN, organizationName (63-ФЗ art. 17 part 2)",
                profile="legal-entity",
            )
        return cls(data.full_name, data.ogrn, data.inn, address, email=email)


@dataclass(frozen=True, slots=True)
class SubscriberRequest:
    """What the issuance service asks for a subscriber (ФЛ, ИП, or a ЮЛ's acting person).

    ``public_key_info`` comes from the CSR after proof of possession; ``csr_subject`` is the
    CSR's subject, used only to warn. ``not_after`` / ``private_key_not_after`` default to
    the profile's maximum. ``organisation``, ``authority`` and ``title`` are for the
    legal-entity profile.
    """

    profile: Profile
    subscriber: Subscriber
    public_key_info: bytes
    subject_sign_tool: str
    not_before: dt.datetime
    not_after: dt.datetime | None = None
    private_key_not_after: dt.datetime | None = None
    address: Address | None = None
    email: str | None = None
    organisation: Organisation | None = None
    authority: Authority | None = None
    title: str | None = None
    csr_subject: Name | None = None

    @classmethod
    def from_csr(
        cls,
        profile: Profile,
        subscriber: Subscriber,
        csr: CertificationRequest,
        subject_sign_tool: str,
        not_before: dt.datetime,
        **options: Any,
    ) -> SubscriberRequest:
        """A request for the key of ``csr`` after checking its proof of possession.

        The CSR's subject is kept only to warn where it disagrees with the verified data.
        ``options`` are the other fields (``not_after``, ``organisation``, ``authority``...).
        """
        csr.verify()
        return cls(
            profile,
            subscriber,
            csr.public_key_info,
            subject_sign_tool,
            not_before,
            csr_subject=csr.subject,
            **options,
        )


@dataclass(frozen=True, slots=True)
class CertificatePlan:
    """What a certificate will say: subject, key, validity, extensions; not yet a TBS."""

    profile: Profile
    subject: Name
    public_key: PublicKeyInfo
    not_before: dt.datetime
    not_after: dt.datetime
    extensions: tuple[x509ext.Extension, ...]
    warnings: tuple[str, ...] = ()
    #: Set for a partitioned CA: the CDP is added once the serial (so the partition) is known.
    crl_partitions: CrlPartitioning | None = None

    def crl_distribution_points(self, serial: int) -> x509ext.CrlDistributionPoints | None:
        """The CDP naming the CRL partition of ``serial`` (None unless partitioned)."""
        parts = self.crl_partitions
        if parts is None:
            return None
        return x509ext.CrlDistributionPoints.of_uris(parts.url(parts.partition_of(serial)))

    def builder(
        self, *, issuer: Certificate | None = None, self_signed: bool = False
    ) -> CertificateBuilder:
        """A :class:`CertificateBuilder` with everything but the serial number set.

        Pass the issuing CA's certificate (its subject becomes our issuer, byte for byte), or
        ``self_signed=True`` for a root.
        """
        b = (
            CertificateBuilder()
            .subject_name(self.subject)
            .public_key(self.public_key)
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extensions(self.extensions)
        )
        if self_signed:
            if issuer is not None:
                raise ValueError("a self-signed certificate has no issuer certificate")
            return b.issuer_name(self.subject)
        if issuer is None:
            raise ValueError("an issued certificate needs the issuer's certificate")
        return b.issuer_certificate(issuer).add_extension(authority_key_identifier_for(issuer))


# --- rules applied before signing -------------------------------------------------------------


def _refuse(profile: Profile, rule: str, message: str, **context: object) -> ProfileViolation:
    return ProfileViolation(
        f"{profile.name}: {message} ({rule})", rule=rule, profile=profile.name, **context
    )


def check_enabled(profile: Profile, config: CaConfig) -> None:
    """Issuance under ИП/ЮЛ profiles only when the CA configuration enables them."""
    if profile.name not in config.enabled_profiles:
        raise _refuse(
            profile,
            "CaConfig.enabled_profiles",
            "issuance under this profile is not enabled for this CA",
        )


def check_issuer_key(profile: Profile, key: SigningKey, config: CaConfig) -> None:
    """A qualified profile signs only with a key in a certified HSM, unless configured."""
    if profile.qualified and not key.qualified_use_allowed and not config.allow_unqualified_keys:
        raise _refuse(
            profile,
            "63-ФЗ art. 13 part 4 (certified CA tools); CaConfig.allow_unqualified_keys",
            "the CA key is not in a certified HSM; qualified certificates cannot be signed with it",
        )


def check_key(profile: Profile, public_key_info: bytes) -> PublicKeyInfo:
    """The subscriber's key is of a type and parameter set the profile allows."""
    try:
        info = PublicKeyInfo.from_der(public_key_info, where=f"{profile.name} subject key")
    except InvalidPublicKey:
        raise  # off-curve or small-order: the specific error, not a profile refusal
    except AtlasCaError as exc:
        raise _refuse(profile, "RFC 9215 §4", f"the public key cannot be used: {exc}") from exc
    rule = profile.key_rule(info.key_type)
    if rule is None:
        raise _refuse(
            profile,
            rule_source(profile),
            f"key type {info.key_type.value} is not allowed",
            key_type=info.key_type.value,
        )
    param: Oid | None = None
    if info.key_type.is_gost:
        dotted = spki_param_set_oid(info.der)
        param = next((p for p in rule.param_sets if p.dotted == dotted), Oid(dotted, dotted))
    if not profile.allows_key(info.key_type, param):
        raise _refuse(
            profile,
            rule.source,
            f"parameter set {info.parameters} is not allowed for {info.key_type.value}",
            parameters=info.parameters,
        )
    return info


def rule_source(profile: Profile) -> str:
    return "; ".join(sorted({k.source for k in profile.keys}))


def check_validity(
    profile: Profile,
    not_before: dt.datetime,
    not_after: dt.datetime | None,
    key_not_after: dt.datetime | None,
) -> tuple[dt.datetime, dt.datetime]:
    """The certificate's notAfter and the key's, within the profile's maximum (defaults: max)."""
    if not_before.tzinfo is None:
        raise InvalidInput("notBefore must be timezone-aware", field="not_before")
    v = profile.validity
    cap = add_months(not_before, v.certificate_months)
    end = cap if not_after is None else not_after
    if end > cap:
        raise _refuse(
            profile,
            v.source,
            f"validity longer than {v.certificate_months} months",
            max_not_after=cap.isoformat(),
        )
    if end <= not_before:
        raise _refuse(profile, "RFC 5280 §4.1.2.5", "notAfter is not after notBefore")
    key_cap = end if v.private_key_months is None else add_months(not_before, v.private_key_months)
    key_end = min(end, key_cap) if key_not_after is None else key_not_after
    if v.private_key_months is not None and key_end > key_cap:
        raise _refuse(
            profile,
            v.source,
            f"private key usage period longer than {v.private_key_months} months",
            max_key_not_after=key_cap.isoformat(),
        )
    if key_end <= not_before:
        raise _refuse(profile, "RFC 3280 §4.2.1.4", "private key period ends before it starts")
    return end, key_end


# --- subject ----------------------------------------------------------------------------------


def _values_for(request: SubscriberRequest) -> dict[str, str]:
    """Attribute values (by dotted OID) from the verified data only."""
    sub = request.subscriber
    data = sub.data
    values: dict[str, str] = {oids.NameAttribute.COUNTRY_NAME.dotted: "RU"}
    person: IndividualData | None = None
    if isinstance(data, IndividualData):
        person = data
    elif isinstance(data, EntrepreneurData):
        person = data.person
        values[oids.RuAttribute.OGRNIP.dotted] = data.ogrnip.value
    if person is not None:
        given = person.name.given_name
        if person.name.patronymic:
            given += " " + person.name.patronymic
        values[oids.NameAttribute.SURNAME.dotted] = person.name.surname
        values[oids.NameAttribute.GIVEN_NAME.dotted] = given
        values[oids.NameAttribute.COMMON_NAME.dotted] = f"{person.name.surname} {given}"
        values[oids.RuAttribute.SNILS.dotted] = person.snils.value
        values[oids.RuAttribute.INN.dotted] = person.inn.value
    org = request.organisation
    if org is not None:
        values.update(_organisation_values(org))
        title = request.title or (request.authority.position if request.authority else None)
        if title:
            values[oids.NameAttribute.TITLE.dotted] = title
    address = request.address
    if address is not None:
        values.update(_address_values(address))
    if request.email:
        values[oids.NameAttribute.EMAIL_ADDRESS.dotted] = request.email
    return values


def _address_values(address: Address) -> dict[str, str]:
    out: dict[str, str] = {}
    for oid, value in (
        (oids.NameAttribute.STATE_OR_PROVINCE_NAME, address.region),
        (oids.NameAttribute.LOCALITY_NAME, address.locality),
        (oids.NameAttribute.STREET_ADDRESS, address.street),
    ):
        if value:
            out[oid.dotted] = value
    return out


def _organisation_values(org: Organisation) -> dict[str, str]:
    out = {
        oids.NameAttribute.COUNTRY_NAME.dotted: "RU",
        oids.NameAttribute.ORGANIZATION_NAME.dotted: org.name,
        oids.NameAttribute.COMMON_NAME.dotted: org.common_name or org.name,
        oids.RuAttribute.OGRN.dotted: org.ogrn.value,
        oids.RuAttribute.INNLE.dotted: org.inn.value,
    }
    out.update(_address_values(org.address))
    if org.email:
        out[oids.NameAttribute.EMAIL_ADDRESS.dotted] = org.email
    return out


def build_subject(profile: Profile, values: dict[str, str]) -> Name:
    """The subject in the profile's order and string types; refuses what the profile forbids.

    Every required attribute must have a value; a value the profile does not list is dropped
    (it never reaches the certificate); a value too long or invalid for its type is refused.
    """
    attrs: list[NameAttribute] = []
    for rule in profile.attributes:
        value = values.get(rule.oid.dotted)
        if value is None:
            if rule.presence is Presence.REQUIRED:
                raise _refuse(
                    profile,
                    rule.source,
                    f"required {rule.oid.name} is missing from the verified data",
                    attribute=rule.oid.name,
                )
            continue
        if rule.presence is Presence.FORBIDDEN:
            continue
        attrs.append(_attribute(profile, rule, value))
    return Name.build(attrs)


def _attribute(profile: Profile, rule: AttributeRule, value: str) -> NameAttribute:
    if rule.max_length is not None and len(value) > rule.max_length:
        raise _refuse(
            profile,
            rule.source,
            f"{rule.oid.name} has {len(value)} characters, at most {rule.max_length}",
            attribute=rule.oid.name,
        )
    try:
        return NameAttribute(rule.oid, value, rule.emit)
    except ValueError as exc:
        raise _refuse(profile, rule.source, str(exc), attribute=rule.oid.name) from exc


def csr_disagreements(subject: Name, csr_subject: Name | None) -> tuple[str, ...]:
    """Warnings where the CSR's subject disagrees with the verified subject (never used)."""
    if csr_subject is None:
        return ()
    ours = {a.oid.dotted: a.value for a in subject}
    out = []
    for a in csr_subject:
        if a.oid.dotted in ours and ours[a.oid.dotted] != a.value:
            out.append(
                f"CSR {a.oid.name} differs from the verified data; the verified value is used"
            )
        elif a.oid.dotted not in ours:
            out.append(f"CSR {a.oid.name} is not verified data and is ignored")
    return tuple(out)


# --- extensions -------------------------------------------------------------------------------


def _common_extensions(
    profile: Profile, config: CaConfig, info: PublicKeyInfo, include_policies: bool
) -> list[x509ext.Extension]:
    before, after = _fixed_extensions(profile, config, include_policies)
    return [*before, x509ext.SubjectKeyIdentifier.from_public_key_info(info.der), *after]


def _fixed_extensions(
    profile: Profile, config: CaConfig, include_policies: bool
) -> tuple[tuple[x509ext.Extension, ...], tuple[x509ext.Extension, ...]]:
    """The extensions of :func:`_common_extensions` that depend on the profile and the CA's
    configuration only: those before the subjectKeyIdentifier and those after it.

    Issue 17: built once per profile, configuration (by identity; the entry holds both, so an
    ``id`` is not reused while it is kept) and ``include_policies``, not for every certificate;
    the same objects every time also find their DER in the extensions' cache by identity.
    At most :data:`_FIXED_MAX` entries (emptied when full)."""
    key = (id(profile), id(config), include_policies)
    hit = _FIXED.get(key)
    if hit is not None and hit[0] is profile and hit[1] is config:
        return hit[2]
    built = _build_fixed_extensions(profile, config, include_policies)
    if len(_FIXED) >= _FIXED_MAX:
        _FIXED.clear()
    _FIXED[key] = (profile, config, built)
    return built


_FIXED_MAX = 64
_FIXED: dict[
    tuple[int, int, bool],
    tuple[Profile, CaConfig, tuple[tuple[x509ext.Extension, ...], tuple[x509ext.Extension, ...]]],
] = {}


def _build_fixed_extensions(
    profile: Profile, config: CaConfig, include_policies: bool
) -> tuple[tuple[x509ext.Extension, ...], tuple[x509ext.Extension, ...]]:
    exts: list[x509ext.Extension] = [
        x509ext.KeyUsage(True, profile.key_usage.emit),
    ]
    if profile.extended_key_usage:
        exts.append(x509ext.ExtendedKeyUsage(False, profile.extended_key_usage))
    if include_policies:
        exts.append(x509ext.CertificatePolicies.of(*config.policy_classes))
    before = tuple(exts)
    exts = []
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
    return before, tuple(exts)


def email_alt_name(profile: Profile, subject: Name) -> list[x509ext.Extension]:
    """subjectAltName with the subject's e-mail address as rfc822Name, when there is one.

    RFC 5280 §4.1.2.6: conforming implementations generating new certificates with electronic
    mail addresses MUST use the rfc822Name in subjectAltName; emailAddress in the subject is
    legacy, kept because every Russian certificate in circulation carries it (Order 795 lists
    it). pkilint flags a certificate with the attribute alone.
    """
    email = next(
        (a.value for a in subject if a.oid.dotted == oids.NameAttribute.EMAIL_ADDRESS.dotted),
        None,
    )
    if email is None or profile.extension(oids.Extension.SUBJECT_ALT_NAME) is None:
        return []
    return [x509ext.SubjectAlternativeName(False, (x509ext.Rfc822Name(email),))]


def _issuer_sign_tool(config: CaConfig) -> x509ext.IssuerSignTool:
    """The CA's issuerSignTool: one object per configuration (as :func:`_fixed_extensions`)."""
    hit = _TOOLS.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    t = config.issuer_tools
    tool = x509ext.IssuerSignTool(
        False, t.sign_tool, t.ca_tool, t.sign_tool_certificate, t.ca_tool_certificate
    )
    if len(_TOOLS) >= _FIXED_MAX:
        _TOOLS.clear()
    _TOOLS[id(config)] = (config, tool)
    return tool


_TOOLS: dict[int, tuple[CaConfig, x509ext.IssuerSignTool]] = {}


def _pkup(not_before: dt.datetime, key_end: dt.datetime) -> x509ext.PrivateKeyUsagePeriod:
    return x509ext.PrivateKeyUsagePeriod(False, not_before, key_end)


# --- plans ------------------------------------------------------------------------------------


def plan_subscriber_certificate(
    request: SubscriberRequest, config: CaConfig, issuer_key: SigningKey, *, at: dt.datetime
) -> CertificatePlan:
    """Plan a qualified certificate for a verified subscriber; refuse with the rule named."""
    profile = request.profile
    if profile.kind not in (
        ProfileKind.INDIVIDUAL,
        ProfileKind.ENTREPRENEUR,
        ProfileKind.LEGAL_ENTITY,
    ):
        raise ValueError(f"{profile.name} is not a subscriber profile")
    check_enabled(profile, config)
    check_issuer_key(profile, issuer_key, config)
    require_verified(request.subscriber)
    method = request.subscriber.identification_method
    if method is None:
        raise _refuse(profile, "Order 31 (identificationKind)", "no identification record")
    if profile.kind is ProfileKind.LEGAL_ENTITY:
        _check_organisation(request, at)
    info = check_key(profile, request.public_key_info)
    not_after, key_end = check_validity(
        profile, request.not_before, request.not_after, request.private_key_not_after
    )
    subject = build_subject(profile, _values_for(request))
    exts = _common_extensions(profile, config, info, include_policies=True)
    exts += email_alt_name(profile, subject)
    exts += [
        x509ext.SubjectSignTool(False, _tool(profile, request.subject_sign_tool)),
        _issuer_sign_tool(config),
        x509ext.IdentificationKind(False, x509ext.IdentificationKindValue(int(method))),
        _pkup(request.not_before, key_end),
    ]
    return CertificatePlan(
        profile,
        subject,
        info,
        request.not_before,
        not_after,
        tuple(exts),
        csr_disagreements(subject, request.csr_subject),
        config.crl_partitions
        if profile.extension(oids.Extension.CRL_DISTRIBUTION_POINTS)
        else None,
    )


def _tool(profile: Profile, tool: str) -> str:
    if not isinstance(tool, str) or not 1 <= len(tool.strip()) <= 200 or len(tool) > 200:
        raise _refuse(
            profile,
            "Order 795 (subjectSignTool SIZE(1..200))",
            "subjectSignTool must be 1..200 characters",
        )
    return tool


def _check_organisation(request: SubscriberRequest, at: dt.datetime) -> None:
    profile = request.profile
    org, authority = request.organisation, request.authority
    if org is None:
        raise _refuse(profile, "63-ФЗ art. 17 part 2", "no organisation given")
    if authority is None:
        raise _refuse(profile, "R4", "no authority to act for the organisation")
    check_authority(
        authority,
        person=request.subscriber.id,
        organisation=org.inn,
        action=AuthorityScope.QUALIFIED_CERTIFICATE,
        at=at,
    )


def plan_ca_certificate(
    ca: Organisation,
    public_key_info: bytes,
    config: CaConfig,
    issuer_key: SigningKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
    private_key_not_after: dt.datetime | None = None,
    path_length: int | None = 0,
) -> CertificatePlan:
    """Plan this CA's certificate (a self-signed test root, or the request to the head CA)."""
    check_enabled(CA, config)
    check_issuer_key(CA, issuer_key, config)
    info = check_key(CA, public_key_info)
    end, key_end = check_validity(CA, not_before, not_after, private_key_not_after)
    subject = build_subject(CA, _organisation_values(ca))
    exts: list[x509ext.Extension] = [x509ext.BasicConstraints(True, True, path_length)]
    exts += _common_extensions(CA, config, info, include_policies=True)
    exts += email_alt_name(CA, subject)
    exts += [
        x509ext.SubjectSignTool(False, config.ca_sign_tool),
        _issuer_sign_tool(config),
        _pkup(not_before, key_end),
    ]
    return CertificatePlan(CA, subject, info, not_before, end, tuple(exts))


def plan_ocsp_certificate(
    responder: Organisation,
    public_key_info: bytes,
    config: CaConfig,
    issuer_key: SigningKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
) -> CertificatePlan:
    """Plan the certificate of this CA's OCSP responder (delegated signer, RFC 6960)."""
    check_enabled(OCSP, config)
    check_issuer_key(OCSP, issuer_key, config)
    info = check_key(OCSP, public_key_info)
    end, key_end = check_validity(OCSP, not_before, not_after, None)
    subject = build_subject(OCSP, _organisation_values(responder))
    exts = _common_extensions(OCSP, config, info, include_policies=False)
    exts += email_alt_name(OCSP, subject)
    exts += [
        x509ext.UnrecognizedExtension(False, oids.Extension.OCSP_NO_CHECK.dotted, b"\x05\x00"),
        x509ext.SubjectSignTool(False, config.ca_sign_tool),
        _issuer_sign_tool(config),
        _pkup(not_before, key_end),
    ]
    return CertificatePlan(OCSP, subject, info, not_before, end, tuple(exts))


def plan_tsa_certificate(
    tsa: Organisation,
    public_key_info: bytes,
    config: CaConfig,
    issuer_key: SigningKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
) -> CertificatePlan:
    """Plan the certificate of this CA's time-stamp authority (RFC 3161 §2.3: critical EKU
    id-kp-timeStamping and nothing else)."""
    check_enabled(TSA, config)
    check_issuer_key(TSA, issuer_key, config)
    info = check_key(TSA, public_key_info)
    end, key_end = check_validity(TSA, not_before, not_after, None)
    subject = build_subject(TSA, _organisation_values(tsa))
    exts = [
        x509ext.ExtendedKeyUsage(True, TSA.extended_key_usage)
        if isinstance(e, x509ext.ExtendedKeyUsage)
        else e
        for e in _common_extensions(TSA, config, info, include_policies=False)
    ]
    exts += [
        x509ext.SubjectSignTool(False, config.ca_sign_tool),
        _issuer_sign_tool(config),
        _pkup(not_before, key_end),
    ]
    return CertificatePlan(TSA, subject, info, not_before, end, tuple(exts))


# --- the pre-issuance gate --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedTbs:
    """A TBS that passed the pre-issuance lint, with the lint's warnings and notices."""

    tbs: TbsCertificate
    report: LintReport


def prepare_tbs(
    plan: CertificatePlan,
    *,
    serial: int,
    algorithm: SignatureAlgorithm,
    issuer: Certificate | None = None,
    self_signed: bool = False,
) -> PreparedTbs:
    """Build the TBS from the plan and lint it; :class:`LintFailed` on any error finding."""
    builder = plan.builder(issuer=issuer, self_signed=self_signed).serial_number(serial)
    cdp = plan.crl_distribution_points(serial)
    if cdp is not None:
        builder = builder.add_extension(cdp)
    tbs = builder.build_tbs(algorithm)
    return PreparedTbs(tbs, require_clean(tbs.der, plan.profile))


def issue_certificate(
    plan: CertificatePlan,
    key: SigningKey,
    *,
    serial: int,
    issuer: Certificate | None = None,
    self_signed: bool = False,
) -> Certificate:
    """Shortcut for tests and the demo: prepare (lint) and sign in one step."""
    prepared = prepare_tbs(
        plan,
        serial=serial,
        algorithm=key.signature_algorithm,
        issuer=issuer,
        self_signed=self_signed,
    )
    return prepared.tbs.sign(key)


__all__ = [
    "Address",
    "CertificatePlan",
    "Organisation",
    "PreparedTbs",
    "ProfileViolation",
    "SubscriberRequest",
    "build_subject",
    "check_enabled",
    "check_issuer_key",
    "check_key",
    "check_validity",
    "csr_disagreements",
    "issue_certificate",
    "plan_ca_certificate",
    "plan_ocsp_certificate",
    "plan_subscriber_certificate",
    "plan_tsa_certificate",
    "prepare_tbs",
]
