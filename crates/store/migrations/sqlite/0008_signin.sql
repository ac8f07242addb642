-- Sign-in for applications (POST /v1/signin). A pending sign-in waits for
-- its second factor: its id only as a keyed hash, deleted by the statement
-- that takes it, so it is answered once, on any node.
CREATE TABLE signin_pending (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    username TEXT NOT NULL,
    app TEXT NOT NULL,
    client_ip TEXT,
    user_agent TEXT,
    factors TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX signin_pending_by_expiry ON signin_pending (expires_at);
-- Devices a user chose to remember: the token's secret only as a keyed
-- hash, replaced on each use; the one before is kept to tell a reuse.
CREATE TABLE trusted_devices (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    secret_hash TEXT NOT NULL,
    previous_hash TEXT,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    last_ip TEXT,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_reason TEXT
);
CREATE INDEX trusted_devices_by_user ON trusted_devices (user_id);
-- The sign-in history: one row per decision after the password was right,
-- written with the decision.
CREATE TABLE signins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    result TEXT NOT NULL,
    app TEXT NOT NULL,
    client_ip TEXT,
    device_name TEXT,
    new_device INTEGER NOT NULL,
    factor TEXT
);
CREATE INDEX signins_by_user ON signins (user_id, id)
