"""The GOST plug-in of pyhanko-certvalidator: registration order, Streebog CertID hashes."""

from __future__ import annotations

import subprocess
import sys

from atlas_ca import gost
from atlas_ca.trust.gost_plugin import register_streebog_hashes
from atlas_ca.trust.validation import load_certificate
from support.trust_pki import make_pki

ORDER_SCRIPT = """
import sys
from atlas_ca.asn1.gost import register_gost
from atlas_ca import gost
if sys.argv[1] == "gost-first":
    register_gost()
    import pyhanko_certvalidator  # noqa: F401  (replaces asn1crypto's public_key callback)
else:
    import pyhanko_certvalidator  # noqa: F401
    register_gost()
ps = gost.param_set("cryptopro-a")
pub = gost.public_key_from_private(ps, gost.generate_private_scalar(ps))
assert gost.GostPublicKey.from_spki_der(pub.spki_der()) == pub
print("ok")
"""


def test_gost_keys_stay_readable_whichever_of_gost_and_pyhanko_registers_first() -> None:
    for order in ("gost-first", "pyhanko-first"):
        out = subprocess.run(
            [sys.executable, "-c", ORDER_SCRIPT, order], capture_output=True, text=True
        )
        assert out.stdout.strip() == "ok", (order, out.stderr[-2000:])


def test_streebog_hashes_of_names_and_keys_match_rfc_6960_certid_inputs() -> None:
    register_streebog_hashes()
    cert = load_certificate(make_pki().sub.der)
    assert cert.subject.streebog256 == gost.streebog256(cert.subject.dump())
    key_bits = bytes(cert.public_key["public_key"])
    assert cert.public_key.streebog512 == gost.streebog512(key_bits)
    assert len(cert.public_key.streebog256) == 32
