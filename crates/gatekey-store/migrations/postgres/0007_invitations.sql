-- People join an account by invitation: an admin invites an email, and the person accepts
-- through a one-time link, so adding a person never reveals whether the email has a login in
-- another account. The link's secret is stored only as its SHA-256.

CREATE TABLE invitations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn', 'replaced')),
    secret_hash BYTEA NOT NULL UNIQUE,
    invited_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX invitations_account_status ON invitations (account_id, status, id);
