//! The shared harness (`gatekey_server::testing`), under the name these tests have always used
//! for starting the app and seeding it.
#![allow(unused_imports)] // Not every test module uses each helper.

pub use gatekey_server::testing::*;
