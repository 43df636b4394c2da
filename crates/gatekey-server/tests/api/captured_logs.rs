//! The shared harness's log capture (`gatekey_server::testing`).

pub use gatekey_server::testing::CapturedLogs;
