//! The shared harness's OAuth fixtures (`gatekey_server::testing`): applications, grants,
//! codes and tokens, and the token, revocation and introspection endpoints.
#![allow(unused_imports)] // Not every test module uses each helper.

pub use gatekey_server::testing::{
    assert_no_store, basic_header, oauth2_http, Client, ClientSpec, FullClient, REDIRECT,
};
