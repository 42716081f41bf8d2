"""Test support: fixtures' builders, sample data, spawned-process entry points and
outside-tool wrappers shared by the test suite. Imported one way only:
``from support.<module> import ...`` (``tests/`` is on pytest's pythonpath)."""
