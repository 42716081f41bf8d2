"""Group commit: concurrent callers' durable writes share one transaction (issue 17).

Each caller :meth:`GroupCommit.submit`\\ s one item and blocks until that item is durable (or
refused). Whoever finds no write in progress becomes the *leader*: it takes every item queued so
far (up to ``max_batch``), writes them with one call of ``flush`` — one transaction, one fsync —
and hands each waiting caller its own result. Items that arrive while a flush runs queue up and
go together in the next one, so batches grow exactly when the database is the bottleneck and a
lone caller pays no delay at all (a batch of one is written as before). No timer, no thread of
its own: the leader is one of the callers.

The contract of ``flush(items)``: return one result per item, in order — the item's value, or
the :class:`~atlas_ca.errors.AtlasCaError` that refused that item alone (nothing of it written);
or raise, which means nothing of the batch was written. Then every member fails with an error
made by ``failed(exc, item, n)`` (a fresh exception per caller, chained to the cause, when
``n`` > 1; a lone caller may get ``exc`` itself), so no caller believes an item durable that
is not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from atlas_ca.errors import AtlasCaError

I = TypeVar("I")  # noqa: E741 — the item type
R = TypeVar("R")

DEFAULT_MAX_BATCH = 64


@dataclass(eq=False, slots=True)
class _Slot(Generic[I, R]):
    item: I
    done: bool = False
    value: R | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class BatchStats:
    """How the writes were grouped so far (for benches and tests)."""

    flushes: int
    items: int
    largest: int


@dataclass(eq=False)
class GroupCommit(Generic[I, R]):
    """One durable write shared by the callers waiting at the same time (module docstring)."""

    flush: Callable[[Sequence[I]], Sequence[R | AtlasCaError]]
    failed: Callable[[BaseException, I, int], BaseException]
    max_batch: int = DEFAULT_MAX_BATCH
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _queue: list[_Slot[I, R]] = field(default_factory=list, repr=False)
    _busy: bool = False
    _flushes: int = 0
    _items: int = 0
    _largest: int = 0

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")

    @property
    def stats(self) -> BatchStats:
        with self._cond:
            return BatchStats(self._flushes, self._items, self._largest)

    @property
    def waiting(self) -> int:
        """Items queued for the next flush (not yet taken by a leader)."""
        with self._cond:
            return len(self._queue)

    def submit(self, item: I) -> R:
        """Block until ``item`` is written with others; its value, or its own error raised."""
        slot: _Slot[I, R] = _Slot(item)
        with self._cond:
            self._queue.append(slot)
        while True:
            with self._cond:
                while not slot.done and self._busy:
                    self._cond.wait()
                if slot.done:
                    break
                self._busy = True  # this caller leads: it writes what is queued now
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            self._lead(batch)
        if slot.error is not None:
            raise slot.error
        return slot.value  # type: ignore[return-value]

    def _lead(self, batch: list[_Slot[I, R]]) -> None:
        try:
            try:
                results = list(self.flush([s.item for s in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"group commit: {len(results)} results for {len(batch)} items"
                    )
            except BaseException as exc:  # every member must hear of it
                for s in batch:
                    err = self.failed(exc, s.item, len(batch))
                    if err is not exc and err.__cause__ is None:
                        err.__cause__ = exc
                    s.error = err
            else:
                for s, r in zip(batch, results, strict=True):
                    if isinstance(r, BaseException):
                        s.error = r
                    else:
                        s.value = r
        finally:
            with self._cond:
                for s in batch:
                    s.done = True
                self._busy = False
                self._flushes += 1
                self._items += len(batch)
                self._largest = max(self._largest, len(batch))
                self._cond.notify_all()


__all__ = ["DEFAULT_MAX_BATCH", "BatchStats", "GroupCommit"]
