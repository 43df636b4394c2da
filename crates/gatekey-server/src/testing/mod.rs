//! A harness for the tests of this crate, of the client library and of the command line
//! (the `testing` feature, off in every normal build).
//!
//! [`TestApp`] is the real app on `127.0.0.1:0` over a throwaway database: a temporary SQLite
//! file, or a fresh PostgreSQL database on the server named by `GATEKEY_TEST_POSTGRES_URL`
//! ([`each_backend`] runs a test on every configured one). A test that needs time to pass starts
//! the app with a [`ManualClock`](gatekey_core::ManualClock) and moves it; the fixtures seed
//! through the store at the app's own time, so what they write ages with the clock too.

mod app;
mod browser;
mod database_proxy;
mod fixtures;
mod http;
mod logs;
mod oauth;
mod redis_server;

pub use app::{each_backend, test_config, TestApp};
pub use browser::{login_form, sign_in, submit_login, Browser};
pub use database_proxy::DatabaseProxy;
pub use fixtures::{seed, Seeded, Team, PASSWORD};
pub use http::{
    assert_error, consent_form, cookie_value, csrf_token_in, eventually, hidden_inputs, send,
    send_text, set_cookie, Answer, TextAnswer,
};
pub use logs::{CapturedLogs, Capturing};
pub use oauth::{
    assert_no_store, basic_header, oauth2_http, Client, ClientSpec, FullClient, REDIRECT,
};
pub use redis_server::RedisServer;
