//! The scope catalogue and role mappings, on every backend: entries are unique and keep what
//! was written, a mapping replaces a role's defaults in one account only, deleting an entry
//! leaves the mappings that named it harmless, and every change is audited and announced on
//! the invalidation feed.

use std::sync::{Arc, Mutex};

use gatekey_core::audit::Actor;
use gatekey_core::page::PageRequest;
use gatekey_core::role::{Role, RoleSet};
use gatekey_core::role_scopes::load_account_scopes;
use gatekey_core::scope_admin::{
    create_catalogue_scope, delete_catalogue_scope, map_role, unmap_role, update_catalogue_scope,
    CatalogueInput, RoleMapper, ScopeAdminError,
};
use gatekey_core::scope_catalogue::{CatalogueChange, ScopeStore};
use gatekey_core::store::{AuditStore, Invalidation, InvalidationStore};
use gatekey_store::LocalCaches;
use time::OffsetDateTime;

mod fixtures;
use fixtures::{create_account, each_backend};

fn input(name: &str, roles: Option<&[&str]>) -> CatalogueInput {
    CatalogueInput {
        name: name.into(),
        description: format!("use {name}"),
        group: Some("Product".into()),
        default_roles: roles.map(|r| RoleSet::from_names(r).expect("roles")),
    }
}

#[derive(Default)]
struct Told(Mutex<Vec<Invalidation>>);

impl LocalCaches for Told {
    fn invalidate(&self, invalidations: &[Invalidation]) {
        self.0
            .lock()
            .expect("lock")
            .extend_from_slice(invalidations);
    }
}

#[tokio::test]
async fn the_catalogue_keeps_unique_entries_and_announces_every_change() {
    each_backend(|store| async move {
        let told = Arc::new(Told::default());
        let store = store.with_local_caches(told.clone());
        let now = OffsetDateTime::now_utc();
        let operator = Actor::operator();
        let acme = create_account(&store, "acme", "Acme", now).await;

        let created = create_catalogue_scope(
            &store,
            now,
            input("features:read", None),
            &operator,
            Some(acme.id),
        )
        .await
        .expect("created");
        assert_eq!(created.default_roles, RoleSet::CATALOGUE_DEFAULT);
        assert_eq!(created.group.as_deref(), Some("Product"));
        let again =
            create_catalogue_scope(&store, now, input("features:read", None), &operator, None)
                .await;
        assert!(matches!(again, Err(ScopeAdminError::Taken)));
        for bad in ["has space", "quote\"", "bell\u{7}", "read"] {
            let refused =
                create_catalogue_scope(&store, now, input(bad, None), &operator, None).await;
            assert!(matches!(refused, Err(ScopeAdminError::Name(_))), "{bad:?}");
        }

        let change = CatalogueChange {
            description: Some("Read the feature list".into()),
            group: Some(None),
            default_roles: Some(RoleSet::from_names(&["owner"]).expect("roles")),
        };
        let updated = update_catalogue_scope(
            &store,
            now,
            "features:read",
            change,
            &operator,
            Some(acme.id),
        )
        .await
        .expect("updated");
        assert_eq!(
            (
                updated.description.as_str(),
                updated.group.clone(),
                updated.default_roles.to_string()
            ),
            ("Read the feature list", None, "owner".to_owned())
        );
        let missing = update_catalogue_scope(
            &store,
            now,
            "nope",
            CatalogueChange::default(),
            &operator,
            None,
        )
        .await;
        assert!(matches!(missing, Err(ScopeAdminError::NotFound)));
        let builtin = delete_catalogue_scope(&store, now, "admin", &operator, None).await;
        assert!(matches!(builtin, Err(ScopeAdminError::Builtin("admin"))));

        let listed = store.scope_catalogue().await.expect("catalogue");
        assert_eq!(listed, vec![updated]);
        delete_catalogue_scope(&store, now, "features:read", &operator, Some(acme.id))
            .await
            .expect("deleted");
        assert!(store.scope_catalogue().await.expect("catalogue").is_empty());
        let gone = delete_catalogue_scope(&store, now, "features:read", &operator, None).await;
        assert!(matches!(gone, Err(ScopeAdminError::NotFound)));

        let actions: Vec<String> = store
            .list_audits(acme.id, PageRequest::default())
            .await
            .expect("audit")
            .items
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions[..3],
            ["scope.deleted", "scope.updated", "scope.created"]
        );
        assert_eq!(
            *told.0.lock().expect("lock"),
            vec![Invalidation::ScopeCatalogue; 3],
            "each committed change, and no refused one, reaches this server's caches"
        );
        let (feed, _) = store.invalidations_since(0).await.expect("feed");
        assert_eq!(
            feed.iter()
                .filter(|i| **i == Invalidation::ScopeCatalogue)
                .count(),
            3,
            "and the feed, for the others"
        );
    })
    .await;
}

#[tokio::test]
async fn a_role_mapping_replaces_the_defaults_in_its_account_only() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let operator = Actor::operator();
        let acme = create_account(&store, "acme", "Acme", now).await;
        let other = create_account(&store, "other", "Other", now).await;
        for (name, roles) in [
            ("billing", &["owner"][..]),
            ("ideas:write", &["owner", "admin", "member"]),
        ] {
            create_catalogue_scope(&store, now, input(name, Some(roles)), &operator, None)
                .await
                .expect("created");
        }
        let catalogue = load_account_scopes(&store, acme.id)
            .await
            .expect("scopes")
            .shared_catalogue();
        let mapper = RoleMapper {
            account_id: acme.id,
            role: Role::Admin,
            actor: &operator,
        };
        map_role(&store, now, &mapper, &catalogue, Role::Member, &["billing"])
            .await
            .expect("mapped");
        let refused = map_role(&store, now, &mapper, &catalogue, Role::Owner, &["billing"]).await;
        assert!(
            matches!(refused, Err(ScopeAdminError::Rank(_))),
            "an admin cannot map owners"
        );
        let unknown = map_role(&store, now, &mapper, &catalogue, Role::Viewer, &["sudo"]).await;
        assert!(matches!(unknown, Err(ScopeAdminError::Mapping(_))));

        let acme_scopes = load_account_scopes(&store, acme.id).await.expect("scopes");
        assert_eq!(
            acme_scopes.held_by(Role::Member).to_string(),
            "read write billing"
        );
        assert_eq!(
            acme_scopes.held_by(Role::Admin).to_string(),
            "read write admin ideas:write"
        );
        let other_scopes = load_account_scopes(&store, other.id).await.expect("scopes");
        assert_eq!(
            other_scopes.held_by(Role::Member).to_string(),
            "read write ideas:write"
        );

        // Deleting an entry a mapping names: the mapping stays, the name is held by nobody.
        delete_catalogue_scope(&store, now, "billing", &operator, None)
            .await
            .expect("deleted");
        let after = load_account_scopes(&store, acme.id).await.expect("scopes");
        assert_eq!(after.held_by(Role::Member).to_string(), "read write");
        assert!(after.is_overridden(Role::Member));

        assert!(unmap_role(&store, now, &mapper, Role::Member)
            .await
            .expect("reset"));
        assert!(!unmap_role(&store, now, &mapper, Role::Member)
            .await
            .expect("reset"));
        let reset = load_account_scopes(&store, acme.id).await.expect("scopes");
        assert_eq!(
            reset.held_by(Role::Member).to_string(),
            "read write ideas:write"
        );

        let actions: Vec<String> = store
            .list_audits(acme.id, PageRequest::default())
            .await
            .expect("audit")
            .items
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.action.as_str(),
                    e.target_id.as_deref().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            actions[..2],
            ["role_scopes.reset member", "role_scopes.changed member"]
        );
        let (feed, _) = store.invalidations_since(0).await.expect("feed");
        assert_eq!(
            feed.iter()
                .filter(|i| **i == Invalidation::AccountScopes(acme.id))
                .count(),
            2,
            "the mapping and its one reset; the reset that found nothing wrote nothing"
        );
    })
    .await;
}
