"""The certificate lifecycle as a pure function: which status changes are allowed.

    VALID ──suspend──▶ SUSPENDED ──resume──▶ VALID
    VALID ──revoke───▶ REVOKED   ◀──revoke── SUSPENDED

REVOKED is final (RFC 5280 §5.3.1: only certificateHold may be undone). Suspension is
``certificateHold``; revoking with reason certificateHold or removeFromCRL is refused — use
:func:`suspend` / :func:`resume`.
"""

from __future__ import annotations

import enum

from atlas_ca.errors import IllegalStatusTransition
from atlas_ca.storage.ports import CertificateStatus, RevocationReason


class StatusAction(enum.Enum):
    REVOKE = "revoke"
    SUSPEND = "suspend"
    RESUME = "resume"


_ALLOWED: dict[tuple[CertificateStatus, StatusAction], CertificateStatus] = {
    (CertificateStatus.VALID, StatusAction.SUSPEND): CertificateStatus.SUSPENDED,
    (CertificateStatus.VALID, StatusAction.REVOKE): CertificateStatus.REVOKED,
    (CertificateStatus.SUSPENDED, StatusAction.RESUME): CertificateStatus.VALID,
    (CertificateStatus.SUSPENDED, StatusAction.REVOKE): CertificateStatus.REVOKED,
}


def next_status(
    current: CertificateStatus,
    action: StatusAction,
    reason: RevocationReason | None = None,
    **context: object,
) -> CertificateStatus:
    """The status after ``action``, or IllegalStatusTransition."""
    if action is StatusAction.REVOKE and reason in (
        RevocationReason.CERTIFICATE_HOLD,
        RevocationReason.REMOVE_FROM_CRL,
    ):
        raise IllegalStatusTransition(
            f"revocation reason {reason.name} is not a revocation: use suspend/resume",
            action=action.value,
            status=current.value,
            **context,
        )
    try:
        return _ALLOWED[(current, action)]
    except KeyError:
        raise IllegalStatusTransition(
            f"cannot {action.value} a certificate that is {current.value}",
            action=action.value,
            status=current.value,
            **context,
        ) from None
