"""The fuzz suite's corpus, mutators, targets and the one check (not a test module).

Corpus: real objects built the way the other tests build them — the five certificates of the
profile tests' PKI (CA, individual, entrepreneur on a 512-bit key, legal entity, OCSP), a
request with extensions, a CRL with entries and extensions, a registrar's CMS attestation, and
the foreign certificates under ``tests/profiles/foreign``. Mutators: bit flips, byte changes,
truncations, length-octet changes at real TLV headers, a TLV replaced by deep nesting, by a
huge INTEGER, by another TLV of the corpus, tags swapped.

The check: feeding any input to any target raises nothing but :class:`AtlasCaError`, and the
message is one line of bounded length (a message that echoed the input would be as long as the
input).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

from atlas_ca.asn1 import oids  # noqa: E402
from atlas_ca.cli.show import describe, load_artifact  # noqa: E402
from atlas_ca.errors import AtlasCaError  # noqa: E402
from atlas_ca.profiles.lint import lint_der  # noqa: E402
from atlas_ca.services.attestation import sign_record, verify_attestation  # noqa: E402
from atlas_ca.x509.certificate import Certificate  # noqa: E402
from atlas_ca.x509.crl import (  # noqa: E402
    CrlBuilder,
    FreshestCrl,
    IssuingDistributionPoint,
    RevocationReason,
    RevokedEntry,
    load_crl,
)
from atlas_ca.x509.csr import CertificationRequest, CsrBuilder  # noqa: E402
from atlas_ca.x509.extensions import (  # noqa: E402
    BasicConstraints,
    KeyUsage,
    KeyUsageBit,
    SubjectSignTool,
)
from atlas_ca.x509.keys import PublicKeyInfo  # noqa: E402
from atlas_ca.x509.names import Name  # noqa: E402
from atlas_ca.x509.pem import read_der_or_pem  # noqa: E402

#: The longest message an error may carry: long enough for any real explanation, far shorter
#: than the inputs that would show up in it if a message echoed them.
MAX_MESSAGE = 1000
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
RECORD = b"\x30\x06\x02\x01\x01\x0c\x01x"


# --- corpus -------------------------------------------------------------------------------------


def build_corpus(base: Path) -> dict[str, bytes]:
    """Real objects by name (DER, plus a few PEM), built with fresh keys under ``base``."""
    from support.profiles_samples import build_world
    from support.x509_signers import gost_key

    world = build_world(base)
    corpus: dict[str, bytes] = {
        "cert-ca": world.root.der,
        "cert-individual": world.individual.der,
        "cert-entrepreneur-512": world.entrepreneur.der,
        "cert-legal-entity": world.legal_entity.der,
        "cert-ocsp": world.ocsp.der,
        "cert-ca-pem": world.root.pem(),
    }
    csr = (
        CsrBuilder()
        .subject_name(Name.build([(oids.NameAttribute.COMMON_NAME, "Заявитель")]))
        .add_extension(SubjectSignTool(False, "КриптоПро CSP 5.0"))
        .add_extension(BasicConstraints(True, False, None))
        .add_extension(KeyUsage(True, frozenset({KeyUsageBit.DIGITAL_SIGNATURE})))
        .sign(world.keys.subscriber)
    )
    corpus["csr"] = csr.der
    corpus["csr-pem"] = csr.pem()
    crl = (
        CrlBuilder()
        .issuer_certificate(world.root.der)
        .this_update(T0)
        .next_update(T0 + dt.timedelta(days=7))
        .crl_number(42)
        .issuing_distribution_point(
            IssuingDistributionPoint(full_name=("http://ca.example.ru/cdp/ca.crl",))
        )
        .freshest_crl(FreshestCrl(("http://ca.example.ru/cdp/delta.crl",)))
        .sign(
            world.keys.ca,
            [
                RevokedEntry(0x1234, T0, RevocationReason.KEY_COMPROMISE),
                RevokedEntry(0x1F00000000000003, T0, RevocationReason.SUPERSEDED, T0),
                RevokedEntry(7, T0),
            ],
        )
    )
    corpus["crl"] = crl.der()
    corpus["crl-pem"] = crl.pem()
    registrar = gost_key("cryptopro-a")
    reg_cert = _self_signed(registrar)
    corpus["attestation"] = sign_record(
        RECORD, registrar, reg_cert.der, at=T0, require_qualified=False
    )
    corpus["spki"] = world.keys.subscriber_512.public_key_info
    foreign = TESTS / "profiles" / "foreign"
    for pem in sorted(foreign.glob("*.pem")):
        corpus[f"foreign-{pem.stem}"] = pem.read_bytes()
    return corpus


def _self_signed(key: object) -> Certificate:
    from atlas_ca.x509.certificate import CertificateBuilder

    name = Name.build([(oids.NameAttribute.COMMON_NAME, "Регистратор")])
    return (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key_info)  # type: ignore[attr-defined]
        .serial_number(0x1001)
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=365))
        .sign(key)  # type: ignore[arg-type]
    )


# --- targets ------------------------------------------------------------------------------------


def _certificate(data: bytes) -> None:
    cert = Certificate.load(data)
    describe(cert)
    for ext in cert.extensions:
        repr(ext)


def _request(data: bytes) -> None:
    req = CertificationRequest.load(data)
    describe(req)
    req.verify()


def _crl(data: bytes) -> None:
    crl = load_crl(data)
    describe(crl)
    crl.extensions  # noqa: B018
    crl.issuing_distribution_point  # noqa: B018
    crl.freshest_crl  # noqa: B018
    crl.authority_key_identifier  # noqa: B018
    for _ in crl:
        pass
    crl.lookup(0x1234)


def _lint(data: bytes) -> None:
    _label, der = read_der_or_pem(data)
    lint_der(der)
    lint_der(der, "individual")


def _show(data: bytes) -> None:
    describe(load_artifact(data))


def _attestation(data: bytes) -> None:
    verify_attestation(RECORD, data)


def _spki(data: bytes) -> None:
    PublicKeyInfo.from_der(data)


#: Every library parser an outsider's bytes reach, by name.
TARGETS: dict[str, Callable[[bytes], None]] = {
    "certificate": _certificate,
    "request": _request,
    "crl": _crl,
    "lint": _lint,
    "show": _show,
    "attestation": _attestation,
    "spki": _spki,
}


def targets_for(name: str) -> tuple[str, ...]:
    """The targets worth feeding mutants of corpus entry ``name`` (all get ``show``)."""
    if name.startswith(("cert", "foreign")):
        return ("certificate", "lint", "show")
    if name.startswith("csr"):
        return ("request", "show")
    if name.startswith("crl"):
        return ("crl", "show")
    if name == "attestation":
        return ("attestation",)
    return ("spki",)


@dataclass(frozen=True)
class Failure:
    target: str
    seed: str
    mutation: str
    error: str

    def __str__(self) -> str:
        return f"{self.target} <- {self.seed} [{self.mutation}]: {self.error}"


def check(target: str, data: bytes) -> str | None:
    """``None`` if ``target`` accepts ``data`` or refuses it with one of our errors and a
    one-line, bounded message; else what went wrong."""
    try:
        TARGETS[target](data)
    except AtlasCaError as exc:
        message = str(exc)
        if "\n" in message or "\r" in message:
            return f"{type(exc).__name__} message spans lines: {message[:200]!r}"
        if len(message) > MAX_MESSAGE:
            return f"{type(exc).__name__} message of {len(message)} chars: {message[:200]!r}"
        return None
    except RecursionError:
        return "RecursionError"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


# --- mutators -----------------------------------------------------------------------------------


def tlv_offsets(data: bytes) -> list[tuple[int, int, int]]:
    """``(start, header_length, end)`` of every TLV reachable in ``data`` (best effort)."""
    out: list[tuple[int, int, int]] = []

    def walk(pos: int, limit: int, depth: int) -> None:
        while pos < limit and depth < 40 and len(out) < 5000:
            if limit - pos < 2:
                return
            first = data[pos]
            lb = data[pos + 1]
            hl = 2
            if lb & 0x80:
                n = lb & 0x7F
                if n == 0 or n > 4 or pos + 2 + n > limit:
                    return
                length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
                hl += n
            else:
                length = lb
            end = pos + hl + length
            if end > limit:
                return
            out.append((pos, hl, end))
            if first & 0x20 or first == 0x04:  # constructed, or OCTET STRING (extnValue)
                walk(pos + hl, end, depth + 1)
            elif first == 0x03 and length > 1:  # BIT STRING holding DER (subjectPublicKey)
                walk(pos + hl + 1, end, depth + 1)
            pos = end

    walk(0, len(data), 0)
    return out


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def deep_nesting(depth: int, tag: int = 0x30) -> bytes:
    value = b"\x05\x00"
    for _ in range(depth):
        value = _tlv(tag, value)
    return value


def huge_integer(octets: int) -> bytes:
    """An INTEGER with ``octets`` content octets: more decimal digits than Python formats."""
    return _tlv(0x02, b"\x7f" + b"\xff" * (octets - 1))


def _replace_tlv(data: bytes, rng: random.Random, new: bytes) -> bytes:
    tlvs = tlv_offsets(data)
    if not tlvs:
        return data
    start, _, end = rng.choice(tlvs)
    return _fix_lengths(data, start, end, new)


def _fix_lengths(data: bytes, start: int, end: int, replacement: bytes) -> bytes:
    """``data`` with ``data[start:end]`` replaced and the lengths of the enclosing TLVs fixed,
    so the mutant stays well-formed DER around the change (it reaches the inner parsers)."""
    enclosing = [
        (s, hl, e) for s, hl, e in tlv_offsets(data) if s < start and e >= end and s + hl <= start
    ]
    out = data[:start] + replacement + data[end:]
    delta = len(replacement) - (end - start)
    for s, hl, e in sorted(enclosing, key=lambda t: -t[0]):  # innermost first
        content_len = e - (s + hl) + delta
        new_header = bytes([out[s]]) + _length(content_len)
        out = out[:s] + new_header + out[s + hl :]
        delta += len(new_header) - hl
    return out


def systematic(data: bytes) -> Iterator[tuple[str, bytes]]:
    """At every TLV of ``data``: deep nesting, a huge INTEGER, an empty value and other tags
    (the structural mutants that found the library's tracebacks, tried everywhere once)."""
    for start, _, end in tlv_offsets(data):
        yield f"nesting3000@{start}", _fix_lengths(data, start, end, deep_nesting(3000))
        yield f"integer5000@{start}", _fix_lengths(data, start, end, huge_integer(5000))
        yield f"empty@{start}", _fix_lengths(data, start, end, data[start : start + 1] + b"\0")
        for tag in (0x01, 0x02, 0x04, 0x06, 0x0C, 0x18, 0x30):
            if data[start] != tag:
                yield f"tag{tag:02x}@{start}", data[:start] + bytes([tag]) + data[start + 1 :]


def mutations(data: bytes, rng: random.Random, pool: list[bytes]) -> Iterator[tuple[str, bytes]]:
    """An endless stream of ``(description, mutant)`` of ``data``."""
    kinds = (
        "bitflip",
        "byte",
        "truncate",
        "length",
        "nesting",
        "integer",
        "splice",
        "tag",
        "pem",
    )
    while True:
        kind = rng.choice(kinds)
        if kind == "bitflip":
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
            yield kind, bytes(b)
        elif kind == "byte":
            b = bytearray(data)
            i = rng.randrange(len(b))
            b[i] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF, rng.randrange(256)))
            yield f"byte@{i}", bytes(b)
        elif kind == "truncate":
            i = rng.randrange(len(data))
            yield f"truncate@{i}", data[:i]
        elif kind == "length":
            tlvs = tlv_offsets(data)
            if not tlvs:
                continue
            start, hl, _ = rng.choice(tlvs)
            new = rng.choice(
                (b"\x00", b"\x7f", b"\x80", b"\x81\x01", b"\x84\xff\xff\xff\xff", b"\x82\xff\xff")
            )
            yield f"length@{start}", data[: start + 1] + new + data[start + hl :]
        elif kind == "nesting":
            depth = rng.choice((50, 500, 5000))
            tag = rng.choice((0x30, 0x31, 0xA0, 0xA3))
            yield (
                f"nesting{depth}",
                _replace_tlv(data, rng, deep_nesting(depth, tag)),
            )
        elif kind == "integer":
            octets = rng.choice((21, 2000, 5000))
            yield f"integer{octets}", _replace_tlv(data, rng, huge_integer(octets))
        elif kind == "splice":
            other = rng.choice(pool)
            tlvs = tlv_offsets(other)
            if not tlvs:
                continue
            s, _, e = rng.choice(tlvs)
            yield "splice", _replace_tlv(data, rng, other[s:e])
        elif kind == "tag":
            tlvs = tlv_offsets(data)
            if not tlvs:
                continue
            start, _, _ = rng.choice(tlvs)
            tag = rng.choice((0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18, 0x30))
            b = bytearray(data)
            b[start] = tag
            yield f"tag@{start}", bytes(b)
        else:
            body = base64.b64encode(data)
            label = rng.choice((b"CERTIFICATE", b"CERTIFICATE REQUEST", b"X509 CRL", b"X"))
            cut = rng.randrange(len(body) + 1)
            yield (
                "pem",
                b"-----BEGIN "
                + label
                + b"-----\n"
                + body[:cut]
                + b"\n-----END "
                + label
                + b"-----",
            )


__all__ = [
    "MAX_MESSAGE",
    "TARGETS",
    "Failure",
    "build_corpus",
    "check",
    "deep_nesting",
    "huge_integer",
    "mutations",
    "systematic",
    "targets_for",
    "tlv_offsets",
]
