"""Process entry points of the one-time-code race tests (spawned: an importable module, not a
test file). Every process opens its own register and record store on the shared location and
builds the shared world (CA, subscriber, order) from the shared directory; the test has stored
the challenge and hands every process the same CSR and code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atlas_ca.domain.ids import ChallengeId
from atlas_ca.domain.otp import OtpRefused
from atlas_ca.services.issuance import IssuanceRequest, OtpConfirmation, PreparedIssuance
from atlas_ca.services.record_challenges import RecordChallengeStore
from atlas_ca.storage.ports import RecordStore
from atlas_ca.storage.postgres import PostgresRecordStore
from atlas_ca.storage.sqlite import SqliteRecordStore
from support.issuance_env import SIGN_TOOL, T0, make_world, registers

Result = dict[str, Any]


def record_store(kind: str, location: str) -> RecordStore:
    """The record store next to the test's register (a SQLite path or a key=value DSN)."""
    if kind == "sqlite":
        return SqliteRecordStore(location, opened_at=T0)
    return PostgresRecordStore(location, opened_at=T0)


def present_code(
    kind: str,
    location: str,
    base: str,
    csr: bytes,
    challenge: str,
    code: str,
    barrier: Any,
    issue: bool,
) -> Result:
    """Present ``code`` for ``challenge`` through the issuance service: only *confirm*
    (``issue`` False) or the whole pipeline. Every process waits at ``barrier`` right before
    the code is checked, so all of them present it at once."""

    def wait_before_the_code(step: str) -> None:
        if step == "lint":
            barrier.wait(120)

    reg = registers.Store(kind, location).open()
    records = record_store(kind, location)
    try:
        world = make_world(reg, Path(base))
        service = world.service(
            challenges=RecordChallengeStore(records, clock=world.clock),
            on_step=wait_before_the_code,
        )
        request = IssuanceRequest(
            csr=csr,
            subscriber=world.subscriber,
            order=world.order,
            profile="individual",
            subject_sign_tool=SIGN_TOOL,
            confirmation=OtpConfirmation(ChallengeId(challenge), code),
        )
        try:
            if issue:
                return {"serial": service.issue(request).certificate.serial_number}
            prepared = service.prepare(request, at=world.clock.now())
            assert isinstance(prepared, PreparedIssuance)
            wait_before_the_code("lint")
            service.confirm(prepared)
            return {"accepted": True}
        except OtpRefused as exc:
            return {"refused": exc.context["outcome"]}
    finally:
        records.close()
        reg.close()
