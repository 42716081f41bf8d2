"""Issue 15 item 1: a public key read back from a token is checked like any key from outside.

SoftHSM holds only CryptoPro-A GOST keys (cofactor 1), so the case a token can show here is a
point off the curve: the public object of a generated pair is replaced by one whose CKA_VALUE
is not a curve point, and opening the key refuses it with InvalidPublicKey naming the token.
"""

from __future__ import annotations

from typing import Any

import PyKCS11
import pytest

from atlas_ca import gost
from atlas_ca.algorithms import KeyType
from atlas_ca.errors import InvalidPublicKey
from atlas_ca.hsm import mechanisms as m
from atlas_ca.hsm.pkcs11 import Pkcs11Token, open_token

pytestmark = pytest.mark.softhsm


@pytest.fixture(scope="module")
def token(softhsm: Any) -> Pkcs11Token:
    return open_token(softhsm.uri())


def test_an_off_curve_public_key_on_the_token_is_refused_when_read_back(
    token: Pkcs11Token,
) -> None:
    label, kid = "hsm-test-off-curve", b"\x47\x0f"
    good = token.generate_key(KeyType.GOST3410_2012_256, label=label, key_id=kid)
    pub = gost.GostPublicKey.from_spki_der(good.public_key_info)
    ps = pub.param_set
    off = pub.x.to_bytes(ps.size, "little") + ((pub.y + 1) % ps.p).to_bytes(ps.size, "little")

    def swap(s: Any) -> None:
        (h,) = s.find([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY), (PyKCS11.CKA_ID, kid)])
        params, hash_params = s.attributes(h, [m.CKA_GOSTR3410_PARAMS, m.CKA_GOSTR3411_PARAMS])
        s.session.destroyObject(h)
        s.session.createObject(
            [
                (PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY),
                (PyKCS11.CKA_KEY_TYPE, m.CKK_GOSTR3410),
                (PyKCS11.CKA_TOKEN, True),
                (PyKCS11.CKA_LABEL, label),
                (PyKCS11.CKA_ID, kid),
                (PyKCS11.CKA_VERIFY, True),
                (m.CKA_GOSTR3410_PARAMS, bytes(params)),
                (m.CKA_GOSTR3411_PARAMS, bytes(hash_params)),
                (PyKCS11.CKA_VALUE, off),
            ]
        )

    token.run("C_CreateObject", swap)
    with pytest.raises(InvalidPublicKey) as info:
        token.key(label=label, key_id=kid)
    assert info.value.context["problem"] == "off-curve"
    assert "read back from token" in info.value.context["where"]
    assert label in str(info.value)
