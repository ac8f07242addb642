//! Self-service reset over HTTP: ask for a link; follow it with the password
//! and a second factor (or a helpdesk approval, or after a waiting period);
//! enroll a pending token and activate it with a code; or cancel.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ichido_crypto::SecretString;
use ichido_domain::reset::Stage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Helpdesk, Validator};
use super::challenges::{ChannelResponse, challenge_error};
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::tokens::CreateTokenResponse;
use super::wire::{TokenResponse, rfc3339};
use crate::app::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestRequest {
    pub username: String,
}

/// The same for every username: it never says whether an account exists or
/// whether a mail left.
#[derive(Serialize, ToSchema)]
pub struct ResetRequestResponse {
    /// For a helpdesk approval, where policy requires one.
    pub request_id: String,
    /// Until when a link sent now works.
    pub expires_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetVerifyRequest {
    /// The account's static password.
    #[schema(value_type = String)]
    pub password: SecretString,
    /// A second factor, if the holder has one: a code of a token they still
    /// hold, a backup or emergency code, or a code sent by SMS. Without it
    /// (and without an approval) the waiting period starts.
    pub code: Option<String>,
}

/// Where the reset stands.
#[derive(Serialize, ToSchema)]
pub struct ResetStatusResponse {
    /// `needs_second_factor`, `needs_approval`, `waiting`, `ready`,
    /// `enrolled` or `closed`.
    pub state: String,
    /// While `waiting`: when a new token can be enrolled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_until: Option<String>,
}

impl ResetStatusResponse {
    pub fn new(stage: Stage) -> Self {
        ResetStatusResponse {
            state: stage.as_str().to_owned(),
            waiting_until: match stage {
                Stage::Waiting(until) => Some(rfc3339(until)),
                _ => None,
            },
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetEnrollRequest {
    /// The account's static password.
    #[schema(value_type = String)]
    pub password: SecretString,
    /// The new token's type; only `totp`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetActivateRequest {
    /// A code of the token the reset enrolled.
    pub code: String,
}

/// Mails a single-use reset link to the user's registered address, if there
/// is a user with one. Always 202 with the same kind of body.
#[utoipa::path(post, path = "/v1/reset-requests", tag = "reset", request_body = ResetRequestRequest,
    responses((status = 202, body = ResetRequestResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_reset_request(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiJson(req): ApiJson<ResetRequestRequest>,
) -> Result<(StatusCode, Json<ResetRequestResponse>), ApiError> {
    super::validate::per_address(&app, &caller.ctx)?;
    let r = app.ichido.request_reset(&caller.ctx, &req.username).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetRequestResponse {
            request_id: r.request_id,
            expires_at: rfc3339(r.expires_at),
        }),
    ))
}

/// Lets a reset go on: where `reset.require_approval` is set, no reset
/// proceeds without it; otherwise it stands in for the second factor.
#[utoipa::path(post, path = "/v1/reset-requests/{id}/approve", tag = "reset", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_reset_request(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    app.ichido.approve_reset(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Step two of a reset: the password and, if the holder has one, a second
/// factor. With it (or an approval) the reset is `ready`; without, the
/// waiting period starts (`waiting`, default 24 h), announced on every
/// registered channel with a cancel link. A wrong password or code counts
/// toward lockout and leaves the link as it was.
#[utoipa::path(post, path = "/v1/reset/{token}/verify", tag = "reset", params(("token" = String, Path)),
    request_body = ResetVerifyRequest,
    responses((status = 200, body = ResetStatusResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_reset_link`, `invalid_password`, `invalid_code` or `same_channel`")),
    security(("bearer" = [])))]
pub async fn verify_reset(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<ResetVerifyRequest>,
) -> Result<Json<ResetStatusResponse>, ApiError> {
    let status = app
        .ichido
        .verify_reset(
            &caller.ctx,
            &token,
            req.password.expose(),
            req.code.as_deref(),
        )
        .await?;
    Ok(Json(ResetStatusResponse::new(status.stage)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetSendCodeRequest {
    /// The account's static password.
    #[schema(value_type = String)]
    pub password: SecretString,
}

/// Where the codes went, masked.
#[derive(Serialize, ToSchema)]
pub struct ResetSendCodeResponse {
    pub channels: Vec<ChannelResponse>,
}

/// Sends a code to the user's phone (each active SMS token), to use as the
/// second factor of `verify`. Needs the password; resends are throttled.
#[utoipa::path(post, path = "/v1/reset/{token}/send-code", tag = "reset", params(("token" = String, Path)),
    request_body = ResetSendCodeRequest,
    responses((status = 202, body = ResetSendCodeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_reset_link`, `invalid_password` or `no_second_channel`")),
    security(("bearer" = [])))]
pub async fn send_reset_code(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<ResetSendCodeRequest>,
) -> Result<(StatusCode, Json<ResetSendCodeResponse>), ApiError> {
    let now = app.ichido.clock().now();
    let sent = app
        .ichido
        .send_reset_code(&caller.ctx, &token, req.password.expose())
        .await
        .map_err(|e| challenge_error(e, now))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetSendCodeResponse {
            channels: sent
                .into_iter()
                .map(|c| ChannelResponse {
                    kind: c.kind.as_str().to_owned(),
                    serial: c.serial.to_string(),
                    to: c.to,
                })
                .collect(),
        }),
    ))
}

/// Step three: once the reset is `ready`, uses the link once. Every token of
/// the user is revoked, the backup and emergency codes and open challenges
/// stop working, and a new TOTP token is enrolled: `pending`, its seed shown
/// this once, working only after `POST /v1/reset/{token}/activate`.
#[utoipa::path(post, path = "/v1/reset/{token}/enroll", tag = "reset", params(("token" = String, Path)),
    request_body = ResetEnrollRequest,
    responses((status = 201, body = CreateTokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`approval_required`, `second_factor_required` or `waiting_period`"),
        (status = 422, body = ErrorBody, description = "`invalid_reset_link` or `invalid_password`")),
    security(("bearer" = [])))]
pub async fn enroll_after_reset(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<ResetEnrollRequest>,
) -> Result<(StatusCode, Json<CreateTokenResponse>), ApiError> {
    let done = app
        .ichido
        .complete_reset(
            &caller.ctx,
            &token,
            req.password.expose(),
            req.kind.as_deref(),
        )
        .await?;
    let e = done.enrolled;
    Ok((
        StatusCode::CREATED,
        Json(CreateTokenResponse {
            token: TokenResponse::new(&e.token, Some(done.username)),
            secret: Some(e.secret),
            otpauth_uri: Some(e.uri),
        }),
    ))
}

/// Step four: a code from the token the reset enrolled makes it `active`.
#[utoipa::path(post, path = "/v1/reset/{token}/activate", tag = "reset", params(("token" = String, Path)),
    request_body = ResetActivateRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_reset_link` or a wrong code")),
    security(("bearer" = [])))]
pub async fn activate_after_reset(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<ResetActivateRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app
        .ichido
        .activate_after_reset(&caller.ctx, &token, &req.code)
        .await?;
    let owner = app.ichido.token_owner(&t).await?;
    Ok(Json(TokenResponse::new(&t, owner)))
}

/// Cancels every reset of the account not yet enrolled (the holder's link;
/// notices carry a signed cancel link of their own, `GET /reset/cancel/…`).
#[utoipa::path(post, path = "/v1/reset/{token}/cancel", tag = "reset", params(("token" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_reset_link`")),
    security(("bearer" = [])))]
pub async fn cancel_reset(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(token): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    app.ichido.cancel_reset_by_link(&caller.ctx, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}
