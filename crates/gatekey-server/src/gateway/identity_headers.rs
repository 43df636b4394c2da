//! The headers a proxy passes to the upstream for a request gatekey let through: who the
//! caller is, in which account, with what credential and which scopes.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use gatekey_core::audit::CredentialRef;
use gatekey_core::principal::Principal;
use gatekey_core::scope::ScopeSet;

use crate::metering::policy::KeyPolicy;

/// The user's id, in decimal.
const USER_ID: HeaderName = HeaderName::from_static("x-gatekey-user-id");
/// The user's email address.
const USER_EMAIL: HeaderName = HeaderName::from_static("x-gatekey-user-email");
/// The account's id, in decimal.
const ACCOUNT_ID: HeaderName = HeaderName::from_static("x-gatekey-account-id");
/// The account's slug.
const ACCOUNT_SLUG: HeaderName = HeaderName::from_static("x-gatekey-account-slug");
/// The user's role in the account.
const ROLE: HeaderName = HeaderName::from_static("x-gatekey-role");
/// The effective scopes, space-separated (RFC 6749 §3.3's form).
const SCOPES: HeaderName = HeaderName::from_static("x-gatekey-scopes");
/// `api_key` or `oauth`.
const CREDENTIAL_TYPE: HeaderName = HeaderName::from_static("x-gatekey-credential-type");
/// The API key's id, or the OAuth grant's id.
const CREDENTIAL_ID: HeaderName = HeaderName::from_static("x-gatekey-credential-id");
/// The OAuth application's client id; absent for an API key.
const CLIENT_ID: HeaderName = HeaderName::from_static("x-gatekey-client-id");

/// Every identity header, for a proxy's configuration and the tests: a proxy passes these
/// from gatekey's answer and removes any the client sent.
pub const IDENTITY_HEADERS: [&str; 9] = [
    "x-gatekey-user-id",
    "x-gatekey-user-email",
    "x-gatekey-account-id",
    "x-gatekey-account-slug",
    "x-gatekey-role",
    "x-gatekey-scopes",
    "x-gatekey-credential-type",
    "x-gatekey-credential-id",
    "x-gatekey-client-id",
];

/// Adds the identity headers of `principal`, whose effective scopes are `scopes`. A value that
/// cannot be a header (an email with a control character, which gatekey never stores) is left
/// out rather than sent altered.
pub fn insert_identity(headers: &mut HeaderMap, principal: &Principal, scopes: &ScopeSet) {
    headers.insert(USER_ID, HeaderValue::from(principal.user.id));
    if let Ok(email) = HeaderValue::from_str(&principal.user.email) {
        headers.insert(USER_EMAIL, email);
    }
    headers.insert(ACCOUNT_ID, HeaderValue::from(principal.account.id));
    if let Ok(slug) = HeaderValue::from_str(&principal.account.slug) {
        headers.insert(ACCOUNT_SLUG, slug);
    }
    headers.insert(ROLE, HeaderValue::from_static(principal.role.as_str()));
    if let Ok(scopes) = HeaderValue::from_str(&scopes.names().join(" ")) {
        headers.insert(SCOPES, scopes);
    }
    headers.insert(
        CREDENTIAL_TYPE,
        HeaderValue::from_static(principal.credential.type_name()),
    );
    match &principal.credential {
        CredentialRef::ApiKey(id) => {
            headers.insert(CREDENTIAL_ID, HeaderValue::from(*id));
        }
        CredentialRef::OAuth {
            client_id,
            grant_id,
        } => {
            headers.insert(CREDENTIAL_ID, HeaderValue::from(*grant_id));
            if let Ok(client_id) = HeaderValue::from_str(client_id) {
                headers.insert(CLIENT_ID, client_id);
            }
        }
        _ => {}
    }
}

/// Adds the API key's meta as the header `name` (`gateway.key_meta_header`): its compact
/// JSON, written in ASCII. A key without meta gets no such header.
pub fn insert_key_meta(headers: &mut HeaderMap, name: &HeaderName, policy: &KeyPolicy) {
    if let Some(meta) = &policy.meta_header {
        headers.insert(name.clone(), meta.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_every_header_written() {
        let written = [
            &USER_ID,
            &USER_EMAIL,
            &ACCOUNT_ID,
            &ACCOUNT_SLUG,
            &ROLE,
            &SCOPES,
            &CREDENTIAL_TYPE,
            &CREDENTIAL_ID,
            &CLIENT_ID,
        ];
        assert_eq!(
            written.map(HeaderName::as_str),
            IDENTITY_HEADERS,
            "the published list must match the headers written"
        );
    }
}
