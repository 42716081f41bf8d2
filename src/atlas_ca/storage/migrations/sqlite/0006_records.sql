-- Version 6: the identity and commercial records (subscribers, registrars, authorities,
-- orders, personal accounts, one-time-code challenges, refund decisions) as canonical JSON,
-- one row per (kind, key); atlas_ca.storage.records reads and writes them. Before this version
-- the record store created the table itself on open: IF NOT EXISTS keeps such a database's
-- rows (the same columns; updated_at was ISO text then, UTC text now, and is never read back).
CREATE TABLE IF NOT EXISTS atlas_records (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    document   TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
