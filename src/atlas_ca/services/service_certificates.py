"""The CA's own service certificates: the OCSP responder's and the TSA's (issue 13).

They are issued the way every certificate of the CA is: the serial and TBS digest recorded in
the register first (record before sign), then signed by the CA key and verified, then kept in the
register as an issued certificate of profile ``ocsp``/``tsa`` held by subscriber
``service:<kind>`` — so it is listed, can be revoked, and OCSP and the CRL answer for it. A
renewal on the same key is a new certificate (the one-key-one-certificate check is for
subscribers). A signature failure voids the intent.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable

from atlas_ca.audit import Actor
from atlas_ca.domain.ids import SubscriberId
from atlas_ca.gost import streebog256
from atlas_ca.profiles.planning import (
    Organisation,
    plan_ocsp_certificate,
    plan_tsa_certificate,
    prepare_tbs,
)
from atlas_ca.services.ca import CertificateAuthority
from atlas_ca.storage.ports import IssuedCertificate, NewIntent, ProfileName, Register
from atlas_ca.x509.certificate import Certificate, random_serial
from atlas_ca.x509.extensions import SubjectKeyIdentifier, key_identifier

#: Backdating of notBefore, so a relying party's clock a little behind ours accepts it.
BACKDATE = dt.timedelta(minutes=1)


class ServiceKind(enum.Enum):
    """Which status service a certificate is for; the value is its profile's name."""

    OCSP = "ocsp"
    TSA = "tsa"


def issue_service_certificate(
    register: Register,
    ca: CertificateAuthority,
    kind: ServiceKind,
    organisation: Organisation,
    public_key_info: bytes,
    *,
    actor: Actor,
    now: Callable[[], dt.datetime],
    serial: Callable[[], int] = random_serial,
) -> Certificate:
    """Plan (``ocsp`` or ``tsa`` profile, naming ``organisation``), record, sign, verify and keep
    the certificate of the service key (its DER SubjectPublicKeyInfo); returns it."""
    plan_fn = plan_ocsp_certificate if kind is ServiceKind.OCSP else plan_tsa_certificate
    not_before = now().replace(microsecond=0) - BACKDATE
    plan = plan_fn(organisation, public_key_info, ca.config, ca.key, not_before=not_before)
    number = serial()
    prepared = prepare_tbs(
        plan, serial=number, algorithm=ca.key.signature_algorithm, issuer=ca.certificate
    )
    subscriber = SubscriberId(f"service:{kind.value}")
    profile = ProfileName(plan.profile.name)
    register.record_intent(
        NewIntent(ca.issuer_id, number, streebog256(prepared.tbs.der), subscriber, profile, now()),
        actor=actor,
    )
    try:
        cert = prepared.tbs.sign(ca.key)
        cert.verify_signed_by(ca.certificate.public_key_info)
    except Exception:
        register.void_intent(ca.issuer_id, number, at=now(), actor=actor)
        raise
    ski = cert.extensions.get(SubjectKeyIdentifier)
    register.complete_intent(
        IssuedCertificate(
            issuer=ca.issuer_id,
            serial=number,
            der=cert.der,
            subject_key_id=ski.digest if ski is not None else key_identifier(cert.public_key_info),
            subscriber=subscriber,
            profile=profile,
            not_before=cert.not_before,
            not_after=cert.not_after,
            issued_at=now(),
        ),
        actor=actor,
    )
    return cert


__all__ = ["BACKDATE", "ServiceKind", "issue_service_certificate"]
