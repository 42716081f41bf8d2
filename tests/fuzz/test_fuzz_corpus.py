"""Issue 15 item 6: mutants of real objects reach every library parser; only our errors escape.

The fuzzer runs in a subprocess (:mod:`fuzz_worker`) whose address space is capped at what it
needs after building the corpus plus 512 MB, with an alarm of 10 s per input: an input that
makes a parser allocate or run away is a failure, not a hung or swapped machine. About 10,000
random mutants plus the systematic ones (every TLV of a qualified certificate, a request and a
CRL) run in well under the suite's few minutes. ``ATLAS_CA_FUZZ_SEED`` / ``ATLAS_CA_FUZZ_COUNT``
choose another seed or a longer run (the default seed is fixed, so a CI failure reproduces).
Before the fix this run reported hundreds of failures (multi-line messages, RecursionError from
deep nesting, ValueError from formatting a huge INTEGER).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).resolve().parents[1] / "support" / "fuzz_worker.py"


def test_mutants_of_real_objects_raise_only_our_errors_within_bounds() -> None:
    seed = os.environ.get("ATLAS_CA_FUZZ_SEED", "20261203")
    count = os.environ.get("ATLAS_CA_FUZZ_COUNT", "300")
    proc = subprocess.run(
        [sys.executable, str(WORKER), seed, count, "cert-individual", "csr", "crl"],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    failures = result["failures"]
    assert failures == [], f"{len(failures)} failures, first: " + "\n".join(failures[:20])
    # The corpus holds each kind of object, and the run is not trivially small.
    corpus = set(result["corpus"])
    assert {"cert-ca", "cert-entrepreneur-512", "csr", "crl", "attestation"} <= corpus
    assert any(name.startswith("foreign-") for name in corpus)
    assert result["checked"] > 10_000
