-- Sessions end after a period without use as well as at their absolute expiry; a user can end
-- all their sessions at once; the owner made at first run must replace the generated password;
-- introspecting every account's tokens is an operator-only setting of an application.

ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);

ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;

ALTER TABLE applications ADD COLUMN introspect_all_accounts BIGINT NOT NULL DEFAULT 0;
