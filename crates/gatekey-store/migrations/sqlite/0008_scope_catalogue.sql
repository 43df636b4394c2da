-- The scope catalogue: the API's own scopes beside the built-in read, write and admin, one
-- vocabulary for the whole installation. Each entry names the roles that hold it by default;
-- an account may map a role to catalogue scopes of its own choosing (role_scopes), replacing
-- those defaults for that role. Scopes stay space-separated text everywhere they are carried,
-- so deleting an entry leaves the keys, applications and grants naming it untouched: no role
-- holds the name any more, so it is not effective.

CREATE TABLE scopes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    scope_group TEXT,
    default_roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE role_scopes (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    scopes TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, role)
);
