-- The lineage of API keys: a key created with another API key records it as its parent, and is
-- revoked with it (and when the parent's user is disabled). Keys made with a web session or by an
-- operator have no parent.

ALTER TABLE api_keys ADD COLUMN parent_key_id BIGINT REFERENCES api_keys (id);
CREATE INDEX api_keys_parent ON api_keys (parent_key_id);
