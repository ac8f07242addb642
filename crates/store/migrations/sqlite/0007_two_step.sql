-- Pending second steps of two-step sign-ins (the RADIUS State), shared by
-- every node: the value handed out only as a hash; a row is deleted when
-- its step is taken, so it is good once.
CREATE TABLE two_step_pending (
    key_hash TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX two_step_pending_by_expiry ON two_step_pending (expires_at)
