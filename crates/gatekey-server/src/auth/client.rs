//! Where a request comes from: client IP and user agent, for audit events and throttling.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::config::HttpConfig;
use crate::state::AppState;

/// The client's address and user agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address.
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Reads the client's address and user agent. The address is the TCP peer's, or, when
    /// `http.trust_forwarded_for` is on, the `X-Forwarded-For` entry added by the outermost of
    /// the `http.forwarded_for_hops` trusted proxies (see [`forwarded_client`]).
    pub fn of(parts: &Parts, http: &HttpConfig) -> Self {
        Self::at(parts, client_ip(parts, http))
    }

    /// Like [`ClientInfo::of`], for a request whose address [`client_ip`] has read already.
    pub fn at(parts: &Parts, ip: Option<IpAddr>) -> Self {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect());
        Self {
            ip: ip.map(ip_text),
            user_agent,
        }
    }
}

/// An address as text, as its `Display` writes it. An IPv4 address, the usual case, is written
/// directly: the formatter takes several times as long for its four numbers.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// The client's address as [`ClientInfo::of`] reads it, without the text: for recording where
/// an API key was last used, on every request.
pub fn client_ip(parts: &Parts, http: &HttpConfig) -> Option<IpAddr> {
    let forwarded = http
        .trust_forwarded_for
        .then(|| forwarded_client(&parts.headers, http.forwarded_for_hops))
        .flatten();
    forwarded.or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
    })
}

/// The client address in `X-Forwarded-For` behind `hops` trusted proxies.
///
/// Each proxy appends the address it received the request from, so the rightmost entry was
/// written by the nearest proxy, and everything left of the entry written by the outermost
/// trusted proxy (the `hops`-th from the right) came from the client and proves nothing. Every
/// `X-Forwarded-For` line counts, in order. Entries are split byte-wise from the right, so
/// whatever the client wrote to the left (bytes that are not ASCII, say) cannot change which
/// entry counts. That entry must parse as an IP address (an `IP:port` or `[IPv6]:port` is
/// accepted for proxies that add the port); anything else, or a header with fewer than `hops`
/// entries, gives `None`, and the caller falls back to the peer.
pub fn forwarded_client(headers: &HeaderMap, hops: u32) -> Option<IpAddr> {
    let hops = usize::try_from(hops).ok().filter(|h| *h > 0)?;
    let lines: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|line| line.as_bytes())
        .collect();
    let entry = lines
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(|byte| *byte == b','))
        .nth(hops - 1)?;
    let entry = std::str::from_utf8(entry).ok()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &state.config.http))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn addresses_read_as_their_display_writes_them() {
        for text in [
            "0.0.0.0",
            "127.0.0.1",
            "10.9.99.100",
            "192.168.255.254",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
            assert_eq!(ip_text(ip), text);
        }
        for octet in 0..=255u8 {
            let ip = IpAddr::from([octet, 255 - octet, octet / 3, 7]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn the_entry_of_the_outermost_trusted_proxy_is_taken() {
        let spoofed = headers(&["6.6.6.6, 203.0.113.7, 10.0.0.2"]);
        assert_eq!(forwarded_client(&spoofed, 1), "10.0.0.2".parse().ok());
        assert_eq!(forwarded_client(&spoofed, 2), "203.0.113.7".parse().ok());
        let split = headers(&["6.6.6.6", "203.0.113.7"]);
        assert_eq!(forwarded_client(&split, 1), "203.0.113.7".parse().ok());
        let ports = headers(&["203.0.113.7:4711, [2001:db8::1]:443"]);
        assert_eq!(forwarded_client(&ports, 1), "2001:db8::1".parse().ok());
        assert_eq!(forwarded_client(&ports, 2), "203.0.113.7".parse().ok());
    }

    #[test]
    fn client_written_bytes_left_of_the_entry_do_not_matter() {
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xc3\xa9vil, 6.6.6.6").unwrap(),
        );
        headers.append("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        assert_eq!(forwarded_client(&headers, 1), "203.0.113.7".parse().ok());
        assert_eq!(forwarded_client(&headers, 2), "6.6.6.6".parse().ok());
        assert_eq!(forwarded_client(&headers, 3), None, "not an IP: the peer");
        let mut one_line = HeaderMap::new();
        one_line.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.7").unwrap(),
        );
        assert_eq!(forwarded_client(&one_line, 1), "203.0.113.7".parse().ok());
    }

    #[test]
    fn anything_but_an_ip_is_ignored() {
        assert_eq!(forwarded_client(&headers(&["1.2.3.4, evil"]), 1), None);
        assert_eq!(forwarded_client(&headers(&[&"9".repeat(8000)]), 1), None);
        assert_eq!(forwarded_client(&headers(&["1.2.3.4"]), 2), None, "too few");
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
        assert_eq!(forwarded_client(&headers(&["1.2.3.4"]), 0), None);
    }
}
