//! API keys over HTTP: list and revoke (admin only). A key's secret is shown
//! once, when it is created (`ichido admin-key create`), and never listed.

use axum::Json;
use axum::extract::State;
use ichido_domain::user::ApiKey;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Admin, Caller};
use super::error::{ApiError, ApiPath, ErrorBody};
use super::wire::rfc3339;
use crate::app::AppState;

#[derive(Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: i64,
    pub name: String,
    /// `admin`, `helpdesk` or `validator`.
    pub role: String,
    pub created_at: String,
    /// Set once revoked; a revoked key is refused by every node.
    pub revoked_at: Option<String>,
}

impl From<&ApiKey> for ApiKeyResponse {
    fn from(k: &ApiKey) -> Self {
        ApiKeyResponse {
            id: k.id,
            name: k.name.clone(),
            role: k.role.as_str().to_owned(),
            created_at: rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyResponse>,
}

/// Every API key, revoked ones too, oldest first; never a secret.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    _caller: Caller<Admin>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = app.ichido.list_api_keys().await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.iter().map(ApiKeyResponse::from).collect(),
    }))
}

/// Revokes a key by id: every node refuses it from the next request on.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = i64, Path)),
    responses((status = 200, body = ApiKeyResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`already_revoked`")),
    security(("bearer" = [])))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApiKeyResponse>, ApiError> {
    let key = app
        .ichido
        .revoke_api_key(&caller.ctx, &id.to_string())
        .await?;
    Ok(Json(ApiKeyResponse::from(&key)))
}
