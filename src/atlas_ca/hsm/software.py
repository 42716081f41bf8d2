"""The software backend: keys in password-encrypted PKCS#8 files (development, tests, key types a
token lacks). Never for qualified certificates: every key says ``qualified_use_allowed = False``.

Files are PEM ``ENCRYPTED PRIVATE KEY`` (RFC 5958 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018):
PBKDF2-HMAC-SHA256 (600,000 iterations by default, 16-byte salt) and AES-256-CBC.

GOST keys use the PrivateKeyInfo of the TC26 / OpenSSL gost-engine convention (RFC 9215 for the
AlgorithmIdentifier): ``privateKeyAlgorithm`` = id-tc26-gost3410-12-256/-512 with the same
parameters as the SubjectPublicKeyInfo (``SEQUENCE { publicKeyParamSet, digestParamSet? }``),
``privateKey`` = the DER of an OCTET STRING holding the scalar little-endian. OpenSSL with the
gost engine reads these files (``openssl pkey -in k.pem -passin ... -pubout``; tested). On input
the scalar is also accepted as a bare little-endian string or an INTEGER, as other tools write.

URIs: ``file:/abs/key.pem?pin-source=file:/abs/pass`` (or ``pin-source=env:NAME``); an explicit
``password=`` argument overrides the URI.

Opening a GOST key loads no ``cryptography``: PBKDF2 is :func:`hashlib.pbkdf2_hmac` and the
AES-CBC decryption calls the system libcrypto (OpenSSL's EVP interface, through ctypes, as
:mod:`atlas_ca.gost` already does for GOST), falling back to ``cryptography`` where that library
cannot be loaded. ``cryptography`` is ≈ 9 MB of a process's resident memory, a quarter of what a
CRL publication of 250,000 entries may use (docs/performance.md, "Partitioned CRLs, per
partition"); it is imported where a non-GOST key or a new key file needs it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from asn1crypto import core, keys, pem

from atlas_ca.algorithms import DEFAULT_SIGNATURE, KeyType, SignatureAlgorithm
from atlas_ca.asn1.oids import GostAlgorithm
from atlas_ca.errors import InvalidKeyUri, KeyNotFound, PinIncorrect, WrongKeyType
from atlas_ca.hsm import mechanisms as m
from atlas_ca.hsm.base import Hasher
from atlas_ca.hsm.uri import FileKeyUri, resolve_pin

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PBKDF2_ITERATIONS: Final = 600_000
_PEM_LABEL: Final = "ENCRYPTED PRIVATE KEY"

_PREHASH: Final = {
    KeyType.GOST3410_2012_256: m.PreHash.STREEBOG256,
    KeyType.GOST3410_2012_512: m.PreHash.STREEBOG512,
    KeyType.EC_P256: m.PreHash.SHA256,
    KeyType.EC_P384: m.PreHash.SHA384,
    KeyType.ED25519: m.PreHash.NONE,
    KeyType.RSA: m.PreHash.SHA256,
}


# --- DER helpers (tiny and explicit, so no asn1crypto object leaks out) -----------------------


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def _gost_private_key_info(spki_der: bytes, d: int, size: int) -> bytes:
    spki = core.Sequence.load(spki_der)
    algorithm = spki[0].dump()  # AlgorithmIdentifier, parameters as in the SPKI (RFC 9215 §4)
    private = _tlv(0x04, _tlv(0x04, d.to_bytes(size, "little")))
    return _tlv(0x30, _tlv(0x02, b"\x00") + algorithm + private)


# --- PBES2 -----------------------------------------------------------------------------------


def _pbkdf2(password: str, salt: bytes, iterations: int, length: int) -> bytes:
    # RFC 8018 §5.2 with HMAC-SHA256: the standard library's (OpenSSL's) implementation
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, length)


_LIBCRYPTO: Final = "libcrypto.so.3"
_libcrypto_lock = threading.Lock()
_libcrypto_state: list[Any] = []  # [] not tried yet; [lib] loaded; [None] not available


def _libcrypto() -> Any:
    """The system libcrypto with the EVP cipher functions typed, or ``None``."""
    with _libcrypto_lock:
        if not _libcrypto_state:
            try:
                lib = ctypes.CDLL(_LIBCRYPTO)
                vp, ip, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
                for name, res, args in (
                    ("EVP_CIPHER_CTX_new", vp, []),
                    ("EVP_CIPHER_CTX_free", None, [vp]),
                    ("EVP_aes_128_cbc", vp, []),
                    ("EVP_aes_192_cbc", vp, []),
                    ("EVP_aes_256_cbc", vp, []),
                    ("EVP_DecryptInit_ex", ip, [vp, vp, vp, cp, cp]),
                    ("EVP_DecryptUpdate", ip, [vp, vp, ctypes.POINTER(ip), cp, ip]),
                    ("EVP_DecryptFinal_ex", ip, [vp, vp, ctypes.POINTER(ip)]),
                ):
                    fn = getattr(lib, name)
                    fn.restype, fn.argtypes = res, args
                _libcrypto_state.append(lib)
            except (OSError, AttributeError):
                _libcrypto_state.append(None)
        return _libcrypto_state[0]


def _aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC decryption with PKCS#7 padding removed (RFC 8018 §6.2.4, RFC 5652 §6.3);
    ``ValueError`` when the padding is wrong (a wrong password, almost always).

    OpenSSL's EVP functions through ctypes, so that opening a key loads no ``cryptography``
    (see the module's docstring); ``cryptography`` where libcrypto cannot be loaded.
    """
    if len(iv) != 16 or not data or len(data) % 16:
        raise ValueError("AES-CBC needs a 16-byte IV and whole 16-byte blocks")
    lib = _libcrypto()
    if lib is None:
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = dec.update(data) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return bytes(unpadder.update(padded) + unpadder.finalize())
    cipher = {16: lib.EVP_aes_128_cbc, 24: lib.EVP_aes_192_cbc, 32: lib.EVP_aes_256_cbc}[len(key)]()
    ctx = lib.EVP_CIPHER_CTX_new()
    if not ctx:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    out = ctypes.create_string_buffer(len(data) + 16)
    try:
        n, last = ctypes.c_int(0), ctypes.c_int(0)
        if (
            lib.EVP_DecryptInit_ex(ctx, cipher, None, key, iv) != 1
            or lib.EVP_DecryptUpdate(ctx, out, ctypes.byref(n), data, len(data)) != 1
        ):
            raise ValueError("AES-CBC decryption failed")
        tail = ctypes.addressof(out) + n.value
        if lib.EVP_DecryptFinal_ex(ctx, tail, ctypes.byref(last)) != 1:
            raise ValueError("AES-CBC padding is wrong")
        return out.raw[: n.value + last.value]
    finally:
        ctypes.memset(out, 0, len(out))  # the plaintext is the private key
        lib.EVP_CIPHER_CTX_free(ctx)


def _encrypt_pkcs8(private_key_info: bytes, password: str, iterations: int) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt = secrets.token_bytes(16)
    iv = secrets.token_bytes(16)
    key = _pbkdf2(password, salt, iterations, 32)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(private_key_info) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = enc.update(plain) + enc.finalize()
    info = keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": {"specified": salt},
                            "iteration_count": iterations,
                            "prf": {"algorithm": "sha256", "parameters": core.Null()},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": encrypted,
        }
    )
    return bytes(info.dump())


def _decrypt_pkcs8(der: bytes, password: str, where: str) -> bytes:
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der)
        alg = info["encryption_algorithm"]
        if alg["algorithm"].native != "pbes2":
            raise InvalidKeyUri(
                f"key file {where}: encryption {alg['algorithm'].native} is not PBES2"
            )
        params = alg["parameters"]
        kdf = params["key_derivation_func"]
        scheme = params["encryption_scheme"]
        if kdf["algorithm"].native != "pbkdf2":
            raise InvalidKeyUri(f"key file {where}: key derivation is not PBKDF2")
        kdf_params = kdf["parameters"]
        prf = kdf_params["prf"]["algorithm"].native
        cipher_name = scheme["algorithm"].native
        sizes = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}
        if prf != "sha256" or cipher_name not in sizes:
            raise InvalidKeyUri(
                f"key file {where}: PBES2 with {prf}/{cipher_name} is not supported "
                "(PBKDF2-HMAC-SHA256 with AES-CBC is)"
            )
        salt = bytes(kdf_params["salt"].native)
        iterations = int(kdf_params["iteration_count"].native)
        iv = bytes(scheme["parameters"].native)
        encrypted = bytes(info["encrypted_data"].native)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidKeyUri(
            f"key file {where} is not a PKCS#8 EncryptedPrivateKeyInfo: {type(exc).__name__}"
        ) from None
    key = _pbkdf2(password, salt, iterations, sizes[cipher_name])
    try:
        plain = _aes_cbc_decrypt(key, iv, encrypted)
        core.Sequence.load(plain)
    except ValueError:
        raise PinIncorrect(f"the password for key file {where} is incorrect", path=where) from None
    return plain


# --- keys ------------------------------------------------------------------------------------


class SoftwareKey:
    """A key held in process memory, loaded from an encrypted file. Not for qualified use."""

    def __init__(self, key_type: KeyType, spki: bytes, private: object, path: str) -> None:
        self._key_type = key_type
        self._spki = spki
        self.__private = private
        self.path = path

    @property
    def key_type(self) -> KeyType:
        return self._key_type

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return DEFAULT_SIGNATURE[self._key_type]

    @property
    def public_key_info(self) -> bytes:
        return self._spki

    @property
    def qualified_use_allowed(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, key_type={self._key_type.value!r})"

    def sign(self, data: bytes) -> bytes:
        step = _PREHASH[self._key_type]
        if step is m.PreHash.NONE:
            from cryptography.hazmat.primitives.asymmetric import ed25519

            key = self.__private
            assert isinstance(key, ed25519.Ed25519PrivateKey)
            return key.sign(data)
        return self._sign_digest(m.prehash(step, data))

    def _sign_digest(self, digest: bytes) -> bytes:
        step = _PREHASH[self._key_type]
        if len(digest) != step.digest_size:
            raise ValueError(
                f"{step.value} digest must be {step.digest_size} bytes, not {len(digest)}"
            )
        key = self.__private
        if self._key_type.is_gost:
            from atlas_ca.gost import sign_digest

            assert isinstance(key, tuple)
            ps, d = key
            return sign_digest(ps, d, digest)
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        if isinstance(key, ec.EllipticCurvePrivateKey):
            algo: hashes.HashAlgorithm = (
                hashes.SHA256() if step is m.PreHash.SHA256 else hashes.SHA384()
            )
            return key.sign(digest, ec.ECDSA(Prehashed(algo)))
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(digest, asym_padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        raise WrongKeyType(f"key {self.path} of type {self._key_type.value} cannot sign a digest")


class SoftwarePrehashKey(SoftwareKey):
    """A software key that also signs digests (GOST, ECDSA, RSA)."""

    def new_hasher(self) -> Hasher:
        return m.new_hasher(_PREHASH[self.key_type])

    def sign_digest(self, digest: bytes) -> bytes:
        return self._sign_digest(digest)


def _make(key_type: KeyType, spki: bytes, private: object, path: str) -> SoftwareKey:
    cls = SoftwareKey if key_type is KeyType.ED25519 else SoftwarePrehashKey
    return cls(key_type, spki, private, path)


def _spki(public: object) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    assert isinstance(
        public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
    )
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_software_key(
    path: str | os.PathLike[str],
    key_type: KeyType,
    *,
    password: str,
    param_set: str | None = None,
    rsa_bits: int = 3072,
    iterations: int = PBKDF2_ITERATIONS,
) -> str:
    """Generate a key, write it encrypted to ``path`` (mode 0600, never overwriting) and return
    its URI ``file:/abs/path`` (add ``?pin-source=...`` to open it without ``password=``).

    ``param_set``: the GOST curve (default ``cryptopro-a`` / ``tc26-512-a``).
    """
    if not password:
        raise ValueError("a software key needs a non-empty password")
    target = Path(path).resolve()
    if key_type.is_gost:
        from atlas_ca.gost import generate_private_scalar, public_key_from_private
        from atlas_ca.gost import param_set as find_param_set

        bits = 256 if key_type is KeyType.GOST3410_2012_256 else 512
        ps = find_param_set(param_set or ("cryptopro-a" if bits == 256 else "tc26-512-a"))
        if ps.bits != bits:
            raise WrongKeyType(f"parameter set {ps.name} is {ps.bits}-bit, not {key_type.value}")
        d = generate_private_scalar(ps)
        spki = public_key_from_private(ps, d).spki_der()
        pki = _gost_private_key_info(spki, d, ps.size)
    else:
        if param_set is not None:
            raise ValueError(f"param_set is for GOST keys, not {key_type.value}")
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
        if key_type is KeyType.EC_P256:
            private = ec.generate_private_key(ec.SECP256R1())
        elif key_type is KeyType.EC_P384:
            private = ec.generate_private_key(ec.SECP384R1())
        elif key_type is KeyType.ED25519:
            private = ed25519.Ed25519PrivateKey.generate()
        else:
            private = rsa.generate_private_key(65537, rsa_bits)
        pki = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    der = _encrypt_pkcs8(pki, password, iterations)
    data = pem.armor(_PEM_LABEL, der)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return str(FileKeyUri(target))


def _load_private_key_info(plain: bytes, where: str) -> SoftwareKey:
    info = core.Sequence.load(plain)
    try:
        alg_oid = info[1][0].dotted
    except (AttributeError, IndexError, KeyError, ValueError, TypeError):
        alg_oid = None
    if alg_oid in (GostAlgorithm.GOST3410_2012_256.dotted, GostAlgorithm.GOST3410_2012_512.dotted):
        return _load_gost(info, where)
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        private = serialization.load_der_private_key(plain, None)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise WrongKeyType(f"key file {where}: unsupported private key ({exc})") from None
    if isinstance(private, ec.EllipticCurvePrivateKey):
        name = private.curve.name
        if name == "secp256r1":
            kt = KeyType.EC_P256
        elif name == "secp384r1":
            kt = KeyType.EC_P384
        else:
            raise WrongKeyType(f"key file {where}: EC curve {name} is not P-256 or P-384")
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        kt = KeyType.ED25519
    elif isinstance(private, rsa.RSAPrivateKey):
        kt = KeyType.RSA
    else:
        raise WrongKeyType(f"key file {where}: {type(private).__name__} keys are not supported")
    return _make(kt, _spki(private.public_key()), private, where)


def _load_gost(info: core.Sequence, where: str) -> SoftwareKey:
    from atlas_ca.gost import param_set, public_key_from_private

    try:
        alg = info[1]
        params = alg[1]
        ps = param_set(params[0].dotted)
        body = info[2].native
        if not isinstance(body, bytes):
            raise TypeError("privateKey is not an OCTET STRING")
        d = _gost_scalar(body, ps.size)
    except (AttributeError, IndexError, KeyError, ValueError, TypeError) as exc:
        raise WrongKeyType(
            f"key file {where}: malformed GOST PrivateKeyInfo ({type(exc).__name__})"
        ) from None
    if 0 < d < 1 << ps.bits:
        # A scalar of the key's size but >= q (RFC 9215 Appendix A's tc26-256-A example key
        # is one) means d mod q: the same key to OpenSSL's gost engine and the standard.
        d %= ps.q
    if not 0 < d < ps.q:
        raise WrongKeyType(f"key file {where}: GOST private scalar out of range")
    spki = public_key_from_private(ps, d).spki_der()
    return _make(
        KeyType.GOST3410_2012_256 if ps.bits == 256 else KeyType.GOST3410_2012_512,
        spki,
        (ps, d),
        where,
    )


def _gost_scalar(body: bytes, size: int) -> int:
    if len(body) == size:
        return int.from_bytes(body, "little")
    inner = core.load(body)
    if isinstance(inner, core.OctetString) and len(inner.native) == size:
        return int.from_bytes(inner.native, "little")
    if isinstance(inner, core.Integer):
        return int(inner.native)
    raise ValueError(f"GOST private key of {len(body)} bytes is not {size} bytes")


def open_software_key(uri: str | FileKeyUri, *, password: str | None = None) -> SoftwareKey:
    """The key in the encrypted PKCS#8 file ``uri`` names (``file:/abs/key.pem?pin-source=…``)."""
    parsed = uri if isinstance(uri, FileKeyUri) else FileKeyUri.parse(uri)
    where = str(parsed.path)
    try:
        raw = parsed.path.read_bytes()
    except FileNotFoundError:
        raise KeyNotFound(f"key file {where} does not exist", path=where) from None
    except OSError as exc:
        raise KeyNotFound(
            f"key file {where} cannot be read: {type(exc).__name__}", path=where
        ) from None
    secret = resolve_pin(password, parsed.pin_value, parsed.pin_source)
    if secret is None:
        raise PinIncorrect(
            f"key file {where} is encrypted and no password was given "
            "(password=, or pin-source= in the URI)",
            path=where,
        )
    if pem.detect(raw):
        try:
            label, _, der = pem.unarmor(raw)
        except ValueError:
            raise InvalidKeyUri(f"key file {where} is not valid PEM") from None
        if label != _PEM_LABEL:
            raise InvalidKeyUri(
                f"key file {where} holds a {label!r}, not an {_PEM_LABEL!r}", path=where
            )
    else:
        der = raw
    plain = _decrypt_pkcs8(der, secret, where)
    return _load_private_key_info(plain, where)


__all__ = [
    "PBKDF2_ITERATIONS",
    "SoftwareKey",
    "SoftwarePrehashKey",
    "generate_software_key",
    "open_software_key",
]
