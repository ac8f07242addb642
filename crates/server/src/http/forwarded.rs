//! The client's address behind reverse proxies. `X-Forwarded-For` is a list
//! that every proxy appends its peer to, so only its right end can be
//! believed: the hops added by proxies we run. Anyone can write the left end.
//! The header counts only when the TCP peer is one of `[http]
//! trusted_proxies`; then the client is the rightmost hop that is not itself
//! a trusted proxy.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Addresses and networks whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Each entry an address (`127.0.0.1`, `::1`) or a network (`10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| parse_entry(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from TCP peer `peer` that carried these
    /// `X-Forwarded-For` header values, in order.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        // Walk from the proxy nearest to us towards the client; stop at the
        // first hop no trusted proxy vouches for.
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage in the chain: whatever lies left of it is unproven.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

fn parse_entry(entry: &str) -> Result<IpNet, String> {
    let entry = entry.trim();
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    entry
        .parse::<IpAddr>()
        .map(|ip| IpNet::from(ip.to_canonical()))
        .map_err(|_| format!("http.trusted_proxies: {entry:?} is neither an address nor a network"))
}

/// One hop: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

/// A list in TOML; a comma-separated string from an `ICHIDO_*` variable.
impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = TrustedProxies;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of addresses or networks")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let entries: Vec<&str> = v.split(',').filter(|e| !e.trim().is_empty()).collect();
                TrustedProxies::parse(&entries).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(e) = seq.next_element::<String>()? {
                    entries.push(e);
                }
                TrustedProxies::parse(&entries).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).unwrap()
    }

    #[test]
    fn untrusted_peer_cannot_choose_its_address() {
        let p = proxies(&["10.0.0.0/8"]);
        let got = p.client_ip(ip("203.0.113.9"), ["198.51.100.1"]);
        assert_eq!(got, ip("203.0.113.9"));
        // With no proxies configured, nobody is believed.
        let got = TrustedProxies::default().client_ip(ip("127.0.0.1"), ["198.51.100.1"]);
        assert_eq!(got, ip("127.0.0.1"));
    }

    #[test]
    fn spoofed_leftmost_entries_are_ignored() {
        // The client wrote "1.2.3.4" itself; our proxy 10.0.0.5 appended the
        // address it saw the client at.
        let p = proxies(&["10.0.0.0/8"]);
        let got = p.client_ip(ip("10.0.0.5"), ["1.2.3.4, 203.0.113.7"]);
        assert_eq!(got, ip("203.0.113.7"));
    }

    #[test]
    fn chain_of_trusted_proxies_is_walked_from_the_right() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.10"]);
        // client → 192.0.2.10 (edge) → 10.1.1.1 (inner) → us (peer 10.2.2.2)
        let got = p.client_ip(
            ip("10.2.2.2"),
            ["6.6.6.6, 203.0.113.7, 192.0.2.10", "10.1.1.1"],
        );
        assert_eq!(got, ip("203.0.113.7"));
    }

    #[test]
    fn all_trusted_hops_give_the_leftmost_and_no_header_gives_the_peer() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), ["10.0.0.3, 10.0.0.2"]),
            ip("10.0.0.3")
        );
        assert_eq!(p.client_ip(ip("10.0.0.1"), []), ip("10.0.0.1"));
    }

    #[test]
    fn garbage_hop_stops_the_walk() {
        let p = proxies(&["10.0.0.0/8"]);
        let got = p.client_ip(ip("10.0.0.1"), ["203.0.113.7, not-an-ip, 10.0.0.2"]);
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn ipv6_proxies_hops_with_ports_and_mapped_addresses() {
        let p = proxies(&["2001:db8:1::/48", "127.0.0.1"]);
        let got = p.client_ip(
            ip("2001:db8:1::2"),
            ["2001:db8:ffff::1, [2001:db8:ffff::2]:4711, 2001:db8:1::9"],
        );
        assert_eq!(got, ip("2001:db8:ffff::2"));
        // An IPv4 peer seen on a dual-stack socket is the same address.
        let got = p.client_ip(ip("::ffff:127.0.0.1"), ["198.51.100.4:1234"]);
        assert_eq!(got, ip("198.51.100.4"));
    }

    #[test]
    fn configuration_takes_a_list_or_a_comma_separated_string() {
        let from_list: TrustedProxies =
            serde_json::from_value(serde_json::json!(["10.0.0.0/8", "::1"])).unwrap();
        let from_env: TrustedProxies =
            serde_json::from_value(serde_json::json!("10.0.0.0/8, ::1")).unwrap();
        assert_eq!(from_list, from_env);
        assert!(from_list.contains(ip("10.255.0.1")));
        assert!(from_list.contains(ip("::1")));
        assert!(!from_list.contains(ip("11.0.0.1")));
        let bad = serde_json::from_value::<TrustedProxies>(serde_json::json!(["10.0.0.0/33"]));
        assert!(bad.is_err());
    }
}
