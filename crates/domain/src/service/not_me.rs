//! "This wasn't me": the signed link in a notice of a sign-in from a new
//! device locks the account and revokes every remembered device, until a
//! helpdesk unlocks it. Like the reset notice's cancel link, it names the
//! user and the moment of the notice, and only this server can make one.

use super::Ichido;
use crate::audit::{Context, Event};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::store::Store;

/// How long after the notice its link works.
const LINK_DAYS: i64 = 7;
/// A lock that only a helpdesk ends (about a hundred years).
const LOCK_SECONDS: i64 = 100 * 365 * 86_400;

impl<S: Store> Ichido<S> {
    /// The link of a new-device notice sent for the event at `at`.
    pub fn not_me_link(&self, username: &str, at: Timestamp) -> String {
        format!(
            "{}/not-me/{}.{}.{}",
            self.reset.base_url.trim_end_matches('/'),
            hex::encode(username),
            at.0,
            self.not_me_mac(username, at)
        )
    }

    fn not_me_mac(&self, username: &str, at: Timestamp) -> String {
        self.keyring
            .hasher("not-me")
            .hash_hex(format!("{username}:{}", at.0).as_bytes())
    }

    /// Follows a signed link (`{hex username}.{ms}.{mac}`): locks the
    /// account and revokes its devices, in one write.
    pub async fn not_me(&self, ctx: &Context, signed: &str) -> Result<(), Error> {
        let now = self.clock.now();
        let parsed = signed.split_once('.').and_then(|(user, rest)| {
            let (at, mac) = rest.split_once('.')?;
            let username = String::from_utf8(hex::decode(user).ok()?).ok()?;
            Some((username, Timestamp(at.parse().ok()?), mac))
        });
        let Some((username, _, _)) = parsed.filter(|(u, at, mac)| {
            ichido_crypto::ct_eq(self.not_me_mac(u, *at).as_bytes(), mac.as_bytes())
                && now < at.plus_secs(LINK_DAYS * 86_400)
        }) else {
            let ev = Event::new(ctx, now, "user.lock", "reject").reason("invalid_link");
            self.store.append_audit(&ev).await?;
            return Err(Error::invalid(
                "invalid_link",
                "the link is not one this server made, or it is more than a week old",
            ));
        };
        let Some(user) = self.store.user_by_name(&username).await? else {
            return Ok(());
        };
        let ev = Event::new(ctx, now, "user.lock", "success")
            .user(&username)
            .reason("not_me");
        self.store
            .lock_account(user.id, now.plus_secs(LOCK_SECONDS), now, &ev)
            .await?;
        Ok(())
    }
}
