//! Self-service reset over HTTP: ask for a link, (helpdesk) approve it,
//! follow it with the password to enroll a new token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Helpdesk, Validator};
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
pub struct ResetEnrollRequest {
    /// The account's static password.
    pub password: String,
    /// The new token's type; only `totp`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The new pending token (prove a code to `POST /v1/tokens/{serial}/activate`)
/// and the new backup codes, all shown this once.
#[derive(Serialize, ToSchema)]
pub struct ResetEnrollResponse {
    #[serde(flatten)]
    pub token: CreateTokenResponse,
    pub backup_codes: Vec<String>,
}

/// Mails a single-use reset link to the user's registered address, if there
/// is a user with one. Always 202 with the same kind of body.
#[utoipa::path(post, path = "/v1/reset-requests", tag = "reset", request_body = ResetRequestRequest,
    responses((status = 202, body = ResetRequestResponse), (status = 422, body = ErrorBody)),
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

/// Lets a reset request's link work, where `reset.require_approval` is set.
#[utoipa::path(post, path = "/v1/reset-requests/{id}/approve", tag = "reset", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_reset_request(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    app.ichido.approve_reset(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Follows a reset link: with the right password, uses it once, revokes every
/// token of the user, and answers a new pending TOTP token and new backup
/// codes. A wrong password counts toward lockout and leaves the link unused.
#[utoipa::path(post, path = "/v1/reset/{token}/enroll", tag = "reset", params(("token" = String, Path)),
    request_body = ResetEnrollRequest,
    responses((status = 201, body = ResetEnrollResponse), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_reset_link` or `invalid_password`")),
    security(("bearer" = [])))]
pub async fn enroll_after_reset(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<ResetEnrollRequest>,
) -> Result<(StatusCode, Json<ResetEnrollResponse>), ApiError> {
    let done = app
        .ichido
        .complete_reset(&caller.ctx, &token, &req.password, req.kind.as_deref())
        .await?;
    let e = done.enrolled;
    Ok((
        StatusCode::CREATED,
        Json(ResetEnrollResponse {
            token: CreateTokenResponse {
                token: TokenResponse::new(&e.token, Some(done.username)),
                secret: Some(e.secret),
                otpauth_uri: Some(e.uri),
            },
            backup_codes: done.backup_codes,
        }),
    ))
}
