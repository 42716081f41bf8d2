"""The PKCS#11 backend, over PyKCS11.

Layers, bottom up:

* :class:`Pkcs11Module` — a PKCS#11 shared library, loaded **once per process** (a registry keyed
  by real path); re-initialised in a forked child (``os.getpid`` is checked on every use).
* :class:`Pkcs11Token` — one token of a module, found by label/serial/slot-id. It logs in **once**
  (PKCS#11 login state is per token for the whole process: a second ``C_Login`` answers
  ``CKR_USER_ALREADY_LOGGED_IN`` and one ``C_Logout`` drops every session, SoftHSMv2 #509, cfssl
  #329), keeps a bounded pool of sessions (like step-ca's max-sessions), never logs out on the hot
  path, and re-opens a lost session or a dropped login once before it gives up.
* :class:`Pkcs11Key` — a :class:`~atlas_ca.hsm.base.SigningKey` (and, except Ed25519, a
  :class:`~atlas_ca.hsm.base.PrehashSigningKey`) whose private half stays on the token.

The narrow seam is :class:`_Session` (find, attributes, sign, generate): every mechanism is a plain
``int`` from :mod:`atlas_ca.hsm.mechanisms`, so SoftHSM's ``CKM_GOSTR3410`` and a TC26 vendor
mechanism such as ``CKM_GOSTR3410_512`` go through the same calls.

Every ``CKR_*`` is wrapped in an :class:`~atlas_ca.errors.HsmError` subclass whose message names
the call, the slot and the token label; the PIN is never part of a message, repr or log.
"""

from __future__ import annotations

import ctypes
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeVar

import PyKCS11
from asn1crypto import core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from atlas_ca.algorithms import KeyType, SignatureAlgorithm
from atlas_ca.asn1.oids import GostAlgorithm, PublicKeyAlgorithm
from atlas_ca.errors import (
    HsmError,
    InvalidKeyUri,
    InvalidPublicKey,
    KeyNotFound,
    MechanismUnsupported,
    ModuleNotFound,
    PinIncorrect,
    PinLocked,
    PinSourceError,
    Pkcs11Failure,
    TokenNotFound,
    TokenUnavailable,
    WrongKeyType,
)
from atlas_ca.hsm import mechanisms as m
from atlas_ca.hsm.base import Hasher
from atlas_ca.hsm.uri import ObjectType, Pkcs11Uri

T = TypeVar("T")

# --- CKR_* handling -------------------------------------------------------------------------------

_CKR: Final[Mapping[int, str]] = MappingProxyType(
    {k: v for k, v in PyKCS11.CKR.items() if isinstance(k, int) and isinstance(v, str)}
)

#: CKR values after which the session (or login) is re-established and the call retried once.
_RETRY: Final = frozenset(
    {
        PyKCS11.CKR_SESSION_HANDLE_INVALID,
        PyKCS11.CKR_SESSION_CLOSED,
        PyKCS11.CKR_USER_NOT_LOGGED_IN,
        PyKCS11.CKR_CRYPTOKI_NOT_INITIALIZED,
        PyKCS11.CKR_OBJECT_HANDLE_INVALID,
        PyKCS11.CKR_KEY_HANDLE_INVALID,
    }
)

#: CKR values of a token that went away (removed, or its store gone): some modules, SoftHSM
#: among them, answer so until the module is initialised anew, even once the token is back.
_TOKEN_GONE: Final = frozenset(
    {
        PyKCS11.CKR_DEVICE_ERROR,
        PyKCS11.CKR_DEVICE_REMOVED,
        PyKCS11.CKR_TOKEN_NOT_PRESENT,
        PyKCS11.CKR_TOKEN_NOT_RECOGNIZED,
    }
)

#: ... and at C_OpenSession/C_Login also CKR_GENERAL_ERROR: SoftHSM's answer there once its
#: token directory vanished. Elsewhere it means other things (a key generation SoftHSM cannot
#: do answers it too), and must not re-initialise the module.
_TOKEN_GONE_AT_LOGIN: Final = _TOKEN_GONE | {PyKCS11.CKR_GENERAL_ERROR}

#: Seconds between two re-initialisations of a module after a token went away.
REINIT_INTERVAL: Final = 1.0

#: CKR values by which the token refused the PIN itself: that PIN is never tried again.
_PIN_REJECTED: Final = frozenset(
    {
        PyKCS11.CKR_PIN_INCORRECT,
        PyKCS11.CKR_PIN_INVALID,
        PyKCS11.CKR_PIN_LEN_RANGE,
        PyKCS11.CKR_PIN_EXPIRED,
        PyKCS11.CKR_PIN_LOCKED,
    }
)

#: CKR values after which the session may still have an operation active: close it.
_STUCK: Final = frozenset({PyKCS11.CKR_BUFFER_TOO_SMALL, PyKCS11.CKR_OPERATION_ACTIVE})


def ckr_name(rv: int) -> str:
    """``"CKR_PIN_INCORRECT (0xA0)"``; vendor codes as ``"CKR_VENDOR_DEFINED+0x…"``."""
    name = _CKR.get(rv)
    if name is not None and rv >= 0:
        return f"{name} (0x{rv:X})"
    if rv >= m.CKR_VENDOR_DEFINED:
        return f"CKR_VENDOR_DEFINED+0x{rv - m.CKR_VENDOR_DEFINED:X} (0x{rv:X})"
    return f"CKR 0x{rv:X}" if rv >= 0 else f"PyKCS11 error {rv}"


def _errno(exc: PyKCS11.PyKCS11Error) -> int:
    return int(exc.value)


def map_ckr(
    rv: int, call: str, *, slot: int | None, token: str | None, detail: str = ""
) -> HsmError:
    """The :class:`HsmError` for ``rv`` returned by ``call`` on ``slot``/``token``."""
    where = f"{call} on slot {slot} (token {token!r})"
    name = ckr_name(rv)
    ctx: dict[str, Any] = {"call": call, "slot": slot, "token": token, "ckr": _CKR.get(rv, name)}
    tail = f": {detail}" if detail else ""
    if rv == PyKCS11.CKR_PIN_INCORRECT:
        return PinIncorrect(f"{where}: the user PIN is incorrect ({name}){tail}", **ctx)
    if rv == PyKCS11.CKR_PIN_LOCKED:
        return PinLocked(
            f"{where}: the user PIN is locked after too many wrong attempts ({name}); "
            "the security officer must unblock it",
            **ctx,
        )
    if rv in (PyKCS11.CKR_PIN_LEN_RANGE, PyKCS11.CKR_PIN_INVALID):
        return PinIncorrect(f"{where}: the PIN has an invalid length or form ({name})", **ctx)
    if rv in (PyKCS11.CKR_MECHANISM_INVALID, PyKCS11.CKR_MECHANISM_PARAM_INVALID):
        return MechanismUnsupported(f"{where}: mechanism not supported ({name}){tail}", **ctx)
    if rv in (PyKCS11.CKR_KEY_TYPE_INCONSISTENT, PyKCS11.CKR_KEY_FUNCTION_NOT_PERMITTED):
        return WrongKeyType(f"{where}: the key cannot be used this way ({name}){tail}", **ctx)
    if rv in (
        PyKCS11.CKR_TOKEN_NOT_PRESENT,
        PyKCS11.CKR_TOKEN_NOT_RECOGNIZED,
        PyKCS11.CKR_DEVICE_REMOVED,
        PyKCS11.CKR_DEVICE_ERROR,
        PyKCS11.CKR_DEVICE_MEMORY,
        PyKCS11.CKR_SLOT_ID_INVALID,
    ):
        return TokenUnavailable(f"{where}: the token is unavailable ({name}){tail}", **ctx)
    return Pkcs11Failure(f"{where} failed: {name}{tail}", **ctx)


# --- the native hot path --------------------------------------------------------------------------
#
# PyKCS11 keeps the GIL during every PKCS#11 call and converts its byte vectors element by element
# (about 20 us for a 64-byte signature). The two calls of the hot path, C_SignInit and C_Sign, go
# instead through the module's own function list with ctypes, which releases the GIL; and the
# module is initialised with CKF_OS_LOCKING_OK (SoftHSM initialised with NULL arguments does not
# lock, and concurrent calls corrupt its heap). Everything else stays on PyKCS11.

_CK_FUNCTIONS: Final = [
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetFunctionList",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_GetMechanismList",
    "C_GetMechanismInfo",
    "C_InitToken",
    "C_InitPIN",
    "C_SetPIN",
    "C_OpenSession",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_GetSessionInfo",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_Login",
    "C_Logout",
    "C_CreateObject",
    "C_CopyObject",
    "C_DestroyObject",
    "C_GetObjectSize",
    "C_GetAttributeValue",
    "C_SetAttributeValue",
    "C_FindObjectsInit",
    "C_FindObjects",
    "C_FindObjectsFinal",
    "C_EncryptInit",
    "C_Encrypt",
    "C_EncryptUpdate",
    "C_EncryptFinal",
    "C_DecryptInit",
    "C_Decrypt",
    "C_DecryptUpdate",
    "C_DecryptFinal",
    "C_DigestInit",
    "C_Digest",
    "C_DigestUpdate",
    "C_DigestKey",
    "C_DigestFinal",
    "C_SignInit",
    "C_Sign",
]

CKF_OS_LOCKING_OK: Final = 0x2


class _CkFunctionList(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_ubyte * 2),
        *((name, ctypes.c_void_p) for name in _CK_FUNCTIONS),
    ]


class _CkMechanism(ctypes.Structure):
    _fields_ = [
        ("mechanism", ctypes.c_ulong),
        ("pParameter", ctypes.c_void_p),
        ("ulParameterLen", ctypes.c_ulong),
    ]


class _CkInitArgs(ctypes.Structure):
    _fields_ = [
        ("CreateMutex", ctypes.c_void_p),
        ("DestroyMutex", ctypes.c_void_p),
        ("LockMutex", ctypes.c_void_p),
        ("UnlockMutex", ctypes.c_void_p),
        ("flags", ctypes.c_ulong),
        ("pReserved", ctypes.c_void_p),
    ]


_UL = ctypes.c_ulong
_SignInitFn = ctypes.CFUNCTYPE(_UL, _UL, ctypes.POINTER(_CkMechanism), _UL)
_SignFn = ctypes.CFUNCTYPE(_UL, _UL, ctypes.c_char_p, _UL, ctypes.c_char_p, ctypes.POINTER(_UL))
_InitFn = ctypes.CFUNCTYPE(_UL, ctypes.c_void_p)


class _Native:
    """C_Initialize/C_Finalize/C_SignInit/C_Sign of a module, from its C_GetFunctionList."""

    def __init__(self, path: str) -> None:
        dll = ctypes.CDLL(path)  # dlopen of an open library: the same instance PyKCS11 uses
        get_list = dll.C_GetFunctionList
        get_list.restype = _UL
        get_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_CkFunctionList))]
        fl = ctypes.POINTER(_CkFunctionList)()
        rv = get_list(ctypes.byref(fl))
        if rv != 0 or not fl:
            raise ModuleNotFound(f"PKCS#11 module {path}: C_GetFunctionList failed ({rv})")
        table = fl.contents
        self._dll = dll
        self.initialize = _InitFn(table.C_Initialize)
        self.finalize = _InitFn(table.C_Finalize)
        self.sign_init = _SignInitFn(table.C_SignInit)
        self.sign = _SignFn(table.C_Sign)

    def reinitialize_with_locking(self) -> int:
        """``C_Finalize``, then ``C_Initialize`` with ``CKF_OS_LOCKING_OK``; returns its CKR."""
        self.finalize(None)
        args = _CkInitArgs(None, None, None, None, CKF_OS_LOCKING_OK, None)
        return int(self.initialize(ctypes.byref(args)))


def native_mechanism(number: int, parameter: bytes | None) -> Any:
    """A ``CK_MECHANISM`` for the hot path; keep the result alive while it is used."""
    mech = _CkMechanism(number, None, 0)
    if parameter:
        buf = ctypes.create_string_buffer(parameter, len(parameter))
        mech.pParameter = ctypes.cast(buf, ctypes.c_void_p)
        mech.ulParameterLen = len(parameter)
        mech._keep = buf
    return mech


# --- the module -----------------------------------------------------------------------------------


#: Pauses between looks for a token that is not (yet) there: 5 looks over about a second.
TOKEN_LOOKUP_DELAYS: Final = (0.1, 0.2, 0.3, 0.4)
CKF_TOKEN_INITIALIZED: Final = 0x400  # PKCS#11 v2.40 §3.2, CK_TOKEN_INFO flags


class Pkcs11Module:
    """A PKCS#11 library, loaded once per process; use :meth:`load`, not the constructor."""

    _registry: dict[str, Pkcs11Module] = {}  # noqa: RUF012 - class-level registry on purpose
    _registry_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._lib = PyKCS11.PyKCS11Lib()
        try:
            self._lib.load(path)
        except PyKCS11.PyKCS11Error as exc:
            raise ModuleNotFound(
                f"PKCS#11 module {path} cannot be loaded: {exc}", module=path
            ) from None
        self.native = _Native(path)
        self._init_locking("C_Initialize(CKF_OS_LOCKING_OK)")
        self._pid = os.getpid()
        self._generation = 0
        self._tokens: dict[int, Pkcs11Token] = {}
        self._token_lost = False
        self._reinit_at = 0.0

    def _init_locking(self, call: str) -> None:
        rv = self.native.reinitialize_with_locking()
        if rv != PyKCS11.CKR_OK:
            raise map_ckr(rv, call, slot=None, token=None)

    @classmethod
    def load(cls, path: str) -> Pkcs11Module:
        if not path:
            raise ModuleNotFound("no PKCS#11 module path given (module-path=...)")
        real = os.path.realpath(path)
        if not os.path.isfile(real):
            raise ModuleNotFound(f"PKCS#11 module {path} does not exist", module=path)
        with cls._registry_lock:
            module = cls._registry.get(real)
            if module is None:
                module = cls(real)
                cls._registry[real] = module
        module.check_process()
        return module

    @property
    def lib(self) -> Any:
        return self._lib

    @property
    def generation(self) -> int:
        """Bumped each time the module is re-initialised (after a fork)."""
        return self._generation

    def check_process(self) -> None:
        """In a forked child: ``C_Finalize`` + ``C_Initialize`` and forget the parent's sessions."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._init_locking("C_Initialize (after fork)")
            self._pid = os.getpid()
            self._generation += 1

    def token_lost(self) -> None:
        """A token of this module answered as if it were gone (:data:`_TOKEN_GONE`)."""
        with self._lock:
            self._token_lost = True

    def recover(self) -> None:
        """After :meth:`token_lost`: ``C_Finalize`` + ``C_Initialize``, at most once per
        :data:`REINIT_INTERVAL`, so that a token put back is usable again (SoftHSM answers
        CKR_GENERAL_ERROR until then). Every token of the module then opens fresh sessions and
        logs in again with the PIN it kept; keys find their handles again."""
        if not self._token_lost:
            return
        with self._lock:
            now = time.monotonic()
            if not self._token_lost or now - self._reinit_at < REINIT_INTERVAL:
                return
            self._reinit_at = now
            self._token_lost = False
            self._generation += 1
            self._init_locking("C_Initialize (after a token went away)")

    def slots(self) -> list[int]:
        self.check_process()
        try:
            return [int(s) for s in self._lib.getSlotList(tokenPresent=True)]
        except PyKCS11.PyKCS11Error as exc:
            raise map_ckr(_errno(exc), "C_GetSlotList", slot=None, token=None) from None

    def token_info(self, slot: int) -> TokenInfo:
        try:
            info = self._lib.getTokenInfo(slot)
        except PyKCS11.PyKCS11Error as exc:
            raise map_ckr(_errno(exc), "C_GetTokenInfo", slot=slot, token=None) from None
        return TokenInfo(
            slot=slot,
            label=str(info.label).rstrip(" \x00"),
            serial=str(info.serialNumber).rstrip(" \x00"),
            manufacturer=str(info.manufacturerID).rstrip(" \x00"),
            model=str(info.model).rstrip(" \x00"),
            flags=int(info.flags),
        )

    def token(
        self,
        *,
        label: str | None = None,
        serial: str | None = None,
        slot_id: int | None = None,
        config: TokenConfig | None = None,
    ) -> Pkcs11Token:
        """The token matching every given criterion (one :class:`Pkcs11Token` per slot).

        A token that is not found is looked for again a few times over about a second
        (:data:`TOKEN_LOOKUP_DELAYS`): SoftHSM reads its token directory when the module is
        initialised, and a process starting while another one rewrites a token's files can
        miss that token (2 of 24 ``crl publish`` started together did). While this process
        has opened no token of the module, the module is re-initialised before a retry, so the
        token directory is read again; then :class:`TokenNotFound`.
        """
        for delay in TOKEN_LOOKUP_DELAYS:
            try:
                return self._find_token(label, serial, slot_id, config)
            except TokenNotFound as exc:
                if exc.context.get("matches"):  # several tokens match: no retry helps
                    raise
            time.sleep(delay)
            with self._lock:
                if not self._tokens:
                    self._init_locking("C_Initialize (token lookup retry)")
                    self._generation += 1
        return self._find_token(label, serial, slot_id, config)

    def init_token(self, label: str, *, so_pin: str, user_pin: str) -> int:
        """Initialise the first uninitialised token as ``label`` with the SO and user PINs
        (``C_InitToken``, ``C_InitPIN``); its slot. The PINs stay in this process: a tool
        such as ``softhsm2-util`` would need them on its command line, which every user of
        the machine can read (docs/hsm.md)."""
        if not so_pin or not user_pin:
            raise PinSourceError("a token needs a non-empty SO PIN and user PIN")
        self.check_process()
        free = [s for s in self.slots() if not self.token_info(s).flags & CKF_TOKEN_INITIALIZED]
        if not free:
            raise TokenUnavailable(
                f"no uninitialised token in PKCS#11 module {self.path}", module=self.path
            )
        slot = free[0]
        try:
            self._lib.initToken(slot, so_pin, label)
            flags = PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION
            session = self._lib.openSession(slot, flags)
            try:
                session.login(so_pin, user_type=PyKCS11.CKU_SO)
                session.initPin(user_pin)
                session.logout()
            finally:
                session.closeSession()
        except PyKCS11.PyKCS11Error as exc:
            raise map_ckr(_errno(exc), "C_InitToken/C_InitPIN", slot=slot, token=label) from None
        return slot

    def _find_token(
        self,
        label: str | None,
        serial: str | None,
        slot_id: int | None,
        config: TokenConfig | None,
    ) -> Pkcs11Token:
        found: list[TokenInfo] = []
        for slot in self.slots():
            if slot_id is not None and slot != slot_id:
                continue
            info = self.token_info(slot)
            if label is not None and info.label != label:
                continue
            if serial is not None and info.serial != serial:
                continue
            found.append(info)
        wanted = ", ".join(
            f"{k}={v!r}"
            for k, v in (("label", label), ("serial", serial), ("slot-id", slot_id))
            if v is not None
        )
        if not found:
            raise TokenNotFound(
                f"no token with {wanted or 'any label'} in PKCS#11 module {self.path}",
                module=self.path,
                token=label,
                serial=serial,
            )
        if len(found) > 1:
            raise TokenNotFound(
                f"{len(found)} tokens match {wanted or 'any label'} in {self.path}: "
                "name one by serial or slot-id",
                module=self.path,
                token=label,
                matches=len(found),
            )
        info = found[0]
        with self._lock:
            tok = self._tokens.get(info.slot)
            if tok is None:
                tok = Pkcs11Token(self, info, config or token_config(info.label))
                self._tokens[info.slot] = tok
        return tok

    def __repr__(self) -> str:
        return f"Pkcs11Module({self.path!r})"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    slot: int
    label: str
    serial: str
    manufacturer: str
    model: str
    flags: int

    @property
    def user_pin_locked(self) -> bool:
        return bool(self.flags & PyKCS11.CKF_USER_PIN_LOCKED)

    @property
    def user_pin_count_low(self) -> bool:
        return bool(self.flags & PyKCS11.CKF_USER_PIN_COUNT_LOW)


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Per-token settings: pool size and key-generation templates (vendors differ).

    ``extra_public``/``extra_private`` are added to (and override) the default templates, keyed
    by ``CKA_*`` number. ``gost_digest_params`` is the ``CKA_GOSTR3411_PARAMS`` OID for 256-bit
    GOST keys (Streebog-256 by default; some older tokens want the GOST R 34.11-94 set).
    """

    max_sessions: int = 8
    gost_digest_params: str = GostAlgorithm.GOST3411_2012_256.dotted
    extra_public: Mapping[int, Any] = field(default_factory=dict)
    extra_private: Mapping[int, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, not {self.max_sessions}")


_TOKEN_CONFIGS: dict[str, TokenConfig] = {}


def configure_token(label: str, config: TokenConfig) -> None:
    """Use ``config`` for the token labelled ``label`` (before it is first opened)."""
    _TOKEN_CONFIGS[label] = config


def token_config(label: str) -> TokenConfig:
    return _TOKEN_CONFIGS.get(label, TokenConfig())


# --- the seam -------------------------------------------------------------------------------------

Template = Sequence[tuple[int, Any]]


class _Session:
    """One PKCS#11 session: the narrow seam every token operation goes through."""

    __slots__ = ("_native", "_number", "session")

    def __init__(self, session: Any, native: _Native) -> None:
        self.session = session
        self._native = native
        self._number = int(session.session.value())

    def find(self, template: Template) -> list[Any]:
        return list(self.session.findObjects(list(template)))

    def attributes(self, handle: Any, types: Sequence[int]) -> list[Any]:
        return list(self.session.getAttributeValue(handle, list(types), True))

    def sign(self, handle: int, mechanism: Any, data: bytes, out_len: int) -> bytes:
        """``C_SignInit`` + ``C_Sign`` with a pre-sized output buffer (one call, not two), through
        the native function list (GIL released during both calls)."""
        native = self._native
        rv = native.sign_init(self._number, ctypes.byref(mechanism), handle)
        if rv != PyKCS11.CKR_OK:
            raise PyKCS11.PyKCS11Error(rv, "C_SignInit")
        out = ctypes.create_string_buffer(out_len)
        size = _UL(out_len)
        rv = native.sign(self._number, data, len(data), out, ctypes.byref(size))
        if rv != PyKCS11.CKR_OK:
            raise PyKCS11.PyKCS11Error(rv, "C_Sign")
        return out.raw[: size.value]

    def generate(self, mechanism: int, public: Template, private: Template) -> tuple[Any, Any]:
        return tuple(
            self.session.generateKeyPair(
                list(public), list(private), PyKCS11.Mechanism(mechanism, None)
            )
        )

    def close(self) -> None:
        try:
            self.session.closeSession()
        except PyKCS11.PyKCS11Error:
            return


# --- the token ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A private key found on a token."""

    label: str
    id: bytes
    key_type: KeyType | None
    uri: Pkcs11Uri


class Pkcs11Token:
    """One token: login once, a bounded pool of sessions, keys found and generated on it."""

    def __init__(self, module: Pkcs11Module, info: TokenInfo, config: TokenConfig) -> None:
        self.module = module
        self.info = info
        self.config = config
        self._cond = threading.Condition()
        self._idle: list[_Session] = []
        self._open = 0
        self._generation = module.generation
        self._pin: str | None = None
        self._logged_in = False
        self._mechanisms: frozenset[int] | None = None

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def slot(self) -> int:
        return self.info.slot

    def __repr__(self) -> str:
        return f"Pkcs11Token(label={self.label!r}, slot={self.slot}, module={self.module.path!r})"

    def _error(self, exc: PyKCS11.PyKCS11Error, call: str, detail: str = "") -> HsmError:
        return map_ckr(_errno(exc), call, slot=self.slot, token=self.label, detail=detail)

    # mechanisms ------------------------------------------------------------------------------

    @property
    def mechanisms(self) -> frozenset[int]:
        """Every mechanism number the token lists (``C_GetMechanismList``), cached."""
        if self._mechanisms is None:
            self.module.check_process()
            out = PyKCS11.LowLevel.ckulonglist()
            rv = self.module.lib.lib.C_GetMechanismList(self.slot, out)
            if rv != PyKCS11.CKR_OK:
                raise map_ckr(rv, "C_GetMechanismList", slot=self.slot, token=self.label)
            self._mechanisms = frozenset(int(x) for x in out)
        return self._mechanisms

    def require_mechanism(self, number: int, purpose: str) -> None:
        if number not in self.mechanisms:
            raise MechanismUnsupported(
                f"token {self.label!r} (slot {self.slot}) does not offer "
                f"{m.mechanism_name(number)}, needed to {purpose}",
                token=self.label,
                slot=self.slot,
                mechanism=number,
            )

    # login and sessions -----------------------------------------------------------------------

    def login(self, pin: str | None) -> None:
        """Log the user in once for the process; ``None`` only checks that it is logged in."""
        with self._cond:
            if self._logged_in and pin is not None and self._pin is not None:
                # Login state is per process: the token cannot check this PIN again without a
                # C_Logout that would drop every session, so compare with the one it accepted.
                if not hmac.compare_digest(pin.encode(), self._pin.encode()):
                    raise PinIncorrect(
                        f"C_Login on slot {self.slot} (token {self.label!r}): the PIN differs "
                        "from the one this process logged in with",
                        call="C_Login",
                        slot=self.slot,
                        token=self.label,
                    )
                return
            if pin is not None:
                self._pin = pin
            if self._logged_in:
                return
        with self.session() as _:
            return

    def _check_fork(self) -> None:
        self.module.check_process()
        self.module.recover()
        if self._generation != self.module.generation:
            with self._cond:
                if self._generation != self.module.generation:
                    # The parent's sessions are not ours: drop them without C_CloseSession.
                    self._idle.clear()
                    self._open = 0
                    self._logged_in = False
                    self._mechanisms = None
                    self._generation = self.module.generation

    def _open_session(self) -> _Session:
        try:
            raw = self.module.lib.openSession(
                self.slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION
            )
        except PyKCS11.PyKCS11Error as exc:
            if _errno(exc) in _TOKEN_GONE_AT_LOGIN:
                self.module.token_lost()
            raise self._error(exc, "C_OpenSession") from None
        session = _Session(raw, self.module.native)
        with self._cond:
            need_login = not self._logged_in
            pin = self._pin
        if need_login:
            self._login_on(session, pin)
        return session

    def _login_on(self, session: _Session, pin: str | None) -> None:
        if pin is None:
            session.close()
            raise PinIncorrect(
                f"C_Login on slot {self.slot} (token {self.label!r}): no PIN given "
                "(pass pin=, or pin-source in the URI)",
                call="C_Login",
                slot=self.slot,
                token=self.label,
            )
        try:
            session.session.login(pin)
        except PyKCS11.PyKCS11Error as exc:
            rv = _errno(exc)
            if rv != PyKCS11.CKR_USER_ALREADY_LOGGED_IN:
                session.close()
                if rv in _TOKEN_GONE_AT_LOGIN:
                    self.module.token_lost()
                if rv in _PIN_REJECTED:
                    with self._cond:
                        # Never retry a rejected PIN: each try counts towards the token's
                        # lock-out. Any other failure (a token removed: CKR_GENERAL_ERROR,
                        # CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED) keeps the PIN, so the
                        # login is made again once the token is back.
                        if self._pin == pin:
                            self._pin = None
                raise self._error(exc, "C_Login") from None
        with self._cond:
            self._logged_in = True

    def _acquire(self) -> _Session:
        self._check_fork()
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._open < self.config.max_sessions:
                    self._open += 1
                    break
                self._cond.wait()
        try:
            return self._open_session()
        except BaseException:
            with self._cond:
                self._dropped(1)
                self._cond.notify()
            raise

    def _dropped(self, n: int) -> None:
        """``n`` sessions closed (lock held). With none left the token has logged us out."""
        self._open -= n
        if self._open <= 0:
            self._open = 0
            self._logged_in = False

    def _release(self, session: _Session, *, broken: bool = False) -> None:
        with self._cond:
            if broken:
                self._dropped(1)
            else:
                self._idle.append(session)
            self._cond.notify()
        if broken:
            session.close()

    @contextmanager
    def session(self) -> Iterator[_Session]:
        """A pooled session of a logged-in token."""
        s = self._acquire()
        broken = False
        try:
            yield s
        except PyKCS11.PyKCS11Error as exc:
            # A lost session, or one that may still hold an active operation: do not reuse it.
            broken = _errno(exc) in _RETRY or _errno(exc) in _STUCK
            raise
        finally:
            self._release(s, broken=broken)

    def run(self, call: str, fn: Callable[[_Session], T], *, detail: str = "") -> T:
        """``fn`` on a pooled session; a lost session or login is re-established once."""
        for attempt in (0, 1):
            try:
                with self.session() as s:
                    return fn(s)
            except PyKCS11.PyKCS11Error as exc:
                rv = _errno(exc)
                if attempt == 0 and rv in _RETRY:
                    self._recover(rv)
                    continue
                if rv in _TOKEN_GONE:
                    self.module.token_lost()
                raise self._error(exc, call, detail) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _recover(self, rv: int) -> None:
        with self._cond:
            # A re-login is harmless (CKR_USER_ALREADY_LOGGED_IN is accepted), a missing one fatal.
            self._logged_in = False
            # Idle sessions may be as dead as the one that failed: drop them all.
            stale, self._idle = self._idle, []
            self._dropped(len(stale))
        for s in stale:
            s.close()

    def close(self) -> None:
        """Close the idle sessions (never ``C_Logout``: it would drop every session)."""
        with self._cond:
            stale, self._idle = self._idle, []
            self._dropped(len(stale))
        for s in stale:
            s.close()

    # keys -------------------------------------------------------------------------------------

    def _key_uri(self, label: str, key_id: bytes) -> Pkcs11Uri:
        return Pkcs11Uri(
            token=self.label,
            serial=self.info.serial or None,
            object=label or None,
            id=key_id or None,
            type=ObjectType.PRIVATE,
            module_path=self.module.path,
        )

    def list_keys(self) -> list[KeyInfo]:
        """Every private key on the token, with its type and URI."""

        def find(s: _Session) -> list[KeyInfo]:
            keys = []
            for h in s.find([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY)]):
                label_raw, id_raw = s.attributes(h, [PyKCS11.CKA_LABEL, PyKCS11.CKA_ID])
                label = bytes(label_raw).decode("utf-8", "replace")
                key_id = bytes(id_raw)
                try:
                    key_type = _detect_type(s, h)
                except WrongKeyType:
                    key_type = None
                keys.append(KeyInfo(label, key_id, key_type, self._key_uri(label, key_id)))
            return keys

        return self.run("C_FindObjects", find)

    def key(self, *, label: str | None = None, key_id: bytes | None = None) -> Pkcs11Key:
        """The private key with this label and/or id, ready to sign."""
        if label is None and key_id is None:
            raise InvalidKeyUri(
                f"name the key on token {self.label!r} by object= (label) and/or id="
            )
        template: list[tuple[int, Any]] = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY)]
        if label is not None:
            template.append((PyKCS11.CKA_LABEL, label))
        if key_id is not None:
            template.append((PyKCS11.CKA_ID, key_id))
        wanted = " and ".join(
            part
            for part in (
                f"label {label!r}" if label is not None else "",
                f"id {key_id.hex()}" if key_id is not None else "",
            )
            if part
        )

        def find(s: _Session) -> tuple[Any, KeyType, bytes, bytes, str]:
            handles = s.find(template)
            if not handles:
                raise KeyNotFound(
                    f"no private key with {wanted} on token {self.label!r} (slot {self.slot})",
                    token=self.label,
                    slot=self.slot,
                )
            if len(handles) > 1:
                raise KeyNotFound(
                    f"{len(handles)} private keys with {wanted} on token {self.label!r}: "
                    "name the key by both object= and id=",
                    token=self.label,
                    slot=self.slot,
                )
            h = handles[0]
            key_type = _detect_type(s, h)
            label_raw, id_raw = s.attributes(h, [PyKCS11.CKA_LABEL, PyKCS11.CKA_ID])
            found_label = bytes(label_raw).decode("utf-8", "replace")
            spki = _public_key_info(s, key_type, bytes(id_raw), found_label, self.label)
            return h, key_type, spki, bytes(id_raw), found_label

        handle, key_type, spki, found_id, found_label = self.run("C_FindObjects", find)
        return _make_key(self, handle, key_type, spki, found_label, found_id)

    def generate_key(
        self,
        key_type: KeyType,
        *,
        label: str,
        key_id: bytes | None = None,
        param_set: str | None = None,
        rsa_bits: int = 3072,
    ) -> Pkcs11Key:
        """Generate a key pair **on the token**: token objects, private key sensitive and
        non-extractable, both halves with ``label`` and ``key_id`` (8 random bytes if omitted).

        ``param_set`` names the GOST curve (default ``cryptopro-a`` for 256 bits, ``tc26-512-a``
        for 512); a token that refuses the curve raises :class:`MechanismUnsupported`.
        """
        gen = m.KEYGEN[key_type]
        self.require_mechanism(gen.number, f"generate a {key_type.value} key")
        self.require_mechanism(m.SIGNING[key_type].number, f"sign with a {key_type.value} key")
        kid = key_id if key_id is not None else secrets.token_bytes(8)
        common: list[tuple[int, Any]] = [
            (PyKCS11.CKA_TOKEN, True),
            (PyKCS11.CKA_KEY_TYPE, gen.key_class_type),
            (PyKCS11.CKA_LABEL, label),
            (PyKCS11.CKA_ID, kid),
        ]
        public: dict[int, Any] = dict(
            [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY), *common, (PyKCS11.CKA_VERIFY, True)]
        )
        public[PyKCS11.CKA_PRIVATE] = False
        private: dict[int, Any] = dict(
            [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), *common, (PyKCS11.CKA_SIGN, True)]
        )
        private.update(
            {PyKCS11.CKA_PRIVATE: True, PyKCS11.CKA_SENSITIVE: True, PyKCS11.CKA_EXTRACTABLE: False}
        )
        detail = ""
        if key_type.is_gost:
            from atlas_ca.gost import param_set as find_param_set

            default = "cryptopro-a" if key_type is KeyType.GOST3410_2012_256 else "tc26-512-a"
            ps = find_param_set(param_set or default)
            bits = 256 if key_type is KeyType.GOST3410_2012_256 else 512
            if ps.bits != bits:
                raise WrongKeyType(
                    f"parameter set {ps.name} is {ps.bits}-bit, not for a {key_type.value} key"
                )
            public[m.CKA_GOSTR3410_PARAMS] = _oid_der(ps.oid.dotted)
            digest = self.config.gost_digest_params if bits == 256 else ps.digest_oid.dotted
            public[m.CKA_GOSTR3411_PARAMS] = _oid_der(digest)
            detail = f"parameter set {ps.name}"
        elif key_type in (KeyType.EC_P256, KeyType.EC_P384):
            curve = (
                PublicKeyAlgorithm.SECP256R1
                if key_type is KeyType.EC_P256
                else PublicKeyAlgorithm.SECP384R1
            )
            public[PyKCS11.CKA_EC_PARAMS] = _oid_der(curve.dotted)
        elif key_type is KeyType.ED25519:
            public[PyKCS11.CKA_EC_PARAMS] = _oid_der(PublicKeyAlgorithm.ED25519.dotted)
        else:
            public[PyKCS11.CKA_MODULUS_BITS] = rsa_bits
            public[PyKCS11.CKA_PUBLIC_EXPONENT] = (65537).to_bytes(3, "big")
        public.update(self.config.extra_public)
        private.update(self.config.extra_private)

        def generate(s: _Session) -> tuple[Any, Any]:
            return s.generate(gen.number, list(public.items()), list(private.items()))

        try:
            self.run(f"C_GenerateKeyPair({gen.name})", generate, detail=detail)
        except Pkcs11Failure as exc:
            if key_type.is_gost and exc.context.get("ckr") in (
                "CKR_GENERAL_ERROR",
                "CKR_DOMAIN_PARAMS_INVALID",
                "CKR_CURVE_NOT_SUPPORTED",
                "CKR_ATTRIBUTE_VALUE_INVALID",
            ):
                raise MechanismUnsupported(
                    f"token {self.label!r} (slot {self.slot}): {gen.name} refused the "
                    f"{detail} ({exc.context.get('ckr')}); the token does not support it",
                    token=self.label,
                    slot=self.slot,
                    mechanism=gen.number,
                ) from None
            raise
        return self.key(label=label, key_id=kid)


# --- key helpers ----------------------------------------------------------------------------------


def _oid_der(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def _oid_from_der(raw: bytes) -> str | None:
    try:
        value = core.ObjectIdentifier.load(raw).dotted
    except (ValueError, TypeError):
        return None
    return str(value)


def _detect_type(s: _Session, handle: Any) -> KeyType:
    (ckk,) = s.attributes(handle, [PyKCS11.CKA_KEY_TYPE])
    ckk = int.from_bytes(bytes(ckk), "little") if not isinstance(ckk, int) else ckk
    if ckk == m.CKK_GOSTR3410:
        return KeyType.GOST3410_2012_256
    if ckk == m.CKK_GOSTR3410_512:
        return KeyType.GOST3410_2012_512
    if ckk == m.CKK_RSA:
        return KeyType.RSA
    if ckk == m.CKK_EC_EDWARDS:
        return KeyType.ED25519
    if ckk == m.CKK_EC:
        (params,) = s.attributes(handle, [PyKCS11.CKA_EC_PARAMS])
        oid = _oid_from_der(bytes(params))
        if oid == PublicKeyAlgorithm.SECP256R1.dotted:
            return KeyType.EC_P256
        if oid == PublicKeyAlgorithm.SECP384R1.dotted:
            return KeyType.EC_P384
        raise WrongKeyType(f"EC key on curve {oid or bytes(params).hex()} is not P-256 or P-384")
    raise WrongKeyType(f"key type CKK 0x{ckk:X} is not one atlas_ca signs with")


def _unwrap_octet_string(raw: bytes, sizes: tuple[int, ...]) -> bytes:
    if len(raw) in sizes:
        return raw
    try:
        inner = core.OctetString.load(raw).native
    except (ValueError, TypeError):
        inner = None
    if isinstance(inner, bytes) and len(inner) in sizes:
        return inner
    raise WrongKeyType(f"public key value of {len(raw)} bytes is not of a size in {sizes}")


def _public_key_info(
    s: _Session, key_type: KeyType, key_id: bytes, label: str, token: str
) -> bytes:
    template: list[tuple[int, Any]] = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY)]
    if key_id:
        template.append((PyKCS11.CKA_ID, key_id))
    else:
        template.append((PyKCS11.CKA_LABEL, label))
    handles = s.find(template)
    if len(handles) != 1:
        raise KeyNotFound(
            f"the public half of key {label!r} (id {key_id.hex()}) on token {token!r} "
            f"is {'missing' if not handles else 'ambiguous'}: found {len(handles)} public keys",
            token=token,
        )
    h = handles[0]
    if key_type.is_gost:
        from atlas_ca.gost import GostPublicKey, param_set

        value, params = s.attributes(h, [PyKCS11.CKA_VALUE, m.CKA_GOSTR3410_PARAMS])
        oid = _oid_from_der(bytes(params))
        if oid is None:
            raise WrongKeyType(f"GOST key {label!r} has no readable CKA_GOSTR3410_PARAMS")
        ps = param_set(oid)
        raw = _unwrap_octet_string(bytes(value), (2 * ps.size,))
        # The token's word is not enough: a point off the curve or of small order is refused
        # here (InvalidPublicKey / WeakPublicKey), before anything certifies or trusts it.
        try:
            return bytes(GostPublicKey.from_bytes(ps, raw).spki_der())
        except InvalidPublicKey as exc:
            raise exc.at(f"public key {label!r} read back from token {token!r}") from exc
    if key_type is KeyType.RSA:
        n, e = s.attributes(h, [PyKCS11.CKA_MODULUS, PyKCS11.CKA_PUBLIC_EXPONENT])
        pub_rsa = rsa.RSAPublicNumbers(
            int.from_bytes(bytes(e), "big"), int.from_bytes(bytes(n), "big")
        ).public_key()
        return pub_rsa.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    (point,) = s.attributes(h, [PyKCS11.CKA_EC_POINT])
    if key_type is KeyType.ED25519:
        raw = _unwrap_octet_string(bytes(point), (32,))
        return ed25519.Ed25519PublicKey.from_public_bytes(raw).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    curve: ec.EllipticCurve = ec.SECP256R1() if key_type is KeyType.EC_P256 else ec.SECP384R1()
    size = 65 if key_type is KeyType.EC_P256 else 97
    raw = _unwrap_octet_string(bytes(point), (size,))
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, raw).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signature_length(key_type: KeyType, spki: bytes) -> int:
    if key_type is KeyType.RSA:
        pub = serialization.load_der_public_key(spki)
        assert isinstance(pub, rsa.RSAPublicKey)
        return (pub.key_size + 7) // 8
    return {
        KeyType.GOST3410_2012_256: 64,
        KeyType.GOST3410_2012_512: 128,
        KeyType.EC_P256: 64,
        KeyType.EC_P384: 96,
        KeyType.ED25519: 64,
    }[key_type]


def _make_key(
    token: Pkcs11Token, handle: Any, key_type: KeyType, spki: bytes, label: str, key_id: bytes
) -> Pkcs11Key:
    mech = m.SIGNING[key_type]
    token.require_mechanism(mech.number, f"sign with a {key_type.value} key")
    cls = Pkcs11Key if mech.prehash is m.PreHash.NONE else Pkcs11PrehashKey
    return cls(token, handle, key_type, mech, spki, label, key_id)


@dataclass(frozen=True, slots=True)
class KeyProtection:
    """The private key's protection attributes as the token reports them."""

    token_object: bool
    private: bool
    sensitive: bool
    extractable: bool
    always_sensitive: bool
    never_extractable: bool
    generated_on_token: bool  # CKA_LOCAL


class Pkcs11Key:
    """A private key on a PKCS#11 token (implements :class:`~atlas_ca.hsm.base.SigningKey`)."""

    def __init__(
        self,
        token: Pkcs11Token,
        handle: Any,
        key_type: KeyType,
        mechanism: m.SignMechanism,
        spki: bytes,
        label: str,
        key_id: bytes,
    ) -> None:
        self._token = token
        self._handle = handle
        self._generation = token.module.generation
        self._key_type = key_type
        self._mech = mechanism
        self._native = native_mechanism(mechanism.number, mechanism.parameter)
        self._spki = spki
        self._sig_len = _signature_length(key_type, spki)
        self.label = label
        self.key_id = key_id
        self._lock = threading.Lock()

    @property
    def key_type(self) -> KeyType:
        return self._key_type

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        return self._mech.signature_algorithm

    @property
    def public_key_info(self) -> bytes:
        return self._spki

    @property
    def qualified_use_allowed(self) -> bool:
        return True

    @property
    def mechanism(self) -> m.SignMechanism:
        return self._mech

    @property
    def uri(self) -> Pkcs11Uri:
        return self._token._key_uri(self.label, self.key_id)

    @property
    def token(self) -> Pkcs11Token:
        return self._token

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token={self._token.label!r}, label={self.label!r}, "
            f"id={self.key_id.hex()!r}, key_type={self._key_type.value!r})"
        )

    def protection(self) -> KeyProtection:
        """How the token protects the private key (read from the token, for audits)."""
        attrs = (
            PyKCS11.CKA_TOKEN,
            PyKCS11.CKA_PRIVATE,
            PyKCS11.CKA_SENSITIVE,
            PyKCS11.CKA_EXTRACTABLE,
            PyKCS11.CKA_ALWAYS_SENSITIVE,
            PyKCS11.CKA_NEVER_EXTRACTABLE,
            PyKCS11.CKA_LOCAL,
        )
        values = self._token.run(
            "C_GetAttributeValue", lambda s: s.session.getAttributeValue(self._handle, list(attrs))
        )
        return KeyProtection(*(bool(v) for v in values))

    def _refind(self) -> None:
        fresh = self._token.key(label=self.label or None, key_id=self.key_id or None)
        with self._lock:
            self._handle = fresh._handle
            self._generation = self._token.module.generation

    def _sign_token_input(self, payload: bytes) -> bytes:
        self._token._check_fork()
        if self._generation != self._token.module.generation:
            self._refind()
        for attempt in (0, 1):
            handle = self._handle
            try:
                with self._token.session() as s:
                    raw = s.sign(handle.value(), self._native, payload, self._sig_len)
                return m.post_process(self._mech.post, raw)
            except PyKCS11.PyKCS11Error as exc:
                rv = _errno(exc)
                if attempt == 0 and rv in _RETRY:
                    # Session lost or login dropped: object handles of private keys may be gone
                    # with it (SoftHSM invalidates them when the last session closes).
                    self._token._recover(rv)
                    self._refind()
                    continue
                if rv == PyKCS11.CKR_BUFFER_TOO_SMALL and attempt == 0:
                    self._sig_len *= 2
                    continue
                if rv in _TOKEN_GONE:
                    self._token.module.token_lost()
                raise self._token._error(
                    exc, f"C_Sign({self._mech.name})", f"key {self.label!r}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def sign(self, data: bytes) -> bytes:
        return self._sign_token_input(self._mech.token_input(m.prehash(self._mech.prehash, data)))


class Pkcs11PrehashKey(Pkcs11Key):
    """A token key that also signs a digest computed elsewhere (GOST, ECDSA, RSA)."""

    def new_hasher(self) -> Hasher:
        return m.new_hasher(self._mech.prehash)

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != self._mech.prehash.digest_size:
            raise ValueError(
                f"{self._mech.prehash.value} digest must be {self._mech.prehash.digest_size} "
                f"bytes, not {len(digest)}"
            )
        return self._sign_token_input(self._mech.token_input(digest))


# --- opening a key from a URI ---------------------------------------------------------------------


MODULE_ENV = "ATLAS_CA_PKCS11_MODULE"


def module_for(uri: Pkcs11Uri, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The PKCS#11 module a URI's key is in, and where that came from.

    The URI's ``module-path`` wins (RFC 7512 §2.3: it names the module holding the object,
    and it travels with the key's name); ``ATLAS_CA_PKCS11_MODULE`` is the default for URIs
    without one. ``atlas-ca doctor`` says which applied (docs/hsm.md)."""
    env = os.environ if environ is None else environ
    if uri.module_path:
        ignored = env.get(MODULE_ENV)
        if ignored and os.path.realpath(ignored) != os.path.realpath(uri.module_path):
            return uri.module_path, f"module-path of the key URI (wins over {MODULE_ENV})"
        return uri.module_path, "module-path of the key URI"
    if env.get(MODULE_ENV):
        return env[MODULE_ENV], f"{MODULE_ENV} (the key URI has no module-path)"
    raise ModuleNotFound(f"PKCS#11 URI {uri.masked()} has no module-path and {MODULE_ENV} is unset")


def open_pkcs11_key(uri: str | Pkcs11Uri, *, pin: str | None = None) -> Pkcs11Key:
    """The private key a ``pkcs11:`` URI names; logs in with ``pin`` or the URI's PIN source."""
    from atlas_ca.hsm.uri import resolve_pin

    parsed = uri if isinstance(uri, Pkcs11Uri) else Pkcs11Uri.parse(uri)
    if parsed.type not in (None, ObjectType.PRIVATE):
        raise InvalidKeyUri(
            f"PKCS#11 URI {parsed.masked()} names a {parsed.type.value} object, not a private key"
        )
    module_path, _ = module_for(parsed)
    module = Pkcs11Module.load(module_path)
    token = module.token(label=parsed.token, serial=parsed.serial, slot_id=parsed.slot_id)
    token.login(resolve_pin(pin, parsed.pin_value, parsed.pin_source))
    return token.key(label=parsed.object, key_id=parsed.id)


def open_token(uri: str | Pkcs11Uri, *, pin: str | None = None) -> Pkcs11Token:
    """The token a ``pkcs11:`` URI names (object/id ignored), logged in."""
    from atlas_ca.hsm.uri import resolve_pin

    parsed = uri if isinstance(uri, Pkcs11Uri) else Pkcs11Uri.parse(uri)
    module_path, _ = module_for(parsed)
    module = Pkcs11Module.load(module_path)
    token = module.token(label=parsed.token, serial=parsed.serial, slot_id=parsed.slot_id)
    token.login(resolve_pin(pin, parsed.pin_value, parsed.pin_source))
    return token


__all__ = [
    "KeyInfo",
    "KeyProtection",
    "Pkcs11Key",
    "Pkcs11Module",
    "Pkcs11PrehashKey",
    "Pkcs11Token",
    "TokenConfig",
    "TokenInfo",
    "ckr_name",
    "configure_token",
    "map_ckr",
    "module_for",
    "open_pkcs11_key",
    "open_token",
    "token_config",
]
