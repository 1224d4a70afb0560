-- The safety net at real traffic (issue #24).
--
-- 1. A lease is a lease: `claim_token`/`claim_expires_at` are renamed. Leases are now a few
--    seconds long and renewed while their step runs.
ALTER TABLE orders RENAME COLUMN claim_token TO lease_token;
ALTER TABLE orders RENAME COLUMN claim_expires_at TO lease_expires_at;

-- 2. The one Stripe POST about the order that was sent without its answer known: its
--    idempotency key, what it asked (JSON: see `orders::requests::StripeCall`) and when it was
--    sent (Stripe's clock, as far as this server knows it). It is settled only by replaying
--    that key (or, once Stripe no longer keeps the key, by what Stripe holds). No other POST
--    starts on the order while it is there. It replaces `pending_*` (a create) and `in_doubt`
--    (a confirm whose request was not kept); `in_doubt` and `save_card` stay in the table
--    unused (SQLite cannot drop a column with a CHECK), the others are dropped.
ALTER TABLE orders ADD COLUMN request_key TEXT;
ALTER TABLE orders ADD COLUMN request_call TEXT;
ALTER TABLE orders ADD COLUMN request_sent_at INTEGER;
-- Where the search for a lost create's intent stopped (the last intent read), so a long list
-- is read across passes instead of giving up.
ALTER TABLE orders ADD COLUMN lookup_cursor TEXT;

-- 3. The reconciler's due-queue: when the order is next looked at (NULL: never), and how
--    often it was looked at and found unchanged (its backoff).
ALTER TABLE orders ADD COLUMN next_check_at INTEGER;
ALTER TABLE orders ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
-- Why the order needs the merchant (NULL: it does not): what the reconciler cannot settle on
-- its own, such as a refund Stripe refuses for good.
ALTER TABLE orders ADD COLUMN attention TEXT;

-- Pending creates become recorded requests, with the exact terms they were sent with.
UPDATE orders
SET request_key = 'checkout-' || id || '-attempt-' || pending_attempt || '-create',
    request_call = json_object('kind', 'create', 'payment_method', pending_payment_method, 'amount', pending_amount,
                               'customer', customer_id, 'save_card', json(CASE save_card WHEN 1 THEN 'true' ELSE 'false' END)),
    request_sent_at = COALESCE(pending_created_at, updated_at)
WHERE pending_attempt IS NOT NULL AND payment_intent_id IS NULL;
-- A confirm in doubt whose request was not kept: settled by what Stripe holds once Stripe no
-- longer keeps its key.
UPDATE orders
SET request_key = 'unknown-' || id || '-attempt-' || attempt, request_call = json_object('kind', 'unknown'), request_sent_at = updated_at
WHERE in_doubt = 1 AND request_key IS NULL;
UPDATE orders SET in_doubt = 0, save_card = 0;

-- Every order the old scan would have taken is due now.
UPDATE orders SET next_check_at = CAST(strftime('%s', 'now') AS INTEGER)
WHERE request_key IS NOT NULL OR status IN ('processing', 'requires_action', 'authorised')
   OR (status = 'needs_review' AND review_refund IS NULL AND payment_intent_id IS NOT NULL);

DROP INDEX IF EXISTS orders_unsettled;
ALTER TABLE orders DROP COLUMN pending_attempt;
ALTER TABLE orders DROP COLUMN pending_payment_method;
ALTER TABLE orders DROP COLUMN pending_amount;
ALTER TABLE orders DROP COLUMN pending_created_at;
ALTER TABLE orders DROP COLUMN checked_at;
-- A pass reads what is due and nothing else.
CREATE INDEX orders_due ON orders (next_check_at) WHERE next_check_at IS NOT NULL;
-- The back office lists the orders that need the merchant.
CREATE INDEX orders_attention ON orders (created_at DESC, id DESC) WHERE attention IS NOT NULL;
