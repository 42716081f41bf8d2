-- Version 5: one verification key, one certificate per issuer (63-ФЗ ст. 13: the CA ensures the
-- uniqueness of verification keys in its register); the CA's own certificates in the register.
-- key_hash is SHA-256 of the canonical public key (x509/key_identity.py): alias OIDs of one
-- curve and optional SPKI parameters give one hash. record_intent writes it with the intent,
-- so of two concurrent requests for one key only one is recorded; a voided intent (nothing
-- was certified) frees the key. Intents recorded before this version have no key_hash.
ALTER TABLE issuance_intents ADD COLUMN key_hash BLOB
    CHECK (key_hash IS NULL OR length(key_hash) = 32);

CREATE UNIQUE INDEX issuance_intents_key ON issuance_intents (issuer, key_hash)
    WHERE key_hash IS NOT NULL AND state <> 'voided';

-- The CA certificates of each issuer key (init stores the self-signed or imported one), so
-- the register alone holds everything needed to rebuild the CA's chain.
CREATE TABLE ca_certificates (
    issuer      TEXT NOT NULL,
    fingerprint BLOB NOT NULL CHECK (length(fingerprint) = 32),
    der         BLOB NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (issuer, fingerprint)
);
