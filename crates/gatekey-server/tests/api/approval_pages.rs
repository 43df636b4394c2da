//! Who registered it, on every page that asks for approval: the consent page and the device
//! page always name the registering account (with a notice when it is none of the accounts the
//! page lets the user act in), show the client id, and describe scopes with the same rendering.
//! The device page accepts a decision only for an account it offered.

use gatekey_core::account::Account;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_core::oauth::device::{display_user_code, new_user_code, NewDeviceCode};
use gatekey_core::oauth::store::DeviceStore;
use gatekey_core::role::Role;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::AccountStore;
use reqwest::Method;
use time::{Duration, OffsetDateTime};

use crate::harness::{csrf_token_in, each_backend, send_text, sign_in, TestApp, PASSWORD};
use crate::oauth_fixture::{Client, ClientSpec};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REGISTERED_BY_EVIL: &str = "registered by <strong>Evil Corp</strong>";

/// An account whose display name differs from its slug, as a real tenant's would.
async fn named_account(app: &TestApp, slug: &str, name: &str) -> Account {
    let now = OffsetDateTime::now_utc();
    let audit = AuditEntry::new(
        now,
        &Actor::operator(),
        AuditAction::AccountCreated,
        "account",
    );
    app.store()
        .create_account(slug, name, now, audit)
        .await
        .expect("account")
}

fn authorize_path(client_id: &str) -> String {
    format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=code&state=s&scope=read&code_challenge={CHALLENGE}&code_challenge_method=S256"
    )
}

/// The `<ul class="scopes">` list of a page.
fn scope_list_in(html: &str) -> &str {
    let start = html.find("<ul class=\"scopes\">").expect("a scope list");
    let end = html[start..].find("</ul>").expect("end of the list") + start + 5;
    &html[start..end]
}

/// Starts a device authorization for `client` with scope `read`; returns the user code.
async fn device_code(app: &TestApp, client: &Client) -> String {
    let now = OffsetDateTime::now_utc();
    let user_code = new_user_code();
    let device = NewDeviceCode {
        hash: Secret::generate(SecretKind::DeviceCode).hash(),
        user_code: user_code.clone(),
        application_id: client.application.id,
        scopes: gatekey_core::scope::ScopeSet::parse("read").expect("scope"),
        created_at: now,
        expires_at: now + Duration::minutes(10),
    };
    app.store()
        .create_device_code(device)
        .await
        .expect("device code");
    user_code
}

fn device_client() -> ClientSpec {
    ClientSpec {
        client_type: ClientType::Public,
        grant_types: vec![GrantType::DeviceCode, GrantType::RefreshToken],
        scopes: "read",
        introspect: false,
        service_account_id: None,
        access_token_format: gatekey_core::oauth::application::AccessTokenFormat::Opaque,
    }
}

/// The value of the hidden field `name` in a page.
fn hidden_value_in(html: &str, name: &str) -> String {
    let mark = format!("name=\"{name}\" value=\"");
    let start = html.find(&mark).expect("the hidden field") + mark.len();
    let length = html[start..].find('"').expect("end of the value");
    html[start..start + length].to_owned()
}

/// Makes the user `user_id` a member of `account`.
async fn join(app: &TestApp, user_id: i64, account: &Account) {
    app.join(user_id, account.id, Role::Member).await;
}

#[tokio::test]
async fn the_device_page_names_the_registrar_whatever_account_is_chosen_and_only_offered_ones_count(
) {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        join(&app, seeded.owner.user.id, &seeded.other).await;
        // Registered by the account the session acts in: the old notice stayed silent, though
        // the user may then choose another account in the drop-down.
        let device_app = app.register_client(seeded.acme.id, device_client()).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let form = send_text(browser.request(&app, Method::GET, "/device")).await;
        let csrf = csrf_token_in(&form.2);

        let user_code = device_code(&app, &device_app).await;
        let page = send_text(browser.request(&app, Method::POST, "/device").form(&[
            ("csrf_token", csrf.as_str()),
            ("user_code", &display_user_code(&user_code)),
        ]))
        .await;
        assert_eq!(page.0, 200, "{}", page.2);
        assert!(page.2.contains("value=\"other\""), "both accounts offered");
        assert!(
            page.2
                .contains("Registered by <strong>acme</strong> (<code>acme</code>)"),
            "{}",
            page.2
        );
        assert!(page.2.contains(&device_app.id), "the client id");
        let offered = hidden_value_in(&page.2, "offered");

        // An account the user joined after the page was shown was not offered: refused.
        let third = named_account(&app, "third", "Third Ltd").await;
        join(&app, seeded.owner.user.id, &third).await;
        let decide = |account: &'static str| {
            browser
                .request(&app, Method::POST, "/device/decision")
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("user_code", user_code.as_str()),
                    ("account", account),
                    ("offered", offered.as_str()),
                    ("decision", "allow"),
                ])
        };
        let refused = send_text(decide("third")).await;
        assert_eq!(refused.0, 400, "{}", refused.2);
        assert!(refused.2.contains("not offered"), "{}", refused.2);
        let record = app.device_code(&user_code).await;
        assert!(record.grant_id.is_none(), "nothing was granted");

        // An offered account other than the session's is accepted.
        let done = send_text(decide("other")).await;
        assert_eq!(done.0, 200, "{}", done.2);
        assert!(done.2.contains("Device connected"), "{}", done.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_consent_notice_is_for_the_account_the_user_chose() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        join(&app, seeded.owner.user.id, &seeded.other).await;
        let own = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        // Two accounts: the user chooses first, and the consent page is for that choice.
        let choice = send_text(browser.request(&app, Method::GET, &authorize_path(&own.id))).await;
        assert_eq!(choice.0, 200, "{}", choice.2);
        assert!(choice.2.contains("Choose an account"), "{}", choice.2);
        let in_other = format!("{}&account=other", authorize_path(&own.id));
        let other = send_text(browser.request(&app, Method::GET, &in_other)).await;
        assert_eq!(other.0, 200, "{}", other.2);
        assert!(
            other
                .2
                .contains("registered by <strong>acme</strong> (<code>acme</code>), not by other."),
            "{}",
            other.2
        );
        assert!(other.2.contains(r#"name="account" value="other""#));
        let in_acme = format!("{}&account=acme", authorize_path(&own.id));
        let acme = send_text(browser.request(&app, Method::GET, &in_acme)).await;
        assert_eq!(acme.0, 200, "{}", acme.2);
        assert!(!acme.2.contains("not by"), "{}", acme.2);
        assert!(acme.2.contains("Registered by <strong>acme</strong>"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_consent_page_names_another_registering_account_and_the_client_id() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let evil = named_account(&app, "evil", "Evil Corp").await;
        // Both applications carry the same name: only the page can tell them apart.
        let own = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let look_alike = app
            .register_client(evil.id, ClientSpec::confidential())
            .await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        let foreign =
            send_text(browser.request(&app, Method::GET, &authorize_path(&look_alike.id))).await;
        assert_eq!(foreign.0, 200, "{}", foreign.2);
        assert!(
            foreign.2.contains("Allow"),
            "the consent page: {}",
            foreign.2
        );
        assert!(foreign.2.contains(REGISTERED_BY_EVIL), "{}", foreign.2);
        assert!(foreign.2.contains(&look_alike.id), "the client id");

        let trusted = send_text(browser.request(&app, Method::GET, &authorize_path(&own.id))).await;
        assert_eq!(trusted.0, 200, "{}", trusted.2);
        assert!(!trusted.2.contains("registered by"), "{}", trusted.2);
        assert!(
            trusted.2.contains("Registered by <strong>acme</strong>"),
            "{}",
            trusted.2
        );
        assert!(trusted.2.contains(&own.id), "the client id");
        assert!(trusted.2.contains("read your data in this account"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_device_page_names_the_registering_account_and_describes_scopes_as_consent_does() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let evil = named_account(&app, "evil", "Evil Corp").await;
        let own = app.register_client(seeded.acme.id, device_client()).await;
        let look_alike = app.register_client(evil.id, device_client()).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let form = send_text(browser.request(&app, Method::GET, "/device")).await;
        assert_eq!(form.0, 200, "{}", form.2);
        let csrf = csrf_token_in(&form.2);

        let approve_page = |client: Client| {
            let (app, browser, csrf) = (&app, &browser, &csrf);
            async move {
                let code = display_user_code(&device_code(app, &client).await);
                let page = send_text(
                    browser
                        .request(app, Method::POST, "/device")
                        .form(&[("csrf_token", csrf.as_str()), ("user_code", &code)]),
                )
                .await;
                assert_eq!(page.0, 200, "{}", page.2);
                assert!(page.2.contains("Allow"), "the approval page: {}", page.2);
                page.2
            }
        };
        let foreign = approve_page(look_alike.clone()).await;
        assert!(foreign.contains(REGISTERED_BY_EVIL), "{foreign}");
        assert!(foreign.contains(&look_alike.id), "the client id");
        let trusted = approve_page(own.clone()).await;
        assert!(!trusted.contains("registered by"), "{trusted}");
        assert!(trusted.contains(&own.id), "the client id");

        // The scopes read exactly as on the consent page.
        let web_app = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let consent =
            send_text(browser.request(&app, Method::GET, &authorize_path(&web_app.id))).await;
        assert_eq!(consent.0, 200, "{}", consent.2);
        assert!(scope_list_in(&trusted).contains("read your data in this account"));
        assert_eq!(scope_list_in(&trusted), scope_list_in(&consent.2));
        app.stop().await;
    })
    .await;
}
