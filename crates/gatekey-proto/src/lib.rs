//! gatekey-proto
