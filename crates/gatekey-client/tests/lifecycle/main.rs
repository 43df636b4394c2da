//! The client library against the real server, started in-process on port 0 with a
//! temporary SQLite database: every method keeps a session alive across many expiries of
//! short-lived tokens, renews once for many tasks, and survives restarts through its cache.

mod harness;

mod access_token;
mod interactive;
mod openid_sign_in;
mod renewal;
mod rotation;
mod secrets;
mod single_flight;
