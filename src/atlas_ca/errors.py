"""The one error hierarchy of atlas_ca.

Every error the library raises on purpose derives from :class:`AtlasCaError` and belongs to
exactly one *category*, which the CLI maps to an exit code in one place:

* :class:`InvalidInput` — the input cannot be read or is malformed (exit 2);
* :class:`Refused` — the input is readable but a rule forbids the operation (exit 1);
* :class:`Unavailable` — the environment (HSM, database, verifier) is missing or broken (exit 3).

Subsystems add their own subclasses (``GostError``, ``HsmError``, ``X509Error``, ...) that mix a
subsystem base with a category. Every public error is importable from this module: a few live
next to the code that raises them and are re-exported at the end of it, loaded on first use.
Context fields carry *which* token, field or rule; they must never hold a private key, a PIN or
unmasked personal data (R21).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

#: The longest message an error keeps (issue 15 item 6): messages quote parts of the input
#: (a name, a value, a foreign library's complaint), so they are cut to a bounded prefix.
MAX_MESSAGE = 1000


def one_line_message(message: str) -> str:
    """``message`` on one line (runs of whitespace, newlines included, become one space) and at
    most :data:`MAX_MESSAGE` characters."""
    text = " ".join(str(message).split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 3] + "..."
    return text


class AtlasCaError(Exception):
    """Root of every error atlas_ca raises on purpose.

    The message is normalised to one line of at most :data:`MAX_MESSAGE` characters, whatever
    the raiser put in it (asn1crypto's complaints span lines; a message may quote the input).
    """

    exit_code: int = 1

    def __init__(self, message: str, **context: Any) -> None:
        message = one_line_message(message)
        super().__init__(message)
        self.message = message
        self.context: Mapping[str, Any] = MappingProxyType(dict(context))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        ctx = ", ".join(f"{k}={v!r}" for k, v in self.context.items())
        return f"{type(self).__name__}({self.message!r}{', ' if ctx else ''}{ctx})"


class InvalidInput(AtlasCaError):
    """Input that cannot be read or violates its format (exit code 2)."""

    exit_code = 2


class Refused(AtlasCaError):
    """Readable input that a rule forbids (exit code 1)."""

    exit_code = 1


class Unavailable(AtlasCaError):
    """A component of the environment is missing or failed (exit code 3)."""

    exit_code = 3


# --- subsystem bases -------------------------------------------------------------------------


class GostError(AtlasCaError):
    """Errors of :mod:`atlas_ca.gost`."""


class UnknownParameterSet(GostError, InvalidInput):
    """A GOST parameter set named by an OID or name that we do not know."""


class GostEngineUnavailable(GostError, Unavailable):
    """The requested GOST engine (native OpenSSL gost engine) cannot be loaded."""


class InvalidKey(GostError, InvalidInput):
    """A key value that is out of range, not on the curve, or badly encoded."""


class GostEngineFailure(GostError, Unavailable):
    """The loaded native GOST engine (libcrypto) failed an operation; the message quotes it."""


class HsmError(AtlasCaError):
    """Errors of :mod:`atlas_ca.hsm`; messages name the call, slot and token, never the PIN."""


class X509Error(AtlasCaError):
    """Errors of :mod:`atlas_ca.x509`."""


class DecodeError(X509Error, InvalidInput):
    """DER/PEM that cannot be decoded, or that is not what it claims to be."""


class InputTooLarge(DecodeError):
    """An input larger than the limit of its kind (:mod:`atlas_ca.limits`), refused before it
    is parsed; context: ``kind``, ``limit``, ``size`` when known, ``path`` for a file."""


class NotARegularFile(InvalidInput):
    """An input path that is a fifo, socket or device rather than a regular file; refused
    without reading it (a fifo would block, ``/dev/zero`` never ends)."""


class InvalidPublicKey(InvalidKey, DecodeError):
    """A public key from outside that is no usable point of its group: off the curve, the point
    at infinity, or (:class:`WeakPublicKey`) outside the prime-order subgroup.

    Context: ``param_set``, ``problem`` (``off-curve``, ``infinity``, ``small-order``) and, once
    an entry point has said so through :meth:`at`, ``where`` (which input carried the key).
    """

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message, **context)
        self.detail = message

    def at(self, where: str) -> InvalidPublicKey:
        """The same error naming the entry point ``where`` (the outermost caller knows best:
        "CA certificate" replaces the parser's "certificate")."""
        named = type(self)(f"{where}: {self.detail}", **{**self.context, "where": where})
        named.detail = self.detail
        return named


class WeakPublicKey(InvalidPublicKey):
    """A curve point with a component of small order (2 or 4 on the cofactor-4 GOST sets
    TC26 256 paramSetA and 512 paramSetC): signatures "by" it can be forged without a private
    key, so it is never certified, trusted or used."""


class SignatureInvalid(X509Error, Refused):
    """A signature that does not verify against the key it is checked with."""


class DomainError(Refused):
    """A domain rule (R1–R21) refuses the operation; ``rule`` names it."""

    def __init__(self, message: str, *, rule: str | None = None, **context: Any) -> None:
        super().__init__(message, rule=rule, **context)
        self.rule = rule


class InvalidIdentifier(DomainError, InvalidInput):
    """An identifier (ИНН, СНИЛС, ОГРН, ...) that fails its format or check digit."""

    exit_code = InvalidInput.exit_code  # malformed input first, whatever the MRO says

    def __init__(self, field: str, problem: str, **context: Any) -> None:
        super().__init__(f"{field}: {problem}", field=field, **context)
        self.field = field
        self.problem = problem


class StorageError(AtlasCaError):
    """Errors of the register adapters (SQLite, PostgreSQL)."""


class LintFailed(Refused):
    """Pre-issuance lint found errors; ``findings`` lists them."""


# --- HSM (atlas_ca.hsm) ----------------------------------------------------------------------
# Context fields: ``call`` (the PKCS#11 function), ``slot``, ``token`` (label), ``ckr`` (the
# CKR_* name), ``mechanism``, ``uri`` (always the masked form). Never a PIN or key bytes.


class InvalidKeyUri(HsmError, InvalidInput):
    """A key URI (RFC 7512 ``pkcs11:`` or ``file:``) that cannot be parsed or has no backend."""


class PinSourceError(HsmError, InvalidInput):
    """A ``pin-source`` that cannot be read (missing file, unset environment variable)."""


class ModuleNotFound(HsmError, Unavailable):
    """The PKCS#11 module (shared library) does not exist or cannot be loaded."""


class TokenNotFound(HsmError, Unavailable):
    """No token in the module matches the label/serial the URI names."""


class TokenUnavailable(HsmError, Unavailable):
    """The token is present but fails (device error, removed, session lost beyond repair)."""


class KeyNotFound(HsmError, InvalidInput):
    """No private key on the token (or file) matches the URI's object/id."""


class WrongKeyType(HsmError, InvalidInput):
    """The key exists but is not of the type the caller asked for, or of no type we sign with."""


class PinIncorrect(HsmError, Refused):
    """The token (or key file) rejected the PIN/password."""


class PinLocked(HsmError, Refused):
    """The user PIN is locked after too many wrong attempts; the SO must unblock it."""


class MechanismUnsupported(HsmError, Unavailable):
    """The token does not offer a mechanism (or parameter set) the key type needs."""


class Pkcs11Failure(HsmError, Unavailable):
    """Any other CKR_* error of a PKCS#11 call, with the call, slot and token named."""


# --- storage (the register of certificates) and the audit log ------------------------------


class StorageUnavailable(StorageError, Unavailable):
    """The database cannot be reached, is locked for too long, or failed mid-operation.

    The transaction in progress was rolled back: nothing of it is in the register.
    """


class StorageReadOnly(StorageUnavailable):
    """The database refused a write (read-only file, read-only transaction, revoked privilege)."""


class SchemaTooNew(StorageError, Unavailable):
    """The database was written by a newer atlas_ca: its schema version is above ours."""


class SerialCollision(StorageError, Refused):
    """The serial is already taken for this issuer (issued or voided): retry with a new serial."""


class DuplicateIdempotencyKey(StorageError, Refused):
    """The idempotency key was already used for a *different* request."""


class RecordNotFound(StorageError, InvalidInput):
    """No certificate, intent or CRL with the given issuer and number exists in the register."""


class RecordChanged(StorageError, Refused):
    """A record changed after the command read it (another command or node wrote it first);
    nothing was written: read it again and repeat the command."""


class KeyAlreadyCertified(StorageError, Refused):
    """The public key is already certified (or being certified) by this issuer; ``serial`` names
    that certificate. A verification key is certified once per issuer (63-ФЗ ст. 13)."""


class CertificateKeyMismatch(InvalidInput, ValueError):
    """A certificate paired with a key that is not its subject's key (e.g. the configured CA
    certificate and CA key name different keys). Also a ValueError, as it was before."""


class IllegalStatusTransition(StorageError, Refused):
    """A status change the certificate lifecycle forbids (resume a revoked one, revoke twice)."""


class IntentNotOpen(StorageError, Refused):
    """The issuance intent was already completed or voided."""


class CrlNumberConflict(StorageError, Refused):
    """A CRL record whose number was not allocated, is already recorded, or breaks the order."""


class AuditError(AtlasCaError):
    """Errors of :mod:`atlas_ca.audit`."""


# --- services (issuance, revocation, CRL publication) ---------------------------------------
# Context fields: ``issuer`` (key id hex), ``serial`` (40 hex digits), ``order``, ``step`` (the
# pipeline step that failed). Never a CSR's subject, a one-time code or a PIN.


class ServiceError(AtlasCaError):
    """Errors of :mod:`atlas_ca.services`."""


class CsrRejected(ServiceError, InvalidInput):
    """The certification request cannot be read, or fails its proof of possession."""


class OrderNotPaid(ServiceError, Refused):
    """R10: the order is not paid (or does not name the subscriber); nothing is issued."""


class IdempotentRequestFailed(ServiceError, Refused):
    """The first request under this idempotency key failed (its intent was voided)."""


class IssuanceInProgress(ServiceError, Unavailable):
    """Another request under this idempotency key holds an open intent; retry later."""


class IssuanceFailed(ServiceError, Unavailable):
    """Signing or the check of the signed certificate failed: the intent was voided."""


class IssuancePending(ServiceError, Unavailable):
    """The certificate was signed and kept in the outbox, but the register did not store it.

    The intent stays open; :meth:`IssuanceService.resolve_open_intents` completes it when the
    database is back. The certificate is not returned before it is in the register.
    """


class CertificateNotOwned(ServiceError, Refused):
    """A subscriber asked to change the status of a certificate that is not theirs."""


class CrlPublicationFailed(ServiceError, Unavailable):
    """The CRL could not be written to the publication directory; the old file stays."""


class CrlPartitionUnknown(ServiceError, InvalidInput):
    """A CRL partition that this CA does not have was named, or none was named where the CA
    has partitions (``CaConfig.crl_partitions``, RFC 5280 §5.2.5)."""


class ReasonNotAllowed(ServiceError, Refused):
    """A revocation reason the requester may not give (a subscriber cannot claim caCompromise)."""


# --- certificate entitlements of an order (R10) ------------------------------------------------


class EntitlementRefused(DomainError):
    """R10: the order does not entitle this person to one more certificate; context: order,
    bought, used (certificates issued and issuances in progress under the order)."""


class OrderExhausted(EntitlementRefused):
    """R10: every certificate issuance the order bought is issued or being issued, or its
    fulfilment is complete (a COMPLETED order grants nothing more)."""


class NoCertificateBought(EntitlementRefused):
    """R10: the order has no line of a certificate issuance or renewal product."""


class OrderQuotaReached(StorageError, Refused):
    """The register refused an intent: its order already has as many live (open or completed)
    intents as the quota the caller gave; context: order, live, quota."""


# --- trust: RFC 5280 path validation (atlas_ca.trust) -----------------------------------------
# Context fields: ``certificate`` (subject and serial of the certificate that failed, never
# personal data beyond what the certificate itself publishes is added), ``check`` (the failed
# check, a :class:`atlas_ca.trust.Check` value), ``position`` (0 = trust anchor ... n = target).


class PathValidationFailed(X509Error, Refused):
    """A certificate path fails RFC 5280 §6 validation; the message names the certificate and
    the check, ``context['check']`` carries the check's name."""


class NoTrustedPath(PathValidationFailed):
    """No path from the certificate to any trust anchor could be built (RFC 5280 §6.1)."""


class CertificateRevoked(PathValidationFailed):
    """A certificate of the path is revoked (or on hold) according to a CRL or OCSP response."""


class RevocationUnknown(PathValidationFailed):
    """No usable revocation information (CRL or OCSP) for a certificate that requires it."""


class AlgorithmNotAccepted(PathValidationFailed):
    """A signature algorithm the trust policy does not accept (e.g. GOST R 34.10-2001 for
    qualified use) or cannot verify."""


# --- remote renewal (R20, atlas_ca.services.renewal) ------------------------------------------
# Context fields: ``reason`` (a stable word: signature, revoked, expired, untrusted,
# another-person, data-changed, no-renewal, same-key), ``check`` (the failed path check),
# ``subscriber`` (id). Never a code, a key or unmasked personal data.


class RenewalRefused(ServiceError, Refused):
    """R20: a remote renewal request refused before anything is recorded; ``reason`` says why."""


class RenewalSignerRevoked(RenewalRefused):
    """R20: the certificate that signed the renewal request is revoked (or on hold)."""


class RenewalSignerExpired(RenewalRefused):
    """R20: the certificate that signed the renewal request is not valid now (expired)."""


class RenewalSignerUntrusted(RenewalRefused):
    """R20: the signer's certificate has no valid path to the trust store, or its revocation
    status is unknown."""


class RenewalAnotherPerson(RenewalRefused):
    """R20: the request is signed by a certificate of another person than the subscriber."""


class RenewalDataChanged(RenewalRefused):
    """R20: the subscriber's verified data differs from the signer's certificate: the person
    goes back to identity verification (R2) at a registrar."""


class RenewalNotBought(EntitlementRefused):
    """R20/R10: the order has no certificate-renewal line."""


# --- the demo --------------------------------------------------------------------------------


class DemoFailed(Refused):
    """A step of the demo, or an outside verifier, refused an artifact."""


# --- errors defined next to their subsystem, importable from here (issue 12) -----------------
# Every public error is importable from ``atlas_ca.errors``: those above are defined here; the
# ones below live next to the code that raises them (the domain's billing and identity rules,
# profiles, X.509, status, trust) and are re-exported here, loaded on first use so that this
# module imports nothing of the package (every module imports it). Inside atlas_ca, import
# them from their own module. tests/test_errors.py walks the package: an AtlasCaError
# subclass that is neither defined nor listed here fails it.

_ELSEWHERE: dict[str, str] = {
    "AccountError": "atlas_ca.domain.account",
    "DuplicateEntry": "atlas_ca.domain.account",
    "InsufficientBalance": "atlas_ca.domain.account",
    "AuthorityRefused": "atlas_ca.domain.authorities",
    "RegistryUnavailable": "atlas_ca.domain.identity_ports",
    "BillingError": "atlas_ca.domain.money",
    "InvalidBillingInput": "atlas_ca.domain.money",
    "InvalidMoney": "atlas_ca.domain.money",
    "CustomerNotRegistered": "atlas_ca.domain.orders",
    "IllegalTransition": "atlas_ca.domain.orders",
    "InvalidOrder": "atlas_ca.domain.orders",
    "OrderError": "atlas_ca.domain.orders",
    "OtpRefused": "atlas_ca.domain.otp",
    "ConflictingNotification": "atlas_ca.domain.payments",
    "InvalidInvoice": "atlas_ca.domain.payments",
    "PaymentError": "atlas_ca.domain.payments",
    "InvalidClaimDecision": "atlas_ca.domain.refunds",
    "RefundRefused": "atlas_ca.domain.refunds",
    "RegistrarRefused": "atlas_ca.domain.registrars",
    "PaymentRefused": "atlas_ca.domain.sellers",
    "UnknownSeller": "atlas_ca.domain.sellers",
    "NotVerified": "atlas_ca.domain.subscribers",
    "InvalidTariffData": "atlas_ca.domain.tariffs",
    "TariffError": "atlas_ca.domain.tariffs",
    "VerificationRefused": "atlas_ca.domain.verification",
    "CalendarError": "atlas_ca.domain.workdays",
    "UnknownProfile": "atlas_ca.profiles",
    "ConfigError": "atlas_ca.profiles.config",
    "ProfileViolation": "atlas_ca.profiles.planning",
    "AttestationInvalid": "atlas_ca.services.attestation",
    "AttestationRefused": "atlas_ca.services.attestation",
    "FileExists": "atlas_ca.services.files",
    "OcspRequestRejected": "atlas_ca.status.ocsp",
    "TimeStampRejected": "atlas_ca.status.tsp",
    "SignedRequestInvalid": "atlas_ca.trust.cms",
    "ValidityBeyondIssuer": "atlas_ca.x509.certificate",
    "CrlIssuerMismatch": "atlas_ca.x509.crl",
    "UnsupportedCrlFeature": "atlas_ca.x509.crl",
    "CertificateInvalid": "atlas_ca.x509.verify",
}

if TYPE_CHECKING:
    from atlas_ca.domain.account import AccountError as AccountError
    from atlas_ca.domain.account import DuplicateEntry as DuplicateEntry
    from atlas_ca.domain.account import InsufficientBalance as InsufficientBalance
    from atlas_ca.domain.authorities import AuthorityRefused as AuthorityRefused
    from atlas_ca.domain.identity_ports import RegistryUnavailable as RegistryUnavailable
    from atlas_ca.domain.money import BillingError as BillingError
    from atlas_ca.domain.money import InvalidBillingInput as InvalidBillingInput
    from atlas_ca.domain.money import InvalidMoney as InvalidMoney
    from atlas_ca.domain.orders import CustomerNotRegistered as CustomerNotRegistered
    from atlas_ca.domain.orders import IllegalTransition as IllegalTransition
    from atlas_ca.domain.orders import InvalidOrder as InvalidOrder
    from atlas_ca.domain.orders import OrderError as OrderError
    from atlas_ca.domain.otp import OtpRefused as OtpRefused
    from atlas_ca.domain.payments import ConflictingNotification as ConflictingNotification
    from atlas_ca.domain.payments import InvalidInvoice as InvalidInvoice
    from atlas_ca.domain.payments import PaymentError as PaymentError
    from atlas_ca.domain.refunds import InvalidClaimDecision as InvalidClaimDecision
    from atlas_ca.domain.refunds import RefundRefused as RefundRefused
    from atlas_ca.domain.registrars import RegistrarRefused as RegistrarRefused
    from atlas_ca.domain.sellers import PaymentRefused as PaymentRefused
    from atlas_ca.domain.sellers import UnknownSeller as UnknownSeller
    from atlas_ca.domain.subscribers import NotVerified as NotVerified
    from atlas_ca.domain.tariffs import InvalidTariffData as InvalidTariffData
    from atlas_ca.domain.tariffs import TariffError as TariffError
    from atlas_ca.domain.verification import VerificationRefused as VerificationRefused
    from atlas_ca.domain.workdays import CalendarError as CalendarError
    from atlas_ca.profiles import UnknownProfile as UnknownProfile
    from atlas_ca.profiles.config import ConfigError as ConfigError
    from atlas_ca.profiles.planning import ProfileViolation as ProfileViolation
    from atlas_ca.services.attestation import AttestationInvalid as AttestationInvalid
    from atlas_ca.services.attestation import AttestationRefused as AttestationRefused
    from atlas_ca.services.files import FileExists as FileExists
    from atlas_ca.status.ocsp import OcspRequestRejected as OcspRequestRejected
    from atlas_ca.status.tsp import TimeStampRejected as TimeStampRejected
    from atlas_ca.trust.cms import SignedRequestInvalid as SignedRequestInvalid
    from atlas_ca.x509.certificate import ValidityBeyondIssuer as ValidityBeyondIssuer
    from atlas_ca.x509.crl import CrlIssuerMismatch as CrlIssuerMismatch
    from atlas_ca.x509.crl import UnsupportedCrlFeature as UnsupportedCrlFeature
    from atlas_ca.x509.verify import CertificateInvalid as CertificateInvalid


def __getattr__(name: str) -> type[AtlasCaError]:
    """The errors defined next to their subsystem, loaded on first use (PEP 562)."""
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: type[AtlasCaError] = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ELSEWHERE})
