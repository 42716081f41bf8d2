-- Version 6: each listed certificate's CRL entry, stored as DER when its status changes.
-- A full CRL then appends stored bytes instead of deriving and encoding every entry
-- (SqlRegister._change_status writes it with encode_entry; CrlScan.listed_encoded reads it).
-- Rows listed before this version get theirs at the next CRL scan (SqlRegister.crl_scan
-- fills them in batches; until then the scan encodes them on the way).
ALTER TABLE certificates ADD COLUMN crl_entry BLOB;

-- The covering index of the CRL scan (version 3) now carries the stored entry too.
DROP INDEX certificates_crl;
CREATE INDEX certificates_crl ON certificates
    (issuer, serial, status, reason, revocation_date, invalidity_date, last_change, crl_entry)
    WHERE status <> 'valid';

-- Listed rows still without a stored entry: empty once filled, so checking it is free. It
-- carries the columns of its condition, or SQLite prefers the covering index above (a scan of
-- every listed row: 0.25 s for a million).
CREATE INDEX certificates_crl_pending ON certificates (issuer, serial, status, crl_entry)
    WHERE status <> 'valid' AND crl_entry IS NULL;

-- The latest revocation time of an issuer's listed certificates, in one index step: a stored
-- entry may be used only in a CRL whose thisUpdate is not before it (RFC 5280 §5.1.2.6).
CREATE INDEX certificates_crl_latest ON certificates (issuer, revocation_date)
    WHERE status <> 'valid';
