-- Version 2: the hash-chained audit log (Streebog-256), its head and signed checkpoints.
-- UPDATE and DELETE of events are refused by a trigger: the log is append-only.

CREATE TABLE audit_events (
    seq       BIGINT PRIMARY KEY CHECK (seq > 0),
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    objects   TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_checkpoints (
    seq                 BIGINT PRIMARY KEY,
    chain_hash          BYTEA NOT NULL,
    at                  TIMESTAMPTZ NOT NULL,
    key_id              TEXT NOT NULL,
    public_key_info     BYTEA NOT NULL,
    signature_algorithm TEXT NOT NULL,
    signature           BYTEA NOT NULL
);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
