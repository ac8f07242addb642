//! Shapes on the wire shared by several endpoints.

use ichido_domain::Timestamp;
use ichido_domain::audit::Record;
use ichido_domain::token::{Token, TokenKind};
use ichido_domain::user::User;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

/// RFC 3339 in UTC, e.g. `2026-11-22T09:30:00.123Z`.
pub fn rfc3339(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Accepts RFC 3339 or Unix seconds.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(secs) = s.parse::<i64>() {
        return Some(Timestamp::from_secs(secs));
    }
    let d = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some(Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// A time in a request: RFC 3339 text or Unix seconds (a number or its text),
/// as `parse_time` reads them.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum WireTime {
    Seconds(i64),
    Text(String),
}

impl WireTime {
    pub fn timestamp(&self, field: &str) -> Result<Timestamp, super::error::ApiError> {
        match self {
            WireTime::Seconds(s) => Some(Timestamp::from_secs(*s)),
            WireTime::Text(t) => parse_time(t),
        }
        .ok_or_else(|| {
            super::error::ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_time",
                format!("{field} must be RFC 3339 (2026-01-31T09:00:00Z) or Unix seconds"),
            )
        })
    }
}

/// A username from a request body, in its one normal form, or 422
/// `invalid_username` (`Username::parse` holds the rule).
pub fn username(name: &str) -> Result<String, super::error::ApiError> {
    Ok(ichido_domain::ids::Username::parse(name)?
        .as_str()
        .to_owned())
}

/// The `{username}` of a path, checked like [`username`]: a name that no user
/// can have is refused before any handler, store or audit log sees it.
pub struct UserPath(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UserPath {
    type Rejection = super::error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let super::error::ApiPath(name) =
            super::error::ApiPath::<String>::from_request_parts(parts, state).await?;
        username(&name).map(UserPath)
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub has_password: bool,
    /// Consecutive failed validations.
    pub failed_count: i64,
    /// Set while the user is locked out.
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl UserResponse {
    pub fn new(u: &User, now: Timestamp) -> Self {
        UserResponse {
            username: u.username.to_string(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            has_password: u.password_hash.is_some(),
            failed_count: u.failed_count,
            locked_until: u.locked_until.filter(|&t| t > now).map(rfc3339),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// A token as anyone may see it: never its seed.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub serial: String,
    /// `totp` or `hotp`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `active`, `disabled`, `revoked` or `lost`.
    pub state: String,
    pub username: Option<String>,
    pub label: Option<String>,
    pub issuer: Option<String>,
    pub algorithm: String,
    pub digits: u8,
    /// TOTP step in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    pub failed_count: i64,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub last_used_at: Option<String>,
    /// When a pending token can no longer be activated.
    pub pending_until: Option<String>,
    /// Before this the token matches no code; absent: no start.
    pub valid_from: Option<String>,
    /// From this on the token matches no code; absent: no end.
    pub valid_until: Option<String>,
    /// OCRA tokens: the suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocra_suite: Option<String>,
    /// Email and SMS tokens: the address, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl TokenResponse {
    pub fn new(t: &Token, username: Option<String>) -> Self {
        TokenResponse {
            serial: t.serial.to_string(),
            kind: t.params.kind.as_str().to_owned(),
            state: t.state.as_str().to_owned(),
            username,
            label: t.label.clone(),
            issuer: t.issuer.clone(),
            algorithm: t.params.algorithm.to_string(),
            digits: t.params.digits.get(),
            period: (t.params.kind == TokenKind::Totp).then_some(t.params.period),
            failed_count: t.failed_count,
            created_at: rfc3339(t.created_at),
            activated_at: t.activated_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            pending_until: t.pending_until.map(rfc3339),
            valid_from: t.valid_from.map(rfc3339),
            valid_until: t.valid_until.map(rfc3339),
            ocra_suite: t.ocra_suite.clone(),
            address: t.address.as_deref().map(|a| match t.params.kind {
                TokenKind::Email => ichido_domain::challenge::mask_email(a),
                _ => ichido_domain::challenge::mask_phone(a),
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventResponse {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub username: Option<String>,
    pub serial: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub result: String,
    pub reason: Option<String>,
    pub hash: String,
}

impl From<&Record> for EventResponse {
    fn from(r: &Record) -> Self {
        let e = &r.event;
        EventResponse {
            seq: r.seq,
            at: rfc3339(e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            username: e.username.clone(),
            serial: e.serial.clone(),
            client_ip: e.client_ip.clone(),
            user_agent: e.user_agent.clone(),
            result: e.result.clone(),
            reason: e.reason.clone(),
            hash: r.hash.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventResponse>,
    /// Pass as `cursor` to get the next (older) page; absent on the last.
    pub next_cursor: Option<String>,
}

impl EventPage {
    pub fn new(records: &[Record], limit: i64) -> Self {
        let next_cursor = (records.len() as i64 == limit)
            .then(|| records.last().map(|r| r.seq.to_string()))
            .flatten();
        EventPage {
            events: records.iter().map(EventResponse::from).collect(),
            next_cursor,
        }
    }
}
