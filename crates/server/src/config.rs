//! One typed configuration, layered: defaults → TOML file → `ICHIDO_*`
//! environment (`__` nests, `*_FILE` reads a secret from a file) → flags.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use ichido_crypto::SecretString;
use ichido_domain::policy::Policy;
use serde::{Deserialize, Serialize};

pub use crate::radius::config::{RadiusClientConfig, RadiusConfig, RadiusMode, parse_listen};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// Holds the SQLite database and the master key file.
    pub data_dir: PathBuf,
    /// `postgres://…` to share one database between nodes; SQLite in
    /// `data_dir` when absent. Secret: a URL can carry a password.
    #[serde(serialize_with = "crate::redact::optional")]
    pub database_url: Option<SecretString>,
    /// SQLite commit durability: `full` (survives power loss) or `normal`.
    pub durability: String,
    /// The master keyring itself (for deployments that inject secrets);
    /// otherwise it lives in `master_key_file`.
    #[serde(serialize_with = "crate::redact::optional")]
    pub master_key: Option<SecretString>,
    pub master_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `ichido=debug`.
    pub log_level: String,
    /// Issuer shown in authenticator apps.
    pub issuer: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deprecated and ignored: `X-Forwarded-For` is believed only from
    /// `[http] trusted_proxies`. Setting it logs a warning at start.
    pub trust_forwarded_for: bool,
    pub http: HttpConfig,
    pub rate_limit: RateLimit,
    /// Argon2id evaluations run at once, on threads of their own; 0 means
    /// half the cores, so a flood of passwords leaves the rest to code checks.
    pub password_threads: usize,
    pub policy: Policy,
    pub radius: RadiusConfig,
    pub smtp: crate::delivery::SmtpConfig,
    pub sms: crate::delivery::SmsConfig,
    pub challenge: ichido_domain::challenge::ChallengePolicy,
    pub notifications: crate::delivery::NotificationsConfig,
    pub templates: crate::delivery::TemplatesConfig,
    /// Self-service reset links: lifetime, helpdesk approval, portal URL.
    pub reset: ichido_domain::reset::ResetPolicy,
    /// Sign-in: how long a challenged sign-in waits, how long devices stay trusted.
    pub signin: ichido_domain::signin::SigninPolicy,
    pub audit: AuditConfig,
}

/// The audit log's anchors outside the database.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Log a signed checkpoint of the chain's head this often (seconds),
    /// for `ichido audit verify --checkpoint`; 0 turns it off.
    pub checkpoint_seconds: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// The HTTP edge.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` is
    /// believed; see `http::forwarded`.
    pub trusted_proxies: crate::http::forwarded::TrustedProxies,
}

/// Requests per client IP address to the endpoints anyone with a validator
/// key can call for any username: validation, challenges, reset requests
/// (one bucket per address for all three).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second from one address; 0 turns it off.
    pub per_second: u32,
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 100,
            burst: 200,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("ichido-data"),
            database_url: None,
            durability: "full".into(),
            master_key: None,
            master_key_file: None,
            log_format: LogFormat::Human,
            log_level: "info".into(),
            issuer: "Ichido".into(),
            max_body_bytes: 64 * 1024,
            trust_forwarded_for: false,
            http: HttpConfig::default(),
            rate_limit: RateLimit::default(),
            password_threads: 0,
            policy: Policy::default(),
            radius: RadiusConfig::default(),
            smtp: Default::default(),
            sms: Default::default(),
            challenge: Default::default(),
            notifications: Default::default(),
            templates: Default::default(),
            reset: Default::default(),
            signin: Default::default(),
            audit: Default::default(),
        }
    }
}

/// Command-line values that override everything else.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, master key).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the embedded SQLite.
    #[arg(long, global = true, value_parser = crate::redact::parse_arg)]
    pub database_url: Option<SecretString>,
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Variables read by the test suite or the runtime, not configuration keys.
const NOT_CONFIG: &[&str] = &["ICHIDO_TEST_POSTGRES_URL", "ICHIDO_BIN"];

impl Config {
    /// Loads the layers; unknown `ICHIDO_*` variables are warned about and ignored.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<(Config, Vec<String>)> {
        Self::load_from(args, std::env::vars())
    }

    pub fn load_from(
        args: &ConfigArgs,
        vars: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<(Config, Vec<String>)> {
        let known = known_keys();
        let mut warnings = Vec::new();
        let mut env_layer = Figment::new();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("ICHIDO_") else {
                continue;
            };
            if NOT_CONFIG.contains(&name.as_str()) {
                continue;
            }
            let (key, value) = match rest.strip_suffix("_FILE") {
                // ICHIDO_MASTER_KEY_FILE names a configuration key of its own.
                Some(base) if !known.contains(&rest.to_ascii_lowercase().replace("__", ".")) => {
                    let content = std::fs::read_to_string(&value)
                        .map_err(|e| anyhow::anyhow!("{name}: cannot read {value}: {e}"))?;
                    (
                        base.to_ascii_lowercase().replace("__", "."),
                        content.trim_end().to_owned(),
                    )
                }
                _ => (rest.to_ascii_lowercase().replace("__", "."), value),
            };
            if !known.contains(&key) {
                warnings.push(format!("ignoring unknown environment variable {name}"));
                continue;
            }
            env_layer = env_layer.merge(Serialized::global(&key, parse_value(&value)));
        }
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &args.config {
            if !path.exists() {
                anyhow::bail!("configuration file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file(path));
        }
        fig = fig.merge(env_layer);
        if let Some(d) = &args.data_dir {
            fig = fig.merge(Serialized::global("data_dir", d));
        }
        if let Some(u) = &args.database_url {
            fig = fig.merge(Serialized::global("database_url", u.expose()));
        }
        if let Some(f) = args.log_format {
            fig = fig.merge(Serialized::global("log_format", f));
        }
        let config: Config = fig
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        config.check()?;
        if config.trust_forwarded_for {
            warnings.push(
                "trust_forwarded_for is deprecated and ignored: list your reverse proxies in [http] trusted_proxies (ICHIDO_HTTP__TRUSTED_PROXIES)".into(),
            );
        }
        Ok((config, warnings))
    }

    fn check(&self) -> anyhow::Result<()> {
        self.durability
            .parse::<ichido_store::Durability>()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        let p = &self.policy;
        if p.max_failures < 1 || p.lockout_seconds < 0 || p.pending_seconds < 1 {
            anyhow::bail!(
                "configuration: policy.max_failures must be >= 1, lockout_seconds >= 0, pending_seconds >= 1"
            );
        }
        if p.totp_behind > 100
            || p.totp_ahead > 100
            || p.hotp_look_ahead > 1000
            || p.resync_window > 100_000
        {
            anyhow::bail!(
                "configuration: validation windows are limited to 100 TOTP steps, 1000 HOTP counters, resync 100000"
            );
        }
        self.radius.check()?;
        self.challenge
            .check()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        self.reset
            .check()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        self.signin
            .check()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        crate::delivery::check_config(self)?;
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("ichido.db").display()),
        }
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Environment values are text; numbers and booleans are recognised so that
/// `ICHIDO_POLICY__MAX_FAILURES=5` sets an integer.
fn parse_value(v: &str) -> serde_json::Value {
    if let Ok(n) = v.parse::<i64>() {
        return n.into();
    }
    match v {
        "true" => true.into(),
        "false" => false.into(),
        _ => v.into(),
    }
}

/// Every dotted key the configuration understands, from its defaults.
fn known_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&key, v, out);
                out.insert(key);
            }
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::to_value(Config::default()) {
        walk("", &v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)], args: ConfigArgs) -> anyhow::Result<(Config, Vec<String>)> {
        Config::load_from(
            &args,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_need_no_file_and_no_environment() {
        let (c, w) = load(&[], ConfigArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://"));
        assert!(w.is_empty());
    }

    #[test]
    fn environment_overrides_file_and_flags_override_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ichido.toml");
        std::fs::write(&file, "issuer = \"FromFile\"\n[policy]\nmax_failures = 3\n").unwrap();
        let args = ConfigArgs {
            config: Some(file),
            data_dir: Some("/flag".into()),
            ..Default::default()
        };
        let (c, _) = load(
            &[
                ("ICHIDO_POLICY__MAX_FAILURES", "5"),
                ("ICHIDO_DATA_DIR", "/env"),
            ],
            args,
        )
        .unwrap();
        assert_eq!(c.issuer, "FromFile");
        assert_eq!(c.policy.max_failures, 5);
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn unknown_environment_variable_is_warned_about() {
        let (_, w) = load(&[("ICHIDO_LISTN", "x")], ConfigArgs::default()).unwrap();
        assert_eq!(
            w,
            vec!["ignoring unknown environment variable ICHIDO_LISTN".to_string()]
        );
    }

    #[test]
    fn file_variable_reads_the_secret_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("url");
        std::fs::write(&f, "postgres://db/ichido\n").unwrap();
        let (c, _) = load(
            &[("ICHIDO_DATABASE_URL_FILE", f.to_str().unwrap())],
            ConfigArgs::default(),
        )
        .unwrap();
        assert_eq!(
            c.database_url.as_ref().map(SecretString::expose),
            Some("postgres://db/ichido")
        );
    }

    #[test]
    fn radius_clients_come_from_the_file_and_the_listener_can_be_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ichido.toml");
        let toml = "[radius]\nstate_seconds = 60\n[[radius.clients]]\nname = \"vpn\"\naddress = \"10.0.0.0/24\"\n\
                    secret = \"a-long-shared-secret\"\nmode = \"challenge\"\n";
        std::fs::write(&file, toml).unwrap();
        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let (c, _) = load(&[], args.clone()).unwrap();
        assert_eq!(
            c.radius.listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 1812)))
        );
        assert_eq!(c.radius.state_seconds, 60);
        assert_eq!(c.radius.clients[0].mode, RadiusMode::Challenge);
        assert!(c.radius.clients[0].require_message_authenticator);
        assert!(
            !format!("{c:?}").contains("a-long-shared-secret"),
            "secrets stay out of Debug"
        );
        let (c, w) = load(&[("ICHIDO_RADIUS__LISTEN", "")], args).unwrap();
        assert_eq!(c.radius.listen, None);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn bad_radius_client_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ichido.toml");
        for (client, expected) in [
            (
                "name = \"vpn\"\naddress = \"10.0.0.1/8\"\nsecret = \"s\"",
                "host bits",
            ),
            (
                "name = \"vpn\"\naddress = \"10.0.0.1\"",
                "exactly one of secret",
            ),
            (
                "name = \"vpn\"\naddress = \"10.0.0.1\"\nsecret = \"s\"\nmode = \"pap\"",
                "mode",
            ),
            (
                "name = \"vpn\"\naddress = \"10.0.0.1\"\nsecret = \"s\"\nsecrte = \"s\"",
                "secrte",
            ),
        ] {
            std::fs::write(&file, format!("[[radius.clients]]\n{client}\n")).unwrap();
            let args = ConfigArgs {
                config: Some(file.clone()),
                ..Default::default()
            };
            let err = load(&[], args).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn debug_of_a_config_with_every_secret_set_shows_none_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ichido.toml");
        let toml = r#"
database_url = "postgres://ichido:db-pass-4711@db.example/ichido"
master_key = "k1:master-key-material-4711"
[smtp]
host = "smtp.example"
username = "mailer"
password = "smtp-pass-4711"
[sms]
url = "https://gw-user:sms-pass-4711@sms.example/send?api_key=sms-key-4711"
headers = { authorization = "Bearer sms-header-4711" }
[notifications]
webhook_url = "https://hooks.example/ichido"
webhook_secret = "whsec-4711"
[[radius.clients]]
name = "vpn"
address = "10.0.0.0/24"
secret = "radius-secret-4711"
"#;
        std::fs::write(&file, toml).unwrap();
        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let (c, _) = load(&[], args).unwrap();
        // Every secret arrived...
        assert_eq!(
            c.smtp.password.as_ref().map(SecretString::expose),
            Some("smtp-pass-4711")
        );
        assert!(c.sms.url.expose().contains("sms-pass-4711"));
        // ...and neither Debug nor serialisation shows any of them.
        let shown = format!("{c:?} {c:#?} {}", serde_json::to_string(&c).unwrap());
        for secret in [
            "db-pass-4711",
            "master-key-material-4711",
            "smtp-pass-4711",
            "sms-pass-4711",
            "sms-key-4711",
            "sms-header-4711",
            "whsec-4711",
            "radius-secret-4711",
        ] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(
            shown.contains("smtp.example"),
            "what is not secret stays visible"
        );
        let flag = ConfigArgs {
            database_url: Some(SecretString::from("postgres://u:flag-pass-4711@db/x")),
            ..Default::default()
        };
        assert!(!format!("{flag:?}").contains("flag-pass-4711"));
    }

    #[test]
    fn bad_value_is_a_clear_error() {
        let err = load(
            &[("ICHIDO_POLICY__MAX_FAILURES", "many")],
            ConfigArgs::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("max_failures"), "{err}");
    }
}
