//! The page behind the mailed link `{base_url}/reset/{token}`: the same
//! procedure as `/v1/reset/{token}/…`, as forms that post back to the same
//! path (a hidden `step` says which), and the page behind a notice's signed
//! cancel link, which asks before it cancels (mail scanners follow links).

use axum::Form;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use ichido_crypto::SecretString;
use ichido_domain::audit::Context;
use ichido_domain::notify::escape_html;
use ichido_domain::reset::Stage;
use serde::Deserialize;

use super::{error_line, page};
use crate::app::AppState;
use crate::http::auth::{client_ip, user_agent};
use crate::http::challenges::challenge_error;
use crate::http::error::ApiError;
use crate::http::wire::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reset/{token}", get(show).post(submit))
        .route("/reset/cancel/{signed}", get(confirm_cancel).post(cancel))
}

/// The audit context of a browser: no key, so the actor says where it came in.
pub struct Browser(pub Context);

impl FromRequestParts<AppState> for Browser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Browser(Context {
            actor: "web:reset".into(),
            client_ip: client_ip(parts, &state.config.http.trusted_proxies)
                .map(|ip| ip.to_string()),
            user_agent: user_agent(parts),
        }))
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    /// `verify`, `send-code`, `enroll`, `activate` or `cancel`.
    step: String,
    #[serde(default)]
    password: SecretString,
    #[serde(default)]
    code: String,
}

const TITLE: &str = "Reset your second factor";

const VERIFY_FORM: &str = "<form method=\"post\"><input type=\"hidden\" name=\"step\" value=\"verify\">\
<label for=\"password\">Your password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<label for=\"code\">A code from a token you still have, a backup code, or a code sent to your \
phone (leave empty if you have none: a waiting period then starts, and you are told on every \
channel)</label><input id=\"code\" name=\"code\" autocomplete=\"one-time-code\">\
<button type=\"submit\">Continue</button></form>\
<form method=\"post\"><input type=\"hidden\" name=\"step\" value=\"send-code\">\
<label for=\"password-sms\">No token left? Your password, to send a code to your phone</label>\
<input id=\"password-sms\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Send a code to my phone</button></form>";

const ENROLL_FORM: &str = "<p>You may now enroll a new authenticator. Every old token, backup \
code and emergency code of your account stops working.</p>\
<form method=\"post\"><input type=\"hidden\" name=\"step\" value=\"enroll\">\
<label for=\"password\">Your password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Enroll a new authenticator</button></form>";

const ACTIVATE_FORM: &str = "<form method=\"post\"><input type=\"hidden\" name=\"step\" value=\"activate\">\
<label for=\"code\">The code your authenticator shows now</label>\
<input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
<button type=\"submit\">Activate</button></form>";

const CANCEL_FORM: &str = "<form method=\"post\"><input type=\"hidden\" name=\"step\" value=\"cancel\">\
<button type=\"submit\">Cancel this reset</button></form>";

/// The form for where the reset stands, with an optional message above it
/// (an error when `status` is one, else information).
fn stage_page(status: StatusCode, stage: Stage, message: Option<&str>) -> Response {
    let mut body = match message {
        Some(m) if status.is_success() => format!("<p>{}</p>", escape_html(m)),
        Some(m) => error_line(m),
        None => String::new(),
    };
    match stage {
        Stage::NeedsProof => body.push_str(VERIFY_FORM),
        Stage::NeedsApproval => {
            body.push_str(
                "<p>Your administrators approve every reset. Once they have, continue here.</p>",
            );
            body.push_str(VERIFY_FORM);
        }
        Stage::Waiting(until) => {
            body.push_str(&format!(
                "<p>No second factor was proved, so a waiting period runs: a new authenticator \
                 can be enrolled from <strong>{}</strong>. Every registered channel was told, \
                 with a way to cancel.</p><p>If you find a second factor meanwhile, use it:</p>",
                escape_html(&rfc3339(until))
            ));
            body.push_str(VERIFY_FORM);
            body.push_str(CANCEL_FORM);
        }
        Stage::Ready => body.push_str(ENROLL_FORM),
        Stage::Enrolled => {
            body.push_str(
                "<p>Your new authenticator is enrolled; prove one code to activate it.</p>",
            );
            body.push_str(ACTIVATE_FORM);
        }
        Stage::Closed => {
            // Looking at a dead link is a 404; a step on one keeps its own 4xx.
            let status = if status.is_success() {
                StatusCode::NOT_FOUND
            } else {
                status
            };
            return page(
                status,
                TITLE,
                &error_line("This link is unknown, expired, used or cancelled. Ask for a new one."),
            );
        }
    }
    if !matches!(stage, Stage::Waiting(_)) {
        body.push_str(CANCEL_FORM);
    }
    page(status, TITLE, &body)
}

async fn show(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    match app.ichido.reset_stage(&token).await {
        Ok(stage) => stage_page(StatusCode::OK, stage, None),
        Err(e) => failure(&app, &token, e.into()).await,
    }
}

/// The page again, at its current stage, with the error's message.
async fn failure(app: &AppState, token: &str, e: ApiError) -> Response {
    let stage = app.ichido.reset_stage(token).await.unwrap_or(Stage::Closed);
    let status = if e.status.is_server_error() {
        e.status
    } else {
        e.status.max(StatusCode::BAD_REQUEST)
    };
    stage_page(status, stage, Some(&e.message))
}

async fn submit(
    State(app): State<AppState>,
    Browser(ctx): Browser,
    Path(token): Path<String>,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        let e = ApiError::bad_request("invalid_form", "the form could not be read; try again");
        return failure(&app, &token, e).await;
    };
    let ichido = &app.ichido;
    let done = match f.step.as_str() {
        "verify" => {
            let code = Some(f.code.as_str()).filter(|c| !c.trim().is_empty());
            ichido
                .verify_reset(&ctx, &token, f.password.expose(), code)
                .await
                .map(|s| stage_page(StatusCode::OK, s.stage, None))
        }
        "send-code" => {
            let now = ichido.clock().now();
            match ichido
                .send_reset_code(&ctx, &token, f.password.expose())
                .await
            {
                Ok(sent) => {
                    let to: Vec<String> = sent.into_iter().map(|c| c.to).collect();
                    let stage = ichido.reset_stage(&token).await.unwrap_or(Stage::Closed);
                    let info = format!("A code was sent to {}. Enter it below.", to.join(", "));
                    return stage_page(StatusCode::OK, stage, Some(&info));
                }
                Err(e) => return failure(&app, &token, challenge_error(e, now)).await,
            }
        }
        "enroll" => match ichido
            .complete_reset(&ctx, &token, f.password.expose(), None)
            .await
        {
            Ok(done) => Ok(enrolled_page(&done.enrolled.uri, &done.enrolled.secret)),
            Err(e) => Err(e),
        },
        "activate" => ichido
            .activate_after_reset(&ctx, &token, &f.code)
            .await
            .map(|_| {
                page(
                    StatusCode::OK,
                    TITLE,
                    "<p>Your new authenticator is active. You can sign in with it now.</p>",
                )
            }),
        "cancel" => ichido.cancel_reset_by_link(&ctx, &token).await.map(|()| {
            page(
                StatusCode::OK,
                TITLE,
                "<p>The reset is cancelled. Nothing about your account changed.</p>",
            )
        }),
        _ => {
            let e = ApiError::bad_request("invalid_step", "unknown step; reload the page");
            return failure(&app, &token, e).await;
        }
    };
    match done {
        Ok(res) => res,
        Err(e) => failure(&app, &token, e.into()).await,
    }
}

/// The new token's QR code and seed, shown this once, and its activation form.
fn enrolled_page(uri: &str, secret: &str) -> Response {
    let qr = ichido_otp::qr::svg(uri)
        .ok()
        .and_then(|svg| svg.find("<svg").map(|at| svg[at..].to_owned()))
        .unwrap_or_default();
    let body = format!(
        "<p>Scan this code with your authenticator app, or type the key below. It is shown \
         this once.</p><div class=\"qr\">{qr}</div><p>Key: <code>{}</code></p>{ACTIVATE_FORM}",
        escape_html(secret)
    );
    page(StatusCode::CREATED, TITLE, &body)
}

const CANCEL_TITLE: &str = "Cancel a reset of your second factor";

async fn confirm_cancel(Path(_signed): Path<String>) -> Response {
    page(
        StatusCode::OK,
        CANCEL_TITLE,
        "<p>Someone asked to reset the second factor of your account. If it was not you, \
         cancel it, then change your password and tell your administrator.</p>\
         <form method=\"post\"><button type=\"submit\">Cancel the reset</button></form>",
    )
}

async fn cancel(
    State(app): State<AppState>,
    Browser(ctx): Browser,
    Path(signed): Path<String>,
) -> Response {
    match app.ichido.cancel_reset_signed(&ctx, &signed).await {
        Ok(()) => page(
            StatusCode::OK,
            CANCEL_TITLE,
            "<p>Every open reset of your account is cancelled.</p>",
        ),
        Err(e) => {
            let e: ApiError = e.into();
            page(e.status, CANCEL_TITLE, &error_line(&e.message))
        }
    }
}
