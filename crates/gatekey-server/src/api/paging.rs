//! The `?page=&per_page=` query of every list.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use gatekey_core::page::PageRequest;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// The query as sent, before its bounds are checked; also what the OpenAPI document lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageQuery {
    /// The page to return, from 1 to 2147483647.
    #[param(minimum = 1, maximum = 2147483647, default = 1)]
    page: Option<u32>,
    /// Items per page, from 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 30)]
    per_page: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Paging(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(raw) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("page and per_page must be positive integers"))?;
        Ok(Self(PageRequest::new(raw.page, raw.per_page)?))
    }
}
