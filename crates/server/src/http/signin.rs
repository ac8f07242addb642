//! Sign-in for applications (`/v1/signin`), remembered devices and the
//! sign-in history of a user.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ichido_crypto::SecretString;
use ichido_domain::service::{Answer, Decision, SigninRequest};
use ichido_domain::signin::{Device, SigninRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Helpdesk, Validator};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use super::users::{PageQuery, parse_cursor};
use super::wire::{UserPath, rfc3339, username};
use crate::app::AppState;
use crate::metrics::{DecisionLabel, ResultLabel};

/// Where the browser is, as the application saw it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    /// The browser's IP address.
    pub ip: Option<String>,
    /// The browser's `User-Agent`; names a remembered device.
    pub user_agent: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigninBody {
    pub username: String,
    #[schema(value_type = String)]
    pub password: SecretString,
    /// The token this server gave the browser when it was remembered (or
    /// last signed in with it): `<id>.<secret>`.
    #[schema(value_type = Option<String>)]
    pub device_token: Option<SecretString>,
    #[serde(default)]
    pub client: ClientBody,
    /// The application's name, for the history.
    pub app: String,
}

/// `{"decision":"accept","device_token":…}`, `{"decision":"challenge",
/// "signin_id":…,"factors":[…]}` or `{"decision":"reject"}`.
#[derive(Serialize, ToSchema)]
pub struct SigninResponse {
    /// `accept`, `challenge` or `reject`. A reject never says why.
    pub decision: &'static str,
    /// On accept from a remembered device (or one just remembered): the
    /// device's new token; the one sent no longer works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// On challenge: pass to `POST /v1/signin/{signin_id}/answer`, once,
    /// within `[signin] answer_seconds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signin_id: Option<String>,
    /// On challenge: what the user can answer with now (`totp`, `hotp`,
    /// `email`, `sms`, `backup`, `emergency`). Email and SMS codes have been sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factors: Option<Vec<String>>,
}

impl From<Decision> for SigninResponse {
    fn from(d: Decision) -> Self {
        let none = SigninResponse {
            decision: "reject",
            device_token: None,
            signin_id: None,
            factors: None,
        };
        match d {
            Decision::Accept { device_token } => SigninResponse {
                decision: "accept",
                device_token: device_token.map(|t| t.expose().to_owned()),
                ..none
            },
            Decision::Challenge { signin_id, factors } => SigninResponse {
                decision: "challenge",
                signin_id: Some(signin_id),
                factors: Some(factors),
                ..none
            },
            Decision::Reject => none,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// One of the factors offered; any of them when absent.
    pub factor: Option<String>,
    #[schema(value_type = String)]
    pub code: SecretString,
    /// Remember this browser: its next sign-ins skip the second factor.
    #[serde(default)]
    pub remember_device: bool,
}

/// One decision on a sign-in: the password, then a remembered device or a
/// second factor. Unknown user, wrong password, no password and a locked
/// account answer the same `{"decision":"reject"}` at the same cost.
#[utoipa::path(post, path = "/v1/signin", tag = "signin", request_body = SigninBody,
    responses((status = 200, body = SigninResponse),
        (status = 422, body = ErrorBody, description = "`invalid_username`, `invalid_client_ip`, `invalid_app`, `invalid_device_token`"),
        (status = 429, body = ErrorBody, description = "too many requests from this address; see Retry-After")),
    security(("bearer" = [])))]
pub async fn signin(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiJson(req): ApiJson<SigninBody>,
) -> Result<Json<SigninResponse>, ApiError> {
    super::validate::per_address(&app, &caller.ctx)?;
    let client_ip = match req.client.ip.as_deref().map(str::trim) {
        Some(ip) => Some(
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_client_ip",
                        "client.ip must be an IPv4 or IPv6 address",
                    )
                })?
                .to_string(),
        ),
        None => None,
    };
    let request = SigninRequest {
        username: username(&req.username)?,
        password: req.password,
        device_token: req.device_token,
        client_ip,
        user_agent: req.client.user_agent.map(|u| u.chars().take(256).collect()),
        app: req.app,
    };
    let decision = app.ichido.signin(&caller.ctx, &request).await?;
    let response = SigninResponse::from(decision);
    app.metrics
        .signins
        .get_or_create(&DecisionLabel {
            decision: response.decision,
        })
        .inc();
    Ok(Json(response))
}

/// The second factor of a challenged sign-in. The sign-in is spent by the
/// first answer, right or wrong; a wrong code counts toward lockout.
#[utoipa::path(post, path = "/v1/signin/{signin_id}/answer", tag = "signin",
    params(("signin_id" = String, Path)), request_body = AnswerBody,
    responses((status = 200, body = SigninResponse),
        (status = 422, body = ErrorBody, description = "`invalid_factor`")),
    security(("bearer" = [])))]
pub async fn answer_signin(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(signin_id): ApiPath<String>,
    ApiJson(req): ApiJson<AnswerBody>,
) -> Result<Json<SigninResponse>, ApiError> {
    let answer = Answer {
        signin_id,
        factor: req.factor,
        code: req.code,
        remember_device: req.remember_device,
    };
    let decision = app.ichido.answer_signin(&caller.ctx, &answer).await?;
    let response = SigninResponse::from(decision);
    // An answer decides accept or reject; it never challenges again.
    app.metrics
        .signin_answers
        .get_or_create(&ResultLabel {
            result: response.decision,
        })
        .inc();
    Ok(Json(response))
}

#[derive(Serialize, ToSchema)]
pub struct DeviceResponse {
    pub id: String,
    /// From the user agent it was remembered with, e.g. `Firefox on Linux`.
    pub name: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub last_ip: Option<String>,
    /// When its trust ends unless used before (idle lifetime), at the latest
    /// its absolute lifetime.
    pub trusted_until: String,
    pub revoked_at: Option<String>,
    /// `revoked`, `token_reused`, `password_changed`.
    pub revoked_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceResponse>,
}

/// The user's remembered devices, revoked ones too, newest first; never a token.
#[utoipa::path(get, path = "/v1/users/{username}/devices", tag = "signin",
    params(("username" = String, Path)),
    responses((status = 200, body = DeviceList)), security(("bearer" = [])))]
pub async fn list_devices(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
) -> Result<Json<DeviceList>, ApiError> {
    let policy = app.ichido.signin_policy();
    let devices = app.ichido.devices(&username).await?;
    Ok(Json(DeviceList {
        devices: devices
            .iter()
            .map(|d: &Device| DeviceResponse {
                id: d.id.clone(),
                name: d.name.clone(),
                created_at: rfc3339(d.created_at),
                last_seen_at: rfc3339(d.last_seen_at),
                last_ip: d.last_ip.clone(),
                trusted_until: rfc3339(d.trusted_until(policy)),
                revoked_at: d.revoked_at.map(rfc3339),
                revoked_reason: d.revoked_reason.clone(),
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RevokedDevices {
    /// How many devices were trusted until now.
    pub revoked: u64,
}

/// Revokes every remembered device of the user: each next sign-in asks for
/// a second factor.
#[utoipa::path(delete, path = "/v1/users/{username}/devices", tag = "signin",
    params(("username" = String, Path)),
    responses((status = 200, body = RevokedDevices)), security(("bearer" = [])))]
pub async fn revoke_devices(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
) -> Result<Json<RevokedDevices>, ApiError> {
    let revoked = app
        .ichido
        .revoke_devices(&caller.ctx, &username, None)
        .await?;
    Ok(Json(RevokedDevices { revoked }))
}

/// Revokes one remembered device; 404 when the user has no such device
/// still trusted.
#[utoipa::path(delete, path = "/v1/users/{username}/devices/{id}", tag = "signin",
    params(("username" = String, Path), ("id" = String, Path)),
    responses((status = 204)), security(("bearer" = [])))]
pub async fn revoke_device(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let name = username(&name)?;
    app.ichido
        .revoke_devices(&caller.ctx, &name, Some(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SigninEntry {
    pub at: String,
    /// `accept`, `challenge` (the password was right, a second factor was
    /// asked) or `reject` (a wrong password, a locked account, a wrong
    /// second factor).
    pub result: String,
    pub app: String,
    pub ip: Option<String>,
    pub device: Option<String>,
    /// The device was not a remembered one.
    pub new_device: bool,
    /// `device` (remembered), `totp`, `hotp`, `email`, `sms`, `backup`, `emergency`.
    pub factor: Option<String>,
}

impl From<&SigninRecord> for SigninEntry {
    fn from(r: &SigninRecord) -> Self {
        SigninEntry {
            at: rfc3339(r.at),
            result: r.result.clone(),
            app: r.app.clone(),
            ip: r.client_ip.clone(),
            device: r.device_name.clone(),
            new_device: r.new_device,
            factor: r.factor.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SigninPage {
    pub signins: Vec<SigninEntry>,
    /// Pass as `cursor` to get the next (older) page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The user's sign-in decisions, newest first.
#[utoipa::path(get, path = "/v1/users/{username}/signins", tag = "signin",
    params(("username" = String, Path), PageQuery),
    responses((status = 200, body = SigninPage)), security(("bearer" = [])))]
pub async fn list_signins(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<SigninPage>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = app
        .ichido
        .signins(&username, parse_cursor(&q.cursor)?, limit)
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|(id, _)| id.to_string()))
        .flatten();
    Ok(Json(SigninPage {
        signins: rows.iter().map(|(_, r)| SigninEntry::from(r)).collect(),
        next_cursor,
    }))
}
