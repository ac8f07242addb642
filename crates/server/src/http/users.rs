use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ichido_crypto::SecretString;
use ichido_domain::service::CreateUserRequest as NewUserInput;
use ichido_domain::user::UserPatch;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Admin, Caller, Helpdesk};
use super::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use super::wire::{EventPage, UserPath, UserResponse, username};
use crate::app::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A static password or PIN checked before the code when a validation carries one.
    #[schema(value_type = Option<String>)]
    pub password: Option<SecretString>,
}

/// A field absent from the body stays as it is; `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUserRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Option<SecretString>>,
}

pub(crate) fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Part of the username.
    pub query: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserResponse>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub(crate) fn parse_cursor(cursor: &Option<String>) -> Result<Option<i64>, ApiError> {
    cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                ApiError::bad_request("invalid_cursor", "cursor is not one this API returned")
            })
        })
        .transpose()
}

/// Create a user.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = UserResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserResponse>), ApiError> {
    let input = NewUserInput {
        username: username(&req.username)?,
        display_name: req.display_name,
        email: req.email,
        phone: req.phone,
        password: req.password,
    };
    let user = app.ichido.create_user(&caller.ctx, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserResponse::new(&user, app.ichido.clock().now())),
    ))
}

/// List users, ordered by username.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(ListUsersQuery),
    responses((status = 200, body = UserPage)), security(("bearer" = [])))]
pub async fn list_users(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    ApiQuery(q): ApiQuery<ListUsersQuery>,
) -> Result<Json<UserPage>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let users = app
        .ichido
        .list_users(q.query.as_deref(), q.cursor.as_deref(), limit)
        .await?;
    let now = app.ichido.clock().now();
    let next_cursor = (users.len() as i64 == limit)
        .then(|| users.last().map(|u| u.username.to_string()))
        .flatten();
    Ok(Json(UserPage {
        users: users.iter().map(|u| UserResponse::new(u, now)).collect(),
        next_cursor,
    }))
}

/// Read a user.
#[utoipa::path(get, path = "/v1/users/{username}", tag = "users", params(("username" = String, Path)),
    responses((status = 200, body = UserResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_user(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
) -> Result<Json<UserResponse>, ApiError> {
    let user = app.ichido.user(&username).await?;
    Ok(Json(UserResponse::new(&user, app.ichido.clock().now())))
}

/// Change a user's details or password.
#[utoipa::path(patch, path = "/v1/users/{username}", tag = "users", params(("username" = String, Path)),
    request_body = PatchUserRequest,
    responses((status = 200, body = UserResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch_user(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    UserPath(username): UserPath,
    ApiJson(req): ApiJson<PatchUserRequest>,
) -> Result<Json<UserResponse>, ApiError> {
    let patch = UserPatch {
        display_name: req.display_name,
        email: req.email,
        phone: req.phone,
        password_hash: None,
    };
    let user = app
        .ichido
        .update_user(
            &caller.ctx,
            &username,
            patch,
            req.password.map(|p| p.map(|p| p.expose().to_owned())),
        )
        .await?;
    Ok(Json(UserResponse::new(&user, app.ichido.clock().now())))
}

/// Delete a user; their tokens are revoked and their seeds erased.
#[utoipa::path(delete, path = "/v1/users/{username}", tag = "users", params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_user(
    State(app): State<AppState>,
    caller: Caller<Admin>,
    UserPath(username): UserPath,
) -> Result<StatusCode, ApiError> {
    app.ichido.delete_user(&caller.ctx, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a lockout at once and reset the failure counter.
#[utoipa::path(post, path = "/v1/users/{username}/unlock", tag = "users", params(("username" = String, Path)),
    responses((status = 200, body = UserResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn unlock_user(
    State(app): State<AppState>,
    caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
) -> Result<Json<UserResponse>, ApiError> {
    app.ichido.unlock_user(&caller.ctx, &username).await?;
    let user = app.ichido.user(&username).await?;
    Ok(Json(UserResponse::new(&user, app.ichido.clock().now())))
}

/// Sign-in attempts of a user, newest first: time, address, user agent, result.
#[utoipa::path(get, path = "/v1/users/{username}/history", tag = "users",
    params(("username" = String, Path), PageQuery),
    responses((status = 200, body = EventPage), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn user_history(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    UserPath(username): UserPath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let records = app
        .ichido
        .history(&username, parse_cursor(&q.cursor)?, limit)
        .await?;
    Ok(Json(EventPage::new(&records, limit)))
}
