//! `POST /v1/challenges`: send an email or SMS code, or ask an OCRA question.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ichido_crypto::SecretString;
use ichido_domain::challenge::Transaction;
use ichido_domain::service::{ChallengeError, ChallengeRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Validator};
use super::error::{ApiError, ApiJson, ErrorBody};
use super::wire::rfc3339;
use crate::app::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChallengeRequest {
    pub username: String,
    /// The user's static password: a code is sent only with it, unless the
    /// operator set `[challenge] require_password = false`.
    #[schema(value_type = Option<String>)]
    pub password: Option<SecretString>,
    /// Only this token (also a pending one: its activation code is resent).
    pub serial: Option<String>,
    /// A transfer to sign: only OCRA tokens are asked, with a question
    /// derived from it.
    #[schema(value_type = Option<TransactionBody>)]
    pub transaction: Option<Transaction>,
    /// The OCRA question to ask, in the suite's format; random when absent.
    pub question: Option<String>,
}

/// A transfer: `{"amount": "1250.00", "currency": "EUR", "payee": "DE89…"}`.
#[derive(Deserialize, ToSchema)]
pub struct TransactionBody {
    pub amount: String,
    pub currency: String,
    pub payee: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelResponse {
    /// `email` or `sms`.
    #[serde(rename = "type")]
    pub kind: String,
    pub serial: String,
    /// The address, masked: `a***@example.com`, `***-1234`.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct OcraQuestionResponse {
    pub serial: String,
    pub suite: String,
    /// What the OCRA token must answer (RFC 6287 `Q`).
    pub question: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChallengeResponse {
    /// Pass back with the code to `POST /v1/validate`.
    pub challenge_id: String,
    pub expires_at: String,
    /// Where codes are being sent. Empty for a wrong password, an unknown or
    /// locked user alike: the answer never says whether an account exists.
    pub channels: Vec<ChannelResponse>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ocra: Vec<OcraQuestionResponse>,
}

/// Send a one-time code by email/SMS, or ask an OCRA question (optionally
/// about a transaction to sign). Good once, for this challenge only. Needs
/// the user's password unless `[challenge] require_password = false`; a
/// wrong password, an unknown or locked user all get the same empty answer.
/// The codes leave after the answer.
#[utoipa::path(post, path = "/v1/challenges", tag = "validation", request_body = CreateChallengeRequest,
    responses((status = 200, body = ChallengeResponse),
        (status = 422, body = ErrorBody, description = "`password_required` (unless the operator turned that off), or a malformed transaction or question"),
        (status = 429, body = ErrorBody, description = "asked again too soon (`resend_throttled`, only after the right password), or too many requests from this address; see Retry-After")),
    security(("bearer" = [])))]
pub async fn create_challenge(
    State(app): State<AppState>,
    caller: Caller<Validator>,
    ApiJson(req): ApiJson<CreateChallengeRequest>,
) -> Result<Json<ChallengeResponse>, ApiError> {
    super::validate::per_address(&app, &caller.ctx)?;
    let now = app.ichido.clock().now();
    let issued = app
        .ichido
        .create_challenge(
            &caller.ctx,
            ChallengeRequest {
                username: super::wire::username(&req.username)?,
                password: req.password.clone(),
                serial: req.serial,
                transaction: req.transaction,
                question: req.question,
            },
        )
        .await
        .map_err(|e| challenge_error(e, now))?;
    Ok(Json(ChallengeResponse {
        challenge_id: issued.challenge_id,
        expires_at: rfc3339(issued.expires_at),
        channels: issued
            .channels
            .into_iter()
            .map(|c| ChannelResponse {
                kind: c.kind.as_str().to_owned(),
                serial: c.serial.to_string(),
                to: c.to,
            })
            .collect(),
        ocra: issued
            .ocra
            .into_iter()
            .map(|q| OcraQuestionResponse {
                serial: q.serial.to_string(),
                suite: q.suite,
                question: q.question,
            })
            .collect(),
    }))
}

pub fn challenge_error(e: ChallengeError, now: ichido_domain::Timestamp) -> ApiError {
    match e {
        ChallengeError::Throttled { retry_at } => {
            let secs = (retry_at.0 - now.0 + 999).div_euclid(1000).max(1) as u64;
            ApiError {
                message: format!(
                    "a code was sent recently; the next is allowed at {}",
                    rfc3339(retry_at)
                ),
                code: "resend_throttled",
                ..ApiError::too_many(secs)
            }
        }
        ChallengeError::Delivery(d) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            d.code,
            match d.code {
                "smtp_unavailable" => {
                    "the email could not be sent; nothing was stored; retry later"
                }
                _ => "the SMS could not be sent; nothing was stored; retry later",
            },
        ),
        ChallengeError::Other(e) => e.into(),
    }
}
