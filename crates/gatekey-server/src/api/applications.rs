//! (to be written)

use axum::Router;

use crate::state::AppState;

/// This resource's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
