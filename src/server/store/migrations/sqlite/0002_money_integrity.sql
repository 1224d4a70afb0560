-- Money integrity: a `needs_review` status, a lease per order so one server at a time talks to
-- Stripe about it, and what the reconciler needs to bring every order to a known end.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt. The migration runs
-- in a transaction with foreign keys on, so the tables that refer to `orders` are set aside
-- and dropped first (dropping `orders` under them would cascade their rows away).
CREATE TEMP TABLE order_lines_kept AS SELECT * FROM order_lines;
CREATE TEMP TABLE fulfilments_kept AS SELECT * FROM fulfilments;
DROP TABLE fulfilments;
DROP TABLE order_lines;
CREATE TABLE orders_v2 (
    id                TEXT PRIMARY KEY,
    reference         TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL CHECK (status IN ('open', 'requires_action', 'processing', 'authorised', 'paid', 'failed', 'needs_review')),
    currency          TEXT NOT NULL,
    -- The order's PaymentIntent: one at a time, replaced only after Stripe canceled it.
    payment_intent_id TEXT UNIQUE,
    -- Counts Stripe attempts; each attempt's idempotency key is derived from it.
    attempt           INTEGER NOT NULL DEFAULT 0,
    -- A create-and-confirm whose answer never arrived, and when it was sent: until it is
    -- answered (replayed within Stripe's 24 h, else looked up by metadata) no other create.
    pending_attempt        INTEGER,
    pending_payment_method TEXT,
    pending_amount         INTEGER,
    pending_created_at     INTEGER,
    -- A confirm or update went out and its answer did not come back: the cart stays frozen
    -- until the intent has been read again.
    in_doubt          INTEGER NOT NULL DEFAULT 0 CHECK (in_doubt IN (0, 1)),
    -- The lease of the server talking to Stripe about this order (one at a time, any process).
    claim_token       TEXT,
    claim_expires_at  INTEGER,
    -- For needs_review: the refund (or released authorisation) of the mismatched payment.
    review_refund     TEXT,
    card_brand        TEXT,
    card_last4        TEXT,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
INSERT INTO orders_v2 (id, reference, status, currency, payment_intent_id, attempt, pending_attempt, pending_payment_method,
                       pending_amount, pending_created_at, card_brand, card_last4, last_error, created_at, updated_at)
SELECT id, reference, status, currency, payment_intent_id, attempt, pending_attempt, pending_payment_method,
       pending_amount, CASE WHEN pending_attempt IS NULL THEN NULL ELSE updated_at END, card_brand, card_last4, last_error, created_at, updated_at
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_v2 RENAME TO orders;
CREATE TABLE order_lines (
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_amount INTEGER NOT NULL CHECK (unit_amount > 0),
    position    INTEGER NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
-- A row here is the order's fulfilment: the primary key makes it happen at most once.
CREATE TABLE fulfilments (
    order_id          TEXT PRIMARY KEY REFERENCES orders (id),
    payment_intent_id TEXT NOT NULL,
    amount            INTEGER NOT NULL,
    fulfilled_at      INTEGER NOT NULL
);
INSERT INTO order_lines SELECT * FROM order_lines_kept;
INSERT INTO fulfilments SELECT * FROM fulfilments_kept;
DROP TABLE order_lines_kept;
DROP TABLE fulfilments_kept;
-- What the reconciler looks for.
CREATE INDEX orders_unsettled ON orders (status, updated_at) WHERE status IN ('processing', 'requires_action', 'needs_review') OR pending_attempt IS NOT NULL OR in_doubt = 1;
