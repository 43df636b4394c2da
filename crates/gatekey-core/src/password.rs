//! Passwords: argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted; argon2 takes any length, but a bound stops abuse.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Why a password could not be set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password must be between {MIN_PASSWORD_LEN} and {MAX_PASSWORD_LEN} characters")]
    Length,
    /// The hasher failed, which only happens with broken parameters.
    #[error("password hashing failed")]
    Hashing,
}

/// argon2id memory cost in KiB (OWASP: 19 MiB).
const MEMORY_KIB: u32 = 19 * 1024;

fn hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    let params = Params::new(MEMORY_KIB, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The working memory of one argon2id computation (19 MiB), to be reused from one hash to the
/// next. Allocating it afresh for every hash lets the allocator keep each freed block in a
/// different arena, so a server's memory grew by 19 MiB per thread that ever hashed; a fixed
/// set of these, one per concurrent hash, keeps it at exactly that.
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// Allocates the memory for one hash.
    pub fn new() -> Self {
        Self(vec![Block::default(); MEMORY_KIB as usize])
    }
}

impl Default for HashMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The blocks hold what is left of the last password's hash computation.
        write!(f, "HashMemory({} KiB)", self.0.len())
    }
}

/// Hashes a new password into a PHC string (salt and parameters included).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    hash_password_with(password, &mut HashMemory::new())
}

/// [`hash_password`] in the given working memory.
pub fn hash_password_with(
    password: &str,
    memory: &mut HashMemory,
) -> Result<String, PasswordError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&length) {
        return Err(PasswordError::Length);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hasher = hasher();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|_| PasswordError::Hashing)?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hasher
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut output, &mut memory.0)
        .map_err(|_| PasswordError::Hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: hasher
            .params()
            .try_into()
            .map_err(|_| PasswordError::Hashing)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|_| PasswordError::Hashing)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored PHC string. The comparison is constant-time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_password_with(password, stored, &mut HashMemory::new())
}

/// [`verify_password`] in the given working memory. A stored hash made with more memory than
/// ours (another configuration) is checked with memory of its own.
pub fn verify_password_with(password: &str, stored: &str, memory: &mut HashMemory) -> bool {
    if password.len() > MAX_PASSWORD_LEN * 4 {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let fits = params.block_count() <= memory.0.len();
    let hasher = Argon2::new(algorithm, version, params);
    let computed = if fits {
        hasher.hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut output,
            &mut memory.0,
        )
    } else {
        hasher.hash_password_into(password.as_bytes(), salt_bytes, &mut output)
    };
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&output).is_ok_and(|output| output == expected)
}

/// Spends the same time as a real verification, for logins of unknown or password-less users,
/// so that response times do not reveal which emails exist.
pub fn verify_against_nothing(password: &str) {
    verify_against_nothing_with(password, &mut HashMemory::new());
}

/// [`verify_against_nothing`] in the given working memory.
pub fn verify_against_nothing_with(password: &str, memory: &mut HashMemory) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2o9i8wwcJ0iI5qkWZdHkIfqCqCQ0aCt5bR0Lr6P2H0o";
    let _ = verify_password_with(password, DUMMY, memory);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
    }

    #[test]
    fn reused_memory_gives_the_same_answers_and_reads_other_hashes() {
        let mut memory = HashMemory::new();
        let hash = hash_password_with("correct horse battery", &mut memory).expect("hash");
        assert!(verify_password_with(
            "correct horse battery",
            &hash,
            &mut memory
        ));
        assert!(!verify_password_with(
            "correct horse batterx",
            &hash,
            &mut memory
        ));
        // A hash made by the argon2 crate's own hasher, and one with other parameters.
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        use argon2::password_hash::PasswordHasher;
        let theirs = hasher()
            .hash_password(b"some password!", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password_with("some password!", &theirs, &mut memory));
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB * 2, 1, 1, None).unwrap(),
        )
        .hash_password(b"some password!", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password_with("some password!", &bigger, &mut memory));
        assert!(!verify_password_with(
            "some password!",
            "not a hash",
            &mut memory
        ));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::Length));
    }
}
