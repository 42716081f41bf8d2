"""Fixtures of tests/app: defined in :mod:`support.app_env`, made visible here."""

from support.app_env import desk, pg_dsn, pki  # noqa: F401
