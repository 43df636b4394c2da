-- OpenID Connect: what an ID token reports about the sign-in behind an authorization.
-- nonce is the authorization request's nonce, echoed in the ID token of the code it names.
-- auth_time (milliseconds, like every time here) is when the user signed in: the creation of
-- the web session that authorized. sid names that session for relying parties: a one-way
-- digest of the session's stored hash, never the session secret nor its hash.
-- Both are carried from the code (or the approved device code) to each refresh token of the
-- family, so that an ID token issued on a refresh reports the sign-in, not the refresh.
-- Rows older than this migration have NULL: the sign-in is unknown.

ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN auth_time BIGINT;
ALTER TABLE authorization_codes ADD COLUMN sid TEXT;

ALTER TABLE refresh_tokens ADD COLUMN auth_time BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN sid TEXT;

ALTER TABLE device_codes ADD COLUMN auth_time BIGINT;
ALTER TABLE device_codes ADD COLUMN sid TEXT;
