//! Seeding accounts, people, service accounts and API keys straight through the store, at the
//! time of the app's clock, with the operator as the actor.

use gatekey_core::account::Account;
use gatekey_core::api_key::{ApiKeyRequest, KeyOwner};
use gatekey_core::api_key_creation::create_api_key;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::role_scopes::load_account_scopes;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{AccountStore, UserStore};
use gatekey_core::user::Member;
use gatekey_core::user_admin::{create_person, create_service_account, PersonRequest};
use gatekey_store::Backend;
use reqwest::Method;

use super::http::send;
use super::TestApp;

/// The password every seeded person gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// An audit entry of the operator at the app's time: what a write seeded by a test, or
    /// made as an operator command makes it, records.
    pub fn operator_audit(&self, action: AuditAction, target: &'static str) -> AuditEntry {
        AuditEntry::new(self.now(), &Actor::operator(), action, target)
    }

    /// Creates an account named as its slug.
    pub async fn account(&self, slug: &str) -> Account {
        let now = self.now();
        self.store()
            .create_account(
                slug,
                slug,
                now,
                self.operator_audit(AuditAction::AccountCreated, "account"),
            )
            .await
            .expect("account")
    }

    /// Creates a person with [`PASSWORD`].
    pub async fn person(&self, account: &Account, email: &str, role: Role) -> Member {
        let hash = hash_password(PASSWORD).expect("hash");
        let person = PersonRequest {
            email,
            name: "Test Person",
            role,
            password_hash: Some(hash),
        };
        create_person(
            self.store(),
            self.now(),
            account,
            person,
            &Actor::operator(),
        )
        .await
        .expect("person")
    }

    /// Creates a service account.
    pub async fn service_account(&self, account: &Account, name: &str, role: Role) -> Member {
        create_service_account(
            self.store(),
            self.now(),
            account,
            name,
            role,
            &Actor::operator(),
        )
        .await
        .expect("service account")
    }

    /// Creates an API key for `member` with `scopes` (all the role allows when `None`).
    pub async fn key(&self, member: &Member, scopes: Option<&str>) -> String {
        self.key_expiring(member, scopes, None).await
    }

    /// Creates an API key for `member` with `scopes` (all the role allows when `None`) that
    /// stops working at `expires_at`, if given.
    pub async fn key_expiring(
        &self,
        member: &Member,
        scopes: Option<&str>,
        expires_at: Option<time::OffsetDateTime>,
    ) -> String {
        let request = ApiKeyRequest {
            name: "test key".into(),
            scopes: scopes.map(|s| ScopeSet::parse(s).expect("scopes")),
            expires_at,
        };
        let held = load_account_scopes(self.store(), member.membership.account_id)
            .await
            .expect("what the roles hold");
        let role_scopes = held.held_by(member.membership.role);
        let (_, secret) = create_api_key(
            self.store(),
            self.now(),
            KeyOwner::new(member, role_scopes),
            role_scopes.clone(),
            request,
            &Actor::operator(),
        )
        .await
        .expect("key");
        secret.expose().to_owned()
    }

    /// Creates an API key for `member` with all their role allows and `usage` (meta, limits,
    /// credits), as an operator would.
    pub async fn metered_key(
        &self,
        member: &Member,
        usage: gatekey_core::api_key_usage::KeyUsageSettings,
    ) -> String {
        let request = ApiKeyRequest {
            name: "metered key".into(),
            scopes: None,
            expires_at: None,
        };
        let held = load_account_scopes(self.store(), member.membership.account_id)
            .await
            .expect("what the roles hold");
        let role_scopes = held.held_by(member.membership.role);
        let usage = gatekey_core::api_key_creation::UsageRequest {
            settings: usage,
            may_admin: true,
            parent_metered: false,
        };
        let (_, secret) = gatekey_core::api_key_creation::create_metered_api_key(
            self.store(),
            self.now(),
            KeyOwner::new(member, role_scopes),
            role_scopes.clone(),
            None,
            request,
            usage,
            &Actor::operator(),
        )
        .await
        .expect("metered key");
        secret.expose().to_owned()
    }

    /// Creates a person with [`PASSWORD`] and an API key with all their role allows.
    pub async fn person_with_key(
        &self,
        account: &Account,
        email: &str,
        role: Role,
    ) -> (Member, String) {
        let person = self.person(account, email, role).await;
        let key = self.key(&person, None).await;
        (person, key)
    }

    /// Makes the user `user_id` a member of `account_id` as `role`, straight through the store.
    pub async fn join(&self, user_id: i64, account_id: i64, role: Role) {
        let now = self.now();
        let audit = self.operator_audit(AuditAction::MembershipCreated, "membership");
        self.store()
            .add_membership(user_id, account_id, role, now, audit)
            .await
            .expect("membership");
    }

    /// Disables `member`'s user straight in the database, as the operator command does.
    pub async fn disable_user(&self, member: &Member) {
        self.store()
            .disable_user(
                member.user.id,
                self.now(),
                self.operator_audit(AuditAction::UserDisabled, "user"),
            )
            .await
            .expect("user disabled");
    }

    /// The id of an API key, as `GET /api/v1/me` reports it.
    pub async fn key_id(&self, key: &str) -> i64 {
        let me = send(self.request(Method::GET, "/api/v1/me", key)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        me.2["credential"]["id"].as_i64().expect("an API key id")
    }

    /// Whether the app takes `credential` (an API key or an access token) on the API now.
    pub async fn accepts(&self, credential: &str) -> bool {
        send(self.request(Method::GET, "/api/v1/me", credential))
            .await
            .0
            == 200
    }
}

impl TestApp {
    /// Starts the app on a fresh database of `backend` and seeds it ([`seed`]): where most tests
    /// begin.
    pub async fn start_seeded(backend: Backend) -> (Self, Seeded) {
        let app = Self::start(backend).await;
        let seeded = seed(&app).await;
        (app, seeded)
    }

    /// Starts the app on a fresh database of `backend` and seeds a [`Team`], handed back as
    /// `(app, seeded, admin, member)`: where the tests of who may do what begin.
    pub async fn start_with_team(backend: Backend) -> (Self, Seeded, Member, Member) {
        let app = Self::start(backend).await;
        let Team {
            seeded,
            admin,
            member,
        } = Team::seed(&app).await;
        (app, seeded, admin, member)
    }
}

/// What most tests need: account `acme` with an owner, and account `other`.
pub struct Seeded {
    /// Account `acme`.
    pub acme: Account,
    /// Account `other`, for what must not cross accounts.
    pub other: Account,
    /// `owner@acme.test`, owner of `acme`.
    pub owner: Member,
}

/// Seeds [`Seeded`].
pub async fn seed(app: &TestApp) -> Seeded {
    let acme = app.account("acme").await;
    let other = app.account("other").await;
    let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
    Seeded { acme, other, owner }
}

/// [`Seeded`] with one person of each lower rank in `acme`, for tests of who may do what.
pub struct Team {
    /// Both accounts and the owner.
    pub seeded: Seeded,
    /// `admin@acme.test`, admin of `acme`.
    pub admin: Member,
    /// `member@acme.test`, member of `acme`.
    pub member: Member,
}

impl Team {
    /// Seeds [`Seeded`], then an admin and a member.
    pub async fn seed(app: &TestApp) -> Self {
        let seeded = seed(app).await;
        let admin = app
            .person(&seeded.acme, "admin@acme.test", Role::Admin)
            .await;
        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        Self {
            seeded,
            admin,
            member,
        }
    }
}
