-- Register of certificates, version 1: intents, certificates, status history, CRL numbers,
-- published CRLs, idempotency keys. Serials are 40 lower-case hex digits.

CREATE TABLE issuance_intents (
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    tbs_digest  BYTEA NOT NULL,
    subscriber  TEXT NOT NULL,
    order_id    TEXT,
    profile     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'completed', 'voided')),
    created_at  TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    PRIMARY KEY (issuer, serial)
);

CREATE INDEX issuance_intents_open ON issuance_intents (issuer, serial) WHERE state = 'open';

CREATE TABLE certificates (
    issuer            TEXT NOT NULL,
    serial            TEXT NOT NULL,
    der               BYTEA NOT NULL,
    subject_key_id    BYTEA NOT NULL,
    subscriber        TEXT NOT NULL,
    order_id          TEXT,
    profile           TEXT NOT NULL,
    not_before        TIMESTAMPTZ NOT NULL,
    not_after         TIMESTAMPTZ NOT NULL,
    issued_at         TIMESTAMPTZ NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    status_changed_at TIMESTAMPTZ NOT NULL,
    reason            INTEGER,
    revocation_date   TIMESTAMPTZ,
    invalidity_date   TIMESTAMPTZ,
    last_change       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (issuer, serial),
    FOREIGN KEY (issuer, serial) REFERENCES issuance_intents (issuer, serial)
);

CREATE INDEX certificates_listed ON certificates (issuer, serial) WHERE status <> 'valid';
CREATE INDEX certificates_changes ON certificates (issuer, last_change) WHERE last_change > 0;
CREATE INDEX certificates_subscriber ON certificates (subscriber);

CREATE TABLE issuer_changes (
    issuer      TEXT PRIMARY KEY,
    last_change BIGINT NOT NULL CHECK (last_change > 0)
);

CREATE TABLE status_history (
    issuer          TEXT NOT NULL,
    change_no       BIGINT NOT NULL,
    serial          TEXT NOT NULL,
    old_status      TEXT NOT NULL,
    new_status      TEXT NOT NULL,
    reason          INTEGER,
    revocation_date TIMESTAMPTZ,
    invalidity_date TIMESTAMPTZ,
    changed_at      TIMESTAMPTZ NOT NULL,
    actor           TEXT NOT NULL,
    PRIMARY KEY (issuer, change_no),
    FOREIGN KEY (issuer, serial) REFERENCES certificates (issuer, serial)
);

CREATE INDEX status_history_serial ON status_history (issuer, serial, change_no);

CREATE TABLE crl_numbers (
    issuer      TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL CHECK (last_number > 0)
);

CREATE TABLE crls (
    issuer      TEXT NOT NULL,
    number      BIGINT NOT NULL CHECK (number > 0),
    this_update TIMESTAMPTZ NOT NULL,
    next_update TIMESTAMPTZ NOT NULL,
    base_number BIGINT CHECK (base_number IS NULL OR base_number < number),
    change_mark BIGINT NOT NULL CHECK (change_mark >= 0),
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, number)
);

CREATE TABLE idempotency_keys (
    key            TEXT PRIMARY KEY,
    request_digest BYTEA NOT NULL,
    issuer         TEXT NOT NULL,
    serial         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (issuer, serial) REFERENCES issuance_intents (issuer, serial)
);
