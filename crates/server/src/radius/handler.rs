//! What to answer an authenticated Access-Request from a known gateway.
//! The transport (socket, retransmissions, rate limits) is in `mod.rs`; this
//! reads the attributes, calls one service per mode and builds the reply.
//! A reject never says which factor failed; the audit log does.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use ichido_crypto::{SecretBytes, SecretString};
use ichido_domain::Error;
use ichido_domain::audit::Context;
use ichido_domain::service::{Ichido, Outcome};
use ichido_radius::{Code, Packet, decrypt_user_password, dictionary};
use ichido_store::Db;

use super::clients::Client;
use super::code_delivery;
use super::session::{Sessions, Taken};
use crate::config::RadiusMode;

/// The prompt sent with an Access-Challenge.
pub const CODE_PROMPT: &str = "Enter your authenticator code";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Reject,
    /// Ask for the code; the next Access-Request carries this State.
    Challenge {
        state: Vec<u8>,
        /// The Reply-Message: `CODE_PROMPT`, or where a code was sent.
        prompt: String,
    },
}

impl Decision {
    /// The label of the `radius_requests` metric.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
            Decision::Challenge { .. } => "challenge",
        }
    }

    /// The reply to `request`, to be encoded with `encode_response`.
    pub fn reply(&self, request: &Packet) -> Packet {
        match self {
            Decision::Accept => Packet::reply(request, Code::AccessAccept),
            Decision::Reject => Packet::reply(request, Code::AccessReject),
            Decision::Challenge { state, prompt } => {
                let mut reply = Packet::reply(request, Code::AccessChallenge);
                reply
                    .add(dictionary::STATE, state.clone())
                    .add_string(dictionary::REPLY_MESSAGE, prompt);
                reply
            }
        }
    }
}

/// Who asked, for the audit log: the gateway as actor; the end user's
/// address (Calling-Station-Id) when it is one, else the gateway's; the
/// request's identity.
pub fn context(client: &Client, request: &Packet, source: SocketAddr) -> Context {
    let nas = source.ip().to_canonical();
    let calling = request
        .string(dictionary::CALLING_STATION_ID)
        .map(|c| printable(&c));
    let client_ip = calling
        .as_deref()
        .and_then(|c| {
            c.parse::<IpAddr>()
                .ok()
                .or_else(|| c.parse::<SocketAddr>().ok().map(|s| s.ip()))
        })
        .unwrap_or(nas);
    let mut user_agent = format!("nas={nas}");
    if let Some(port) = request.u32(dictionary::NAS_PORT) {
        let _ = write!(user_agent, " port={port}");
    }
    if let Some(calling) = &calling {
        let _ = write!(user_agent, " calling={calling}");
    }
    // Ties the events to the request, for its retransmissions: see `committed`.
    let _ = write!(
        user_agent,
        " {}",
        super::committed::request_id(&client.name, source, request)
    );
    Context {
        actor: format!("radius:{}", client.name),
        client_ip: Some(client_ip.to_string()),
        user_agent: Some(user_agent),
    }
}

/// Attribute text as it goes into the log: no control characters, bounded.
fn printable(text: &str) -> String {
    text.chars()
        .take(128)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Decides an Access-Request whose Message-Authenticator was checked.
pub async fn decide(
    ichido: &Ichido<Db>,
    sessions: &Sessions,
    client: &Client,
    request: &Packet,
    ctx: &Context,
) -> Result<Decision, Error> {
    let refuse = |username: Option<&str>, action: &'static str, reason: &'static str| {
        let username = username.map(printable);
        async move {
            ichido
                .record_refusal(ctx, action, username.as_deref(), reason)
                .await?;
            Ok(Decision::Reject)
        }
    };
    let Some(username) = request
        .string(dictionary::USER_NAME)
        .filter(|u| !u.is_empty())
    else {
        return refuse(None, "radius.request", "missing_user_name").await;
    };
    // The one rule for names (length, characters, NFKC); a name no user can
    // have is audited only truncated and escaped, by `refuse`.
    let username = match ichido_domain::ids::Username::parse(&username) {
        Ok(u) => u.as_str().to_owned(),
        Err(_) => return refuse(Some(&username), "radius.request", "invalid_user_name").await,
    };
    // PAP only: CHAP and EAP would need the seed or the password in clear.
    let Some(hidden) = request.attr(dictionary::USER_PASSWORD) else {
        return refuse(Some(&username), "radius.request", "no_user_password").await;
    };
    let Ok(password) =
        decrypt_user_password(hidden, client.secret.as_bytes(), &request.authenticator)
    else {
        return refuse(Some(&username), "radius.request", "malformed_user_password").await;
    };
    let password = SecretBytes::new(password);
    let password = SecretString::new(String::from_utf8_lossy(password.as_bytes()).into_owned());
    let password = password.expose();

    let outcome = match client.mode {
        RadiusMode::Otp => ichido.validate(ctx, &username, password, None).await?,
        RadiusMode::PasswordOtp => {
            ichido
                .validate_password_then_code(ctx, &username, password)
                .await?
        }
        RadiusMode::Challenge => match request.attr(dictionary::STATE) {
            Some(state) => {
                let now = ichido.clock().now();
                match sessions.take(state, &client.name, &username, now).await? {
                    Taken::Valid => ichido.validate(ctx, &username, password, None).await?,
                    other => return refuse(Some(&username), "radius.state", other.reason()).await,
                }
            }
            None => {
                if !ichido.check_password(ctx, &username, password).await? {
                    return Ok(Decision::Reject);
                }
                let now = ichido.clock().now();
                let state = sessions.open(&client.name, &username, now).await?;
                let Some(prompt) = code_delivery::prompt(ichido, ctx, &username, password).await?
                else {
                    return Ok(Decision::Reject);
                };
                return Ok(Decision::Challenge {
                    state: state.to_vec(),
                    prompt,
                });
            }
        },
    };
    Ok(match outcome {
        Outcome::Accept { .. } => Decision::Accept,
        Outcome::Reject => Decision::Reject,
    })
}
