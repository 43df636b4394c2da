//! (to be written)

use axum::Router;

use crate::state::AppState;

/// This endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
