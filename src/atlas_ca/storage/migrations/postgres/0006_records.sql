-- Version 6: the identity and commercial records (subscribers, registrars, authorities,
-- orders, personal accounts, one-time-code challenges, refund decisions) as canonical JSON,
-- one row per (kind, key); atlas_ca.storage.records reads and writes them. The document is
-- TEXT, not jsonb: jsonb reorders keys and would lose the canonical bytes that
-- put_all(unchanged=...) compares. Before this version the record store created the table
-- itself on open: IF NOT EXISTS keeps such a database's rows (the same columns).
CREATE TABLE IF NOT EXISTS atlas_records (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    document   TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, key)
);

-- Keys in byte order, as in SQLite (RecordStore.keys): the "C" collation on the column, so
-- ORDER BY key needs no dialect-specific COLLATE and the primary key's index serves it. The
-- default collation of a database is deterministic, so equality (the primary key) is the same.
ALTER TABLE atlas_records ALTER COLUMN key TYPE TEXT COLLATE "C";
