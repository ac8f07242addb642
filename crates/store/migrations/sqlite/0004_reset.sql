-- Self-service reset links: the link's token only as a keyed hash; a link
-- works once (used_at), until expires_at, and, where policy says, only once
-- a helpdesk approved it (approved_at).
CREATE TABLE reset_requests (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    approved_at INTEGER,
    used_at INTEGER
);
CREATE INDEX reset_requests_by_user ON reset_requests (user_id, created_at)
