//! Forward authentication for a proxy in front of another API: which original requests need
//! which credential ([`route_rules`]), and how the original request's path is read so that
//! gatekey and the upstream agree on what was asked for ([`original_path`]).

pub mod original_path;
pub mod route_rules;
