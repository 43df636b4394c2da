//! [`RequireCallerLayer`]: a tower layer that lets through only requests with a valid
//! gatekey credential, with their [`Caller`] in the request's extensions. Every other request
//! is answered as [`VerifyError`] says (401, 400, or 503 when gatekey cannot be reached) and
//! never reaches the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::Verifier;

/// Authenticates every request with a [`Verifier`]; see the module documentation.
#[derive(Debug, Clone)]
pub struct RequireCallerLayer {
    verifier: Verifier,
}

impl RequireCallerLayer {
    /// The layer checking credentials with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for RequireCallerLayer {
    type Service = RequireCaller<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireCaller {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`RequireCallerLayer`] wraps around another.
#[derive(Debug, Clone)]
pub struct RequireCaller<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B> Service<Request<B>> for RequireCaller<S>
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
        // The service polled ready is the one that must be called; a fresh clone stays behind.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match verifier.verify_headers(request.headers()).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await.map(IntoResponse::into_response)
                }
                Err(refused) => Ok(refused.into_response()),
            }
        })
    }
}
