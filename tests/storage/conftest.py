"""Register fixtures (see registers.py): ``store`` / ``register`` run each test on SQLite and on
PostgreSQL (``ATLAS_CA_TEST_PG_DSN``; skipped locally without it, a failure when CI=true)."""

from support.registers import pg_server, register, store  # noqa: F401
