//! The page behind the signed "this wasn't me" link of a new-device notice.
//! It asks before it acts (mail scanners follow links); the form locks the
//! account and signs out every remembered device.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::reset::Browser;
use super::{error_line, page};
use crate::app::AppState;
use crate::http::error::ApiError;

const TITLE: &str = "A sign-in you did not make";

pub fn routes() -> Router<AppState> {
    Router::new().route("/not-me/{signed}", get(confirm).post(lock))
}

async fn confirm(Path(_signed): Path<String>) -> Response {
    page(
        StatusCode::OK,
        TITLE,
        "<p>Someone signed in to your account from a new device. If it was not you, lock \
         your account now: every remembered device is signed out, and nobody can sign in \
         until your administrator unlocks it.</p>\
         <form method=\"post\"><button type=\"submit\">Lock my account</button></form>",
    )
}

async fn lock(
    State(app): State<AppState>,
    Browser(ctx): Browser,
    Path(signed): Path<String>,
) -> Response {
    match app.ichido.not_me(&ctx, &signed).await {
        Ok(()) => page(
            StatusCode::OK,
            TITLE,
            "<p>Your account is locked and every remembered device is signed out. Tell your \
             administrator; change your password once they unlock it.</p>",
        ),
        Err(e) => {
            let e: ApiError = e.into();
            page(e.status, TITLE, &error_line(&e.message))
        }
    }
}
