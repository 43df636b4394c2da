//! The key under which the rate limits and guess throttles count a client address. It lives
//! apart from the request extractor so the limiters the application state holds can use it
//! without depending on that state.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The key a client address is counted under by the rate limits and guess throttles: an IPv6
/// address counts per /64, the block one subscriber usually holds, so rotating addresses inside
/// it gains nothing; an IPv4-mapped IPv6 address counts as its IPv4 address; anything that is
/// not an IP address shares one key.
pub fn counting_key(ip: &str) -> IpAddr {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        Ok(v4) => v4,
        Err(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_block_shares_one_counting_key() {
        assert_eq!(
            counting_key("2001:db8:1:2::1"),
            counting_key("2001:db8:1:2:ffff::9")
        );
        assert_ne!(
            counting_key("2001:db8:1:2::1"),
            counting_key("2001:db8:1:3::1")
        );
        assert_eq!(counting_key("::ffff:192.0.2.1"), counting_key("192.0.2.1"));
        assert_ne!(counting_key("192.0.2.1"), counting_key("192.0.2.2"));
        assert_eq!(counting_key("not an address"), counting_key("nor this"));
    }
}
