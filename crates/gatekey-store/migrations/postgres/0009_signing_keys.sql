-- Signing keys for JWTs (ID tokens and JWT access tokens, to come). Each key has its public
-- JWK, published at the JWKS endpoint, and its private half sealed with AES-256-GCM under the
-- key-encryption key, which is never in the database: private_key holds ciphertext only.
-- generation numbers each algorithm's keys; its uniqueness lets only one of several replicas
-- rotating at once add the next key.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('ES256', 'RS256', 'EdDSA')),
    generation BIGINT NOT NULL,
    public_jwk TEXT NOT NULL,
    private_key TEXT NOT NULL,
    private_key_nonce TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retired_at BIGINT,
    UNIQUE (algorithm, generation)
);
