use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ichido_crypto::SecretString;
use ichido_domain::service::EnrollRequest;
use ichido_domain::token::{Token, Validity};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admin, Caller, Helpdesk};
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::wire::{TokenResponse, UserPath, WireTime};
use crate::app::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// `totp` or `hotp`.
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub issuer: Option<String>,
    /// `SHA1` (default), `SHA256` or `SHA512`.
    pub algorithm: Option<String>,
    /// 6 (default), 7 or 8.
    pub digits: Option<u8>,
    /// TOTP step in seconds (default 30).
    pub period: Option<u64>,
    /// `ocra` only: the suite, e.g. `OCRA-1:HOTP-SHA1-6:QN08`.
    pub ocra_suite: Option<String>,
    /// `email`/`sms` only: where codes go (default: the user's email or phone).
    pub address: Option<String>,
    /// Import a known seed (hardware tokens), hex; the token is active at once.
    #[schema(value_type = Option<String>)]
    pub secret_hex: Option<SecretString>,
    /// The same in base32.
    #[schema(value_type = Option<String>)]
    pub secret: Option<SecretString>,
    /// No code matches before this: RFC 3339 or Unix seconds.
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<WireTime>,
    /// No code matches from this on: RFC 3339 or Unix seconds.
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<WireTime>,
}

/// The new token, its seed and Key URI: shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreateTokenResponse {
    #[serde(flatten)]
    pub token: TokenResponse,
    /// Base32, for typing into an authenticator app; only for a generated seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    #[schema(value_type = String)]
    pub code: SecretString,
}

/// A field absent from the body stays as it is; `null` clears it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTokenRequest {
    #[serde(default, deserialize_with = "super::users::present")]
    #[schema(value_type = Option<String>)]
    pub label: Option<Option<String>>,
    /// RFC 3339 or Unix seconds.
    #[serde(default, deserialize_with = "super::users::present")]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<Option<WireTime>>,
    /// RFC 3339 or Unix seconds.
    #[serde(default, deserialize_with = "super::users::present")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<Option<WireTime>>,
}

fn time(v: &Option<WireTime>, field: &str) -> Result<Option<ichido_domain::Timestamp>, ApiError> {
    v.as_ref().map(|t| t.timestamp(field)).transpose()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    #[schema(value_type = String)]
    pub code1: SecretString,
    #[schema(value_type = String)]
    pub code2: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenResponse>,
}

async fn respond(app: &AppState, t: &Token) -> Result<Json<TokenResponse>, ApiError> {
    let owner = app.ichido.token_owner(t).await?;
    Ok(Json(TokenResponse::new(t, owner)))
}

/// Enroll a token (step one): it stays `pending` until a code from it is proven.
#[utoipa::path(post, path = "/v1/users/{username}/tokens", tag = "tokens", params(("username" = String, Path)),
    request_body = CreateTokenRequest,
    responses((status = 201, body = CreateTokenResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    UserPath(username): UserPath,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreateTokenResponse>), ApiError> {
    let validity = Validity {
        from: time(&req.valid_from, "valid_from")?,
        until: time(&req.valid_until, "valid_until")?,
    };
    let req = EnrollRequest {
        kind: req.kind,
        label: req.label,
        issuer: req.issuer,
        algorithm: req.algorithm,
        digits: req.digits,
        period: req.period,
        ocra_suite: req.ocra_suite,
        address: req.address,
        secret_hex: req.secret_hex,
        secret: req.secret,
        validity,
    };
    let e = if matches!(req.kind.as_str(), "email" | "sms") {
        let now = app.ichido.clock().now();
        app.ichido
            .enroll_out_of_band(&caller.ctx, &username, req)
            .await
            .map_err(|e| super::challenges::challenge_error(e, now))?
    } else {
        app.ichido.enroll(&caller.ctx, &username, req).await?
    };
    let token = TokenResponse::new(&e.token, Some(username));
    Ok((
        StatusCode::CREATED,
        Json(CreateTokenResponse {
            token,
            secret: (!e.secret.is_empty()).then_some(e.secret),
            otpauth_uri: (!e.uri.is_empty()).then_some(e.uri),
        }),
    ))
}

/// Tokens of a user, in every state.
#[utoipa::path(get, path = "/v1/users/{username}/tokens", tag = "tokens", params(("username" = String, Path)),
    responses((status = 200, body = TokenList), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tokens(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = app.ichido.tokens_of(&username).await?;
    Ok(Json(TokenList {
        tokens: tokens
            .iter()
            .map(|t| TokenResponse::new(t, Some(username.clone())))
            .collect(),
    }))
}

/// Read a token (never its seed).
#[utoipa::path(get, path = "/v1/tokens/{serial}", tag = "tokens", params(("serial" = String, Path)),
    responses((status = 200, body = TokenResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_token(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    ApiPath(serial): ApiPath<String>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app.ichido.token(&serial).await?;
    respond(&app, &t).await
}

/// Change a token's label or when it may be used.
#[utoipa::path(patch, path = "/v1/tokens/{serial}", tag = "tokens", params(("serial" = String, Path)),
    request_body = PatchTokenRequest,
    responses((status = 200, body = TokenResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn patch_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<PatchTokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let mut t = app.ichido.token(&serial).await?;
    // Everything is checked before anything is written.
    let validity = if req.valid_from.is_some() || req.valid_until.is_some() {
        let v = Validity {
            from: match &req.valid_from {
                Some(v) => time(v, "valid_from")?,
                None => t.valid_from,
            },
            until: match &req.valid_until {
                Some(v) => time(v, "valid_until")?,
                None => t.valid_until,
            },
        };
        v.check()?;
        Some(v)
    } else {
        None
    };
    if let Some(label) = req.label {
        t = app.ichido.set_label(&caller.ctx, &serial, label).await?;
    }
    if let Some(v) = validity {
        t = app.ichido.set_validity(&caller.ctx, &serial, v).await?;
    }
    respond(&app, &t).await
}

/// Revoke a token: permanent, its seed is erased.
#[utoipa::path(delete, path = "/v1/tokens/{serial}", tag = "tokens", params(("serial" = String, Path)),
    responses((status = 200, body = TokenResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app.ichido.revoke_token(&caller.ctx, &serial).await?;
    respond(&app, &t).await
}

/// Enroll a token (step two): prove one code and the token becomes `active`.
/// Admin keys only (the application that enrolled it): a helpdesk never
/// holds a seed, so it has no code to prove.
#[utoipa::path(post, path = "/v1/tokens/{serial}/activate", tag = "tokens", params(("serial" = String, Path)),
    request_body = ActivateRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn activate_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<ActivateRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app
        .ichido
        .activate(&caller.ctx, &serial, req.code.expose())
        .await?;
    respond(&app, &t).await
}

/// Disable an active token; `enable` brings it back.
#[utoipa::path(post, path = "/v1/tokens/{serial}/disable", tag = "tokens", params(("serial" = String, Path)),
    responses((status = 200, body = TokenResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn disable_token(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    ApiPath(serial): ApiPath<String>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app.ichido.disable_token(&caller.ctx, &serial).await?;
    respond(&app, &t).await
}

/// Enable a disabled token.
#[utoipa::path(post, path = "/v1/tokens/{serial}/enable", tag = "tokens", params(("serial" = String, Path)),
    responses((status = 200, body = TokenResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn enable_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app.ichido.enable_token(&caller.ctx, &serial).await?;
    respond(&app, &t).await
}

/// Resynchronise a token from two consecutive codes far outside the normal window.
#[utoipa::path(post, path = "/v1/tokens/{serial}/resync", tag = "tokens", params(("serial" = String, Path)),
    request_body = ResyncRequest,
    responses((status = 200, body = TokenResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn resync_token(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<ResyncRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let t = app
        .ichido
        .resync(&caller.ctx, &serial, req.code1.expose(), req.code2.expose())
        .await?;
    respond(&app, &t).await
}

/// The QR code of a pending token's Key URI, as SVG.
#[utoipa::path(get, path = "/v1/tokens/{serial}/qr.svg", tag = "tokens", params(("serial" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn token_qr_svg(
    State(app): State<AppState>,
    _caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let uri = app.ichido.pending_uri(&serial).await?;
    let svg = ichido_otp::qr::svg(&uri).map_err(qr_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    ))
}

/// The QR code of a pending token's Key URI, as PNG.
#[utoipa::path(get, path = "/v1/tokens/{serial}/qr.png", tag = "tokens", params(("serial" = String, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn token_qr_png(
    State(app): State<AppState>,
    _caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let uri = app.ichido.pending_uri(&serial).await?;
    let png = ichido_otp::qr::png(&uri).map_err(qr_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    ))
}

fn qr_error(e: ichido_otp::qr::QrError) -> ApiError {
    tracing::error!(error = %e, "QR rendering failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}
