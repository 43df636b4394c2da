//! Secrets gatekey issues (API keys, tokens, codes, session ids) and their SHA-256 at rest.
//!
//! Format: a fixed prefix naming the kind (`gk_key_`, `gk_at_`, …), a body of 43 base62
//! characters drawn uniformly (256 random bits), then a 6-character base62 CRC32 of everything
//! before it. The checksum lets a secret scanner recognise a real gatekey secret offline and lets
//! the server refuse a mistyped secret without touching the database.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LEN: usize = 43;
/// Random bytes below this bound are spread evenly over the 62 characters (248 = 4 × 62).
const UNBIASED_BELOW: u8 = 248;
const CHECKSUM_LEN: usize = 6;
/// Characters of the body shown in a display prefix (`gk_key_AbCd1234`).
const DISPLAY_BODY_LEN: usize = 8;

/// The kinds of secret, each with its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// An API key (`gk_key_`).
    ApiKey,
    /// An opaque OAuth access token (`gk_at_`).
    AccessToken,
    /// An OAuth refresh token (`gk_rt_`).
    RefreshToken,
    /// An OAuth authorization code (`gk_ac_`).
    AuthorizationCode,
    /// An RFC 8628 device code (`gk_dc_`).
    DeviceCode,
    /// An OAuth client secret (`gk_cs_`).
    ClientSecret,
    /// A web session id, carried in a cookie (`gk_ss_`).
    Session,
    /// The one-time secret of an invitation link (`gk_inv_`).
    Invitation,
}

impl SecretKind {
    /// The prefix every secret of this kind starts with.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "gk_key_",
            Self::AccessToken => "gk_at_",
            Self::RefreshToken => "gk_rt_",
            Self::AuthorizationCode => "gk_ac_",
            Self::DeviceCode => "gk_dc_",
            Self::ClientSecret => "gk_cs_",
            Self::Session => "gk_ss_",
            Self::Invitation => "gk_inv_",
        }
    }

    /// The kind a presented string claims to be, by its prefix.
    pub fn of(presented: &str) -> Option<Self> {
        [
            Self::ApiKey,
            Self::AccessToken,
            Self::RefreshToken,
            Self::AuthorizationCode,
            Self::DeviceCode,
            Self::ClientSecret,
            Self::Session,
            Self::Invitation,
        ]
        .into_iter()
        .find(|kind| presented.starts_with(kind.prefix()))
    }
}

/// A secret in clear. Shown to its owner once, never logged: `Debug` prints only the kind.
#[derive(Clone)]
pub struct Secret {
    kind: SecretKind,
    value: String,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}…)", self.kind.prefix())
    }
}

/// Why a presented string is not a well-formed secret of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedSecret {
    /// The prefix names another kind, or none.
    #[error("wrong prefix")]
    WrongPrefix,
    /// Wrong length or characters outside base62.
    #[error("wrong length or alphabet")]
    WrongShape,
    /// The checksum does not match: a typo or a made-up value.
    #[error("checksum mismatch")]
    BadChecksum,
}

impl Secret {
    /// Draws a new secret of `kind` from the operating system's random source.
    pub fn generate(kind: SecretKind) -> Self {
        // The thread's ChaCha generator, seeded and reseeded from the operating system: a
        // cryptographically secure source without one system call per character.
        // Random bytes are drawn a block at a time; a byte below 248 (four times 62) gives a
        // character by its remainder, uniformly, and the few others are skipped.
        let mut rng = rand::thread_rng();
        let mut value = String::with_capacity(kind.prefix().len() + BODY_LEN + CHECKSUM_LEN);
        value.push_str(kind.prefix());
        let mut drawn = [0u8; 64];
        let mut left = BODY_LEN;
        while left > 0 {
            rng.fill(&mut drawn[..]);
            for &byte in drawn
                .iter()
                .filter(|&&byte| byte < UNBIASED_BELOW)
                .take(left)
            {
                value.push(char::from(BASE62[usize::from(byte) % BASE62.len()]));
                left -= 1;
            }
        }
        let checksum = checksum(&value);
        value.push_str(&checksum);
        Self { kind, value }
    }

    /// Checks that `presented` is a well-formed secret of `kind` (prefix, length, checksum).
    /// This says nothing about whether the secret was ever issued.
    pub fn parse(kind: SecretKind, presented: &str) -> Result<Self, MalformedSecret> {
        let rest = presented
            .strip_prefix(kind.prefix())
            .ok_or(MalformedSecret::WrongPrefix)?;
        if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(MalformedSecret::WrongShape);
        }
        let (signed, sum) = presented.split_at(presented.len() - CHECKSUM_LEN);
        if !bool::from(checksum(signed).as_bytes().ct_eq(sum.as_bytes())) {
            return Err(MalformedSecret::BadChecksum);
        }
        Ok(Self {
            kind,
            value: presented.to_owned(),
        })
    }

    /// The kind of this secret.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The secret in clear, to hand to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The SHA-256 kept at rest.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.value)
    }

    /// The non-secret beginning shown in lists so a user can tell keys apart.
    pub fn display_prefix(&self) -> String {
        let end = self.kind.prefix().len() + DISPLAY_BODY_LEN;
        self.value[..end].to_owned()
    }
}

/// The SHA-256 of a secret: what the database holds and what lookups use.
///
/// Secrets carry 256 random bits, so a fast unsalted hash is enough: there is nothing to
/// brute-force, and the digest is useless to whoever reads the database.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The digest of a secret's text.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Wraps a digest read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares two digests in constant time.
    pub fn ct_matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A 6-character base62 rendering of the CRC32 of `text`, zero-padded.
fn checksum(text: &str) -> String {
    let mut n = u64::from(crc32fast::hash(text.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_and_differ() {
        let a = Secret::generate(SecretKind::ApiKey);
        let b = Secret::generate(SecretKind::ApiKey);
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("gk_key_"));
        assert_eq!(a.expose().len(), "gk_key_".len() + 49);
        let parsed = Secret::parse(SecretKind::ApiKey, a.expose()).expect("well-formed");
        assert_eq!(parsed.hash(), a.hash());
    }

    #[test]
    fn body_characters_are_spread_evenly_over_the_alphabet() {
        // 3,000 bodies of 43 characters: about 2,081 of each character. A character drawn
        // twice as often as another (a biased mapping) or never lands far outside these bounds.
        let mut counts = [0u32; 62];
        for _ in 0..3_000 {
            let secret = Secret::generate(SecretKind::AccessToken);
            let body = &secret.expose()["gk_at_".len()..][..BODY_LEN];
            for byte in body.bytes() {
                let at = BASE62.iter().position(|&c| c == byte).expect("base62");
                counts[at] += 1;
            }
        }
        let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*least > 1_700 && *most < 2_500, "counts {counts:?}");
    }

    #[test]
    fn one_changed_character_fails_the_checksum() {
        let secret = Secret::generate(SecretKind::ApiKey);
        let mut chars: Vec<char> = secret.expose().chars().collect();
        let i = 10;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(
            Secret::parse(SecretKind::ApiKey, &typo).unwrap_err(),
            MalformedSecret::BadChecksum
        );
    }

    #[test]
    fn wrong_kind_and_shape_are_refused() {
        let at = Secret::generate(SecretKind::AccessToken);
        assert_eq!(
            Secret::parse(SecretKind::ApiKey, at.expose()).unwrap_err(),
            MalformedSecret::WrongPrefix
        );
        assert_eq!(
            Secret::parse(SecretKind::ApiKey, "gk_key_short").unwrap_err(),
            MalformedSecret::WrongShape
        );
        assert_eq!(SecretKind::of(at.expose()), Some(SecretKind::AccessToken));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = Secret::generate(SecretKind::ApiKey);
        let printed = format!("{secret:?} {:?}", secret.hash());
        assert!(!printed.contains(&secret.expose()[7..]));
    }
}
