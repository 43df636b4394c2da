//! The shared harness's log capture (`gatekey_server::testing`).
#![allow(unused_imports)] // Not every test module uses each item.

pub use gatekey_server::testing::{CapturedLogs, Capturing};
