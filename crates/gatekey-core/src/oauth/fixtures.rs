//! Records for the rules' unit tests.

use time::{Duration, OffsetDateTime};

use super::application::{AccessTokenFormat, Application, ClientType, GrantType, SigningAlgorithm};
use super::grant::Grant;
use crate::role::Role;
use crate::scope::ScopeSet;
use crate::user::{Member, Membership, User, UserKind};

/// A fixed "now".
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

/// Application `id` of account 1, with scopes `read write`, one redirect URI and service
/// account 7.
pub fn app(id: i64, client_type: ClientType, grants: Vec<GrantType>) -> Application {
    Application {
        id,
        client_id: format!("app_{id}"),
        account_id: 1,
        name: "App".into(),
        client_type,
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        redirect_uris: vec!["https://a.example/cb".into()],
        grant_types: grants,
        scopes: ScopeSet::parse("read write").unwrap(),
        implicit_allowed: false,
        introspect: false,
        verify_keys: false,
        introspect_all_accounts: false,
        service_account_id: Some(7),
        id_token_signed_response_alg: SigningAlgorithm::Rs256,
        access_token_format: AccessTokenFormat::Opaque,
        resources: vec![],
        post_logout_redirect_uris: vec![],
        created_at: t0(),
        updated_at: t0(),
    }
}

/// User `user_id`, enabled, a member of account 1 with `role`.
pub fn member(user_id: i64, kind: UserKind, role: Role) -> Member {
    Member {
        user: User {
            id: user_id,
            email: "u@x.test".into(),
            name: "U".into(),
            kind,
            password_hash: None,
            disabled_at: None,
            created_at: t0(),
            must_change_password: false,
        },
        membership: Membership {
            id: 1,
            user_id,
            account_id: 1,
            role,
            created_at: t0(),
        },
    }
}

/// Grant 3 of user 5 in account 1 to `application_id`, for `read write`, standing.
pub fn grant(application_id: i64) -> Grant {
    Grant {
        id: 3,
        user_id: 5,
        account_id: 1,
        application_id,
        scopes: ScopeSet::parse("read write").unwrap(),
        created_at: t0(),
        revoked_at: None,
    }
}
