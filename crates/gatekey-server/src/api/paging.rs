//! The `?page=&per_page=` query of every list.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use gatekey_core::page::PageRequest;
use serde::Deserialize;

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
struct RawPaging {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Paging(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(raw) = Query::<RawPaging>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("page and per_page must be positive integers"))?;
        Ok(Self(PageRequest::new(raw.page, raw.per_page)?))
    }
}
