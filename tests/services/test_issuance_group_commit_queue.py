"""The group-commit queue itself (``atlas_ca.services.group_commit``), with plain threads and a
flush that records what it was given: batching only while a flush runs, each caller its own
result, a failed flush failing every member with an error of its own."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from atlas_ca.errors import AtlasCaError, SerialCollision, StorageUnavailable
from atlas_ca.services.group_commit import GroupCommit


def _failed(exc: BaseException, item: int, members: int) -> BaseException:
    if members == 1:
        return exc
    return StorageUnavailable(f"batch of {members} failed at item {item}: {exc}")


def test_a_lone_caller_is_written_alone_and_gets_its_own_value() -> None:
    seen: list[list[int]] = []

    def flush(items: Sequence[int]) -> list[int | AtlasCaError]:
        seen.append(list(items))
        return [i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(flush, _failed)
    assert [commit.submit(i) for i in (1, 2, 3)] == [10, 20, 30]
    assert seen == [[1], [2], [3]]
    assert commit.stats.largest == 1


def test_callers_arriving_during_a_flush_share_the_next_one_each_with_its_own_result() -> None:
    release = threading.Event()
    seen: list[list[int]] = []

    def flush(items: Sequence[int]) -> list[int | AtlasCaError]:
        seen.append(list(items))
        if len(seen) == 1:
            release.wait(30)  # the first flush is slow: the others queue meanwhile
        return [SerialCollision("refused", item=i) if i == 3 else i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(flush, _failed)
    results: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            results[i] = commit.submit(i)
        except AtlasCaError as exc:
            results[i] = exc

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not seen:
        threading.Event().wait(0.001)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, 6)]
    for t in others:
        t.start()
    while commit.waiting < 5:
        threading.Event().wait(0.001)
    release.set()
    for t in [first, *others]:
        t.join(30)

    assert seen[0] == [0]
    assert sorted(seen[1]) == [1, 2, 3, 4, 5]  # one flush for everyone who waited
    assert {i: results[i] for i in (0, 1, 2, 4, 5)} == {0: 0, 1: 10, 2: 20, 4: 40, 5: 50}
    assert isinstance(results[3], SerialCollision)  # a refused member: its own error only
    assert commit.stats.flushes == 2
    assert commit.stats.largest == 5


def test_a_failed_flush_fails_every_member_with_an_error_of_its_own() -> None:
    release = threading.Event()
    calls = [0]

    def flush(items: Sequence[int]) -> list[int | AtlasCaError]:
        calls[0] += 1
        if calls[0] == 1:
            release.wait(30)
            return [0]
        raise OSError("disk gone")

    commit: GroupCommit[int, int] = GroupCommit(flush, _failed)
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            commit.submit(i)
        except BaseException as exc:  # the test inspects it
            errors.append(exc)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while calls[0] == 0:
        threading.Event().wait(0.001)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, 4)]
    for t in others:
        t.start()
    while commit.waiting < 3:
        threading.Event().wait(0.001)
    release.set()
    for t in [first, *others]:
        t.join(30)

    assert len(errors) == 3
    assert all(isinstance(e, StorageUnavailable) for e in errors)
    assert all("batch of 3 failed" in str(e) for e in errors)
    assert len({id(e) for e in errors}) == 3
    assert all(isinstance(e.__cause__, OSError) for e in errors)


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        GroupCommit(lambda items: list(items), _failed, max_batch=0)
