"""Key URIs: RFC 7512 ``pkcs11:`` URIs and the ``file:`` URIs of the software backend.

``Pkcs11Uri.parse(text)`` reads every attribute of RFC 7512 §2.3 (path: ``token``,
``manufacturer``, ``serial``, ``model``, ``library-manufacturer``, ``library-description``,
``library-version``, ``object``, ``type``, ``id``, ``slot-description``, ``slot-manufacturer``,
``slot-id`` and vendor attributes; query: ``pin-source``, ``pin-value``, ``module-name``,
``module-path`` and vendor attributes), percent-decodes the values and validates them;
``str(uri)`` writes it back (``Pkcs11Uri.parse(str(u)) == u``). ``repr`` and :meth:`masked`
hide ``pin-value``: use them in messages and logs, never ``str``.

PIN sources (the ``pin-source`` query attribute): ``file:/abs/path`` (or ``file:///abs/path``, or
a bare absolute path, as p11-kit accepts) reads the PIN from a file, stripping one trailing
newline; ``env:NAME`` reads the environment variable ``NAME``. ``pin-value`` is accepted but
discouraged: it puts the PIN into the URI.
"""

from __future__ import annotations

import builtins
import enum
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Final

from atlas_ca.errors import InvalidKeyUri, PinSourceError

_UNRESERVED: Final = frozenset(string.ascii_letters + string.digits + "-._~")
_RES_AVAIL: Final = frozenset(":[]@!$'()*+,=")
# RFC 7512 §2.3: pk11-path-res-avail adds "&", pk11-query-res-avail adds "/", "?", "|".
_PATH_CHARS: Final = _UNRESERVED | _RES_AVAIL | {"&"}
_QUERY_CHARS: Final = _UNRESERVED | _RES_AVAIL | {"/", "?", "|"}
_VENDOR_NAME_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-_")
_HEX: Final = frozenset(string.hexdigits)
_MASK: Final = "***"


class ObjectType(enum.Enum):
    """The ``type`` path attribute (RFC 7512 §2.3, pk11-type)."""

    PUBLIC = "public"
    PRIVATE = "private"
    CERT = "cert"
    SECRET_KEY = "secret-key"  # noqa: S105 - an object type name, not a secret
    DATA = "data"


def _decode(raw: str, allowed: frozenset[str], attr: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "%":
            pair = raw[i + 1 : i + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise InvalidKeyUri(
                    f"PKCS#11 URI attribute {attr!r}: '%' at offset {i} is not followed by "
                    "two hex digits",
                    attribute=attr,
                )
            out.append(int(pair, 16))
            i += 3
            continue
        if ch not in allowed:
            raise InvalidKeyUri(
                f"PKCS#11 URI attribute {attr!r}: character {ch!r} must be percent-encoded",
                attribute=attr,
            )
        out += ch.encode("ascii")
        i += 1
    return bytes(out)


def _encode(value: bytes, allowed: frozenset[str], *, all_bytes: bool = False) -> str:
    parts = []
    for b in value:
        ch = chr(b)
        if not all_bytes and ch in allowed:
            parts.append(ch)
        else:
            parts.append(f"%{b:02X}")
    return "".join(parts)


def _text(raw: bytes, attr: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidKeyUri(
            f"PKCS#11 URI attribute {attr!r} is not valid UTF-8 after percent-decoding",
            attribute=attr,
        ) from exc


def _split(section: str, sep: str, allowed: frozenset[str], where: str) -> list[tuple[str, bytes]]:
    pairs: list[tuple[str, bytes]] = []
    if section == "":
        return pairs
    for item in section.split(sep):
        name, eq, raw = item.partition("=")
        if not eq:
            raise InvalidKeyUri(
                f"PKCS#11 URI {where} attribute {item!r} has no '=': expected name=value",
            )
        if not name or not set(name) <= _VENDOR_NAME_CHARS:
            raise InvalidKeyUri(f"PKCS#11 URI {where} attribute name {name!r} is not valid")
        pairs.append((name, _decode(raw, allowed, name)))
    return pairs


# Path attribute name -> dataclass field, in the order of RFC 7512's grammar.
_PATH_ATTRS: Final[Mapping[str, str]] = {
    "token": "token",
    "manufacturer": "manufacturer",
    "serial": "serial",
    "model": "model",
    "library-manufacturer": "library_manufacturer",
    "library-description": "library_description",
    "library-version": "library_version",
    "object": "object",
    "type": "type",
    "id": "id",
    "slot-description": "slot_description",
    "slot-manufacturer": "slot_manufacturer",
    "slot-id": "slot_id",
}
_QUERY_ATTRS: Final[Mapping[str, str]] = {
    "pin-source": "pin_source",
    "pin-value": "pin_value",
    "module-name": "module_name",
    "module-path": "module_path",
}


def _parse_version(text: str) -> tuple[int, int]:
    major, dot, minor = text.partition(".")
    if not major.isdigit() or (dot and not minor.isdigit()) or not major.isascii():
        raise InvalidKeyUri(
            f"PKCS#11 URI library-version {text!r} is not of the form M or M.N",
            attribute="library-version",
        )
    return int(major), int(minor) if dot else 0


@dataclass(frozen=True, slots=True)
class Pkcs11Uri:
    """A parsed RFC 7512 PKCS#11 URI. Every attribute is optional."""

    token: str | None = None
    manufacturer: str | None = None
    serial: str | None = None
    model: str | None = None
    library_manufacturer: str | None = None
    library_description: str | None = None
    library_version: tuple[int, int] | None = None
    object: str | None = None
    type: ObjectType | None = None
    id: bytes | None = None
    slot_description: str | None = None
    slot_manufacturer: str | None = None
    slot_id: int | None = None
    vendor_path: tuple[tuple[str, str], ...] = ()
    pin_source: str | None = None
    pin_value: str | None = field(default=None, repr=False)
    module_name: str | None = None
    module_path: str | None = None
    vendor_query: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.slot_id is not None and self.slot_id < 0:
            raise InvalidKeyUri(f"PKCS#11 URI slot-id {self.slot_id} is negative")
        if self.library_version is not None and min(self.library_version) < 0:
            raise InvalidKeyUri("PKCS#11 URI library-version has a negative part")
        for name, _ in (*self.vendor_path, *self.vendor_query):
            if name in _PATH_ATTRS or name in _QUERY_ATTRS:
                raise InvalidKeyUri(f"PKCS#11 URI vendor attribute {name!r} is a standard name")
            if not name or not set(name) <= _VENDOR_NAME_CHARS:
                raise InvalidKeyUri(f"PKCS#11 URI vendor attribute name {name!r} is not valid")

    @classmethod
    def parse(cls, text: str) -> Pkcs11Uri:
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() != "pkcs11":
            raise InvalidKeyUri("a PKCS#11 URI must start with 'pkcs11:'")
        path, _, query = rest.partition("?")
        values: dict[str, object] = {}
        vendor_path: list[tuple[str, str]] = []
        vendor_query: list[tuple[str, str]] = []
        for name, raw in _split(path, ";", frozenset(_PATH_CHARS), "path"):
            if name not in _PATH_ATTRS:
                vendor_path.append((name, _text(raw, name)))
                continue
            key = _PATH_ATTRS[name]
            if key in values:
                raise InvalidKeyUri(f"PKCS#11 URI path attribute {name!r} appears twice")
            values[key] = cls._path_value(name, raw)
        for name, raw in _split(query, "&", frozenset(_QUERY_CHARS), "query"):
            if name not in _QUERY_ATTRS:
                vendor_query.append((name, _text(raw, name)))
                continue
            key = _QUERY_ATTRS[name]
            if key in values:
                raise InvalidKeyUri(f"PKCS#11 URI query attribute {name!r} appears twice")
            values[key] = _text(raw, name)
        if "pin_source" in values and "pin_value" in values:
            raise InvalidKeyUri("PKCS#11 URI has both pin-source and pin-value: give one")
        return cls(
            vendor_path=tuple(vendor_path),
            vendor_query=tuple(vendor_query),
            **values,  # type: ignore[arg-type]
        )

    @staticmethod
    def _path_value(name: str, raw: bytes) -> builtins.object:
        if name == "id":
            return raw
        value = _text(raw, name)
        if name == "type":
            try:
                return ObjectType(value)
            except ValueError:
                raise InvalidKeyUri(
                    f"PKCS#11 URI type {value!r} is not one of "
                    + ", ".join(t.value for t in ObjectType),
                    attribute="type",
                ) from None
        if name == "slot-id":
            if not value.isdigit() or not value.isascii():
                raise InvalidKeyUri(
                    f"PKCS#11 URI slot-id {value!r} is not a decimal number", attribute="slot-id"
                )
            return int(value)
        if name == "library-version":
            return _parse_version(value)
        return value

    def _format(self, *, mask: bool) -> str:
        path_chars = frozenset(_PATH_CHARS)
        query_chars = frozenset(_QUERY_CHARS)
        path: list[str] = []
        for name, key in _PATH_ATTRS.items():
            value = getattr(self, key)
            if value is None:
                continue
            if name == "id":
                text = _encode(value, path_chars, all_bytes=True)
            elif name == "type":
                text = value.value
            elif name == "slot-id":
                text = str(value)
            elif name == "library-version":
                text = f"{value[0]}.{value[1]}"
            else:
                text = _encode(value.encode(), path_chars)
            path.append(f"{name}={text}")
        path += [f"{n}={_encode(v.encode(), path_chars)}" for n, v in self.vendor_path]
        query: list[str] = []
        for name, key in _QUERY_ATTRS.items():
            value = getattr(self, key)
            if value is None:
                continue
            text = _MASK if (mask and key == "pin_value") else _encode(value.encode(), query_chars)
            query.append(f"{name}={text}")
        query += [f"{n}={_encode(v.encode(), query_chars)}" for n, v in self.vendor_query]
        return "pkcs11:" + ";".join(path) + ("?" + "&".join(query) if query else "")

    def __str__(self) -> str:
        """The full URI, ``pin-value`` included: for round trips, not for messages."""
        return self._format(mask=False)

    def masked(self) -> str:
        """The URI with ``pin-value`` replaced by ``***``: safe for messages and logs."""
        return self._format(mask=True)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "pin_value":
                if value is not None:
                    shown.append(f"pin_value={_MASK!r}")
                continue
            if value not in (None, ()):
                shown.append(f"{f.name}={value!r}")
        return f"Pkcs11Uri({', '.join(shown)})"


@dataclass(frozen=True, slots=True)
class FileKeyUri:
    """``file:/abs/key.pem?pin-source=file:/abs/pass`` — a PKCS#8 key file and its password.

    Accepted forms: ``file:/abs``, ``file:///abs``, ``file://localhost/abs`` (RFC 8089); the path
    is percent-decoded. Query attributes as in RFC 7512: ``pin-source`` or ``pin-value``.
    """

    path: Path
    pin_source: str | None = None
    pin_value: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str) -> FileKeyUri:
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() != "file":
            raise InvalidKeyUri("a key file URI must start with 'file:'")
        raw_path, _, query = rest.partition("?")
        if raw_path.startswith("//"):
            host, slash, tail = raw_path[2:].partition("/")
            if host not in ("", "localhost") or not slash:
                raise InvalidKeyUri(f"file URI names host {host!r}: only local files are keys")
            raw_path = "/" + tail
        if not raw_path.startswith("/"):
            raise InvalidKeyUri("a key file URI needs an absolute path (file:/dir/key.pem)")
        path_chars = frozenset(_PATH_CHARS | {"/", ";"})
        path = Path(_text(_decode(raw_path, path_chars, "path"), "path"))
        values: dict[str, str] = {}
        for name, raw in _split(query, "&", frozenset(_QUERY_CHARS), "query"):
            if name not in ("pin-source", "pin-value"):
                raise InvalidKeyUri(
                    f"key file URI query attribute {name!r} is unknown "
                    "(only pin-source and pin-value)"
                )
            if name in values:
                raise InvalidKeyUri(f"key file URI query attribute {name!r} appears twice")
            values[name] = _text(raw, name)
        if len(values) == 2:
            raise InvalidKeyUri("key file URI has both pin-source and pin-value: give one")
        return cls(path, values.get("pin-source"), values.get("pin-value"))

    def _format(self, *, mask: bool) -> str:
        path_chars = frozenset(_PATH_CHARS | {"/"})
        text = "file:" + _encode(str(self.path).encode(), path_chars)
        query_chars = frozenset(_QUERY_CHARS)
        if self.pin_source is not None:
            text += "?pin-source=" + _encode(self.pin_source.encode(), query_chars)
        elif self.pin_value is not None:
            text += "?pin-value=" + (
                _MASK if mask else _encode(self.pin_value.encode(), query_chars)
            )
        return text

    def __str__(self) -> str:
        return self._format(mask=False)

    def masked(self) -> str:
        return self._format(mask=True)

    def __repr__(self) -> str:
        pin = f", pin_value={_MASK!r}" if self.pin_value is not None else ""
        return f"FileKeyUri(path={str(self.path)!r}, pin_source={self.pin_source!r}{pin})"


def read_pin_source(source: str, *, environ: Mapping[str, str] | None = None) -> str:
    """The PIN a ``pin-source`` names (``file:/path``, ``file:///path``, ``/path``, ``env:NAME``).

    The PIN itself never appears in an error message.
    """
    env = os.environ if environ is None else environ
    if source.startswith("env:"):
        name = source[4:]
        if not name:
            raise PinSourceError("pin-source 'env:' names no environment variable")
        if name not in env:
            raise PinSourceError(
                f"pin-source env:{name}: environment variable {name} is not set", variable=name
            )
        if not env[name]:
            raise PinSourceError(
                f"pin-source env:{name}: environment variable {name} is empty (no PIN)",
                variable=name,
            )
        return env[name]
    if source.startswith("file://"):
        host, _, tail = source[7:].partition("/")
        if host not in ("", "localhost"):
            raise PinSourceError(f"pin-source {source!r} names a remote host")
        file_path = "/" + tail
    elif source.startswith("file:"):
        file_path = source[5:]
    elif source.startswith("/"):
        file_path = source
    else:
        raise PinSourceError(
            f"pin-source {source!r} is not file:/path, /path or env:NAME (see docs/hsm.md)"
        )
    try:
        content = Path(file_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PinSourceError(
            f"pin-source file {file_path} does not exist", path=file_path
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PinSourceError(
            f"pin-source file {file_path} cannot be read: {type(exc).__name__}", path=file_path
        ) from None
    if content.endswith("\r\n"):
        content = content[:-2]
    elif content.endswith("\n"):
        content = content[:-1]
    if not content:  # a token answers an empty PIN with CKR_ARGUMENTS_BAD: say what is wrong
        raise PinSourceError(f"pin-source file {file_path} is empty (no PIN)", path=file_path)
    return content


def resolve_pin(explicit: str | None, pin_value: str | None, pin_source: str | None) -> str | None:
    """The PIN to use: an explicit argument first, then ``pin-value``, then ``pin-source``."""
    if explicit is not None:
        return explicit
    if pin_value is not None:
        return pin_value
    if pin_source is not None:
        return read_pin_source(pin_source)
    return None


__all__ = [
    "FileKeyUri",
    "ObjectType",
    "Pkcs11Uri",
    "read_pin_source",
    "resolve_pin",
]
