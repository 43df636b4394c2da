//! The authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 9207): what is checked before a user is asked, and the answer sent back to the client.
