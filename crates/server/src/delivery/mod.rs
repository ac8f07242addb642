//! How messages leave: email over SMTP, SMS through an HTTP gateway, and
//! signed webhooks for notifications. Each send is retried a few times with
//! backoff; a send that still fails is an error, never a silent success.

pub mod notifier;
pub mod outbox;
pub mod sms;
pub mod smtp;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ichido_crypto::SecretString;
use ichido_domain::notify::{Delivery, DeliveryError, DeliveryFuture, Email, Sms, Templates};
use serde::{Deserialize, Serialize};

use crate::config::Config;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on localhost.
    None,
}

/// The SMTP relay for codes and notifications. Off while `host` is empty.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Or `ICHIDO_SMTP__PASSWORD_FILE` naming a file that holds it.
    #[serde(serialize_with = "crate::redact::optional")]
    pub password: Option<SecretString>,
    /// The sender, e.g. `Ichido <mfa@example.com>`.
    pub from: String,
    /// Seconds for one connection and conversation.
    pub timeout: u64,
    /// Tries per message (1 = no retry), with doubling backoff from 250 ms.
    pub attempts: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "Ichido <ichido@localhost>".into(),
            timeout: 10,
            attempts: 2,
        }
    }
}

/// An HTTP SMS gateway. Off while `url` is empty.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// Secret: gateways put credentials in the user part or the query.
    #[serde(serialize_with = "crate::redact::secret")]
    pub url: SecretString,
    /// `POST` (default), `PUT` or `GET`.
    pub method: String,
    /// Sent as they are, e.g. `Authorization = "Bearer …"`; the values are
    /// secret, the names are not.
    #[serde(serialize_with = "crate::redact::values")]
    pub headers: BTreeMap<String, SecretString>,
    /// `{phone}` and `{message}` are replaced, escaped for JSON when the
    /// template is JSON (starts with `{` or `[`), URL-encoded otherwise.
    pub body_template: String,
    pub timeout: u64,
    pub attempts: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            url: SecretString::default(),
            method: "POST".into(),
            headers: BTreeMap::new(),
            body_template: r#"{"to":"{phone}","text":"{message}"}"#.into(),
            timeout: 10,
            attempts: 2,
        }
    }
}

/// Which events the account holder hears about.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeEvents {
    pub code_sent: bool,
    pub sign_in_failed: bool,
    pub account_locked: bool,
    pub token_added: bool,
    pub token_disabled: bool,
    pub token_revoked: bool,
    pub token_lost: bool,
    pub password_changed: bool,
    pub backup_code_used: bool,
    pub emergency_code_used: bool,
    pub new_device_sign_in: bool,
    pub device_token_reused: bool,
    pub reset_completed: bool,
}

impl Default for NoticeEvents {
    fn default() -> Self {
        NoticeEvents {
            code_sent: true,
            sign_in_failed: true,
            account_locked: true,
            token_added: true,
            token_disabled: true,
            token_revoked: true,
            token_lost: true,
            password_changed: true,
            backup_code_used: true,
            emergency_code_used: true,
            new_device_sign_in: true,
            device_token_reused: true,
            reset_completed: true,
        }
    }
}

impl NoticeEvents {
    pub fn enabled(&self, n: ichido_domain::notify::Notice) -> bool {
        use ichido_domain::notify::Notice::*;
        match n {
            CodeSent => self.code_sent,
            SignInFailed => self.sign_in_failed,
            AccountLocked => self.account_locked,
            TokenAdded => self.token_added,
            TokenDisabled => self.token_disabled,
            TokenRevoked => self.token_revoked,
            TokenLost => self.token_lost,
            PasswordChanged => self.password_changed,
            BackupCodeUsed => self.backup_code_used,
            EmergencyCodeUsed => self.emergency_code_used,
            NewDeviceSignIn => self.new_device_sign_in,
            DeviceTokenReused => self.device_token_reused,
            ResetCompleted => self.reset_completed,
            // The waiting period is only safe if the holder hears of it.
            ResetWaiting | ResetCancelled => true,
        }
    }
}

/// Notices to account holders: by email (to the user's address) and/or a
/// webhook signed with `webhook_secret` (see `webhook.rs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub email: bool,
    pub webhook_url: Option<String>,
    /// Or `ICHIDO_NOTIFICATIONS__WEBHOOK_SECRET_FILE`.
    #[serde(serialize_with = "crate::redact::optional")]
    pub webhook_secret: Option<SecretString>,
    pub events: NoticeEvents,
    /// How often the outbox is looked at, in milliseconds.
    pub poll_ms: u64,
    /// Tries per notice before it is given up (with doubling backoff).
    pub max_attempts: i64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            email: false,
            webhook_url: None,
            webhook_secret: None,
            events: NoticeEvents::default(),
            poll_ms: 1000,
            max_attempts: 8,
        }
    }
}

/// A directory of template files overriding the built-in texts: any of
/// `code_subject.txt`, `code.txt`, `code.html`, `code_sms.txt`,
/// `notice_subject.txt`, `notice.txt`, `notice.html`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplatesConfig {
    pub dir: Option<PathBuf>,
}

impl TemplatesConfig {
    pub fn load(&self) -> anyhow::Result<Templates> {
        let mut t = Templates::default();
        let Some(dir) = &self.dir else {
            return Ok(t);
        };
        for (file, slot) in [
            ("code_subject.txt", &mut t.code_subject),
            ("code.txt", &mut t.code_text),
            ("code.html", &mut t.code_html),
            ("code_sms.txt", &mut t.code_sms),
            ("notice_subject.txt", &mut t.notice_subject),
            ("notice.txt", &mut t.notice_text),
            ("notice.html", &mut t.notice_html),
        ] {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => *slot = text.trim_end_matches('\n').to_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("template {}: {e}", path.display()),
            }
        }
        Ok(t)
    }
}

pub fn check_config(c: &Config) -> anyhow::Result<()> {
    if !c.smtp.host.is_empty() {
        c.smtp
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| anyhow::anyhow!("configuration: smtp.from {:?}: {e}", c.smtp.from))?;
        if c.smtp.username.is_some() != c.smtp.password.is_some() {
            anyhow::bail!("configuration: smtp.username and smtp.password go together");
        }
    }
    if !c.sms.url.is_empty() {
        let url = c.sms.url.expose();
        if !url.starts_with("http://") && !url.starts_with("https://") {
            anyhow::bail!("configuration: sms.url must be an http(s) URL");
        }
        if !["GET", "POST", "PUT"].contains(&c.sms.method.to_ascii_uppercase().as_str()) {
            anyhow::bail!("configuration: sms.method must be GET, POST or PUT");
        }
    }
    if c.notifications.webhook_url.is_some() && c.notifications.webhook_secret.is_none() {
        anyhow::bail!("configuration: notifications.webhook_url needs a webhook_secret");
    }
    if c.notifications.email && c.smtp.host.is_empty() {
        anyhow::bail!("configuration: notifications.email needs an smtp.host");
    }
    c.templates.load()?;
    Ok(())
}

/// The server's `Delivery`: whichever of SMTP and SMS is configured.
pub struct ServerDelivery {
    smtp: Option<smtp::Smtp>,
    sms: Option<sms::SmsGateway>,
}

impl ServerDelivery {
    pub fn new(c: &Config) -> anyhow::Result<ServerDelivery> {
        Ok(ServerDelivery {
            smtp: (!c.smtp.host.is_empty())
                .then(|| smtp::Smtp::new(&c.smtp))
                .transpose()?,
            sms: (!c.sms.url.is_empty())
                .then(|| sms::SmsGateway::new(&c.sms))
                .transpose()?,
        })
    }
}

impl Delivery for ServerDelivery {
    fn send_email<'a>(&'a self, email: &'a Email) -> DeliveryFuture<'a> {
        Box::pin(async move {
            match &self.smtp {
                Some(s) => s.send(email).await,
                None => Err(DeliveryError::smtp("no SMTP server is configured")),
            }
        })
    }
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> DeliveryFuture<'a> {
        Box::pin(async move {
            match &self.sms {
                Some(s) => s.send(sms).await,
                None => Err(DeliveryError::sms("no SMS gateway is configured")),
            }
        })
    }
}

/// Runs `f` up to `attempts` times, waiting 250 ms, 500 ms, … between tries.
pub(crate) async fn with_retries<F, Fut>(attempts: u32, mut f: F) -> Result<(), DeliveryError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), DeliveryError>>,
{
    let mut wait = Duration::from_millis(250);
    let mut last = None;
    for n in 0..attempts.max(1) {
        if n > 0 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| DeliveryError::smtp("not attempted")))
}
