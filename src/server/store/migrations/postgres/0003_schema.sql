-- The order store on PostgreSQL: the schema SQLite reaches with its migrations 0001–0003
-- (see ../sqlite/ for what each column is for). Integers are BIGINT: the store reads and
-- writes them as 64-bit (minor units, Unix seconds).
CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    reference         TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL CHECK (status IN ('open', 'requires_action', 'processing', 'authorised', 'paid', 'failed',
                                                      'needs_review', 'canceled', 'authorisation_expired')),
    currency          TEXT NOT NULL,
    payment_intent_id TEXT UNIQUE,
    attempt           BIGINT NOT NULL DEFAULT 0,
    pending_attempt        BIGINT,
    pending_payment_method TEXT,
    pending_amount         BIGINT,
    pending_created_at     BIGINT,
    in_doubt          BIGINT NOT NULL DEFAULT 0 CHECK (in_doubt IN (0, 1)),
    claim_token       TEXT,
    claim_expires_at  BIGINT,
    review_refund     TEXT,
    card_brand        TEXT,
    card_last4        TEXT,
    last_error        TEXT,
    amount_captured   BIGINT NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
    amount_refunded   BIGINT NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
    customer_id       TEXT,
    save_card         BIGINT NOT NULL DEFAULT 0 CHECK (save_card IN (0, 1)),
    repeat_of         TEXT,
    off_session_payment_method TEXT,
    checked_at        BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX orders_unsettled ON orders (status, updated_at)
    WHERE status IN ('processing', 'requires_action', 'needs_review', 'authorised') OR pending_attempt IS NOT NULL OR in_doubt = 1;
CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_newest ON orders (status, created_at DESC, id DESC);

CREATE TABLE order_lines (
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    unit_amount BIGINT NOT NULL CHECK (unit_amount > 0),
    position    BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

CREATE TABLE fulfilments (
    order_id          TEXT PRIMARY KEY REFERENCES orders (id),
    payment_intent_id TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    fulfilled_at      BIGINT NOT NULL
);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE shoppers (
    browser_id         TEXT PRIMARY KEY,
    stripe_customer_id TEXT UNIQUE,
    email              TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);

CREATE TABLE saved_cards (
    payment_method_id TEXT PRIMARY KEY,
    browser_id        TEXT NOT NULL REFERENCES shoppers (browser_id) ON DELETE CASCADE,
    brand             TEXT NOT NULL,
    last4             TEXT NOT NULL,
    exp_month         BIGINT NOT NULL,
    exp_year          BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX saved_cards_of_browser ON saved_cards (browser_id, created_at);

CREATE TABLE merchant_sessions (
    token_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE merchant_actions (
    action_key TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL REFERENCES orders (id),
    kind       TEXT NOT NULL CHECK (kind IN ('capture', 'cancel', 'refund', 'charge_again')),
    amount     BIGINT,
    outcome    TEXT NOT NULL CHECK (outcome IN ('running', 'done', 'refused')),
    message    TEXT,
    created_at BIGINT NOT NULL
);
