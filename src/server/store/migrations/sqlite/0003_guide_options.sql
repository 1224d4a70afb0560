-- The guide's options: manual capture (and its ends), refunds, saved cards, repeat orders
-- charged off session, and the merchant back office. SQLite cannot change a CHECK
-- constraint in place: `orders` is rebuilt as in 0002, its dependants set aside first.
CREATE TEMP TABLE order_lines_kept AS SELECT * FROM order_lines;
CREATE TEMP TABLE fulfilments_kept AS SELECT * FROM fulfilments;
DROP TABLE fulfilments;
DROP TABLE order_lines;
DROP INDEX IF EXISTS orders_unsettled;
CREATE TABLE orders_v3 (
    id                TEXT PRIMARY KEY,
    reference         TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL CHECK (status IN ('open', 'requires_action', 'processing', 'authorised', 'paid', 'failed',
                                                      'needs_review', 'canceled', 'authorisation_expired')),
    currency          TEXT NOT NULL,
    payment_intent_id TEXT UNIQUE,
    attempt           INTEGER NOT NULL DEFAULT 0,
    pending_attempt        INTEGER,
    pending_payment_method TEXT,
    pending_amount         INTEGER,
    pending_created_at     INTEGER,
    in_doubt          INTEGER NOT NULL DEFAULT 0 CHECK (in_doubt IN (0, 1)),
    claim_token       TEXT,
    claim_expires_at  INTEGER,
    review_refund     TEXT,
    card_brand        TEXT,
    card_last4        TEXT,
    last_error        TEXT,
    -- What Stripe holds of the payment, as last read from it (minor units).
    amount_captured   INTEGER NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
    amount_refunded   INTEGER NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
    -- The shopper's Stripe Customer when the card is to be saved (or was saved), and whether
    -- the payment saves it (`setup_future_usage=off_session`).
    customer_id       TEXT,
    save_card         INTEGER NOT NULL DEFAULT 0 CHECK (save_card IN (0, 1)),
    -- A repeat order the merchant charged to a saved card without the shopper.
    repeat_of         TEXT,
    off_session_payment_method TEXT,
    -- When the reconciler last read an authorisation (released by Stripe after seven days).
    checked_at        INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
INSERT INTO orders_v3 (id, reference, status, currency, payment_intent_id, attempt, pending_attempt, pending_payment_method, pending_amount,
                       pending_created_at, in_doubt, claim_token, claim_expires_at, review_refund, card_brand, card_last4, last_error,
                       amount_captured, created_at, updated_at)
SELECT id, reference, status, currency, payment_intent_id, attempt, pending_attempt, pending_payment_method, pending_amount,
       pending_created_at, in_doubt, claim_token, claim_expires_at, review_refund, card_brand, card_last4, last_error,
       CASE WHEN status = 'paid' THEN (SELECT COALESCE(SUM(amount), 0) FROM fulfilments_kept f WHERE f.order_id = orders.id) ELSE 0 END,
       created_at, updated_at
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_v3 RENAME TO orders;
CREATE TABLE order_lines (
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_amount INTEGER NOT NULL CHECK (unit_amount > 0),
    position    INTEGER NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
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
CREATE INDEX orders_unsettled ON orders (status, updated_at)
    WHERE status IN ('processing', 'requires_action', 'needs_review', 'authorised') OR pending_attempt IS NOT NULL OR in_doubt = 1;
-- The back office lists orders newest first, all or by status.
CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_newest ON orders (status, created_at DESC, id DESC);

-- A browser that saved a card: its id travels in a long-lived signed cookie, and only it
-- sees and uses the cards of its Stripe Customer.
CREATE TABLE shoppers (
    browser_id         TEXT PRIMARY KEY,
    stripe_customer_id TEXT UNIQUE,
    email              TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);

-- The saved cards a browser is shown (Stripe holds the cards; this is what the page shows).
CREATE TABLE saved_cards (
    payment_method_id TEXT PRIMARY KEY,
    browser_id        TEXT NOT NULL REFERENCES shoppers (browser_id) ON DELETE CASCADE,
    brand             TEXT NOT NULL,
    last4             TEXT NOT NULL,
    exp_month         INTEGER NOT NULL,
    exp_year          INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX saved_cards_of_browser ON saved_cards (browser_id, created_at);

-- Back-office sessions, by the hash of their cookie's random token (logout deletes the row).
CREATE TABLE merchant_sessions (
    token_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

-- Each back-office action, by the one-time key of the confirmation form that sent it: a
-- double submit finds its row and does nothing twice.
CREATE TABLE merchant_actions (
    action_key TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL REFERENCES orders (id),
    kind       TEXT NOT NULL CHECK (kind IN ('capture', 'cancel', 'refund', 'charge_again')),
    amount     INTEGER,
    outcome    TEXT NOT NULL CHECK (outcome IN ('running', 'done', 'refused')),
    message    TEXT,
    created_at INTEGER NOT NULL
);
