//! The REST API under `/v1`. Handlers are thin: the caller's role is checked
//! by the extractor, the body by serde, the rest by one service call.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod challenges;
pub mod error;
pub mod forwarded;
pub mod openapi;
pub mod ops;
pub mod recovery;
pub mod reset;
pub mod signin;
pub mod tokens;
pub mod users;
pub mod validate;
pub mod wire;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Ichido", description = "Multi-factor authentication server: tokens, validation, audit."),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody)),
    tags(
        (name = "users"), (name = "tokens"), (name = "validation"), (name = "audit"), (name = "operations"), (name = "recovery"), (name = "reset"), (name = "signin"), (name = "api-keys")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An Ichido API key"))
                    .build(),
            ),
        );
    }
}

/// The routes and, collected from them, the OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(
            users::get_user,
            users::patch_user,
            users::delete_user
        ))
        .routes(routes!(users::unlock_user))
        .routes(routes!(users::user_history))
        .routes(routes!(tokens::create_token, tokens::list_tokens))
        .routes(routes!(
            tokens::get_token,
            tokens::patch_token,
            tokens::revoke_token
        ))
        .routes(routes!(tokens::activate_token))
        .routes(routes!(tokens::disable_token))
        .routes(routes!(tokens::enable_token))
        .routes(routes!(tokens::resync_token))
        .routes(routes!(tokens::token_qr_svg))
        .routes(routes!(tokens::token_qr_png))
        .routes(routes!(
            recovery::create_backup_codes,
            recovery::count_backup_codes
        ))
        .routes(routes!(recovery::create_emergency_code))
        .routes(routes!(recovery::lost_token))
        .routes(routes!(recovery::replace_token))
        .routes(routes!(recovery::import_tokens))
        .routes(routes!(recovery::assign_token))
        .routes(routes!(recovery::stale_tokens))
        .routes(routes!(recovery::users_without_token))
        .routes(routes!(reset::create_reset_request))
        .routes(routes!(reset::approve_reset_request))
        .routes(routes!(reset::send_reset_code))
        .routes(routes!(reset::verify_reset))
        .routes(routes!(reset::enroll_after_reset))
        .routes(routes!(reset::activate_after_reset))
        .routes(routes!(reset::cancel_reset))
        .routes(routes!(validate::validate))
        .routes(routes!(challenges::create_challenge))
        .routes(routes!(signin::signin))
        .routes(routes!(signin::answer_signin))
        .routes(routes!(signin::list_devices, signin::revoke_devices))
        .routes(routes!(signin::revoke_device))
        .routes(routes!(signin::list_signins))
        .routes(routes!(audit::list_audit))
        .routes(routes!(api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .split_for_parts();
    // After the routes, whose operations it completes.
    openapi::ErrorResponses.modify(&mut doc);
    (router, doc)
}

/// Counts the work of each request (see `ichido_store::work`) into the
/// route's metrics.
async fn measure_work(
    axum::extract::State(app): axum::extract::State<AppState>,
    route: axum::extract::MatchedPath,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (response, work) = ichido_store::work::measure(next.run(req)).await;
    app.metrics.record_work(route.as_str(), work);
    response
}

pub fn router(state: AppState) -> Router {
    let (routes, openapi) = api();
    let routes = routes.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        measure_work,
    ));
    let doc = serde_json::to_string(&openapi).unwrap_or_default();
    let max_body = state.config.max_body_bytes;
    routes
        .merge(crate::web::routes())
        .route(
            "/openapi.json",
            get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    doc,
                )
            }),
        )
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
