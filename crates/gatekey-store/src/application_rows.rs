//! Decoding an `applications` row, which is read on its own and joined to grants, codes,
//! tokens and device codes.

use gatekey_core::oauth::application::{Application, GrantType};
use gatekey_core::oauth::application_tokens::parse_id_token_alg;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{StoreError, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{column, optional_time_column, time_column};

/// `applications` columns, prefixed `p_`.
pub(crate) const APPLICATION_COLUMNS: &str = "p.id AS p_id, p.client_id AS p_client_id, p.account_id AS p_account_id, \
     p.name AS p_name, p.client_type AS p_client_type, p.secret_hash AS p_secret_hash, \
     p.previous_secret_hash AS p_previous_secret_hash, p.previous_secret_expires_at AS p_previous_secret_expires_at, \
     p.redirect_uris AS p_redirect_uris, p.grant_types AS p_grant_types, p.scopes AS p_scopes, \
     p.implicit_allowed AS p_implicit_allowed, p.introspect AS p_introspect, \
     p.introspect_all_accounts AS p_introspect_all_accounts, p.verify_keys AS p_verify_keys, \
     p.service_account_id AS p_service_account_id, \
     p.id_token_signed_response_alg AS p_id_token_signed_response_alg, \
     p.access_token_format AS p_access_token_format, p.resources AS p_resources, \
     p.post_logout_redirect_uris AS p_post_logout_redirect_uris, \
     p.created_at AS p_created_at, p.updated_at AS p_updated_at";

fn hash_column(row: &AnyRow, name: &str) -> StoreResult<Option<TokenHash>> {
    let bytes: Option<Vec<u8>> = column(row, name)?;
    bytes
        .map(|b| <[u8; 32]>::try_from(b).map(TokenHash::from_bytes))
        .transpose()
        .map_err(|_| StoreError::Unavailable(format!("bad digest in {name}")))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected {what} in the database"))
}

/// A list of URIs stored as a JSON array of strings.
fn uri_list(row: &AnyRow, name: &str, what: &str) -> StoreResult<Vec<String>> {
    let text: String = column(row, name)?;
    serde_json::from_str(&text).map_err(|_| corrupt(what))
}

pub(crate) fn application(row: &AnyRow) -> StoreResult<Application> {
    let client_type: String = column(row, "p_client_type")?;
    let grant_types: String = column(row, "p_grant_types")?;
    let scopes: String = column(row, "p_scopes")?;
    let id_token_alg: String = column(row, "p_id_token_signed_response_alg")?;
    let access_token_format: String = column(row, "p_access_token_format")?;
    Ok(Application {
        id: column(row, "p_id")?,
        client_id: column(row, "p_client_id")?,
        account_id: column(row, "p_account_id")?,
        name: column(row, "p_name")?,
        client_type: client_type.parse().map_err(|_| corrupt("client type"))?,
        secret_hash: hash_column(row, "p_secret_hash")?,
        previous_secret_hash: hash_column(row, "p_previous_secret_hash")?,
        previous_secret_expires_at: optional_time_column(row, "p_previous_secret_expires_at")?,
        redirect_uris: uri_list(row, "p_redirect_uris", "redirect URI list")?,
        grant_types: grant_types
            .split_ascii_whitespace()
            .map(str::parse::<GrantType>)
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("grant type"))?,
        scopes: ScopeSet::parse(&scopes).map_err(|_| corrupt("scopes"))?,
        implicit_allowed: column::<i64>(row, "p_implicit_allowed")? != 0,
        introspect: column::<i64>(row, "p_introspect")? != 0,
        introspect_all_accounts: column::<i64>(row, "p_introspect_all_accounts")? != 0,
        verify_keys: column::<i64>(row, "p_verify_keys")? != 0,
        service_account_id: column(row, "p_service_account_id")?,
        id_token_signed_response_alg: parse_id_token_alg(&id_token_alg)
            .map_err(|_| corrupt("ID token signing algorithm"))?,
        access_token_format: access_token_format
            .parse()
            .map_err(|_| corrupt("access token format"))?,
        resources: uri_list(row, "p_resources", "resource list")?,
        post_logout_redirect_uris: uri_list(
            row,
            "p_post_logout_redirect_uris",
            "post-logout redirect URI list",
        )?,
        created_at: time_column(row, "p_created_at")?,
        updated_at: time_column(row, "p_updated_at")?,
    })
}
