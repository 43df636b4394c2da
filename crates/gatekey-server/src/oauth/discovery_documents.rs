//! The discovery documents, rendered once per scope catalogue and kept in memory (served by
//! [`super::discovery`]).

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use gatekey_core::scope_catalogue::ScopeCatalogue;

use super::metadata::{metadata, openid_configuration};

/// Both documents, serialized, for one catalogue.
#[derive(Debug)]
pub struct Rendered {
    catalogue: Arc<ScopeCatalogue>,
    /// The RFC 8414 document.
    pub oauth: Bytes,
    /// The OpenID Provider document.
    pub openid: Bytes,
}

/// The documents of the last catalogue seen.
#[derive(Debug, Default)]
pub struct DiscoveryDocuments {
    rendered: Mutex<Option<Arc<Rendered>>>,
}

impl DiscoveryDocuments {
    /// The documents for `catalogue` at `issuer`: the stored ones when they were rendered from
    /// this very catalogue, else rendered now and stored.
    pub fn for_catalogue(&self, issuer: &str, catalogue: Arc<ScopeCatalogue>) -> Arc<Rendered> {
        let mut slot = self.rendered.lock().unwrap_or_else(PoisonError::into_inner);
        let rendered = match slot.as_ref() {
            Some(rendered) if Arc::ptr_eq(&rendered.catalogue, &catalogue) => {
                return rendered.clone()
            }
            // The catalogue was read again but has not changed: same documents.
            Some(rendered) if rendered.catalogue == catalogue => Arc::new(Rendered {
                catalogue,
                oauth: rendered.oauth.clone(),
                openid: rendered.openid.clone(),
            }),
            _ => {
                let scopes = catalogue.supported_scopes();
                Arc::new(Rendered {
                    oauth: to_bytes(&metadata(issuer, &scopes)),
                    openid: to_bytes(&openid_configuration(issuer, &scopes)),
                    catalogue,
                })
            }
        };
        *slot = Some(rendered.clone());
        rendered
    }
}

fn to_bytes(document: &impl serde::Serialize) -> Bytes {
    // Serializing plain strings, lists and booleans cannot fail.
    Bytes::from(serde_json::to_vec(document).unwrap_or_default())
}
