"""A trust store as configuration: a directory of head-CA certificates, cross-certificates, CRLs.

Layout (every file PEM — one or several blocks — or DER; ``.pem .crt .cer .der .crl``)::

    DIR/                 certificates here are trust anchors (like OpenSSL's CApath)
    DIR/anchors/         trust anchors too: the head CA's roots (Минцифры России, and the older
                         Минкомсвязь России root while certificates under it are still checked)
    DIR/certs/           untrusted helpers for path building: cross-certificates between the
                         head CA's roots, accredited CAs' certificates
    DIR/crls/            CRLs (full and delta) of any of them

A trust anchor is trusted as configured (RFC 5280 §6.1.1 d): self-signed or not, v1 or v3.
Cross-certificates are never anchors — they only let a path reach an anchor. Refreshing the
head CA's list (roots, cross-certificates, CRLs) is an operator task: replace the files.

Every file is read through :func:`atlas_ca.limits.read_input` (kind ``ANY_ARTIFACT``: a file may
hold a bundle of certificates or a CRL): a regular file, at most that limit, in one bounded
read — a fifo, a device such as ``/dev/zero`` or an oversized file is refused
(:class:`~atlas_ca.errors.NotARegularFile`, :class:`~atlas_ca.errors.InputTooLarge`) before
anything is parsed. In a directory, entries that are not regular files are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from atlas_ca.errors import DecodeError
from atlas_ca.limits import InputKind, read_input
from atlas_ca.x509.pem import PemLabel, is_pem, pem_blocks

SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der", ".crl"})
_CERT_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})
_CRL_LABELS = frozenset({"X509 CRL", "CRL"})


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def _is_crl_der(der: bytes) -> bool:
    """DER that reads as a CertificateList and not as a Certificate."""
    from asn1crypto import crl, x509

    try:
        x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"].native  # noqa: B018
        return False
    except (ValueError, TypeError, KeyError):
        pass
    try:
        crl.CertificateList.load(der)["tbs_cert_list"]["this_update"].native  # noqa: B018
    except (ValueError, TypeError, KeyError):
        return False
    return True


def read_objects(path: Path) -> tuple[list[bytes], list[bytes]]:
    """The certificates and CRLs (DER) in one file (a bounded read, see the module's notes)."""
    data = read_input(path, InputKind.ANY_ARTIFACT)
    certs: list[bytes] = []
    crls: list[bytes] = []
    if is_pem(data):
        for label, der in pem_blocks(data):
            text = label.value if isinstance(label, PemLabel) else label
            if text in _CRL_LABELS:
                crls.append(der)
            elif text in _CERT_LABELS:
                certs.append(der)
            else:
                raise DecodeError(f"{path}: PEM block {label} is neither a certificate nor a CRL")
    elif _is_crl_der(data):
        crls.append(data)
    else:
        certs.append(data)
    return certs, crls


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trust anchors, helper certificates and CRLs, as DER."""

    anchors: tuple[bytes, ...]
    certificates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()

    @classmethod
    def from_directory(cls, directory: Path) -> TrustStore:
        directory = Path(directory)
        if not directory.is_dir():
            raise DecodeError(f"trust store {directory} is not a directory")
        anchors: list[bytes] = []
        helpers: list[bytes] = []
        crls: list[bytes] = []
        for sub, into in ((directory, anchors), (directory / "anchors", anchors)):
            for f in _files(sub):
                certs, found_crls = read_objects(f)
                into.extend(certs)
                crls.extend(found_crls)
        for f in _files(directory / "certs"):
            certs, found_crls = read_objects(f)
            helpers.extend(certs)
            crls.extend(found_crls)
        for f in _files(directory / "crls"):
            certs, found_crls = read_objects(f)
            helpers.extend(certs)
            crls.extend(found_crls)
        if not anchors:
            raise DecodeError(
                f"trust store {directory} has no trust anchor (put the head CA's root "
                "certificates in it or in its anchors/ directory)"
            )
        return cls(tuple(anchors), tuple(helpers), tuple(crls))

    @classmethod
    def from_files(cls, anchors: Iterable[Path]) -> TrustStore:
        certs: list[bytes] = []
        crls: list[bytes] = []
        for f in anchors:
            c, r = read_objects(Path(f))
            certs.extend(c)
            crls.extend(r)
        return cls(tuple(certs), (), tuple(crls))

    def merged(self, other: TrustStore) -> TrustStore:
        return TrustStore(
            self.anchors + other.anchors,
            self.certificates + other.certificates,
            self.crls + other.crls,
        )


__all__ = ["SUFFIXES", "TrustStore", "read_objects"]
