use std::time::Instant;

use axum::Json;
use axum::extract::State;
use governor::clock::{Clock as _, DefaultClock};
use ichido_domain::service::Outcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Validator};
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::app::AppState;
use crate::metrics::ResultLabel;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    pub username: String,
    /// The one-time password as typed.
    pub code: String,
    /// The user's static password or PIN, when the application checks both here.
    pub password: Option<String>,
    /// From `POST /v1/challenges`: then only that challenge's code counts.
    pub challenge_id: Option<String>,
    /// For an OCRA transaction signature: the transfer again; the code must
    /// sign exactly this one.
    #[schema(value_type = Option<super::challenges::TransactionBody>)]
    pub transaction: Option<ichido_domain::challenge::Transaction>,
}

#[derive(Serialize, ToSchema)]
pub struct ValidateResponse {
    /// `accept` or `reject`. A reject never says why: unknown user, wrong
    /// code, replayed code and locked account all look the same.
    pub result: &'static str,
    /// The token that matched, on accept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// The per-address rate limit of the endpoints that take any username
/// (validation, challenges, reset requests): one bucket per client address.
pub fn per_address(app: &AppState, ctx: &ichido_domain::audit::Context) -> Result<(), ApiError> {
    let ip: Option<std::net::IpAddr> = ctx.client_ip.as_deref().and_then(|ip| ip.parse().ok());
    if let (Some(limiter), Some(ip)) = (&app.limiter, ip)
        && let Err(not_until) = limiter.check_key(&ip)
    {
        app.metrics.rate_limited.inc();
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        return Err(ApiError::too_many(wait.as_secs_f64().ceil() as u64));
    }
    Ok(())
}

/// Check a one-time password for a user: accepted at most once, ever.
#[utoipa::path(post, path = "/v1/validate", tag = "validation", request_body = ValidateRequest,
    responses((status = 200, body = ValidateResponse), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn validate(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiJson(req): ApiJson<ValidateRequest>,
) -> Result<Json<ValidateResponse>, ApiError> {
    let started = Instant::now();
    per_address(&app, &caller.ctx)?;
    let outcome = match &req.challenge_id {
        Some(id) => {
            app.ichido
                .validate_challenge(
                    &caller.ctx,
                    &req.username,
                    id,
                    &req.code,
                    req.password.as_deref(),
                    req.transaction.as_ref(),
                )
                .await?
        }
        None => {
            app.ichido
                .validate(
                    &caller.ctx,
                    &req.username,
                    &req.code,
                    req.password.as_deref(),
                )
                .await?
        }
    };
    let response = match outcome {
        Outcome::Accept { serial } => ValidateResponse {
            result: "accept",
            serial: Some(serial.to_string()),
        },
        Outcome::Reject => ValidateResponse {
            result: "reject",
            serial: None,
        },
    };
    app.metrics
        .validations
        .get_or_create(&ResultLabel {
            result: response.result,
        })
        .inc();
    app.metrics
        .validation_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(Json(response))
}
