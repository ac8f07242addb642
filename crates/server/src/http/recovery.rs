//! Recovery over HTTP: backup and emergency codes, lost and replaced
//! tokens, hardware token import and assignment, and the token reports.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ichido_crypto::{SecretBytes, SecretString};
use ichido_domain::challenge::{mask_email, mask_phone};
use ichido_domain::recovery::CodeKind;
use ichido_domain::service::{Enrolled, LostRequest, Replacement};
use ichido_domain::token::TokenKind;
use ichido_domain::user::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, Caller, Helpdesk};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use super::tokens::CreateTokenResponse;
use super::wire::{TokenResponse, UserPath, UserResponse, rfc3339, username};
use crate::app::AppState;
use crate::import::{self, Format};

/// The new codes, shown this once; the previous set no longer works.
#[derive(Serialize, ToSchema)]
pub struct BackupCodesResponse {
    pub codes: Vec<String>,
    pub remaining: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RemainingResponse {
    pub remaining: i64,
}

#[derive(Serialize, ToSchema)]
pub struct EmergencyCodeResponse {
    /// Shown this once; works once.
    pub code: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LostTokenRequest {
    /// A temporary replacement; none when absent. `email` or `sms`: codes go
    /// to the user's registered address or phone, never to the caller.
    /// `totp`: a seed for the caller, so an admin key only (403
    /// `seed_not_for_helpdesk` for a helpdesk key).
    pub replacement: Option<String>,
    /// How long the replacement works, in days (default 7).
    pub valid_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TemporaryToken {
    #[serde(flatten)]
    pub token: CreateTokenResponse,
    pub valid_until: Option<String>,
    /// For an email or SMS replacement: where its codes go, masked
    /// (`a***@example.com`, `***-1234`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LostTokenResponse {
    pub token: TokenResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary: Option<TemporaryToken>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// `csv` or `pskc`.
    pub format: String,
    /// The file's content: it holds seeds.
    #[schema(value_type = String)]
    pub content: SecretString,
    /// PSKC encrypted with a pre-shared key (RFC 6030 §6.1): the key, hex.
    #[schema(value_type = Option<String>)]
    pub psk_hex: Option<SecretString>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportResponse {
    pub imported: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub username: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaleQuery {
    /// Unused for at least this many days (default 90).
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct StaleTokens {
    pub tokens: Vec<TokenResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct UsersWithoutToken {
    pub users: Vec<UserResponse>,
}

fn shown(e: Enrolled, username: Option<String>) -> CreateTokenResponse {
    CreateTokenResponse {
        token: TokenResponse::new(&e.token, username),
        secret: (!e.secret.is_empty()).then_some(e.secret),
        otpauth_uri: (!e.uri.is_empty()).then_some(e.uri),
    }
}

/// A new set of ten backup codes; the old set stops working.
#[utoipa::path(post, path = "/v1/users/{username}/backup-codes", tag = "recovery", params(("username" = String, Path)),
    responses((status = 201, body = BackupCodesResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_backup_codes(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    UserPath(username): UserPath,
) -> Result<(StatusCode, Json<BackupCodesResponse>), ApiError> {
    let codes = app
        .ichido
        .new_recovery_codes(&caller.ctx, &username, CodeKind::Backup)
        .await?;
    let remaining = codes.len() as i64;
    Ok((
        StatusCode::CREATED,
        Json(BackupCodesResponse { codes, remaining }),
    ))
}

/// How many backup codes are left.
#[utoipa::path(get, path = "/v1/users/{username}/backup-codes", tag = "recovery", params(("username" = String, Path)),
    responses((status = 200, body = RemainingResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn count_backup_codes(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
) -> Result<Json<RemainingResponse>, ApiError> {
    let remaining = app
        .ichido
        .remaining_codes(&username, CodeKind::Backup)
        .await?;
    Ok(Json(RemainingResponse { remaining }))
}

/// A new emergency unlock code; the old one stops working.
#[utoipa::path(post, path = "/v1/users/{username}/emergency-code", tag = "recovery", params(("username" = String, Path)),
    responses((status = 201, body = EmergencyCodeResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_emergency_code(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    UserPath(username): UserPath,
) -> Result<(StatusCode, Json<EmergencyCodeResponse>), ApiError> {
    let mut codes = app
        .ichido
        .new_recovery_codes(&caller.ctx, &username, CodeKind::Emergency)
        .await?;
    let code = codes.pop().unwrap_or_default();
    Ok((StatusCode::CREATED, Json(EmergencyCodeResponse { code })))
}

/// Mark a token lost (it stops working at once) and optionally issue a
/// temporary replacement. An email or SMS replacement sends its codes to the
/// user's registered channel; the answer says where (masked), never a code.
#[utoipa::path(post, path = "/v1/tokens/{serial}/lost", tag = "recovery", params(("serial" = String, Path)),
    request_body = LostTokenRequest,
    responses((status = 200, body = LostTokenResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`seed_not_for_helpdesk`: a TOTP replacement asked by a helpdesk key"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn lost_token(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<LostTokenRequest>,
) -> Result<Json<LostTokenResponse>, ApiError> {
    let replacement = match req.replacement.as_deref() {
        None => Replacement::None,
        Some("totp") => Replacement::Totp,
        Some("email") => Replacement::Email,
        Some("sms") => Replacement::Sms,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_replacement",
                "replacement must be \"totp\", \"email\" or \"sms\"",
            ));
        }
    };
    // A helpdesk holding a working seed could sign in as the user.
    if replacement == Replacement::Totp && caller.role < Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "seed_not_for_helpdesk",
            "a helpdesk key cannot receive a seed: use an \"email\" or \"sms\" replacement",
        ));
    }
    let r = app
        .ichido
        .mark_lost(
            &caller.ctx,
            &serial,
            LostRequest {
                replacement,
                valid_seconds: req.valid_days.map(|d| d.saturating_mul(86_400)),
            },
        )
        .await?;
    let owner = app.ichido.token_owner(&r.lost).await?;
    let temporary = r.temporary.map(|e| {
        let valid_until = e.token.valid_until.map(rfc3339);
        let sent_to = e
            .token
            .address
            .as_deref()
            .map(|a| match e.token.params.kind {
                TokenKind::Email => mask_email(a),
                _ => mask_phone(a),
            });
        TemporaryToken {
            token: shown(e, owner.clone()),
            valid_until,
            sent_to,
        }
    });
    Ok(Json(LostTokenResponse {
        token: TokenResponse::new(&r.lost, owner),
        temporary,
    }))
}

/// A new phone: a pending token of the same kind; activating it revokes
/// this one. Admin keys only: the answer holds the new seed.
#[utoipa::path(post, path = "/v1/tokens/{serial}/replace", tag = "recovery", params(("serial" = String, Path)),
    responses((status = 201, body = CreateTokenResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
) -> Result<(StatusCode, Json<CreateTokenResponse>), ApiError> {
    let e = app.ichido.replace_token(&caller.ctx, &serial).await?;
    let owner = app.ichido.token_owner(&e.token).await?;
    Ok((StatusCode::CREATED, Json(shown(e, owner))))
}

/// Import hardware tokens from a CSV or PSKC (RFC 6030) seed file: all or
/// nothing. The tokens are active and unassigned.
#[utoipa::path(post, path = "/v1/tokens/import", tag = "recovery", request_body = ImportRequest,
    responses((status = 201, body = ImportResponse), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_tokens(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiJson(req): ApiJson<ImportRequest>,
) -> Result<(StatusCode, Json<ImportResponse>), ApiError> {
    let invalid = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_import", m);
    let format = Format::parse(&req.format)
        .ok_or_else(|| invalid("format must be \"csv\" or \"pskc\"".into()))?;
    let psk = req
        .psk_hex
        .as_ref()
        .map(|k| hex::decode(k.expose()).map(SecretBytes::new))
        .transpose()
        .map_err(|_| invalid("psk_hex is not hex".into()))?;
    let tokens = import::parse(
        format,
        req.content.expose(),
        psk.as_ref().map(SecretBytes::as_bytes),
    )
    .map_err(|e| invalid(e.0))?;
    let imported = app.ichido.import_tokens(&caller.ctx, tokens).await?;
    Ok((StatusCode::CREATED, Json(ImportResponse { imported })))
}

/// Give an imported token to a user.
#[utoipa::path(post, path = "/v1/tokens/{serial}/assign", tag = "recovery", params(("serial" = String, Path)),
    request_body = AssignRequest,
    responses((status = 200, body = TokenResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign_token(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(serial): ApiPath<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let username = username(&req.username)?;
    let t = app
        .ichido
        .assign_token(&caller.ctx, &serial, &username)
        .await?;
    Ok(Json(TokenResponse::new(&t, Some(username))))
}

/// Active tokens unused for `days` days.
#[utoipa::path(get, path = "/v1/reports/stale-tokens", tag = "recovery", params(StaleQuery),
    responses((status = 200, body = StaleTokens), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn stale_tokens(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    ApiQuery(q): ApiQuery<StaleQuery>,
) -> Result<Json<StaleTokens>, ApiError> {
    let found = app.ichido.stale_tokens(q.days.unwrap_or(90)).await?;
    let mut tokens = Vec::with_capacity(found.len());
    for t in &found {
        tokens.push(TokenResponse::new(t, app.ichido.token_owner(t).await?));
    }
    Ok(Json(StaleTokens { tokens }))
}

/// Users without any active token.
#[utoipa::path(get, path = "/v1/reports/users-without-token", tag = "recovery",
    responses((status = 200, body = UsersWithoutToken)), security(("bearer" = [])))]
pub async fn users_without_token(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
) -> Result<Json<UsersWithoutToken>, ApiError> {
    let now = app.ichido.clock().now();
    let users = app.ichido.users_without_token().await?;
    Ok(Json(UsersWithoutToken {
        users: users.iter().map(|u| UserResponse::new(u, now)).collect(),
    }))
}
