//! gatekey-server
