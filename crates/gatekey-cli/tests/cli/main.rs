//! Tests of the `gatekey` binary as a user runs it: separate processes, real databases.

#[cfg(unix)]
mod documented_shape;
#[cfg(unix)]
mod drain;
mod fixtures;
mod process;
#[cfg(unix)]
mod readme_steps;
mod web;

mod admin;
mod api_key_roll;
mod app_token_settings;
mod apps;
mod durability;
mod environment;
mod introspection_only_apps;
mod json_output;
#[cfg(unix)]
mod readme_walkthrough;
mod replica_database_outage;
mod replica_kill;
mod replica_set;
mod replicas;
mod resource_server_examples;
mod revocation_under_load;
mod scopes;
mod serve;
mod shared_limits;
mod signing_key_upkeep;
mod signing_keys;
mod status_identity;
mod user;
