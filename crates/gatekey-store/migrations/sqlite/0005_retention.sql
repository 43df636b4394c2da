-- Retention: the purge deletes codes, device codes, tokens and sessions by their expiry or
-- revocation, and audit events by age, in small batches; these indexes find each batch
-- without scanning the table. The device code index also counts an application's pending codes.

CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX device_codes_application_pending ON device_codes (application_id, status, expires_at);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX access_tokens_revoked ON access_tokens (revoked_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX audit_events_at ON audit_events (at);
