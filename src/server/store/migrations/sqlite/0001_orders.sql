-- Orders, their lines, and the one-time fulfilment of each paid order.
CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    reference         TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL CHECK (status IN ('open', 'requires_action', 'processing', 'authorised', 'paid', 'failed')),
    currency          TEXT NOT NULL,
    -- One PaymentIntent per order, ever.
    payment_intent_id TEXT UNIQUE,
    -- Counts Stripe attempts; each attempt's idempotency key is derived from it.
    attempt           INTEGER NOT NULL DEFAULT 0,
    -- A create-and-confirm whose answer never arrived: replayed with the same key and
    -- parameters before anything else, so a lost response cannot become a second charge.
    pending_attempt        INTEGER,
    pending_payment_method TEXT,
    pending_amount         INTEGER,
    card_brand        TEXT,
    card_last4        TEXT,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

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

-- Server-side secrets generated on first start, such as the cookie signing key.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
