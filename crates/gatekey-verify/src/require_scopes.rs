//! [`require_scopes`]: a layer for routes whose every request needs some scopes, answering
//! `403 insufficient_scope` (RFC 6750 §3.1) naming the first one missing. Put it inside
//! [`crate::RequireCallerLayer`] (added after it, with `route_layer`), which finds the caller.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::extract::caller_of_request;

/// The layer that requires each of `scopes`.
pub fn require_scopes<I, T>(scopes: I) -> RequireScopesLayer
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    RequireScopesLayer {
        scopes: scopes.into_iter().map(Into::into).collect(),
    }
}

/// Requires scopes of every request; made by [`require_scopes`].
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    scopes: Arc<[String]>,
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            scopes: self.scopes.clone(),
        }
    }
}

/// The service [`RequireScopesLayer`] wraps around another.
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    scopes: Arc<[String]>,
}

impl<S, B> Service<Request<B>> for RequireScopes<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let allowed = caller_of_request(&mut parts)
                .await
                .and_then(|caller| caller.require_all(scopes.iter().map(String::as_str)));
            request = Request::from_parts(parts, body);
            match allowed {
                Ok(()) => inner.call(request).await.map(IntoResponse::into_response),
                Err(refused) => Ok(refused.into_response()),
            }
        })
    }
}
