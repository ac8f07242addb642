//! The use cases, written once against the ports. The HTTP API, RADIUS and
//! the CLI all call these; none of them touch the store directly.

mod api_keys;
mod challenges;
mod enrollment;
mod first_factor;
mod keys;
mod not_me;
mod recovery;
mod reset;
mod reset_cancel;
mod signin;
mod subject;
mod tokens;
mod users;
mod validation;

use std::sync::Arc;

use ichido_crypto::{SharedKeyring, password::Cost};

use crate::challenge::ChallengePolicy;
use crate::clock::Clock;
use crate::notify::{Delivery, NoDelivery, NoOutbox, Outbox, Templates};
use crate::password::{Inline, PasswordPool};
use crate::policy::Policy;
use crate::reset::ResetPolicy;
use crate::signin::SigninPolicy;
use crate::store::Store;

pub use api_keys::NewApiKey;
pub use challenges::{ChallengeError, ChallengeRequest, Channel, Issued, OcraQuestion};
pub use recovery::{ImportedToken, LostRequest, LostResult, Replacement};
pub use reset::{ResetDone, ResetRequested, ResetStatus};
pub use signin::{Answer, Decision, SigninRequest};
pub use tokens::{EnrollRequest, Enrolled};
pub use users::CreateUserRequest;
pub use validation::Outcome;

/// Everything a use case needs, cheap to clone (handles only).
#[derive(Clone)]
pub struct Ichido<S: Store> {
    pub store: S,
    keyring: Arc<SharedKeyring>,
    clock: Arc<dyn Clock>,
    policy: Arc<Policy>,
    settings: Arc<Settings>,
    out_of_band: Arc<OutOfBand>,
    reset: Arc<ResetPolicy>,
    signin: Arc<SigninPolicy>,
    passwords: Arc<dyn PasswordPool>,
}

/// How email and SMS codes leave and what they say.
struct OutOfBand {
    delivery: Arc<dyn Delivery>,
    /// Codes and links a request produces leave through here, after the
    /// answer: their sending never shapes the answer or its timing.
    outbox: Arc<dyn Outbox>,
    policy: ChallengePolicy,
    templates: Templates,
}

/// Choices that are not validation policy.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Issuer shown in authenticator apps when the enrollment names none.
    pub default_issuer: String,
    pub password_cost: Cost,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_issuer: "Ichido".into(),
            password_cost: Cost::default(),
        }
    }
}

impl<S: Store> Ichido<S> {
    pub fn new(
        store: S,
        keyring: Arc<SharedKeyring>,
        clock: Arc<dyn Clock>,
        policy: Policy,
        settings: Settings,
    ) -> Self {
        Ichido {
            store,
            keyring,
            clock,
            policy: Arc::new(policy),
            settings: Arc::new(settings),
            out_of_band: Arc::new(OutOfBand {
                delivery: Arc::new(NoDelivery),
                outbox: Arc::new(NoOutbox),
                policy: ChallengePolicy::default(),
                templates: Templates::default(),
            }),
            reset: Arc::new(ResetPolicy::default()),
            signin: Arc::new(SigninPolicy::default()),
            passwords: Arc::new(Inline),
        }
    }
    /// Sets where Argon2id evaluations run (see [`crate::password`]).
    pub fn with_password_pool(mut self, pool: Arc<dyn PasswordPool>) -> Self {
        self.passwords = pool;
        self
    }
    /// Sets how email and SMS codes are sent, made and worded.
    pub fn with_out_of_band(
        mut self,
        delivery: Arc<dyn Delivery>,
        outbox: Arc<dyn Outbox>,
        policy: ChallengePolicy,
        templates: Templates,
    ) -> Self {
        self.out_of_band = Arc::new(OutOfBand {
            delivery,
            outbox,
            policy,
            templates,
        });
        self
    }
    /// Sets how self-service reset links are made.
    pub fn with_reset(mut self, policy: ResetPolicy) -> Self {
        self.reset = Arc::new(policy);
        self
    }
    /// Sets how long sign-ins wait and devices stay trusted.
    pub fn with_signin(mut self, policy: SigninPolicy) -> Self {
        self.signin = Arc::new(policy);
        self
    }
    pub fn signin_policy(&self) -> &SigninPolicy {
        &self.signin
    }
    pub fn reset_policy(&self) -> &ResetPolicy {
        &self.reset
    }
    pub fn challenge_policy(&self) -> &ChallengePolicy {
        &self.out_of_band.policy
    }
    pub fn templates(&self) -> &Templates {
        &self.out_of_band.templates
    }
    pub fn delivery(&self) -> &dyn Delivery {
        self.out_of_band.delivery.as_ref()
    }
    pub fn outbox(&self) -> &dyn Outbox {
        self.out_of_band.outbox.as_ref()
    }
    pub fn default_issuer(&self) -> &str {
        &self.settings.default_issuer
    }
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
    pub fn keyring(&self) -> &SharedKeyring {
        &self.keyring
    }
}
