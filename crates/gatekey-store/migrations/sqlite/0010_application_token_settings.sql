-- Per-application token settings for OpenID Connect (issue 11):
-- id_token_signed_response_alg (OpenID Connect Dynamic Client Registration 1.0 §2), the
-- access token format (opaque, or a JWT as RFC 9068 describes), the resource indicators the
-- application may ask for (RFC 8707) and its post-logout redirect URIs (OpenID Connect
-- RP-Initiated Logout 1.0 §3.1). Both lists are JSON arrays of strings, like redirect_uris
-- (migration 0004). Existing applications keep what they had: RS256, opaque, none.
ALTER TABLE applications ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_signed_response_alg IN ('RS256', 'ES256', 'EdDSA'));
ALTER TABLE applications ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque'
    CHECK (access_token_format IN ('opaque', 'jwt'));
ALTER TABLE applications ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';

-- The audience of each token: the resource indicators its request named (RFC 8707 §2), a
-- JSON array of strings, empty for a token meant for no particular resource server. A
-- refresh token keeps its grant's audience, so that a refresh without a resource parameter
-- gets the same audience and one with it can only narrow it (RFC 8707 §2.2).
ALTER TABLE access_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '[]';
