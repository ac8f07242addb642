-- OCRA tokens carry their suite; email and SMS tokens the address their
-- codes go to, fixed at enrollment.
ALTER TABLE tokens ADD COLUMN ocra_suite TEXT;
ALTER TABLE tokens ADD COLUMN address TEXT;
-- One challenge (one id) has a row per token it went to, each with its own
-- code, stored as a keyed hash, or its OCRA question. No foreign keys: a
-- challenge outlives nothing, and one of a deleted user can never match.
CREATE TABLE challenges (
    id TEXT NOT NULL,
    token_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    code_hash TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    used_at INTEGER,
    txn TEXT,
    question TEXT,
    PRIMARY KEY (id, token_id)
);
CREATE INDEX challenges_by_user ON challenges (user_id, created_at);
-- How far the audit log has been turned into notices to account holders;
-- a fresh install starts at the log's head, not at its beginning.
CREATE TABLE notice_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO notice_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1
