-- Register of certificates, version 1: intents, certificates, status history, CRL numbers,
-- published CRLs, idempotency keys. Times are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ';
-- serials are 40 lower-case hex digits (text order = numeric order).

CREATE TABLE issuance_intents (
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    tbs_digest  BLOB NOT NULL,
    subscriber  TEXT NOT NULL,
    order_id    TEXT,
    profile     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'completed', 'voided')),
    created_at  TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (issuer, serial)
) WITHOUT ROWID;

CREATE INDEX issuance_intents_open ON issuance_intents (issuer, serial) WHERE state = 'open';

CREATE TABLE certificates (
    issuer            TEXT NOT NULL,
    serial            TEXT NOT NULL,
    der               BLOB NOT NULL,
    subject_key_id    BLOB NOT NULL,
    subscriber        TEXT NOT NULL,
    order_id          TEXT,
    profile           TEXT NOT NULL,
    not_before        TEXT NOT NULL,
    not_after         TEXT NOT NULL,
    issued_at         TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    status_changed_at TEXT NOT NULL,
    reason            INTEGER,
    revocation_date   TEXT,
    invalidity_date   TEXT,
    last_change       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issuer, serial),
    FOREIGN KEY (issuer, serial) REFERENCES issuance_intents (issuer, serial)
);

CREATE INDEX certificates_listed ON certificates (issuer, serial) WHERE status <> 'valid';
CREATE INDEX certificates_changes ON certificates (issuer, last_change) WHERE last_change > 0;
CREATE INDEX certificates_subscriber ON certificates (subscriber);

CREATE TABLE issuer_changes (
    issuer      TEXT PRIMARY KEY,
    last_change INTEGER NOT NULL CHECK (last_change > 0)
);

CREATE TABLE status_history (
    issuer          TEXT NOT NULL,
    change_no       INTEGER NOT NULL,
    serial          TEXT NOT NULL,
    old_status      TEXT NOT NULL,
    new_status      TEXT NOT NULL,
    reason          INTEGER,
    revocation_date TEXT,
    invalidity_date TEXT,
    changed_at      TEXT NOT NULL,
    actor           TEXT NOT NULL,
    PRIMARY KEY (issuer, change_no),
    FOREIGN KEY (issuer, serial) REFERENCES certificates (issuer, serial)
);

CREATE INDEX status_history_serial ON status_history (issuer, serial, change_no);

CREATE TABLE crl_numbers (
    issuer      TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number > 0)
);

CREATE TABLE crls (
    issuer      TEXT NOT NULL,
    number      INTEGER NOT NULL CHECK (number > 0),
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    base_number INTEGER CHECK (base_number IS NULL OR base_number < number),
    change_mark INTEGER NOT NULL CHECK (change_mark >= 0),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (issuer, number)
);

CREATE TABLE idempotency_keys (
    key            TEXT PRIMARY KEY,
    request_digest BLOB NOT NULL,
    issuer         TEXT NOT NULL,
    serial         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    FOREIGN KEY (issuer, serial) REFERENCES issuance_intents (issuer, serial)
);
