//! The gateways (NAS) allowed to ask: matched by source address, each with
//! its shared secret, mode and rate limit.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ichido_crypto::SecretBytes;

use crate::config::{RadiusClientConfig, RadiusMode};

/// An IP address or a CIDR network (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or one with `/n`.
    /// Host bits set below the prefix are refused: they are usually a typo.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let base: IpAddr = addr.parse().map_err(|_| {
            format!("{text:?} is not an IP address or a network such as 10.0.0.0/24")
        })?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0-{max}"))?,
        };
        let network = Network { base, prefix };
        if network.mask(base) != base {
            return Err(format!(
                "{text:?} has host bits set; did you mean {}/{prefix}?",
                network.mask(base)
            ));
        }
        Ok(network)
    }

    /// Whether `ip` lies in the network. IPv4-mapped IPv6 addresses
    /// (`::ffff:a.b.c.d`, as a dual-stack socket reports) count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.base.is_ipv4() && self.mask(ip) == self.base
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn mask(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((bits & mask).to_be_bytes())
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((bits & mask).to_be_bytes())
            }
        }
    }
}

/// One configured gateway, ready to answer.
pub struct Client {
    pub name: String,
    pub network: Network,
    pub secret: SecretBytes,
    pub mode: RadiusMode,
    pub require_message_authenticator: bool,
    limiter: Option<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .field("network", &self.network)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn from_config(c: &RadiusClientConfig) -> anyhow::Result<Client> {
        let network = Network::parse(&c.address)
            .map_err(|e| anyhow::anyhow!("radius client {}: {e}", c.name))?;
        let secret = c.load_secret()?;
        if secret.len() < 16 {
            tracing::warn!(
                client = %c.name,
                "the RADIUS shared secret is shorter than 16 characters; use a long random one"
            );
        }
        let limiter = NonZeroU32::new(c.rate_per_second)
            .map(|rate| RateLimiter::direct(Quota::per_second(rate)));
        Ok(Client {
            name: c.name.clone(),
            network,
            secret: SecretBytes::new(secret),
            mode: c.mode,
            require_message_authenticator: c.require_message_authenticator,
            limiter,
        })
    }

    /// Takes one request from the client's allowance; false when it is spent.
    pub fn admit(&self) -> bool {
        self.limiter.as_ref().is_none_or(|l| l.check().is_ok())
    }
}

/// Every configured gateway; the most specific network wins.
#[derive(Debug, Default)]
pub struct Clients(Vec<Arc<Client>>);

impl Clients {
    pub fn from_config(configs: &[RadiusClientConfig]) -> anyhow::Result<Clients> {
        let mut clients = configs
            .iter()
            .map(|c| Client::from_config(c).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        clients.sort_by_key(|c| std::cmp::Reverse(c.network.prefix()));
        Ok(Clients(clients))
    }

    pub fn find(&self, ip: IpAddr) -> Option<&Arc<Client>> {
        self.0.iter().find(|c| c.network.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn single_address_matches_only_itself() {
        let n = Network::parse("192.0.2.7").unwrap();
        assert!(n.contains(ip("192.0.2.7")));
        assert!(!n.contains(ip("192.0.2.8")));
        assert!(!n.contains(ip("::1")));
    }

    #[test]
    fn network_matches_its_range_and_mapped_addresses() {
        let n = Network::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(ip("10.1.255.254")));
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        let all = Network::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.1.2.3")));
    }

    #[test]
    fn bad_networks_are_refused_with_a_reason() {
        for bad in [
            "",
            "10.0.0",
            "10.0.0.0/33",
            "10.0.0.0/x",
            "::/129",
            "nas.example",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
        let err = Network::parse("10.0.0.1/8").unwrap_err();
        assert!(err.contains("10.0.0.0/8"), "{err}");
    }

    #[test]
    fn most_specific_client_wins() {
        let config = |name: &str, address: &str| RadiusClientConfig {
            name: name.into(),
            address: address.into(),
            secret: Some("a-long-enough-secret".into()),
            ..Default::default()
        };
        let clients =
            Clients::from_config(&[config("wide", "10.0.0.0/8"), config("narrow", "10.9.9.9")])
                .unwrap();
        assert_eq!(clients.find(ip("10.9.9.9")).unwrap().name, "narrow");
        assert_eq!(clients.find(ip("10.9.9.8")).unwrap().name, "wide");
        assert!(clients.find(ip("192.0.2.1")).is_none());
    }
}
