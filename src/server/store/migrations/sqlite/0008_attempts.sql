-- Running it as a shop (issue #26).
--
-- Every payment attempt, as it starts and then as it ended: what the back office's dashboard
-- counts, and what the card-testing limits count (declines on an order, attempts and
-- declines from one address, the shop's decline rate), in the database so that every server
-- sharing it applies the same limits.
CREATE TABLE attempts (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    -- The shopper's address as the server saw it (or as the trusted proxy said); NULL when
    -- not known (a request made in process) or for the merchant's own charges.
    client     TEXT,
    -- new_card, saved_card, reconfirm, back_office
    path       TEXT NOT NULL,
    -- started, then: succeeded, authorised, processing, requires_action, declined,
    -- authentication_failed, review, failed
    outcome    TEXT NOT NULL,
    -- The decline's reason (Stripe's code), or why it failed.
    reason     TEXT,
    -- The order's total and currency when it ended.
    amount     INTEGER,
    currency   TEXT,
    created_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX attempts_by_order ON attempts (order_id, created_at);
CREATE INDEX attempts_by_client ON attempts (client, created_at) WHERE client IS NOT NULL;
CREATE INDEX attempts_by_time ON attempts (created_at);
