//! Bounded staleness: a server that has not read the invalidation feed for longer than
//! `cache.max_staleness_ms` trusts none of its cached credentials, so a credential revoked
//! elsewhere is refused everywhere within that bound, even by a server cut off from the
//! database (which then answers 503), and a server that reads its database but not the feed
//! checks every credential there.

use std::time::Duration;

use gatekey_core::audit::AuditAction;
use gatekey_core::role::Role;
use gatekey_core::store::ApiKeyStore;
use gatekey_store::SqlStore;
use reqwest::Method;
use tokio::time::Instant;

use crate::database_outage::{postgres_configured, start_behind_proxy, BehindProxy};
use crate::harness::{each_backend, eventually, seed, send, TestApp};
use crate::page_failures::break_table;

/// The bound these tests configure.
const BOUND: Duration = Duration::from_millis(1000);

#[tokio::test]
async fn a_replica_cut_off_from_the_database_refuses_a_revoked_key_within_the_bound() {
    if !postgres_configured() {
        return;
    }
    let BehindProxy {
        app,
        proxy,
        direct_url,
    } = start_behind_proxy(|c| {
        c.cache.max_staleness_ms = 1000;
        c.cache.credential_ttl = 60;
    })
    .await;
    let seeded = seed(&app).await;
    let key = app.key(&seeded.owner, None).await;
    let key_id = app.key_id(&key).await;
    assert!(app.accepts(&key).await, "the key works and is cached");

    // The replica loses its database; an operator revokes the key meanwhile.
    proxy.cut();
    let operator = SqlStore::connect(&direct_url)
        .await
        .expect("a direct connection");
    operator
        .revoke_api_key(
            key_id,
            app.now(),
            app.operator_audit(AuditAction::ApiKeyRevoked, "api_key"),
        )
        .await
        .expect("revoked");
    let revoked = Instant::now();

    let mut answers = Vec::new();
    while revoked.elapsed() < BOUND * 3 {
        let sent = revoked.elapsed();
        let status = send(app.request(Method::GET, "/api/v1/me", &key)).await.0;
        answers.push((sent, status));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let accepted_late: Vec<_> = answers
        .iter()
        .filter(|(sent, status)| *sent >= BOUND && *status == 200)
        .collect();
    assert!(
        accepted_late.is_empty(),
        "accepted past the bound: {accepted_late:?}"
    );
    let last = answers.last().map(|(_, status)| *status);
    assert_eq!(last, Some(503), "cut off, it answers 503: {answers:?}");
    let refused_from = answers.iter().find(|(_, status)| *status != 200);
    eprintln!("the revoked key was refused from {refused_from:?} after the revocation");

    proxy.restore().await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            send(app.request(Method::GET, "/api/v1/me", &key)).await.0 == 401
        })
        .await,
        "once the database is back, the key is refused as revoked"
    );
    operator.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_server_that_cannot_read_the_feed_checks_credentials_in_the_database() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let (member, key) = app
            .person_with_key(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        assert!(app.accepts(&key).await, "the key works and is cached");

        // The user is disabled behind the feed's back, and the feed breaks: nothing tells this
        // server.
        let database = app.second_connection().await;
        sqlx::query("UPDATE users SET disabled_at = 1 WHERE id = $1")
            .bind(member.user.id)
            .execute(&database)
            .await
            .expect("disabled");
        database.close().await;
        break_table(&app, "invalidations").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            app.accepts(&key).await,
            "within the bound (5 s by default) the cache is trusted"
        );

        clock.advance(time::Duration::milliseconds(5001));
        let answer = send(app.request(Method::GET, "/api/v1/me", &key)).await;
        assert_eq!(answer.0, 401, "checked in the database: {}", answer.2);
        app.stop().await;
    })
    .await;
}
