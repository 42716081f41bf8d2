"""The services' :class:`~atlas_ca.services.ports.ChallengeStore` on the record store, so a
one-time code sent by one command (one process) is checked by the next (R7)."""

from __future__ import annotations

from collections.abc import Callable

from atlas_ca.domain.ids import ChallengeId
from atlas_ca.domain.otp import OtpChallenge, OtpVerification
from atlas_ca.errors import RecordChanged, StorageUnavailable
from atlas_ca.services.ports import Clock
from atlas_ca.storage.ports import RecordKind, RecordStore, get_record


class RecordChallengeStore:
    """The issuance and revocation services' :class:`~atlas_ca.services.ports.ChallengeStore`
    on a :class:`RecordStore`, so a code sent by one command is checked by the next.

    :meth:`present` is a compare-and-swap on the challenge's document (R7): the new state is
    written with ``put_all(unchanged=[what was read])``, so of two processes that read the
    same challenge only the first write goes through; the other re-reads and checks its code
    against what the first wrote (spent, or one attempt more). A challenge is written at most
    ``max_attempts + 1`` times in its life (each wrong attempt, then the use; a used, expired
    or dead one is never written), so a presentation loses the race at most that often.

    Each write is stamped with ``clock.now()`` at the moment of writing (not the store's
    creation time): one store serves a long-lived service's every request.
    """

    def __init__(self, store: RecordStore, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def get(self, challenge_id: ChallengeId) -> OtpChallenge:
        return get_record(self._store, RecordKind.CHALLENGE, challenge_id.value, OtpChallenge)

    def save(self, challenge: OtpChallenge) -> None:
        self._store.put(RecordKind.CHALLENGE, challenge.id.value, challenge, at=self._clock.now())

    def present(
        self, challenge_id: ChallengeId, check: Callable[[OtpChallenge], OtpVerification]
    ) -> OtpVerification:
        """Read the challenge, ``check`` the code, write the outcome only if nobody wrote the
        challenge in between; otherwise start again from what the other writer stored."""
        key = challenge_id.value
        lost = 0
        while True:
            read = self.get(challenge_id)
            checked = check(read)
            if checked.challenge == read:  # used, expired or dead: nothing to count
                return checked
            try:
                self._store.put_all(
                    [(RecordKind.CHALLENGE, key, checked.challenge)],
                    at=self._clock.now(),
                    unchanged=[(RecordKind.CHALLENGE, key, read)],
                )
            except RecordChanged:
                lost += 1
                if lost > read.max_attempts + 1:  # more writes than a challenge can have
                    raise StorageUnavailable(
                        f"the one-time-code challenge {key!r} kept changing while it was "
                        "checked; nothing was accepted",
                        challenge=key,
                    ) from None
                continue
            return checked


__all__ = ["RecordChallengeStore"]
