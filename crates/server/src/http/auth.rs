//! Permission is a type: a handler that takes `Caller<Admin>` cannot run for
//! a helpdesk key, and the check happens before the handler's body.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use ichido_domain::audit::Context;
use ichido_domain::user::Role;

use super::error::ApiError;
use super::forwarded::TrustedProxies;
use crate::app::AppState;

pub trait MinRole: Send + Sync + 'static {
    const ROLE: Role;
}
pub struct Admin;
pub struct Helpdesk;
pub struct Validator;
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}
impl MinRole for Helpdesk {
    const ROLE: Role = Role::Helpdesk;
}
impl MinRole for Validator {
    const ROLE: Role = Role::Validator;
}

/// An authenticated API caller whose role is at least `R`, with the audit
/// context of the request (actor, client address, user agent).
pub struct Caller<R: MinRole> {
    pub ctx: Context,
    pub role: Role,
    _role: PhantomData<R>,
}

/// Where the request came from, for audit and rate limits: the TCP peer,
/// or what a trusted proxy says it saw (see `forwarded`).
pub fn client_ip(parts: &Parts, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(proxies.client_ip(peer, forwarded))
}

pub fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect())
}

impl<R: MinRole> FromRequestParts<AppState> for Caller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        let key = state
            .api_keys
            .authenticate(&state.ichido, bearer.trim())
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if key.role < R::ROLE {
            return Err(ApiError::forbidden());
        }
        let ctx = Context {
            actor: format!("apikey:{}", key.name),
            client_ip: client_ip(parts, &state.config.http.trusted_proxies)
                .map(|ip| ip.to_string()),
            user_agent: user_agent(parts),
        };
        Ok(Caller {
            ctx,
            role: key.role,
            _role: PhantomData,
        })
    }
}
