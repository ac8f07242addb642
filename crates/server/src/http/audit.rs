use axum::Json;
use axum::extract::State;
use ichido_domain::audit::Query;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{Caller, Helpdesk};
use super::error::{ApiError, ApiQuery};
use super::users::parse_cursor;
use super::wire::{EventPage, parse_time};
use crate::app::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub username: Option<String>,
    /// Action, e.g. `validate`, `token.enroll`, `user.unlock`.
    pub event: Option<String>,
    /// RFC 3339 or Unix seconds, inclusive.
    pub since: Option<String>,
    /// RFC 3339 or Unix seconds, exclusive.
    pub until: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn time_param(
    name: &'static str,
    v: &Option<String>,
) -> Result<Option<ichido_domain::Timestamp>, ApiError> {
    v.as_deref()
        .map(|s| {
            parse_time(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_time",
                    format!("{name} must be RFC 3339 or Unix seconds"),
                )
            })
        })
        .transpose()
}

/// Read the audit log, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = EventPage)), security(("bearer" = [])))]
pub async fn list_audit(
    State(app): State<AppState>,
    _caller: Caller<Helpdesk>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let query = Query {
        username: q.username,
        action: q.event,
        since: time_param("since", &q.since)?,
        until: time_param("until", &q.until)?,
        before_seq: parse_cursor(&q.cursor)?,
        limit,
    };
    let records = app.ichido.store_audit(&query).await?;
    Ok(Json(EventPage::new(&records, limit)))
}
