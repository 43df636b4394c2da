//! gatekey-verify against a real gatekey: the server's own test harness on port 0, on SQLite
//! and, when `GATEKEY_TEST_POSTGRES_URL` is set, on PostgreSQL too.

mod api_keys;
mod example_api;
mod harness;
mod jwt_offline;
mod jwt_refusals;
mod layers;
mod opaque_tokens;
mod outage;
