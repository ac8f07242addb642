//! Pages served by the binary to account holders' browsers: server-rendered
//! HTML, forms that work without JavaScript, a strict Content-Security-Policy,
//! every value HTML-escaped. No API key: the page's own link is the credential.

pub mod not_me;
pub mod reset;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ichido_domain::notify::escape_html;

use crate::app::AppState;

/// No script, no inline style, no frames, forms only back to this server.
pub const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#222}h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}\
input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}button{margin-top:1rem;\
font-size:1rem;padding:.5rem 1.2rem}.error{color:#a00;font-weight:600}.qr svg{width:16rem;height:auto}\
code{word-break:break-all}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/web/style.css", get(style))
        .merge(reset::routes())
        .merge(not_me::routes())
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// A page: `title` is escaped here; `body` is HTML the caller built from
/// escaped values.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><link rel=\"stylesheet\" href=\"/web/style.css\"></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = escape_html(title)
    );
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // The link's secret is in the URL: never cache it, never send it on.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// `<p class="error">…</p>` for a message, escaped.
pub fn error_line(message: &str) -> String {
    format!("<p class=\"error\">{}</p>", escape_html(message))
}
