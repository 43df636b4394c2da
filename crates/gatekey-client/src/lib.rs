//! gatekey-client
