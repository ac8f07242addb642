//! The first step of the two-step mode for a user whose codes come by email
//! or SMS: no authenticator app or hardware token would ever show them a
//! code, so the Access-Challenge sends one (through the same challenge
//! service as `POST /v1/challenges`) and its Reply-Message says where. The
//! second step's code is then checked like the code of any open challenge.
//! A retransmission of the first step gets the cached Access-Challenge
//! (`dedup`), so the code is sent once.

use ichido_domain::Error;
use ichido_domain::audit::Context;
use ichido_domain::service::{ChallengeError, ChallengeRequest, Ichido};
use ichido_domain::token::TokenState;
use ichido_store::Db;

use super::handler::CODE_PROMPT;

/// When a code was sent moments ago (the resend throttle) and is still good.
pub const SENT_BEFORE_PROMPT: &str = "Enter the code sent to you";

/// The Reply-Message of the Access-Challenge for `username`, whose password
/// was just checked; a code is sent first when that is how the user gets
/// one. `None` when the code could not be sent: the sign-in cannot go on.
pub async fn prompt(
    ichido: &Ichido<Db>,
    ctx: &Context,
    username: &str,
    password: &str,
) -> Result<Option<String>, Error> {
    let now = ichido.clock().now();
    let tokens = ichido.tokens_of(username).await?;
    let usable = tokens
        .iter()
        .filter(|t| t.state == TokenState::Active && t.valid_at(now));
    let (mut has_app, mut has_out_of_band) = (false, false);
    for t in usable {
        has_app |= t.params.kind.is_oath();
        has_out_of_band |= t.params.kind.is_out_of_band();
    }
    // A user with an app or a hardware token reads the code there; sending
    // mail on every sign-in would only train them to ignore it.
    if has_app || !has_out_of_band {
        return Ok(Some(CODE_PROMPT.to_owned()));
    }
    let req = ChallengeRequest {
        username: username.to_owned(),
        password: Some(password.into()),
        ..Default::default()
    };
    match ichido.create_challenge(ctx, req).await {
        Ok(issued) if issued.channels.is_empty() => Ok(Some(CODE_PROMPT.to_owned())),
        Ok(issued) => {
            let to: Vec<&str> = issued.channels.iter().map(|c| c.to.as_str()).collect();
            Ok(Some(format!("Enter the code sent to {}", to.join(" or "))))
        }
        Err(ChallengeError::Throttled { .. }) => Ok(Some(SENT_BEFORE_PROMPT.to_owned())),
        // Audited as `challenge.create` by the service.
        Err(ChallengeError::Delivery(_)) => Ok(None),
        Err(ChallengeError::Other(e)) => Err(e),
    }
}
