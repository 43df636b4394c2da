//! `gatekey admin api-key roll` and `api-key list --expiring-within`: a new secret for the same
//! key, the old one kept for the grace, refusals with their exit codes.

use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::ApiKeyStore;
use gatekey_store::testing::TestDatabase;
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

use crate::fixtures::{create_account, create_api_key, create_person};
use crate::process::{admin, admin_json};

/// Whether `secret` finds a key, and whether as a secret a roll replaced.
async fn found(store: &SqlStore, secret: &str) -> Option<bool> {
    let hash = Secret::parse(SecretKind::ApiKey, secret).unwrap().hash();
    let found = store.api_key_credential(&hash).await.unwrap()?;
    Some(found.by_previous_secret)
}

#[tokio::test]
async fn roll_prints_a_new_secret_and_keeps_the_old_for_the_grace() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();
    create_account(url, "acme", "Acme");
    create_person(url, "ada@acme.test", "acme", "member");
    let key = create_api_key(url, ["--email", "ada@acme.test"], "acme", "ci", &[]);
    let id = key["id"].to_string();
    let old = key["secret"].as_str().unwrap().to_owned();

    let before = OffsetDateTime::now_utc();
    let rolled = admin_json(url, &["api-key", "roll", &id, "--grace", "1h"]);
    let new = rolled["secret"].as_str().unwrap().to_owned();
    assert_eq!(rolled["id"], key["id"]);
    assert_eq!(rolled["name"], "ci");
    assert_eq!(rolled["previous_prefix"], key["prefix"]);
    let until = OffsetDateTime::parse(
        rolled["previous_secret_expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        until > before + Duration::minutes(59)
            && until <= OffsetDateTime::now_utc() + Duration::hours(1)
    );
    let store = SqlStore::connect_existing(url).await.unwrap();
    assert_eq!(
        found(&store, &old).await,
        Some(true),
        "the old secret in its grace"
    );
    assert_eq!(found(&store, &new).await, Some(false));

    let human = admin(url, &["api-key", "roll", &id, "--grace", "0"]);
    assert!(human.status.success(), "{human:?}");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("shown only once") && text.contains("stopped working"),
        "{text}"
    );
    let newest = Secret::parse(SecretKind::ApiKey, text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(found(&store, &old).await, None, "gone");
    assert_eq!(found(&store, &new).await, None, "no grace: gone at once");
    assert_eq!(found(&store, newest.expose()).await, Some(false));

    let too_long = admin(url, &["api-key", "roll", &id, "--grace", "8d"]);
    assert_eq!(too_long.status.code(), Some(2), "{too_long:?}");
    let missing = admin(url, &["api-key", "roll", "9999", "--grace", "0"]);
    assert_eq!(missing.status.code(), Some(1));
    admin_json(url, &["api-key", "revoke", &id]);
    let revoked = admin(url, &["api-key", "roll", &id, "--grace", "1h"]);
    assert_eq!(revoked.status.code(), Some(1));
    let reason = String::from_utf8_lossy(&revoked.stderr);
    assert!(
        reason.contains("revoked") && reason.lines().count() == 1,
        "{reason}"
    );
    assert_eq!(
        found(&store, newest.expose()).await,
        Some(false),
        "nothing changed"
    );
    let stored = store
        .api_key_by_id(key["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some());
    store.close().await;
}

#[tokio::test]
async fn list_keeps_the_keys_expiring_within_a_window() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();
    create_account(url, "acme", "Acme");
    create_person(url, "ada@acme.test", "acme", "member");
    let owner = ["--email", "ada@acme.test"];
    let soon = create_api_key(url, owner, "acme", "soon", &["--expires-in", "2d"]);
    create_api_key(url, owner, "acme", "later", &["--expires-in", "30d"]);
    create_api_key(url, owner, "acme", "never", &[]);
    let listed = admin_json(url, &["api-key", "list", "--expiring-within", "7d"]);
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["api_keys"][0]["id"], soon["id"]);
    let all = admin_json(url, &["api-key", "list"]);
    assert_eq!(all["total"], 3);
}
