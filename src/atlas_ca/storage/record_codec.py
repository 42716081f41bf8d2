"""The canonical-JSON codec of the record store (:mod:`atlas_ca.storage.records`).

The codec (:func:`encode`/:func:`decode`) is generic over the domain's value types:
dataclasses by their fields, enums by value, ``datetime``/``date``/``Decimal``/``bytes``/
``frozenset`` with a one-key tag; tuples become arrays and come back as tuples. Only classes
defined in :mod:`atlas_ca.domain` are ever instantiated by :func:`decode` (looked up by name in
a table built from that package's modules, never imported from the document), and constructing
them re-runs their validation (``__post_init__``): a tampered record fails loudly. Documents are
written with sorted keys and no insignificant whitespace, so equal objects give equal bytes —
the bytes the store compares in ``put_all(unchanged=...)``.

The domain is reached through :mod:`importlib` only: storage depends on no domain module
statically, and the domain never on storage.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import pkgutil
import threading
from decimal import Decimal
from typing import Any

from atlas_ca.errors import DecodeError

_DOMAIN_PACKAGE = "atlas_ca.domain"


def _class_key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


_CLASSES: dict[str, type] = {}
_classes_lock = threading.Lock()


def _domain_classes() -> dict[str, type]:
    """Every dataclass and enum defined in a module of :mod:`atlas_ca.domain`."""
    with _classes_lock:
        if _CLASSES:
            return _CLASSES
        package = importlib.import_module(_DOMAIN_PACKAGE)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{_DOMAIN_PACKAGE}.{info.name}")
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and value.__module__ == module.__name__
                    and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum))
                ):
                    _CLASSES[_class_key(value)] = value
        return _CLASSES


def _to_json(value: object) -> Any:
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, enum.Enum):
            return {"$enum": _class_key(type(value)), "value": value.value}
        return value
    if isinstance(value, float):
        raise TypeError("floats are not stored: money and times have their own types")
    if isinstance(value, enum.Enum):
        return {"$enum": _class_key(type(value)), "value": _to_json(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith(_DOMAIN_PACKAGE + "."):
            raise TypeError(f"{cls.__qualname__} is not a domain value type")
        fields = {
            f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        return {"$type": _class_key(cls), "fields": fields}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError("naive datetimes are not stored")
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, frozenset):
        items = [_to_json(v) for v in value]
        return {"$frozenset": sorted(items, key=lambda x: json.dumps(x, sort_keys=True))}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        raise TypeError("mappings are not stored: domain objects hold tuples of pairs")
    raise TypeError(f"{type(value).__qualname__} cannot be stored as a record")


def _from_json(data: Any) -> Any:
    if data is None or isinstance(data, bool | int | str):
        return data
    if isinstance(data, list):
        return tuple(_from_json(v) for v in data)
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise DecodeError("a stored record holds a value of an unknown shape")
    classes = _domain_classes()
    if "$type" in data:
        cls = classes.get(str(data["$type"]))
        fields = data.get("fields")
        if cls is None or not dataclasses.is_dataclass(cls) or not isinstance(fields, dict):
            raise DecodeError(f"a stored record names an unknown type {data['$type']!r}")
        return cls(**{str(k): _from_json(v) for k, v in fields.items()})
    if "$enum" in data:
        cls = classes.get(str(data["$enum"]))
        if cls is None or not issubclass(cls, enum.Enum):
            raise DecodeError(f"a stored record names an unknown enum {data['$enum']!r}")
        return cls(_from_json(data.get("value")))
    ((tag, raw),) = data.items()
    if tag == "$datetime" and isinstance(raw, str):
        return dt.datetime.fromisoformat(raw)
    if tag == "$date" and isinstance(raw, str):
        return dt.date.fromisoformat(raw)
    if tag == "$decimal" and isinstance(raw, str):
        return Decimal(raw)
    if tag == "$bytes" and isinstance(raw, str):
        return base64.b64decode(raw, validate=True)
    if tag == "$frozenset" and isinstance(raw, list):
        return frozenset(_from_json(v) for v in raw)
    raise DecodeError(f"a stored record holds an unknown tag {tag!r}")


def encode(value: object) -> str:
    """Canonical JSON of a domain value (sorted keys, no spaces, UTF-8 text)."""
    return json.dumps(_to_json(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode(text: str) -> object:
    """The domain value :func:`encode` wrote; :class:`DecodeError` for anything else."""
    try:
        return _from_json(json.loads(text))
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"a stored record cannot be read: {exc}") from exc


__all__ = ["decode", "encode"]
