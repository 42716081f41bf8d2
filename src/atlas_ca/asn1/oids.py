"""Every object identifier atlas_ca uses, declared once with its name and source.

No dotted OID literal appears anywhere else in ``src/`` (``tests/test_oids.py`` greps for it).
Each constant is an :class:`Oid`; ``str(oid)`` is the dotted form asn1crypto expects.
Sources are cited per group: RFC 9215 and TC26 recommendations for GOST, FSB Order 795 (as amended
by Order 31 of 29.01.2021) for the Russian qualified-certificate identifiers, RFC 5280 and
RFC 5652 for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Oid:
    dotted: str
    name: str

    def __str__(self) -> str:
        return self.dotted


def _all_in(cls: type) -> tuple[Oid, ...]:
    return tuple(v for v in vars(cls).values() if isinstance(v, Oid))


class GostAlgorithm:
    """GOST public-key, signature and digest algorithms (RFC 9215 §3, RFC 6986, TC26)."""

    GOST3410_2012_256 = Oid("1.2.643.7.1.1.1.1", "id-tc26-gost3410-12-256")
    GOST3410_2012_512 = Oid("1.2.643.7.1.1.1.2", "id-tc26-gost3410-12-512")
    GOST3411_2012_256 = Oid("1.2.643.7.1.1.2.2", "id-tc26-gost3411-12-256")
    GOST3411_2012_512 = Oid("1.2.643.7.1.1.2.3", "id-tc26-gost3411-12-512")
    SIGN_WITH_GOST3411_2012_256 = Oid("1.2.643.7.1.1.3.2", "id-tc26-signwithdigest-gost3410-12-256")
    SIGN_WITH_GOST3411_2012_512 = Oid("1.2.643.7.1.1.3.3", "id-tc26-signwithdigest-gost3410-12-512")
    # Legacy (RFC 4357): GOST R 34.10-2001 keys and the GOST R 34.11-94 CryptoPro digest set,
    # recognised on input only.
    GOST3410_2001 = Oid("1.2.643.2.2.19", "id-GostR3410-2001")
    GOST3411_94 = Oid("1.2.643.2.2.9", "id-GostR3411-94")
    SIGN_WITH_GOST3411_94_2001 = Oid("1.2.643.2.2.3", "id-GostR3411-94-with-GostR3410-2001")
    GOST3411_94_CRYPTOPRO_PARAMS = Oid("1.2.643.2.2.30.1", "id-GostR3411-94-CryptoProParamSet")


class GostParamSet:
    """Elliptic-curve parameter sets (R 1323565.1.024-2019; RFC 4357 §10.8 for CryptoPro)."""

    CRYPTOPRO_A = Oid("1.2.643.2.2.35.1", "id-GostR3410-2001-CryptoPro-A-ParamSet")
    CRYPTOPRO_B = Oid("1.2.643.2.2.35.2", "id-GostR3410-2001-CryptoPro-B-ParamSet")
    CRYPTOPRO_C = Oid("1.2.643.2.2.35.3", "id-GostR3410-2001-CryptoPro-C-ParamSet")
    CRYPTOPRO_XCHA = Oid("1.2.643.2.2.36.0", "id-GostR3410-2001-CryptoPro-XchA-ParamSet")
    CRYPTOPRO_XCHB = Oid("1.2.643.2.2.36.1", "id-GostR3410-2001-CryptoPro-XchB-ParamSet")
    TC26_256_A = Oid("1.2.643.7.1.2.1.1.1", "id-tc26-gost-3410-12-256-paramSetA")
    TC26_256_B = Oid("1.2.643.7.1.2.1.1.2", "id-tc26-gost-3410-12-256-paramSetB")
    TC26_256_C = Oid("1.2.643.7.1.2.1.1.3", "id-tc26-gost-3410-12-256-paramSetC")
    TC26_256_D = Oid("1.2.643.7.1.2.1.1.4", "id-tc26-gost-3410-12-256-paramSetD")
    TC26_512_A = Oid("1.2.643.7.1.2.1.2.1", "id-tc26-gost-3410-12-512-paramSetA")
    TC26_512_B = Oid("1.2.643.7.1.2.1.2.2", "id-tc26-gost-3410-12-512-paramSetB")
    TC26_512_C = Oid("1.2.643.7.1.2.1.2.3", "id-tc26-gost-3410-12-512-paramSetC")


class GostTestParamSet:
    """Curves of the standard's worked examples (GOST R 34.10-2012 Appendix A = RFC 7091 §7).

    OIDs from RFC 4357 §10.8 and R 1323565.1.024-2019. For test vectors only, never real keys.
    """

    TEST_2001 = Oid("1.2.643.2.2.35.0", "id-GostR3410-2001-TestParamSet")
    TC26_512_TEST = Oid("1.2.643.7.1.2.1.2.0", "id-tc26-gost-3410-12-512-paramSetTest")


class RuAttribute:
    """Subject attributes of Russian qualified certificates (Order 795 §16 as amended)."""

    OGRN = Oid("1.2.643.100.1", "OGRN")
    SNILS = Oid("1.2.643.100.3", "SNILS")
    INNLE = Oid("1.2.643.100.4", "INNLE")
    OGRNIP = Oid("1.2.643.100.5", "OGRNIP")
    INN = Oid("1.2.643.3.131.1.1", "INN")


class RuExtension:
    """Certificate extensions of Order 795 (§§ 18–20) and the identification kind (Order 31)."""

    SUBJECT_SIGN_TOOL = Oid("1.2.643.100.111", "subjectSignTool")
    ISSUER_SIGN_TOOL = Oid("1.2.643.100.112", "issuerSignTool")
    IDENTIFICATION_KIND = Oid("1.2.643.100.114", "identificationKind")


class RuPolicy:
    """Classes of the signature tool in certificatePolicies (Order 795 §18; FSB Order 796)."""

    KC1 = Oid("1.2.643.100.113.1", "КС1")
    KC2 = Oid("1.2.643.100.113.2", "КС2")
    KC3 = Oid("1.2.643.100.113.3", "КС3")
    KB1 = Oid("1.2.643.100.113.4", "КВ1")
    KB2 = Oid("1.2.643.100.113.5", "КВ2")
    KA1 = Oid("1.2.643.100.113.6", "КА1")


class NameAttribute:
    """X.520 attributes (RFC 5280 §4.1.2.4, Appendix A) and PKCS #9 emailAddress."""

    COMMON_NAME = Oid("2.5.4.3", "commonName")
    SURNAME = Oid("2.5.4.4", "surname")
    SERIAL_NUMBER = Oid("2.5.4.5", "serialNumber")
    COUNTRY_NAME = Oid("2.5.4.6", "countryName")
    LOCALITY_NAME = Oid("2.5.4.7", "localityName")
    STATE_OR_PROVINCE_NAME = Oid("2.5.4.8", "stateOrProvinceName")
    STREET_ADDRESS = Oid("2.5.4.9", "streetAddress")
    ORGANIZATION_NAME = Oid("2.5.4.10", "organizationName")
    ORGANIZATIONAL_UNIT_NAME = Oid("2.5.4.11", "organizationalUnitName")
    TITLE = Oid("2.5.4.12", "title")
    GIVEN_NAME = Oid("2.5.4.42", "givenName")
    EMAIL_ADDRESS = Oid("1.2.840.113549.1.9.1", "emailAddress")


class Extension:
    """Standard certificate and CRL extensions (RFC 5280 §4.2, §5.2, §5.3)."""

    SUBJECT_KEY_IDENTIFIER = Oid("2.5.29.14", "subjectKeyIdentifier")
    KEY_USAGE = Oid("2.5.29.15", "keyUsage")
    PRIVATE_KEY_USAGE_PERIOD = Oid("2.5.29.16", "privateKeyUsagePeriod")
    SUBJECT_ALT_NAME = Oid("2.5.29.17", "subjectAltName")
    ISSUER_ALT_NAME = Oid("2.5.29.18", "issuerAltName")
    BASIC_CONSTRAINTS = Oid("2.5.29.19", "basicConstraints")
    CRL_NUMBER = Oid("2.5.29.20", "cRLNumber")
    CRL_REASON = Oid("2.5.29.21", "reasonCode")
    INVALIDITY_DATE = Oid("2.5.29.24", "invalidityDate")
    DELTA_CRL_INDICATOR = Oid("2.5.29.27", "deltaCRLIndicator")
    ISSUING_DISTRIBUTION_POINT = Oid("2.5.29.28", "issuingDistributionPoint")
    CERTIFICATE_ISSUER = Oid("2.5.29.29", "certificateIssuer")
    NAME_CONSTRAINTS = Oid("2.5.29.30", "nameConstraints")
    CRL_DISTRIBUTION_POINTS = Oid("2.5.29.31", "cRLDistributionPoints")
    CERTIFICATE_POLICIES = Oid("2.5.29.32", "certificatePolicies")
    AUTHORITY_KEY_IDENTIFIER = Oid("2.5.29.35", "authorityKeyIdentifier")
    EXTENDED_KEY_USAGE = Oid("2.5.29.37", "extKeyUsage")
    FRESHEST_CRL = Oid("2.5.29.46", "freshestCRL")
    AUTHORITY_INFO_ACCESS = Oid("1.3.6.1.5.5.7.1.1", "authorityInfoAccess")
    OCSP_NO_CHECK = Oid("1.3.6.1.5.5.7.48.1.5", "id-pkix-ocsp-nocheck")


class AccessMethod:
    """authorityInfoAccess methods (RFC 5280 §4.2.2.1)."""

    OCSP = Oid("1.3.6.1.5.5.7.48.1", "id-ad-ocsp")
    CA_ISSUERS = Oid("1.3.6.1.5.5.7.48.2", "id-ad-caIssuers")


class ExtendedKeyUsage:
    """Key purposes (RFC 5280 §4.2.1.12)."""

    SERVER_AUTH = Oid("1.3.6.1.5.5.7.3.1", "serverAuth")
    CLIENT_AUTH = Oid("1.3.6.1.5.5.7.3.2", "clientAuth")
    CODE_SIGNING = Oid("1.3.6.1.5.5.7.3.3", "codeSigning")
    EMAIL_PROTECTION = Oid("1.3.6.1.5.5.7.3.4", "emailProtection")
    TIME_STAMPING = Oid("1.3.6.1.5.5.7.3.8", "timeStamping")
    OCSP_SIGNING = Oid("1.3.6.1.5.5.7.3.9", "OCSPSigning")


class Policy:
    """Generic certificate policies (RFC 5280 §4.2.1.4)."""

    ANY_POLICY = Oid("2.5.29.32.0", "anyPolicy")
    # Policy qualifier ids (RFC 5280 §4.2.1.4).
    CPS_QUALIFIER = Oid("1.3.6.1.5.5.7.2.1", "id-qt-cps")


class PublicKeyAlgorithm:
    """Non-GOST public-key algorithms and curves (RFC 3279, RFC 5480, RFC 8410)."""

    RSA = Oid("1.2.840.113549.1.1.1", "rsaEncryption")
    EC_PUBLIC_KEY = Oid("1.2.840.10045.2.1", "id-ecPublicKey")
    ED25519 = Oid("1.3.101.112", "id-Ed25519")
    SECP256R1 = Oid("1.2.840.10045.3.1.7", "secp256r1")
    SECP384R1 = Oid("1.3.132.0.34", "secp384r1")


class SignatureAlgorithmOid:
    """Non-GOST signature algorithms (RFC 4055, RFC 5758, RFC 8410)."""

    SHA256_WITH_RSA = Oid("1.2.840.113549.1.1.11", "sha256WithRSAEncryption")
    SHA384_WITH_RSA = Oid("1.2.840.113549.1.1.12", "sha384WithRSAEncryption")
    ECDSA_WITH_SHA256 = Oid("1.2.840.10045.4.3.2", "ecdsa-with-SHA256")
    ECDSA_WITH_SHA384 = Oid("1.2.840.10045.4.3.3", "ecdsa-with-SHA384")
    ED25519 = Oid("1.3.101.112", "Ed25519")


class Cms:
    """CMS content types and attributes (RFC 5652 §§ 4, 5, 11)."""

    DATA = Oid("1.2.840.113549.1.7.1", "data")
    SIGNED_DATA = Oid("1.2.840.113549.1.7.2", "signedData")
    CONTENT_TYPE = Oid("1.2.840.113549.1.9.3", "contentType")
    MESSAGE_DIGEST = Oid("1.2.840.113549.1.9.4", "messageDigest")
    SIGNING_TIME = Oid("1.2.840.113549.1.9.5", "signingTime")
    EXTENSION_REQUEST = Oid("1.2.840.113549.1.9.14", "extensionRequest")
    # CAdES-BES (ETSI EN 319 122-1 §5.2.2) names the signer's certificate by this attribute.
    SIGNING_CERTIFICATE_V2 = Oid("1.2.840.113549.1.9.16.2.47", "id-aa-signingCertificateV2")


class Digest:
    """Non-GOST digest algorithms of OCSP CertIDs and time-stamp imprints (RFC 3279, RFC 5754)."""

    SHA1 = Oid("1.3.14.3.2.26", "sha1")
    SHA256 = Oid("2.16.840.1.101.3.4.2.1", "sha256")


class Ocsp:
    """OCSP response types and extensions (RFC 6960 §4.2.1, §4.4.1; nonce per RFC 8954)."""

    BASIC = Oid("1.3.6.1.5.5.7.48.1.1", "id-pkix-ocsp-basic")
    NONCE = Oid("1.3.6.1.5.5.7.48.1.2", "id-pkix-ocsp-nonce")


class Tsp:
    """Time-stamp protocol (RFC 3161 §2.4.2) and ESS signing-certificate v2 (RFC 5035 §3)."""

    TST_INFO = Oid("1.2.840.113549.1.9.16.1.4", "id-ct-TSTInfo")
    # The demo's TSA policy, under the X.660 arc reserved for examples (2.999): a real TSA
    # configures the policy OID of its own practice statement ([tsa] policy).
    EXAMPLE_POLICY = Oid("2.999.3161.1", "atlas-ca example TSA policy")


ALL: tuple[Oid, ...] = tuple(
    oid
    for group in (
        GostAlgorithm,
        GostParamSet,
        GostTestParamSet,
        RuAttribute,
        RuExtension,
        RuPolicy,
        NameAttribute,
        Extension,
        AccessMethod,
        ExtendedKeyUsage,
        Policy,
        PublicKeyAlgorithm,
        SignatureAlgorithmOid,
        Cms,
        Digest,
        Ocsp,
        Tsp,
    )
    for oid in _all_in(group)
)
