//! The one prologue of every request that names an account holder and may
//! carry their password: validation, challenges, the password step of
//! RADIUS, reset requests. It looks the user up and decides whether codes
//! may be tried for them, and it spends the same work whatever it finds —
//! two reads (the user, then the active tokens of their id, or of an id that
//! never exists) and exactly one Argon2id evaluation when a password is
//! given, against a dummy hash when there is no real one to check. Paths
//! then go on with a [`Subject`] that, unless it is ready, has no id and no
//! tokens, so the rest of their work (the same reads, the same one write)
//! cannot differ either; they end in [`Ichido::refuse`], which counts the
//! failure against a real account and only audits the others.
//!
//! Having this once is the point: four hand-written copies of it drifted
//! apart before, and each difference was an answer or a timing that told
//! whether an account exists.

use super::Ichido;
use crate::audit::Event;
use crate::clock::Timestamp;
use crate::error::Error;
use crate::password::PasswordJob;
use crate::signin::SigninRecord;
use crate::store::Store;
use crate::token::Token;
use crate::user::User;

/// An id no user has (ids start at 1): reads made for it find nothing.
pub(super) const NO_USER: i64 = 0;

/// Why codes may not be tried, in the audit log's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standing {
    Unknown,
    Locked,
    WrongPassword,
    Ready,
}

impl Standing {
    pub(super) fn reason(self) -> Option<&'static str> {
        match self {
            Standing::Unknown => Some("unknown_user"),
            Standing::Locked => Some("locked"),
            Standing::WrongPassword => Some("wrong_password"),
            Standing::Ready => None,
        }
    }
}

/// Who a request is about, as far as the request may act on it.
pub(super) struct Subject {
    /// The account, when one has this name: failures count against it.
    account: Option<User>,
    standing: Standing,
    /// The tokens codes may be tried against: active, within their validity
    /// and under the per-token failure limit. Empty unless ready.
    pub(super) tokens: Vec<Token>,
}

impl Subject {
    /// The user whose codes may be tried.
    pub(super) fn ready(&self) -> Option<&User> {
        self.account
            .as_ref()
            .filter(|_| self.standing == Standing::Ready)
    }

    /// The id every further read and write of the request uses: the user's
    /// when ready, otherwise one that matches nothing.
    pub(super) fn id(&self) -> i64 {
        self.ready().map_or(NO_USER, |u| u.id)
    }

    /// Whether the name is this account's, ready or not.
    pub(super) fn is_account(&self, user_id: i64) -> bool {
        self.account.as_ref().is_some_and(|u| u.id == user_id)
    }

    pub(super) fn standing(&self) -> Standing {
        self.standing
    }
}

impl<S: Store> Ichido<S> {
    /// The prologue; see the module's comment. `pw` is the password the
    /// request carries, if any: one evaluation either way it turns out.
    pub(super) async fn subject(
        &self,
        username: &str,
        pw: Option<&str>,
        now: Timestamp,
    ) -> Result<Subject, Error> {
        let account = self.store.user_by_name(username).await?;
        let mut tokens = self
            .store
            .active_tokens(account.as_ref().map_or(NO_USER, |u| u.id))
            .await?;
        let password_ok = match pw {
            Some(pw) => {
                let hash = account.as_ref().and_then(|u| u.password_hash.as_deref());
                let job = PasswordJob::new(pw, hash, self.settings.password_cost);
                // A dummy hash always answers false, so an account without a
                // password never passes a password check.
                self.passwords.verify(job).await
            }
            None => true,
        };
        let standing = match &account {
            None => Standing::Unknown,
            Some(u) if u.is_locked(now) => Standing::Locked,
            Some(_) if !password_ok => Standing::WrongPassword,
            Some(_) => Standing::Ready,
        };
        if standing == Standing::Ready {
            let max = self.policy.max_token_failures;
            tokens.retain(|t| t.valid_at(now) && t.failed_count < max);
        } else {
            tokens.clear();
        }
        Ok(Subject {
            account,
            standing,
            tokens,
        })
    }

    /// Ends a request that got no: one write whatever the subject. A real
    /// account that is not locked has the failure counted (and may lock by
    /// it); an unknown or locked one is only audited. The event's reason is
    /// the subject's own when it was never ready, `reason` otherwise.
    /// `challenges` lose an attempt in the same transaction.
    pub(super) async fn refuse(
        &self,
        subject: &Subject,
        event: Event,
        reason: &str,
        challenges: Vec<String>,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.refuse_with(subject, event, reason, challenges, None, now)
            .await
    }

    /// [`Ichido::refuse`] for a sign-in: the same one write, which also
    /// puts the attempt in the history of a real account (`history`'s user
    /// id is set here); an unknown name has no history.
    pub(super) async fn refuse_with(
        &self,
        subject: &Subject,
        event: Event,
        reason: &str,
        challenges: Vec<String>,
        history: Option<SigninRecord>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let event = event.reason(subject.standing.reason().unwrap_or(reason));
        let history = match &subject.account {
            Some(user) => history.map(|h| SigninRecord {
                user_id: user.id,
                ..h
            }),
            None => None,
        };
        match (&subject.account, history) {
            (Some(user), history) if subject.standing != Standing::Locked => {
                let mut failure = self.failure(user, now);
                failure.challenges = challenges;
                failure.signin = history;
                self.store.record_failure(&failure, &event).await?;
            }
            (Some(_), Some(history)) => {
                self.store.record_signin(&history, None, &event).await?;
            }
            _ => self.store.append_audit(&event).await?,
        }
        Ok(())
    }
}
