//! Tests of the `gatekey` binary as a user runs it: separate processes, real databases.

mod fixtures;
mod process;
mod web;

mod admin;
mod apps;
mod durability;
mod json_output;
mod replicas;
mod scopes;
mod serve;
mod user;
