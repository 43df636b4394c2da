//! The path of the request a proxy asks gatekey about, read once and strictly.
//!
//! A proxy hands over the original request-target as the client sent it (nginx's
//! `$request_uri`, Caddy's and Traefik's `X-Forwarded-Uri`). gatekey matches route rules on its
//! path, and the upstream later serves a path it decodes and normalises in its own way. Where
//! the two could disagree — a dot segment, an encoded `/` or `\`, an empty segment, a `;`
//! parameter — a rule could be matched for one path while the upstream serves another
//! (`/public/../admin`, `/admin%2Fkeys`), so such paths are refused rather than guessed at.

use std::fmt;

/// Longest original URI read, in bytes: far beyond any real path, short enough to bound work.
pub const MAX_ORIGINAL_URI_LEN: usize = 8 * 1024;

/// Why an original URI was refused. Shown to the proxy's client, so it names the rule broken,
/// never the text sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OriginalPathError {
    /// Longer than [`MAX_ORIGINAL_URI_LEN`].
    #[error("the original URI is longer than {MAX_ORIGINAL_URI_LEN} bytes")]
    TooLong,
    /// Not an origin-form (`/…`) or absolute-form (`https://host/…`) request-target.
    #[error("the original URI is not a path (it must start with '/')")]
    NotAPath,
    /// A `%` not followed by two hexadecimal digits, or an encoding that is not UTF-8.
    #[error("the original URI has a malformed percent-encoding")]
    BadEncoding,
    /// A `.` or `..` segment, plain or encoded, which upstreams resolve differently.
    #[error("the original URI has a dot segment ('.' or '..')")]
    DotSegment,
    /// An empty segment (`//`), which some upstreams merge and others keep.
    #[error("the original URI has an empty segment ('//')")]
    EmptySegment,
    /// An encoded `/`, a `\` in any form, a `;`, or a control character.
    #[error("the original URI has an ambiguous character (an encoded '/', a '\\', a ';' or a control character)")]
    AmbiguousCharacter,
}

/// A checked original path: decoded, with no query or fragment, starting with `/`.
#[derive(Clone, PartialEq, Eq)]
pub struct OriginalPath(String);

impl OriginalPath {
    /// Reads the path of `uri`, an origin-form (`/a/b?q`) or absolute-form
    /// (`https://host/a/b?q`) request-target (RFC 9112 §3.2). The query and fragment are
    /// dropped; percent-encoded octets are decoded (RFC 3986 §2.1), and the decoded path must
    /// be UTF-8. Refused: dot segments (RFC 3986 §3.3, plain or encoded), empty segments,
    /// encoded `/`, any `\`, `;`, and control characters.
    pub fn parse(uri: &str) -> Result<Self, OriginalPathError> {
        if uri.len() > MAX_ORIGINAL_URI_LEN {
            return Err(OriginalPathError::TooLong);
        }
        let uri = uri.split(['?', '#']).next().unwrap_or_default();
        let path = strip_scheme_and_authority(uri)?;
        if !path.starts_with('/') {
            return Err(OriginalPathError::NotAPath);
        }
        let mut decoded = Vec::with_capacity(path.len());
        let mut segments = path[1..].split('/').peekable();
        while let Some(segment) = segments.next() {
            let start = decoded.len();
            decoded.push(b'/');
            decode_segment(segment, &mut decoded)?;
            let text = &decoded[start + 1..];
            if text == b"." || text == b".." {
                return Err(OriginalPathError::DotSegment);
            }
            // The root path `/` is one empty segment; an empty segment anywhere else is `//`.
            if text.is_empty() && segments.peek().is_some() {
                return Err(OriginalPathError::EmptySegment);
            }
        }
        String::from_utf8(decoded)
            .map(Self)
            .map_err(|_| OriginalPathError::BadEncoding)
    }

    /// The decoded path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's segments, without the leading `/`: `/a/b` gives `a`, `b`; `/` gives one empty
    /// segment.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }
}

impl fmt::Debug for OriginalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OriginalPath").field(&self.0).finish()
    }
}

/// The path of an absolute-form target (`scheme://authority/path`), or `uri` itself.
fn strip_scheme_and_authority(uri: &str) -> Result<&str, OriginalPathError> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Ok(uri);
    };
    let is_scheme = scheme
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if scheme.is_empty() || !is_scheme || scheme.contains('/') {
        return Ok(uri);
    }
    match rest.find('/') {
        Some(at) => Ok(&rest[at..]),
        None => Err(OriginalPathError::NotAPath),
    }
}

/// Appends the decoded `segment` to `out`, refusing what could be read two ways.
fn decode_segment(segment: &str, out: &mut Vec<u8>) -> Result<(), OriginalPathError> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or(OriginalPathError::BadEncoding)?;
                let value = hex_value(hex[0])
                    .zip(hex_value(hex[1]))
                    .map(|(high, low)| high << 4 | low)
                    .ok_or(OriginalPathError::BadEncoding)?;
                i += 3;
                if value == b'/' {
                    return Err(OriginalPathError::AmbiguousCharacter);
                }
                value
            }
            other => {
                i += 1;
                other
            }
        };
        if byte == b'\\' || byte == b';' || byte.is_ascii_control() {
            return Err(OriginalPathError::AmbiguousCharacter);
        }
        out.push(byte);
    }
    Ok(())
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|v| v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(uri: &str) -> Result<String, OriginalPathError> {
        OriginalPath::parse(uri).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn reads_origin_and_absolute_forms_without_query() {
        assert_eq!(path("/v1/notes?page=2#top").unwrap(), "/v1/notes");
        assert_eq!(
            path("https://api.example.com/v1/notes?x").unwrap(),
            "/v1/notes"
        );
        assert_eq!(path("/").unwrap(), "/");
        assert_eq!(path("/v1/notes/").unwrap(), "/v1/notes/");
        assert_eq!(path("/caf%C3%A9/a%20b").unwrap(), "/café/a b");
    }

    #[test]
    fn refuses_what_an_upstream_could_read_differently() {
        use OriginalPathError::*;
        for (uri, error) in [
            ("/public/../admin", DotSegment),
            ("/public/%2e%2E/admin", DotSegment),
            ("/./admin", DotSegment),
            ("/admin%2Fkeys", AmbiguousCharacter),
            ("/admin%2fkeys", AmbiguousCharacter),
            ("/admin\\keys", AmbiguousCharacter),
            ("/admin%5Ckeys", AmbiguousCharacter),
            ("/admin;jsessionid=1", AmbiguousCharacter),
            ("/admin%00", AmbiguousCharacter),
            ("/admin\n", AmbiguousCharacter),
            ("//admin", EmptySegment),
            ("/a//b", EmptySegment),
            ("/a%zz", BadEncoding),
            ("/a%4", BadEncoding),
            ("/a%ff", BadEncoding),
            ("admin", NotAPath),
            ("", NotAPath),
            ("https://host", NotAPath),
            ("*", NotAPath),
        ] {
            assert_eq!(path(uri), Err(error), "{uri:?}");
        }
        assert_eq!(path(&format!("/{}", "a".repeat(9000))), Err(TooLong));
    }

    #[test]
    fn segments_split_the_decoded_path() {
        let p = OriginalPath::parse("/v1/notes/42").unwrap();
        assert_eq!(p.segments().collect::<Vec<_>>(), ["v1", "notes", "42"]);
        let root = OriginalPath::parse("/").unwrap();
        assert_eq!(root.segments().collect::<Vec<_>>(), [""]);
    }
}
