//! A token's audience (RFC 8707 resource indicators, migration 0010) on every backend: what an
//! access or refresh token was issued for comes back with it, through a single issuance, the
//! batched issuance of many at once, and a refresh rotation.

use std::sync::Arc;

use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::store::{GrantStore, TokenStore};
use gatekey_core::scope::ScopeSet;
use gatekey_store::testing::{application_settings, public_application};

mod fixtures;
use fixtures::{access_token, acme_application, audit, each_backend, refresh_token};

fn audience(n: usize) -> Vec<String> {
    (0..n % 3)
        .map(|i| format!("https://r{i}.example/{n}"))
        .collect()
}

#[tokio::test]
async fn tokens_keep_their_audience() {
    each_backend(|store| async move {
        let f = acme_application(store, |account_id, now| {
            let settings =
                application_settings("Portal", &[GrantType::DeviceCode, GrantType::RefreshToken]);
            public_application("app_aud", account_id, settings, now)
        })
        .await;
        let grant = f
            .store
            .create_grant(
                f.user_id,
                f.account_id,
                f.app_id,
                ScopeSet::ALL,
                f.now,
                audit(AuditAction::ConsentGranted, "grant"),
            )
            .await
            .unwrap();
        let store = Arc::new(f.store.clone());
        let now = f.now;
        let issuances: Vec<_> = (0..60)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let (access, mut access_row) = access_token(now, None);
                    access_row.audience = audience(n);
                    let refresh = (n % 2 == 0).then(|| {
                        let (secret, mut row) = refresh_token(now);
                        row.audience = audience(n + 1);
                        (secret, row)
                    });
                    let row = refresh.as_ref().map(|(_, row)| row.clone());
                    store.issue_tokens(grant.id, access_row, row).await.unwrap();
                    (n, access, refresh.map(|(secret, _)| secret))
                })
            })
            .collect();
        for issuance in issuances {
            let (n, access, refresh) = issuance.await.unwrap();
            let record = store.access_token(&access.hash()).await.unwrap().unwrap();
            assert_eq!(record.audience, audience(n), "access token {n}");
            if let Some(refresh) = refresh {
                let record = store.refresh_token(&refresh.hash()).await.unwrap().unwrap();
                assert_eq!(record.audience, audience(n + 1), "refresh token {n}");

                let (next_access, mut next_access_row) = access_token(now, None);
                next_access_row.audience = vec!["urn:narrowed".into()];
                let (next_refresh, mut next_refresh_row) = refresh_token(now);
                next_refresh_row.audience = record.audience.clone();
                let rotated = store
                    .rotate_refresh_token(
                        record.id,
                        record.family_id.unwrap(),
                        grant.id,
                        now,
                        next_access_row,
                        next_refresh_row,
                    )
                    .await
                    .unwrap();
                assert!(rotated.is_some());
                let next = store
                    .access_token(&next_access.hash())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(next.audience, ["urn:narrowed"]);
                let next = store
                    .refresh_token(&next_refresh.hash())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(next.audience, audience(n + 1));
            }
        }
    })
    .await;
}
