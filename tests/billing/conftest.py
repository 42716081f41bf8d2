"""Fixtures of tests/billing: defined in :mod:`support.billing_env`, made visible here."""

from support.billing_env import desk, pg_database  # noqa: F401
