//! The error statuses of the OpenAPI document, derived from what each
//! operation takes rather than kept by hand beside every handler.
//!
//! The extractors decide most errors, so the route's shape decides them too:
//! any input can be malformed (400); a key is checked (401) and its role
//! (403), and checking it reads the database (503); a body can be too large
//! (413), of another media type (415) or fail its fields (422); a path names
//! something that may not exist (404), and a `{username}` may break the
//! username rule (422). Statuses a handler adds itself (409, 429, 502) stay
//! in its own `#[utoipa::path]`. Every error response is `ErrorBody`.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// The schema every error response carries.
pub const ERROR_SCHEMA: &str = "ErrorBody";

pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, api: &mut OpenApi) {
        for (path, item) in api.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_errors(path, op);
            }
        }
    }
}

fn add_errors(path: &str, op: &mut Operation) {
    let in_path = path.contains('{');
    let in_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let body = op.request_body.is_some();
    let keyed = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut statuses = Vec::new();
    if in_path || in_query || body {
        statuses.push((
            "400",
            "Malformed request: `invalid_json`, `invalid_path` or `invalid_query`",
        ));
    }
    if keyed {
        statuses.push(("401", "No valid API key: `unauthorized`"));
        statuses.push(("403", "The key's role does not allow this: `forbidden`"));
        statuses.push(("503", "The database is unavailable: `storage_unavailable`"));
    }
    if in_path {
        statuses.push(("404", "No such user or token: `not_found`"));
    }
    if body {
        statuses.push((
            "413",
            "The body is larger than `max_body_bytes`: `body_too_large`",
        ));
        statuses.push((
            "415",
            "The body is not `application/json`: `unsupported_media_type`",
        ));
    }
    if body || path.contains("{username}") {
        statuses.push((
            "422",
            "A field is missing or invalid, e.g. `invalid_field`, `invalid_username`",
        ));
    }
    for (status, description) in statuses {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(ERROR_SCHEMA)))
                    .build(),
            )
            .build(),
    )
}
