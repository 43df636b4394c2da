-- Sparse token indexes: a token's family, code and revocation are indexed only when it has
-- them. Client credentials tokens have none of the three, and most tokens are never revoked,
-- so each insert maintained three index entries that no query ever looks up: every query on
-- these columns compares them with a value (`family_id = $2`, `code_id = $1`,
-- `revoked_at < $1`), which no NULL satisfies, so the partial indexes serve them all.

DROP INDEX access_tokens_family;
CREATE INDEX access_tokens_family ON access_tokens (family_id) WHERE family_id IS NOT NULL;
DROP INDEX access_tokens_code;
CREATE INDEX access_tokens_code ON access_tokens (code_id) WHERE code_id IS NOT NULL;
DROP INDEX access_tokens_revoked;
CREATE INDEX access_tokens_revoked ON access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
DROP INDEX refresh_tokens_revoked;
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
