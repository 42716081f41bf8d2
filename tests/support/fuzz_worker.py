"""Run the mutation fuzzer in this process, under a memory and a time bound per input.

``python fuzz_worker.py SEED COUNT [SYSTEMATIC...]`` builds the corpus, feeds ``COUNT`` random
mutants of each corpus entry (generator seeded with ``SEED``) to the entry's targets, then the
systematic mutants (every TLV) of the entries named after COUNT, and prints one JSON object:
the number of inputs checked and the failures. The address space is capped (``RLIMIT_AS``) at
what the process uses after building the corpus plus :data:`MEMORY_PER_INPUT`, so an input that
makes a parser allocate more fails with ``MemoryError`` (reported as a failure); a per-input
alarm of :data:`SECONDS_PER_INPUT` turns a parser that runs away into a failure too.
"""

from __future__ import annotations

import json
import random
import resource
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `support`

from support.fuzz_support import (
    TARGETS,
    Failure,
    build_corpus,
    check,
    mutations,
    systematic,
    targets_for,
)

MEMORY_PER_INPUT = 512 * 1024 * 1024
SECONDS_PER_INPUT = 10


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _check(target: str, data: bytes) -> str | None:
    signal.alarm(SECONDS_PER_INPUT)
    try:
        return check(target, data)
    except _Timeout:
        return f"took more than {SECONDS_PER_INPUT} s"
    except MemoryError:
        return f"needed more than {MEMORY_PER_INPUT >> 20} MB"
    finally:
        signal.alarm(0)


def main(seed: int, count: int, exhaustive: tuple[str, ...] = ()) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = build_corpus(Path(tmp))
    # Every seed object is accepted as it is: the mutants start from real, valid objects.
    for name, data in corpus.items():
        for target in targets_for(name):
            try:
                TARGETS[target](data)
            except Exception as exc:
                return {"checked": 0, "failures": [f"seed {name} fails {target}: {exc!r}"]}
    limit = _vm_size() + MEMORY_PER_INPUT
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    rng = random.Random(seed)
    pool = [d for d in corpus.values() if not d.startswith(b"-----")]
    failures: list[str] = []
    checked = 0
    for name, data in corpus.items():
        stream = mutations(data, rng, pool)
        for _ in range(count):
            what, mutant = next(stream)
            for target in targets_for(name):
                problem = _check(target, mutant)
                checked += 1
                if problem is not None:
                    failures.append(str(Failure(target, name, what, problem)))
    for name in exhaustive:
        for what, mutant in systematic(corpus[name]):
            for target in targets_for(name):
                problem = _check(target, mutant)
                checked += 1
                if problem is not None:
                    failures.append(str(Failure(target, name, what, problem)))
    return {"checked": checked, "failures": failures, "corpus": sorted(corpus)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), tuple(sys.argv[3:]))))
