-- Rolling an API key (issue 14): a new secret for the same key record, the replaced one kept
-- working for a grace period the caller chooses (at most 7 days). Only one replaced secret is
-- kept: rolling again ends the older one at once, so at most two secrets of a key work. The
-- previous secret is found by its hash like the current one (hence the unique index, which
-- leaves NULLs alone), and stops at previous_secret_expires_at. A previous secret whose grace
-- has ended is ignored at each lookup and overwritten by the next roll; it is the SHA-256 of a
-- secret that no longer works, so nothing purges it.
ALTER TABLE api_keys ADD COLUMN previous_secret_hash BYTEA;
ALTER TABLE api_keys ADD COLUMN previous_secret_expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN previous_display_prefix TEXT;
CREATE UNIQUE INDEX api_keys_previous_secret ON api_keys (previous_secret_hash);

-- The client address of the last use, written with last_used_at (to within the same flush
-- interval), as the server saw it (see http.trust_forwarded_for).
ALTER TABLE api_keys ADD COLUMN last_used_ip TEXT;
