-- The safety net at real traffic: see ../sqlite/0007_safety_net.sql. The columns it retires
-- (`pending_*`, `in_doubt`, `save_card`, `checked_at`) are dropped here.
ALTER TABLE orders RENAME COLUMN claim_token TO lease_token;
ALTER TABLE orders RENAME COLUMN claim_expires_at TO lease_expires_at;
ALTER TABLE orders ADD COLUMN request_key TEXT;
ALTER TABLE orders ADD COLUMN request_call TEXT;
ALTER TABLE orders ADD COLUMN request_sent_at BIGINT;
ALTER TABLE orders ADD COLUMN lookup_cursor TEXT;
ALTER TABLE orders ADD COLUMN next_check_at BIGINT;
ALTER TABLE orders ADD COLUMN checks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN attention TEXT;

UPDATE orders
SET request_key = 'checkout-' || id || '-attempt-' || pending_attempt || '-create',
    request_call = json_build_object('kind', 'create', 'payment_method', pending_payment_method, 'amount', pending_amount,
                                     'customer', customer_id, 'save_card', save_card = 1)::text,
    request_sent_at = COALESCE(pending_created_at, updated_at)
WHERE pending_attempt IS NOT NULL AND payment_intent_id IS NULL;
UPDATE orders
SET request_key = 'unknown-' || id || '-attempt-' || attempt, request_call = '{"kind":"unknown"}', request_sent_at = updated_at
WHERE in_doubt = 1 AND request_key IS NULL;

UPDATE orders SET next_check_at = floor(extract(epoch FROM now()))::BIGINT
WHERE request_key IS NOT NULL OR status IN ('processing', 'requires_action', 'authorised')
   OR (status = 'needs_review' AND review_refund IS NULL AND payment_intent_id IS NOT NULL);

DROP INDEX IF EXISTS orders_unsettled;
ALTER TABLE orders DROP COLUMN pending_attempt, DROP COLUMN pending_payment_method, DROP COLUMN pending_amount,
    DROP COLUMN pending_created_at, DROP COLUMN in_doubt, DROP COLUMN save_card, DROP COLUMN checked_at;
CREATE INDEX orders_due ON orders (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX orders_attention ON orders (created_at DESC, id DESC) WHERE attention IS NOT NULL;
