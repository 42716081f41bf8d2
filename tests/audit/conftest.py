"""The audit tests reuse the register fixtures of tests/storage."""

from support.registers import pg_server, register, store  # noqa: F401
