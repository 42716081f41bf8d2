"""A SQLite-only library user needs neither psycopg nor click (issue 12): in a fresh interpreter
where importing either raises ImportError, ``import atlas_ca``, the storage package, the
services' record-store port and challenge store work, and a SQLite register and record store
open, write and read. psycopg is imported by the PostgreSQL adapter only, and only when a
PostgreSQL location is opened."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import sys

    BLOCKED = ("psycopg", "psycopg_binary", "psycopg_c", "psycopg_pool", "click")

    class Blocker:
        '''A finder that refuses the modules a SQLite-only user has not installed.'''

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is not installed (blocked by the test)")
            return None

    sys.meta_path.insert(0, Blocker())

    import datetime as dt
    from types import SimpleNamespace
    import random
    from pathlib import Path

    import atlas_ca
    from atlas_ca.errors import StorageUnavailable
    from atlas_ca.domain.ids import SubscriberId
    from atlas_ca.domain.otp import Operation, OtpChallenge, bind, create_challenge
    from atlas_ca.services.record_challenges import RecordChallengeStore
    from atlas_ca.storage import RecordKind, open_record_store, open_register
    from atlas_ca.storage.ports import get_record

    T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    where = Path(sys.argv[1]) / "register.sqlite"
    register = open_register(where, opened_at=T0)
    records = open_record_store(f"sqlite://{where}", opened_at=T0)
    challenge, _code = create_challenge(
        SubscriberId("sub-1"),
        bind(Operation.ISSUE_CERTIFICATE, {"x": "1"}),
        now=T0,
        random_bytes=random.Random(3).randbytes,
    )
    RecordChallengeStore(records, clock=SimpleNamespace(now=lambda: T0)).save(challenge)
    back = get_record(records, RecordKind.CHALLENGE, challenge.id.value, OtpChallenge)
    assert back == challenge, back
    assert records.keys(RecordKind.CHALLENGE) == [challenge.id.value]
    version = register.schema_version
    records.close()
    register.close()
    try:
        open_record_store("postgresql://nobody@127.0.0.1:1/none", opened_at=T0)
    except StorageUnavailable as exc:
        assert "pip install 'atlas-ca[postgres]'" in str(exc), exc
        assert isinstance(exc.__cause__, ImportError), exc.__cause__
    else:
        raise AssertionError("a PostgreSQL location opened without psycopg")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(f"OK version={version} loaded={loaded} atlas_ca={atlas_ca.__version__}")
    """
)


def test_sqlite_register_and_records_work_without_psycopg_and_click(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK version="), proc.stdout
    assert "loaded=[]" in proc.stdout  # neither psycopg nor click got into the interpreter
    assert (tmp_path / "register.sqlite").stat().st_size > 0


def test_the_blocker_would_catch_an_eager_import(tmp_path: Path) -> None:
    """The finder of the script above does refuse psycopg (so the test above can fail)."""
    eager = _SCRIPT.split("import datetime as dt", 1)[0] + "import atlas_ca.storage.postgres\n"
    proc = subprocess.run(
        [sys.executable, "-c", eager], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode != 0
    assert "psycopg is not installed (blocked by the test)" in proc.stderr
