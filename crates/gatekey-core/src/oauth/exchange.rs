//! The token endpoint's rules (RFC 6749 §4, §5, §6): what each grant type checks before tokens are issued.
