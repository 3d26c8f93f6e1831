//! The client's address behind reverse proxies the operator names (`TRUSTED_PROXIES`), for the
//! failed-authentication throttle: behind a proxy every connection comes from the proxy, which
//! would throttle every client together.
//!
//! Only `X-Forwarded-For` entries added by a trusted proxy are believed: reading the header from
//! the right, each trusted hop passes the address it received the request from, and the first
//! address that is not a trusted proxy is the client. A client cannot forge its way past that: the
//! entries it writes itself stand left of the one its first trusted proxy appended.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Networks of the reverse proxies whose `X-Forwarded-For` is believed; none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The address the request came from: the peer, or, when the peer is a trusted proxy, the
    /// address `X-Forwarded-For` names right of every trusted hop.
    pub fn client_address(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        let headers = request.headers().get_all("x-forwarded-for");
        let entries: Vec<&str> =
            headers.filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')).collect();
        Some(self.client_behind(peer, &entries))
    }

    fn client_behind(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer;
        for entry in forwarded_for.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match parse_hop(entry.trim()) {
                Some(address) => client = address,
                // A hop that is not an address: the last one known stands.
                None => break,
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.7:4711`, `[2001:db8::1]:80`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

/// IPv4 addresses arrive IPv4-mapped on a dual-stack socket.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:ff::/48".parse().unwrap()])
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_claims() {
        assert_eq!(proxies().client_behind(ip("192.0.2.7"), &["198.51.100.1"]), ip("192.0.2.7"));
        assert_eq!(
            TrustedProxies::default().client_behind(ip("10.0.0.2"), &["198.51.100.1"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn behind_trusted_hops_the_first_untrusted_address_from_the_right_is_the_client() {
        let client = proxies().client_behind(ip("10.0.0.2"), &["203.0.113.9", " 198.51.100.1", "10.0.0.3"]);
        assert_eq!(client, ip("198.51.100.1"), "the forged 203.0.113.9 stands left of it");
        assert_eq!(proxies().client_behind(ip("::ffff:10.0.0.2"), &["[2001:db8::7]:443"]), ip("2001:db8::7"));
    }

    #[test]
    fn no_header_or_an_unreadable_hop_leaves_the_last_known_address() {
        assert_eq!(proxies().client_behind(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(proxies().client_behind(ip("10.0.0.2"), &["unknown"]), ip("10.0.0.2"));
        assert_eq!(
            proxies().client_behind(ip("10.0.0.2"), &["198.51.100.1", "garbage", "10.0.0.3"]),
            ip("10.0.0.3")
        );
    }
}
