-- Version 8: the order's intents counted on its row of order_issuances (issue 17).
-- record_intent checked the quota with count(*) over the order's intents, and order_usage
-- counted intents and certificates the same way: linear in the order's size (0.7 ms per
-- issuance at 3,000 intents). The counters change in the transaction that changes an intent's
-- state, under the order row's lock (record: open + 1; completion: open - 1, completed + 1;
-- void: open - 1, voided + 1), so they always equal the counts. One certificate is stored per
-- completed intent (the same transaction, the same order), so completed_intents is also the
-- order's certificate count.
ALTER TABLE order_issuances ADD COLUMN open_intents INTEGER NOT NULL DEFAULT 0
    CHECK (open_intents >= 0);
ALTER TABLE order_issuances ADD COLUMN completed_intents INTEGER NOT NULL DEFAULT 0
    CHECK (completed_intents >= 0);
ALTER TABLE order_issuances ADD COLUMN voided_intents INTEGER NOT NULL DEFAULT 0
    CHECK (voided_intents >= 0);

-- Orders whose intents were recorded before version 4 have no row yet.
INSERT INTO order_issuances (order_id, recorded)
    SELECT DISTINCT order_id, 0 FROM issuance_intents
    WHERE order_id IS NOT NULL
      AND order_id NOT IN (SELECT order_id FROM order_issuances);

-- Filled from the intents; `recorded` now counts every intent of the order (before, only
-- those recorded since version 4).
UPDATE order_issuances SET
    recorded = (SELECT count(*) FROM issuance_intents i
                WHERE i.order_id = order_issuances.order_id),
    open_intents = (SELECT count(*) FROM issuance_intents i
                    WHERE i.order_id = order_issuances.order_id AND i.state = 'open'),
    completed_intents = (SELECT count(*) FROM issuance_intents i
                         WHERE i.order_id = order_issuances.order_id AND i.state = 'completed'),
    voided_intents = (SELECT count(*) FROM issuance_intents i
                      WHERE i.order_id = order_issuances.order_id AND i.state = 'voided');
