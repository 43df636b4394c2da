-- Accounts, users, memberships, API keys, sessions, audit events and the invalidation feed.
-- Times are milliseconds since the Unix epoch; secrets are stored only as SHA-256 digests.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'service')),
    password_hash TEXT,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id, id);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    membership_id BIGINT NOT NULL REFERENCES memberships (id),
    name TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_membership ON api_keys (membership_id, id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    secret_hash BLOB NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    account_id BIGINT,
    actor_user_id BIGINT,
    credential_type TEXT NOT NULL,
    credential_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    success BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    detail TEXT
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);

CREATE TABLE invalidations (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    target BIGINT NOT NULL
);
CREATE INDEX invalidations_at ON invalidations (at);
