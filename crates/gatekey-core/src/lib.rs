//! The gatekey domain: accounts, users, memberships, API keys, sessions and audit events.
//!
//! Nothing here knows about HTTP or SQL. Time comes from a [`Clock`] passed in, storage is
//! reached through the traits of [`store`], and every rule (who may do what, what a secret looks
//! like, how a password is hashed) lives in exactly one module of this crate.

#![warn(missing_docs)]

pub mod account;
pub mod api_key;
pub mod api_key_creation;
pub mod api_key_credits;
pub mod api_key_expiry;
pub mod api_key_roll;
pub mod api_key_update;
pub mod api_key_usage;
pub mod api_key_verification;
pub mod audit;
mod builtin_scope;
pub mod clock;
pub mod gateway;
pub mod identity_scope;
pub mod invitation;
pub mod leak_report;
pub mod login;
pub mod oauth;
pub mod page;
pub mod password;
pub mod principal;
pub mod retention;
pub mod role;
pub mod role_scopes;
pub mod scope;
pub mod scope_admin;
pub mod scope_catalogue;
mod scope_name;
pub mod secret;
pub mod session;
pub mod store;
pub mod user;
pub mod user_admin;

pub use clock::{Clock, ManualClock, SystemClock};
