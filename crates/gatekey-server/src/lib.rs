//! The gatekey HTTP server: the REST API, the web pages, operations endpoints, configuration
//! and telemetry. Start it with [`serve::start`].

#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod auth;
pub mod background;
pub mod bootstrap;
pub mod client_address;
pub mod clocked_cache;
pub mod config;
pub mod connection;
pub mod drain;
pub mod error;
pub mod feed_freshness;
pub mod gateway;
mod health;
pub mod input;
pub mod json;
pub mod leak_reports;
pub mod login_throttle;
pub mod metering;
pub mod metrics;
mod oauth;
pub mod password_hashing;
pub mod path;
pub mod rate_limit;
pub mod scope_cache;
pub mod serve;
pub mod shared_limits;
pub mod signing;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
mod web;

pub use config::{Config, ConfigOverrides};
pub use serve::{start, RunningServer};
