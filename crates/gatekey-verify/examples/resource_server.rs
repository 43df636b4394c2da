//! A small notes API protected by gatekey: `GET /notes` needs the `read` scope, `POST /notes`
//! the `write` scope, and notes belong to the caller's account.
//!
//! ```sh
//! AUTH_SERVER=http://127.0.0.1:8080 INTROSPECT_CLIENT_ID=app_… INTROSPECT_CLIENT_SECRET=gk_cs_… \
//!   RESOURCE=https://notes.example.com PORT=3000 \
//!   cargo run -p gatekey-verify --example resource_server
//! ```
//!
//! `RESOURCE` (optional) is this API's identifier (RFC 8707): with it, JWT access tokens
//! naming it in `aud` are verified offline. `CACHE_SECONDS` (default 5) is how long an
//! introspection answer is reused; `0` asks gatekey every time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatekey_proto::ErrorBody;
use gatekey_verify::{Caller, RequireCallerLayer, Verifier, VerifyError};
use serde::{Deserialize, Serialize};

/// The longest note, in characters.
const MAX_NOTE_CHARS: usize = 1000;

/// One note, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    id: usize,
    text: String,
    /// gatekey's id of the user who wrote it.
    author: i64,
}

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

/// The notes of each account, by account slug.
#[derive(Debug, Default, Clone)]
pub struct Notes(Arc<Mutex<HashMap<String, Vec<Note>>>>);

/// Why a request was refused: gatekey's verdict, or a bad body.
enum NotesError {
    Verify(VerifyError),
    BadRequest(&'static str),
}

impl From<VerifyError> for NotesError {
    fn from(error: VerifyError) -> Self {
        Self::Verify(error)
    }
}

impl IntoResponse for NotesError {
    fn into_response(self) -> Response {
        match self {
            Self::Verify(error) => error.into_response(),
            Self::BadRequest(description) => {
                let body = ErrorBody {
                    error: "invalid_request".into(),
                    error_description: Some(description.into()),
                };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
        }
    }
}

/// `GET /notes`: the notes of the caller's account.
async fn list_notes(
    State(notes): State<Notes>,
    caller: Caller,
) -> Result<Json<Vec<Note>>, NotesError> {
    caller.require("read")?;
    let notes = notes
        .0
        .lock()
        // A panic elsewhere leaves whole notes behind: each push is one step.
        .unwrap_or_else(PoisonError::into_inner);
    Ok(Json(
        notes.get(&caller.account.slug).cloned().unwrap_or_default(),
    ))
}

/// `POST /notes` with `{"text":"…"}`: adds a note to the caller's account.
async fn create_note(
    State(notes): State<Notes>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Note>), NotesError> {
    caller.require("write")?;
    let new: NewNote = serde_json::from_slice(&body)
        .map_err(|_| NotesError::BadRequest("the body must be {\"text\":\"…\"}"))?;
    let text = new.text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(NotesError::BadRequest("a note has 1 to 1000 characters"));
    }
    let mut notes = notes
        .0
        .lock()
        // A panic elsewhere leaves whole notes behind: each push is one step.
        .unwrap_or_else(PoisonError::into_inner);
    let account = notes.entry(caller.account.slug).or_default();
    let note = Note {
        id: account.len() + 1,
        text: text.to_owned(),
        author: caller.user.id,
    };
    account.push(note.clone());
    Ok((StatusCode::CREATED, Json(note)))
}

/// The notes API, every route behind `verifier`.
pub fn notes_router(verifier: Verifier) -> Router {
    Router::new()
        .route("/notes", get(list_notes).post(create_note))
        .with_state(Notes::default())
        .layer(RequireCallerLayer::new(verifier))
}

fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let cache_seconds = match std::env::var("CACHE_SECONDS") {
        Ok(seconds) => seconds.parse::<u64>()?,
        Err(_) => 5,
    };
    let mut builder = Verifier::builder(
        required("AUTH_SERVER")?,
        required("INTROSPECT_CLIENT_ID")?,
        required("INTROSPECT_CLIENT_SECRET")?,
    )
    .introspection_ttl(Duration::from_secs(cache_seconds));
    if let Ok(resource) = std::env::var("RESOURCE") {
        builder = builder.audience(resource);
    }
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("notes API on http://{}", listener.local_addr()?);
    axum::serve(listener, notes_router(builder.build()?)).await?;
    Ok(())
}
