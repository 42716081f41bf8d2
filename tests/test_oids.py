"""Every OID is declared once, in atlas_ca.asn1.oids (style lesson 1)."""

from __future__ import annotations

import re
from pathlib import Path

from atlas_ca.asn1 import oids

SRC = Path(__file__).resolve().parent.parent / "src" / "atlas_ca"
DOTTED = re.compile(r"""["'](?:[012]\.\d+(?:\.\d+){2,})["']""")


def test_no_dotted_oid_literal_outside_the_oid_module() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "asn1" / "oids.py":
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DOTTED.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{lineno}: {line.strip()}")
    assert offenders == []


def test_every_oid_is_declared_once_with_a_distinct_name() -> None:
    dotted = [o.dotted for o in oids.ALL]
    # Ed25519 is both a key and a signature algorithm (RFC 8410): the only intended repeat.
    repeats = {d for d in dotted if dotted.count(d) > 1}
    assert repeats == {oids.PublicKeyAlgorithm.ED25519.dotted}


def test_every_oid_is_well_formed() -> None:
    for oid in oids.ALL:
        assert re.fullmatch(r"[012](\.(0|[1-9]\d*))+", oid.dotted), oid
