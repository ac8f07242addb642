-- The audit chain becomes keyed: the head carries an HMAC tag of its sequence
-- number and hash. Applying this version also re-keys the existing log (the
-- code in audit_rekey.rs runs in the same transaction).
ALTER TABLE audit_head ADD COLUMN tag TEXT
