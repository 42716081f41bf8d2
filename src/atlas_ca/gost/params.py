"""Elliptic-curve parameter sets of GOST R 34.10-2012.

Values from R 1323565.1.024-2019 (TC26 sets) and RFC 4357 §11.4 (CryptoPro sets, which are the
same curves as TC26 256 paramSetB–D). TC26 256 paramSetA and 512 paramSetC are twisted Edwards
curves in the standard; here they carry their short Weierstrass form (the one GOST R 34.10-2012
arithmetic is defined on, as gostcrypto and OpenSSL's gost engine use it), cofactor 4.

The test sets of the standard's worked examples (Appendix A, also RFC 7091 §7) are in
:data:`TEST_PARAM_SETS`; :func:`param_set` refuses them so that no real key lands on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas_ca.asn1.oids import GostAlgorithm, GostParamSet, GostTestParamSet, Oid
from atlas_ca.errors import UnknownParameterSet


@dataclass(frozen=True, slots=True)
class ParamSet:
    """One curve ``y² = x³ + a·x + b (mod p)`` with base point ``(x, y)`` of prime order ``q``.

    ``digest_param_set`` is the digestParamSet OID a SubjectPublicKeyInfo of this set carries
    (RFC 9215 §4.2: MUST be present, id-tc26-gost3411-12-256, for 256-bit keys on the CryptoPro
    sets; MUST be omitted for TC26 256 paramSetB–D; SHOULD be omitted for 256 paramSetA and the
    512-bit sets). :meth:`GostPublicKey.from_spki_der` is lenient on input: it accepts a present
    digestParamSet of the key's own size and an absent one whatever the set (OpenSSL itself
    writes one for 512-bit paramSetA/B keys).
    """

    name: str
    oid: Oid
    bits: int
    p: int
    a: int
    b: int
    q: int
    x: int
    y: int
    cofactor: int = 1
    digest_param_set: Oid | None = None

    def __hash__(self) -> int:
        # Equal sets have equal names and orders, so this agrees with the generated __eq__; the
        # generated hash went through all eleven fields (0.6 µs), and a set is hashed in every
        # look-up keyed by a GostPublicKey or a ParamSet (several per verification, issue 17).
        return hash((self.name, self.q))

    def __post_init__(self) -> None:
        if self.bits not in (256, 512):
            raise ValueError(f"parameter set {self.name}: bits must be 256 or 512, not {self.bits}")
        if (self.y * self.y - (self.x**3 + self.a * self.x + self.b)) % self.p != 0:
            raise ValueError(f"parameter set {self.name}: base point is not on the curve")
        if not 0 < self.q < 1 << self.bits:
            raise ValueError(f"parameter set {self.name}: q does not fit in {self.bits} bits")

    @property
    def size(self) -> int:
        """Bytes per coordinate, per signature half and per digest: 32 or 64."""
        return self.bits // 8

    @property
    def algorithm_oid(self) -> Oid:
        """The SubjectPublicKeyInfo algorithm: id-tc26-gost3410-12-256 or -512."""
        if self.bits == 256:
            return GostAlgorithm.GOST3410_2012_256
        return GostAlgorithm.GOST3410_2012_512

    @property
    def digest_oid(self) -> Oid:
        """The Streebog variant signatures with this set use (RFC 9215 §3.2)."""
        if self.bits == 256:
            return GostAlgorithm.GOST3411_2012_256
        return GostAlgorithm.GOST3411_2012_512

    def contains(self, x: int, y: int) -> bool:
        """True if ``(x, y)`` is an affine point of this curve with coordinates in ``[0, p)``."""
        if not (0 <= x < self.p and 0 <= y < self.p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0

    def __repr__(self) -> str:
        return f"ParamSet({self.name!r}, {self.oid.dotted})"


_D256 = GostAlgorithm.GOST3411_2012_256


@dataclass(frozen=True, slots=True)
class _Curve:
    p: int
    a: int
    b: int
    q: int
    x: int
    y: int


def _make(
    name: str,
    oid: Oid,
    bits: int,
    c: _Curve,
    *,
    cofactor: int = 1,
    digest_param_set: Oid | None = None,
) -> ParamSet:
    return ParamSet(name, oid, bits, c.p, c.a, c.b, c.q, c.x, c.y, cofactor, digest_param_set)


# CryptoPro-A = TC26 256 paramSetB; CryptoPro-B = paramSetC; CryptoPro-C = paramSetD (RFC 4357
# §11.4, R 1323565.1.024-2019 §5.2). XchA is the CryptoPro-A curve, XchB the CryptoPro-C curve.
_P256_B = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97
_CURVE_256_B = _Curve(
    p=_P256_B,
    a=_P256_B - 3,
    b=0xA6,
    q=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893,
    x=0x1,
    y=0x8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14,
)
_P256_C = 0x8000000000000000000000000000000000000000000000000000000000000C99
_CURVE_256_C = _Curve(
    p=_P256_C,
    a=_P256_C - 3,
    b=0x3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B,
    q=0x800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F,
    x=0x1,
    y=0x3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC,
)
_P256_D = 0x9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B
_CURVE_256_D = _Curve(
    p=_P256_D,
    a=_P256_D - 3,
    b=0x805A,
    q=0x9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9,
    x=0x0,
    y=0x41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67,
)
_CURVE_256_A = _Curve(  # twisted Edwards e=1, d=0605F6B7...BFFB, u=0x0D; Weierstrass form
    p=_P256_B,
    a=0xC2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335,
    b=0x295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513,
    q=0x400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67,
    x=0x91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28,
    y=0x32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C,
)
_P512_A = (1 << 512) - 569
_CURVE_512_A = _Curve(
    p=_P512_A,
    a=_P512_A - 3,
    b=int(
        "E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265"
        "EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
        16,
    ),
    q=int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275",
        16,
    ),
    x=0x3,
    y=int(
        "7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921"
        "DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4",
        16,
    ),
)
_P512_B = (1 << 511) + 0x6F
_CURVE_512_B = _Curve(
    p=_P512_B,
    a=_P512_B - 3,
    b=int(
        "687D1B459DC841457E3E06CF6F5E2517B97C7D614AF138BCBF85DC806C4B289F"
        "3E965D2DB1416D217F8B276FAD1AB69C50F78BEE1FA3106EFB8CCBC7C5140116",
        16,
    ),
    q=int(
        "8000000000000000000000000000000000000000000000000000000000000001"
        "49A1EC142565A545ACFDB77BD9D40CFA8B996712101BEA0EC6346C54374F25BD",
        16,
    ),
    x=0x2,
    y=int(
        "1A8F7EDA389B094C2C071E3647A8940F3C123B697578C213BE6DD9E6C8EC7335"
        "DCB228FD1EDF4A39152CBCAAF8C0398828041055F94CEEEC7E21340780FE41BD",
        16,
    ),
)
_CURVE_512_C = _Curve(  # twisted Edwards e=1, u=0x12; Weierstrass form
    p=_P512_A,
    a=int(
        "DC9203E514A721875485A529D2C722FB187BC8980EB866644DE41C68E1430645"
        "46E861C0E2C9EDD92ADE71F46FCF50FF2AD97F951FDA9F2A2EB6546F39689BD3",
        16,
    ),
    b=int(
        "B4C4EE28CEBC6C2C8AC12952CF37F16AC7EFB6A9F69F4B57FFDA2E4F0DE5ADE0"
        "38CBC2FFF719D2C18DE0284B8BFEF3B52B8CC7A5F5BF0A3C8D2319A5312557E1",
        16,
    ),
    q=int(
        "3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "C98CDBA46506AB004C33A9FF5147502CC8EDA9E7A769A12694623CEF47F023ED",
        16,
    ),
    x=int(
        "E2E31EDFC23DE7BDEBE241CE593EF5DE2295B7A9CBAEF021D385F7074CEA043A"
        "A27272A7AE602BF2A7B9033DB9ED3610C6FB85487EAE97AAC5BC7928C1950148",
        16,
    ),
    y=int(
        "F5CE40D95B5EB899ABBCCFF5911CB8577939804D6527378B8C108C3D2090FF9B"
        "E18E2D33E3021ED2EF32D85822423B6304F726AA854BAE07D0396E9A9ADDC40F",
        16,
    ),
)

CRYPTOPRO_A = _make(
    "cryptopro-a", GostParamSet.CRYPTOPRO_A, 256, _CURVE_256_B, digest_param_set=_D256
)
CRYPTOPRO_B = _make(
    "cryptopro-b", GostParamSet.CRYPTOPRO_B, 256, _CURVE_256_C, digest_param_set=_D256
)
CRYPTOPRO_C = _make(
    "cryptopro-c", GostParamSet.CRYPTOPRO_C, 256, _CURVE_256_D, digest_param_set=_D256
)
CRYPTOPRO_XCHA = _make(
    "cryptopro-xcha", GostParamSet.CRYPTOPRO_XCHA, 256, _CURVE_256_B, digest_param_set=_D256
)
CRYPTOPRO_XCHB = _make(
    "cryptopro-xchb", GostParamSet.CRYPTOPRO_XCHB, 256, _CURVE_256_D, digest_param_set=_D256
)
TC26_256_A = _make("tc26-256-a", GostParamSet.TC26_256_A, 256, _CURVE_256_A, cofactor=4)
TC26_256_B = _make("tc26-256-b", GostParamSet.TC26_256_B, 256, _CURVE_256_B)
TC26_256_C = _make("tc26-256-c", GostParamSet.TC26_256_C, 256, _CURVE_256_C)
TC26_256_D = _make("tc26-256-d", GostParamSet.TC26_256_D, 256, _CURVE_256_D)
TC26_512_A = _make("tc26-512-a", GostParamSet.TC26_512_A, 512, _CURVE_512_A)
TC26_512_B = _make("tc26-512-b", GostParamSet.TC26_512_B, 512, _CURVE_512_B)
TC26_512_C = _make("tc26-512-c", GostParamSet.TC26_512_C, 512, _CURVE_512_C, cofactor=4)

#: Every production parameter set, in a stable order.
PARAM_SETS: tuple[ParamSet, ...] = (
    CRYPTOPRO_A,
    CRYPTOPRO_B,
    CRYPTOPRO_C,
    CRYPTOPRO_XCHA,
    CRYPTOPRO_XCHB,
    TC26_256_A,
    TC26_256_B,
    TC26_256_C,
    TC26_256_D,
    TC26_512_A,
    TC26_512_B,
    TC26_512_C,
)

# GOST R 34.10-2012 Appendix A.1 / RFC 7091 §7.1 (= id-GostR3410-2001-TestParamSet).
TEST_256 = ParamSet(
    "test-256",
    GostTestParamSet.TEST_2001,
    256,
    p=0x8000000000000000000000000000000000000000000000000000000000000431,
    a=7,
    b=0x5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E,
    q=0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3,
    x=2,
    y=0x08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8,
    digest_param_set=_D256,
)
# GOST R 34.10-2012 Appendix A.2 / RFC 7091 §7.2 (= id-tc26-gost-3410-12-512-paramSetTest).
TEST_512 = ParamSet(
    "test-512",
    GostTestParamSet.TC26_512_TEST,
    512,
    p=int(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "F1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373",
        16,
    ),
    a=7,
    b=int(
        "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC43"
        "61834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
        16,
    ),
    q=int(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "A82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
        16,
    ),
    x=int(
        "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762"
        "FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
        16,
    ),
    y=int(
        "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C"
        "83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E",
        16,
    ),
)

#: The standard's example curves: for test vectors only, unknown to :func:`param_set`.
TEST_PARAM_SETS: tuple[ParamSet, ...] = (TEST_256, TEST_512)

_BY_KEY: dict[str, ParamSet] = {}
for _ps in PARAM_SETS:
    _BY_KEY[_ps.name] = _ps
    _BY_KEY[_ps.oid.dotted] = _ps
    _BY_KEY[_ps.oid.name.lower()] = _ps


def param_set(name_or_oid: str) -> ParamSet:
    """The production parameter set named ``name_or_oid``.

    Accepts our short name (``"tc26-256-a"``), the dotted OID or the OID's ASN.1 name
    (case-insensitive). Raises :class:`UnknownParameterSet` for anything else, including the
    test sets of the standard's examples.
    """
    found = _BY_KEY.get(name_or_oid) or _BY_KEY.get(name_or_oid.strip().lower())
    if found is None:
        known = ", ".join(ps.name for ps in PARAM_SETS)
        raise UnknownParameterSet(
            f"unknown GOST R 34.10-2012 parameter set {name_or_oid!r} (known: {known})",
            param_set=name_or_oid,
        )
    return found


__all__ = ["PARAM_SETS", "TEST_PARAM_SETS", "ParamSet", "param_set"]
