-- A revoked API key stops working on every node at once: each request reads
-- revoked_at, no cache lets it through.
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
-- A reset is a procedure: a second factor (verified_at) or a waiting period
-- with notices (waiting_until) before a new token is enrolled (serial); any
-- registered channel can cancel it (cancelled_at).
ALTER TABLE reset_requests ADD COLUMN verified_at INTEGER;
ALTER TABLE reset_requests ADD COLUMN waiting_until INTEGER;
ALTER TABLE reset_requests ADD COLUMN cancelled_at INTEGER;
ALTER TABLE reset_requests ADD COLUMN serial TEXT
