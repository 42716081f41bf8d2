"""An index of a CRL's revoked entries, so a large CRL is searched in O(1) after one pass.

pyhanko-certvalidator 0.33 looks a certificate up in a CRL with ``find_cert_in_list``, a linear
scan over every ``revokedCertificates`` entry, for every certificate of every path it
validates: with a 100,000-entry CRL that is ≈ 0.3 s per validation even when the CRL was parsed
long ago. :func:`install` replaces that one function (by its module attribute, the only way the
library offers) with :func:`find_cert_in_list`, which builds a dictionary once per CRL object
and answers from it with the same semantics:

* an entry's certificateIssuer extension (indirect CRLs, RFC 5280 §5.3.3) names the issuer of
  that entry *and of the following ones* until the next such extension;
* the first matching entry wins;
* an entry with an unknown critical extension cannot be used (the library raises
  ``NotImplementedError``, which it turns into "CRL unusable");
* a missing reasonCode is ``unspecified``.

NIST PKITS (indirect CRLs included, tests/trust/test_pkits.py) runs through this function, and
tests/trust/test_crl_index.py checks it against the library's own on every PKITS CRL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.revinfo import validate_crl
from pyhanko_certvalidator.revinfo.constants import KNOWN_CRL_ENTRY_EXTENSIONS

from atlas_ca.errors import DecodeError
from atlas_ca.x509 import der

#: How many CRL indexes are kept (a 100,000-entry index is ≈ 20 MB).
MAX_INDEXES = 8

_Key = tuple[bytes, str]  # (serial INTEGER DER, issuer Name hashable)

_indexes: OrderedDict[tuple[int, str], tuple[Any, dict[_Key, Any]]] = OrderedDict()
_lock = threading.Lock()
_original = validate_crl.find_cert_in_list
_CERT_ISSUER = asn1_crl.CRLEntryExtensionId("certificate_issuer").dump()


def _entries_der(raw: bytes) -> list[tuple[int, int, int, int]]:
    """The revokedCertificates entries of a DER CRL as ``(tag, start, content_start, end)``,
    walked without building objects (RFC 5280 §5.1: the list is the SEQUENCE after the
    signature algorithm and the issuer, following thisUpdate and the optional nextUpdate)."""
    what = "CRL"
    cs, ce = der.expect(raw, 0, len(raw), der.SEQUENCE, what)
    tbs_start, tbs_end = der.expect(raw, cs, ce, der.SEQUENCE, what)
    sequences = [c for c in der.read_children(raw, tbs_start, tbs_end, what) if c[0] == 0x30]
    if len(sequences) < 3:
        return []  # no revokedCertificates
    _, _, list_start, list_end = sequences[2]
    return der.read_children(raw, list_start, list_end, what)


def _build(certificate_list: Any, authority: Any) -> dict[_Key, Any]:
    """One pass over the CRL's bytes. Entries are kept as byte ranges and parsed on a match
    only; parsing them in the library's own object would also make every later ``dump()`` of
    its TBS (for the signature check) walk 100,000 children to see whether any changed. An
    entry carrying a certificateIssuer extension is parsed to follow the issuer (indirect
    CRLs); a CRL that is not strict DER falls back to asn1crypto for the whole walk."""
    raw = certificate_list.dump()
    index: dict[_Key, Any] = {}
    last_issuer = authority
    try:
        entries = _entries_der(raw)
    except DecodeError:
        copy = asn1_crl.CertificateList.load(raw)
        for entry in copy["tbs_cert_list"]["revoked_certificates"]:
            if _CERT_ISSUER in entry.dump() and entry.issuer_name:
                last_issuer = entry.issuer_name
            index.setdefault((entry["user_certificate"].dump(), last_issuer.hashable), entry)
        return index
    for _tag, start, content_start, end in entries:
        if _CERT_ISSUER in raw[start:end]:
            entry = asn1_crl.RevokedCertificate.load(raw[start:end])
            if entry.issuer_name:
                last_issuer = entry.issuer_name
        _, _, serial_end = der.read_header(raw, content_start, end, "CRL entry")
        key = (raw[content_start:serial_end], last_issuer.hashable)
        if key not in index:
            index[key] = (start, end, raw)
    return index


def _entry(found: Any) -> Any:
    if isinstance(found, tuple):
        start, end, raw = found
        return asn1_crl.RevokedCertificate.load(raw[start:end])
    return found


def _index(certificate_list: Any, authority: Any) -> dict[_Key, Any]:
    cache_key = (id(certificate_list), authority.hashable)
    with _lock:
        found = _indexes.get(cache_key)
        if found is not None and found[0] is certificate_list:
            _indexes.move_to_end(cache_key)
            return found[1]
    index = _build(certificate_list, authority)
    with _lock:
        _indexes[cache_key] = (certificate_list, index)
        while len(_indexes) > MAX_INDEXES:
            _indexes.popitem(last=False)
    return index


def find_cert_in_list(
    cert: Any,
    cert_issuer_name: asn1_x509.Name,
    certificate_list: asn1_crl.CertificateList,
    crl_authority_name: asn1_x509.Name,
) -> tuple[Any, Any]:
    """The library's ``find_cert_in_list``, answered from an index (see the module doc)."""
    if isinstance(cert, asn1_x509.Certificate):
        serial = cert["tbs_certificate"]["serial_number"].dump()
    else:
        serial = cert["ac_info"]["serial_number"].dump()
    found = _index(certificate_list, crl_authority_name).get((serial, cert_issuer_name.hashable))
    if found is None:
        return None, None
    entry = _entry(found)
    reason = entry.crl_reason_value or asn1_crl.CRLReason("unspecified")
    if entry.critical_extensions - KNOWN_CRL_ENTRY_EXTENSIONS:
        # not a stub: this is pyhanko-certvalidator's own signal for "CRL unusable" (see above)
        raise NotImplementedError()
    return entry["revocation_date"].native, reason


def install() -> None:
    """Route pyhanko-certvalidator's CRL lookups through the index; idempotent."""
    validate_crl.find_cert_in_list = find_cert_in_list


def library_find_cert_in_list(*args: Any) -> tuple[Any, Any]:
    """The library's own linear scan (for the equivalence test)."""
    result: tuple[Any, Any] = _original(*args)
    return result


__all__ = ["MAX_INDEXES", "find_cert_in_list", "install", "library_find_cert_in_list"]
