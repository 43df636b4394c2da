//! The error body: `{"error":"<code>","error_description":"<text>"}`, the shape of RFC 6749
//! §5.2, used by the REST API too.

use serde::{Deserialize, Serialize};

/// An error response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A machine-readable code such as `invalid_token` or `not_found`.
    pub error: String,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}
