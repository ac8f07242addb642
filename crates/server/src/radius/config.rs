//! The `[radius]` section of the configuration.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use ichido_crypto::SecretString;
use serde::{Deserialize, Serialize};

/// The RADIUS authentication server (RFC 2865); see `docs/radius.md`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadiusConfig {
    /// UDP address; `""` or `"off"` turns RADIUS off.
    #[serde(with = "optional_listen")]
    pub listen: Option<SocketAddr>,
    /// How long the State of an Access-Challenge stays good, in seconds.
    pub state_seconds: i64,
    /// The gateways (NAS) allowed to ask; packets from anyone else are dropped.
    pub clients: Vec<RadiusClientConfig>,
}

impl Default for RadiusConfig {
    fn default() -> Self {
        RadiusConfig {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 1812))),
            state_seconds: 120,
            clients: Vec::new(),
        }
    }
}

/// How a gateway's users answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RadiusMode {
    /// One User-Password: the static password (or PIN) followed by the code.
    #[default]
    #[serde(rename = "password+otp")]
    PasswordOtp,
    /// The User-Password is the code alone.
    #[serde(rename = "otp")]
    Otp,
    /// The password first, then an Access-Challenge asks for the code.
    #[serde(rename = "challenge")]
    Challenge,
}

/// One gateway (NAS).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadiusClientConfig {
    /// Named in the audit log as `radius:<name>`.
    pub name: String,
    /// Source address: an IP address or a network such as `10.1.0.0/16`.
    pub address: String,
    /// The shared secret, or `secret_file` naming a file that holds it.
    #[serde(serialize_with = "crate::redact::optional")]
    pub secret: Option<SecretString>,
    pub secret_file: Option<PathBuf>,
    pub mode: RadiusMode,
    /// Drop Access-Requests without a Message-Authenticator (RFC 3579);
    /// turn off only for a gateway that cannot send one.
    pub require_message_authenticator: bool,
    /// Access-Requests per second from this gateway; 0 turns the limit off.
    pub rate_per_second: u32,
}

impl Default for RadiusClientConfig {
    fn default() -> Self {
        RadiusClientConfig {
            name: String::new(),
            address: String::new(),
            secret: None,
            secret_file: None,
            mode: RadiusMode::default(),
            require_message_authenticator: true,
            rate_per_second: 100,
        }
    }
}

impl RadiusClientConfig {
    /// The shared secret, read from `secret_file` when that is what is set.
    pub fn load_secret(&self) -> anyhow::Result<Vec<u8>> {
        let secret = match (&self.secret, &self.secret_file) {
            (Some(s), None) => s.expose().to_owned(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "radius client {}: cannot read {}: {e}",
                        self.name,
                        path.display()
                    )
                })?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            _ => anyhow::bail!(
                "radius client {}: set exactly one of secret and secret_file",
                self.name
            ),
        };
        if secret.is_empty() {
            anyhow::bail!("radius client {}: the shared secret is empty", self.name);
        }
        Ok(secret.into_bytes())
    }
}

impl RadiusConfig {
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        if !(1..=3600).contains(&self.state_seconds) {
            anyhow::bail!("configuration: radius.state_seconds must be 1-3600");
        }
        let mut names = BTreeSet::new();
        for c in &self.clients {
            let spaced = c
                .name
                .chars()
                .any(|ch| ch.is_control() || ch.is_whitespace());
            if c.name.is_empty() || c.name.len() > 64 || spaced {
                anyhow::bail!(
                    "configuration: radius client name {:?} must be 1-64 characters without spaces",
                    c.name
                );
            }
            if !names.insert(c.name.as_str()) {
                anyhow::bail!("configuration: radius client name {} is used twice", c.name);
            }
            crate::radius::clients::Network::parse(&c.address)
                .map_err(|e| anyhow::anyhow!("configuration: radius client {}: {e}", c.name))?;
            if c.secret.is_some() == c.secret_file.is_some() {
                anyhow::bail!(
                    "configuration: radius client {}: set exactly one of secret and secret_file",
                    c.name
                );
            }
        }
        Ok(())
    }
}

/// `radius.listen` as text: an address, or `""` / `"off"` for none.
pub fn parse_listen(v: &str) -> Result<Option<SocketAddr>, String> {
    match v.trim() {
        "" | "off" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|e| format!("{v:?} is not an address such as 127.0.0.1:1812: {e}")),
    }
}

mod optional_listen {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(addr) => s.collect_str(addr),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        super::parse_listen(&text).map_err(serde::de::Error::custom)
    }
}
