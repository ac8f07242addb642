//! Telling people things: the `Delivery` port (email, SMS) the server's
//! adapters implement, the message templates, and which audit events the
//! account holder is notified of.

use std::future::Future;
use std::pin::Pin;

use crate::audit::Event;

/// An email to send: both a plain-text and an HTML body. Its texts may
/// carry a code or a link, so `Debug` shows only the recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: String,
    pub message: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Sms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sms")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// A message a request produced, sent after the request is answered.
#[derive(Clone, Debug)]
pub enum Message {
    Email(Email),
    Sms(Sms),
}

#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message: Message,
    /// Appended to the audit log, its reason set to the delivery error's
    /// code, when the message cannot be sent.
    pub on_failure: Event,
}

/// Takes messages for sending later. `post` never waits for the network:
/// whether and how fast a message leaves must not shape the answer of the
/// request that produced it (one user's mail relay being slow would tell
/// that user exists).
pub trait Outbox: Send + Sync + 'static {
    fn post(&self, out: Outgoing);
}

/// An outbox that sends nothing: for tools that produce no messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOutbox;

impl Outbox for NoOutbox {
    fn post(&self, out: Outgoing) {
        tracing::warn!(message = ?out.message, "no outbox: a message was dropped");
    }
}

/// Why a message did not leave. The code names the channel for callers and
/// the audit log (`smtp_unavailable`, `sms_gateway_unavailable`).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{detail}")]
pub struct DeliveryError {
    pub code: &'static str,
    pub detail: String,
}

impl DeliveryError {
    pub fn smtp(detail: impl Into<String>) -> Self {
        DeliveryError {
            code: "smtp_unavailable",
            detail: detail.into(),
        }
    }
    pub fn sms(detail: impl Into<String>) -> Self {
        DeliveryError {
            code: "sms_gateway_unavailable",
            detail: detail.into(),
        }
    }
}

pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Sends email and SMS. An `Ok` means the relay or gateway took the message.
pub trait Delivery: Send + Sync + 'static {
    fn send_email<'a>(&'a self, email: &'a Email) -> DeliveryFuture<'a>;
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> DeliveryFuture<'a>;
}

/// What a server without mail or SMS configured does: refuse, loudly.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDelivery;

impl Delivery for NoDelivery {
    fn send_email<'a>(&'a self, _: &'a Email) -> DeliveryFuture<'a> {
        Box::pin(async { Err(DeliveryError::smtp("no SMTP server is configured")) })
    }
    fn send_sms<'a>(&'a self, _: &'a Sms) -> DeliveryFuture<'a> {
        Box::pin(async { Err(DeliveryError::sms("no SMS gateway is configured")) })
    }
}

/// The editable texts. `{placeholder}`s are replaced; in HTML bodies the
/// values are escaped first. Code messages get `{code}`, `{issuer}`,
/// `{username}` and `{lifetime}` (how long the code works, in words, e.g.
/// "1 minute"); `{minutes}`, the bare number, stays for templates written
/// before `{lifetime}` existed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    pub code_subject: String,
    pub code_text: String,
    pub code_html: String,
    pub code_sms: String,
    pub notice_subject: String,
    pub notice_text: String,
    pub notice_html: String,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            code_subject: "Your {issuer} code: {code}".into(),
            code_text:
                "Hello {username},\n\nyour {issuer} sign-in code is {code}. It is valid for \
                        {lifetime} and can be used once.\n\nIf you did not ask for a code, \
                        someone may know your password: change it and tell your administrator.\n"
                    .into(),
            code_html: "<p>Hello {username},</p><p>your {issuer} sign-in code is \
                        <strong>{code}</strong>. It is valid for {lifetime} and can be used \
                        once.</p><p>If you did not ask for a code, someone may know your password: \
                        change it and tell your administrator.</p>"
                .into(),
            code_sms:
                "{issuer} code: {code} (valid for {lifetime}). Did not ask? Change your password."
                    .into(),
            notice_subject: "{issuer}: {what}".into(),
            notice_text: "Hello {username},\n\n{what}.\n\nWhen: {time}\nFrom: {ip}\nDevice: \
                          {user_agent}\n\nIf this was not you, change your password and contact \
                          your administrator at once.\n"
                .into(),
            notice_html: "<p>Hello {username},</p><p>{what}.</p><ul><li>When: {time}</li>\
                          <li>From: {ip}</li><li>Device: {user_agent}</li></ul><p>If this was \
                          not you, change your password and contact your administrator at once.</p>"
                .into(),
        }
    }
}

/// How long something works, in words: "30 seconds", "1 minute", "5 minutes",
/// "1 hour 30 minutes". A message must never say "1 minutes", nor round a
/// 30-second lifetime up to a minute the code does not have.
pub fn lifetime_text(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let parts = [
        (seconds / 3600, "hour"),
        (seconds % 3600 / 60, "minute"),
        (seconds % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| match n {
            1 => format!("1 {unit}"),
            n => format!("{n} {unit}s"),
        })
        .collect();
    if words.is_empty() {
        "0 seconds".to_owned()
    } else {
        words.join(" ")
    }
}

/// Replaces each `{name}` with its value; unknown placeholders stay as they are.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if values.iter().any(|(k, _)| *k == name) => {
                let v = values.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                out.push_str(v.unwrap_or_default());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The same, for HTML: every value is escaped before it goes in.
pub fn render_html(template: &str, values: &[(&str, &str)]) -> String {
    let escaped: Vec<(&str, String)> = values.iter().map(|(k, v)| (*k, escape_html(v))).collect();
    let refs: Vec<(&str, &str)> = escaped.iter().map(|(k, v)| (*k, v.as_str())).collect();
    render(template, &refs)
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The events an account holder hears about. Each is switched on or off in
/// the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    CodeSent,
    SignInFailed,
    AccountLocked,
    TokenAdded,
    TokenDisabled,
    TokenRevoked,
    TokenLost,
    PasswordChanged,
    BackupCodeUsed,
    EmergencyCodeUsed,
    /// A sign-in answered its second factor from a device not remembered.
    NewDeviceSignIn,
    /// A remembered device was revoked: its token was used twice.
    DeviceTokenReused,
    /// A reset without a second factor started its waiting period.
    ResetWaiting,
    ResetCancelled,
    ResetCompleted,
}

impl Notice {
    /// Reset notices are part of the reset procedure: they go out whatever
    /// the configuration says about other notices, and also by SMS.
    pub fn is_reset(self) -> bool {
        matches!(
            self,
            Notice::ResetWaiting | Notice::ResetCancelled | Notice::ResetCompleted
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Notice::CodeSent => "code_sent",
            Notice::SignInFailed => "sign_in_failed",
            Notice::AccountLocked => "account_locked",
            Notice::TokenAdded => "token_added",
            Notice::TokenDisabled => "token_disabled",
            Notice::TokenRevoked => "token_revoked",
            Notice::TokenLost => "token_lost",
            Notice::PasswordChanged => "password_changed",
            Notice::BackupCodeUsed => "backup_code_used",
            Notice::EmergencyCodeUsed => "emergency_code_used",
            Notice::NewDeviceSignIn => "new_device_sign_in",
            Notice::DeviceTokenReused => "device_token_reused",
            Notice::ResetWaiting => "reset_waiting",
            Notice::ResetCancelled => "reset_cancelled",
            Notice::ResetCompleted => "reset_completed",
        }
    }

    /// One line saying what happened, for the message body.
    pub fn describe(self) -> &'static str {
        match self {
            Notice::CodeSent => "A sign-in code was sent to you",
            Notice::SignInFailed => {
                "Someone entered your correct password but a wrong second-factor code"
            }
            Notice::AccountLocked => "Your account was locked after too many failed sign-ins",
            Notice::TokenAdded => "A new authentication token was added to your account",
            Notice::TokenDisabled => "An authentication token of your account was disabled",
            Notice::TokenRevoked => "An authentication token of your account was revoked",
            Notice::TokenLost => "An authentication token of your account was marked lost",
            Notice::PasswordChanged => "Your password was changed",
            Notice::BackupCodeUsed => "One of your backup codes was used to sign in",
            Notice::EmergencyCodeUsed => {
                "Your emergency unlock code was used to sign in; your administrators were told"
            }
            Notice::NewDeviceSignIn => "Someone signed in to your account from a new device",
            Notice::DeviceTokenReused => {
                "A device you had remembered was signed out: its sign-in token was used twice, \
                 so a copy of it may be in someone else's hands"
            }
            Notice::ResetWaiting => {
                "Someone with your password and your reset link asked to reset your second \
                 factor without proving another one; a new token can be enrolled once the \
                 waiting period ends, unless you cancel it"
            }
            Notice::ResetCancelled => "A reset of your second factor was cancelled",
            Notice::ResetCompleted => {
                "Your second factor was reset by email link: your old tokens, backup codes and \
                 emergency code no longer work, and a new token waits for activation"
            }
        }
    }

    /// The notice an audit event calls for, if any. Notices are derived from
    /// the log, which every change is written with, so none is missed and
    /// none is sent for a change that did not happen.
    pub fn of(ev: &Event) -> Option<Notice> {
        let reason = ev.reason.as_deref();
        Some(match (ev.action.as_str(), ev.result.as_str()) {
            ("challenge.create", "success") if matches!(reason, Some("email" | "sms")) => {
                Notice::CodeSent
            }
            ("validate", "reject") if reason == Some("wrong_code_after_password") => {
                Notice::SignInFailed
            }
            ("user.lock", "success") => Notice::AccountLocked,
            ("token.enroll" | "token.import", "success") => Notice::TokenAdded,
            ("token.disable", "success") => Notice::TokenDisabled,
            ("token.revoke", "success") => Notice::TokenRevoked,
            ("token.lost", "success") => Notice::TokenLost,
            ("user.update.password", "success") => Notice::PasswordChanged,
            ("signin.answer", "reject") if reason == Some("wrong_code") => Notice::SignInFailed,
            ("signin.answer", "accept") => Notice::NewDeviceSignIn,
            ("signin", "accept") if reason == Some("trusted_network") => Notice::NewDeviceSignIn,
            ("device.revoke", "success") if reason == Some("token_reused") => {
                Notice::DeviceTokenReused
            }
            ("backup.use", "success") => Notice::BackupCodeUsed,
            ("emergency.use", "success") => Notice::EmergencyCodeUsed,
            ("reset.wait", "success") => Notice::ResetWaiting,
            ("reset.cancel", "success") => Notice::ResetCancelled,
            ("reset.complete", "success") => Notice::ResetCompleted,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_html_is_escaped() {
        let v = [("name", "<b>&"), ("n", "1")];
        assert_eq!(render("{name} {n} {x} {", &v), "<b>& 1 {x} {");
        assert_eq!(render_html("<p>{name}</p>", &v), "<p>&lt;b&gt;&amp;</p>");
    }

    #[test]
    fn lifetime_is_said_in_correct_words_for_every_length() {
        for (seconds, words) in [
            (1, "1 second"),
            (30, "30 seconds"),
            (60, "1 minute"),
            (90, "1 minute 30 seconds"),
            (300, "5 minutes"),
            (3600, "1 hour"),
            (5400, "1 hour 30 minutes"),
            (86_400, "24 hours"),
        ] {
            assert_eq!(lifetime_text(seconds), words, "{seconds} s");
        }
    }

    #[test]
    fn default_code_texts_use_the_lifetime_in_words() {
        let t = Templates::default();
        for template in [&t.code_text, &t.code_html, &t.code_sms] {
            let text = render(template, &[("lifetime", "1 minute"), ("minutes", "1")]);
            assert!(text.contains("valid for 1 minute"), "{text}");
            assert!(!text.contains("minutes"), "{text}");
        }
    }
}
