//! Stopping a reset: from the holder's link, or from the signed cancel link
//! that every reset notice carries, on every channel it went to.

use super::Ichido;
use super::reset::invalid_link;
use crate::audit::{Context, Event};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::store::Store;

impl<S: Store> Ichido<S> {
    /// `POST /v1/reset/{token}/cancel`: whoever holds the link stops every
    /// reset of the account not yet enrolled.
    pub async fn cancel_reset_by_link(&self, ctx: &Context, token: &str) -> Result<(), Error> {
        let now = self.clock.now();
        let reset = self
            .store
            .reset_by_hash(&self.link_hash(token))
            .await?
            .filter(|r| r.is_open(now));
        self.cancel_resets_of(ctx, reset.map(|r| r.user_id), now, "link")
            .await
    }

    /// The signed cancel link of a reset notice: it names the user and the
    /// moment of the notice, and cancels the requests made until then.
    pub fn reset_cancel_link(&self, username: &str, at: Timestamp) -> String {
        let mac = self.cancel_mac(username, at);
        format!(
            "{}/reset/cancel/{}.{}.{mac}",
            self.reset.base_url.trim_end_matches('/'),
            hex::encode(username),
            at.0
        )
    }

    fn cancel_mac(&self, username: &str, at: Timestamp) -> String {
        self.keyring
            .hasher("reset-cancel")
            .hash_hex(format!("{username}:{}", at.0).as_bytes())
    }

    /// Follows a signed cancel link (`{hex username}.{ms}.{mac}`).
    pub async fn cancel_reset_signed(&self, ctx: &Context, signed: &str) -> Result<(), Error> {
        let now = self.clock.now();
        let parsed = signed.split_once('.').and_then(|(user, rest)| {
            let (at, mac) = rest.split_once('.')?;
            let username = String::from_utf8(hex::decode(user).ok()?).ok()?;
            Some((username, Timestamp(at.parse().ok()?), mac))
        });
        let Some((username, at, _)) = parsed.filter(|(u, at, mac)| {
            ichido_crypto::ct_eq(self.cancel_mac(u, *at).as_bytes(), mac.as_bytes())
        }) else {
            let ev = Event::new(ctx, now, "reset.cancel", "reject").reason("invalid_link");
            self.store.append_audit(&ev).await?;
            return Err(Error::invalid(
                "invalid_cancel_link",
                "the cancel link is not one this server made",
            ));
        };
        let user = self.store.user_by_name(&username).await?;
        let ev = Event::new(ctx, now, "reset.cancel", "success")
            .user(&username)
            .reason("notice");
        match user {
            Some(u) => {
                self.store.cancel_resets(u.id, at, now, &ev).await?;
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn cancel_resets_of(
        &self,
        ctx: &Context,
        user_id: Option<i64>,
        now: Timestamp,
        how: &str,
    ) -> Result<(), Error> {
        let user = match user_id {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        let Some(user) = user else {
            let ev = Event::new(ctx, now, "reset.cancel", "reject").reason("invalid_link");
            self.store.append_audit(&ev).await?;
            return Err(invalid_link());
        };
        let ev = Event::new(ctx, now, "reset.cancel", "success")
            .user(user.username.as_str())
            .reason(how);
        self.store.cancel_resets(user.id, now, now, &ev).await?;
        Ok(())
    }
}
