-- Version 4: certificate entitlements of an order (R10; domain/entitlements.py).
-- record_intent locks the order's row here before it counts the order's live intents against
-- the quota the issuance service passes (what the order bought), so the count and the insert
-- of the new intent are one step for each order: two requests never both take its last unit.
-- SQLite's BEGIN IMMEDIATE serialises writers anyway; the table keeps both dialects alike.
-- `recorded` counts the intents recorded under the order since this version (voided included).
CREATE TABLE order_issuances (
    order_id TEXT PRIMARY KEY,
    recorded INTEGER NOT NULL CHECK (recorded >= 0)
);

-- The count of an order's intents and certificates (record_intent, order_usage).
CREATE INDEX issuance_intents_order ON issuance_intents (order_id, state)
    WHERE order_id IS NOT NULL;
CREATE INDEX certificates_order ON certificates (order_id) WHERE order_id IS NOT NULL;
