-- Work one server at a time does for them all (the reconciler): who holds it, and until when
-- (Unix seconds). A server that dies keeps it only until then.
CREATE TABLE server_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
