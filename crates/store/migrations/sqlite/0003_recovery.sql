-- Token validity: a token outside [valid_from, valid_until) never matches.
-- A replacement (new phone) names the token its activation revokes.
ALTER TABLE tokens ADD COLUMN valid_from INTEGER;
ALTER TABLE tokens ADD COLUMN valid_until INTEGER;
ALTER TABLE tokens ADD COLUMN replaces INTEGER;
-- Backup codes (kind 'backup', a set of ten) and the emergency unlock code
-- (kind 'emergency', one): keyed hashes only, each used at most once.
CREATE TABLE backup_codes (
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);
CREATE INDEX backup_codes_by_kind ON backup_codes (user_id, kind)
