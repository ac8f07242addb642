//! `POST /v1/signin` and its answer: the application passes what the
//! browser sent and gets one decision. The password is always checked, by
//! the common prologue (see `subject`), so every kind of no — unknown user,
//! locked, no password, wrong password — costs the same and reads the same;
//! a remembered device then stands in for the second factor (in `weak`
//! strength also the network of one), otherwise the answer names the
//! factors the user can answer now. The answer's code goes
//! through `validate`, with its once-ever rule and its lockout counting.

use ichido_crypto::{SecretString, ct_eq, random};

use super::Ichido;
use super::challenges::{ChallengeError, ChallengeRequest};
use super::subject::Subject;
use super::validation::Outcome;
use crate::audit::{Context, Event};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::recovery::CodeKind;
use crate::signin::{
    Device, PendingSignin, Rotation, SigninRecord, Strength, device_name, same_network,
};
use crate::store::Store;
use crate::token::TokenKind;
use crate::user::User;

/// What the application passes: the browser's credentials and where the
/// browser is. No `Debug`: it holds a password and a device token.
pub struct SigninRequest {
    pub username: String,
    pub password: SecretString,
    pub device_token: Option<SecretString>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Which application asks, for the history.
    pub app: String,
}

/// The second step. No `Debug`: it holds a code.
pub struct Answer {
    pub signin_id: String,
    /// The factor the code is from, as offered; any offered one when absent.
    pub factor: Option<String>,
    pub code: SecretString,
    pub remember_device: bool,
}

/// One decision. A reject is the same for every reason.
pub enum Decision {
    /// Signed in; the device's token to keep (replacing the one sent), when
    /// the device is remembered.
    Accept {
        device_token: Option<SecretString>,
    },
    /// The password is right but the device is not trusted: answer one of
    /// `factors` with `signin_id`.
    Challenge {
        signin_id: String,
        factors: Vec<String>,
    },
    Reject,
}

/// The factors an answer may name.
pub const FACTORS: [&str; 6] = ["totp", "hotp", "email", "sms", "backup", "emergency"];

/// Random bytes of a device's id (128 bits) and of its secret (256 bits).
const DEVICE_ID_BYTES: usize = 16;
const DEVICE_SECRET_BYTES: usize = 32;
/// Random bytes of a sign-in id: 256 bits.
const SIGNIN_ID_BYTES: usize = 32;

/// A device token as presented: `<id>.<secret>`.
struct DeviceToken {
    id: String,
    secret: SecretString,
}

impl DeviceToken {
    fn parse(token: &str) -> Result<Self, Error> {
        let base64url = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        match token.split_once('.') {
            Some((id, secret)) if base64url(id) && base64url(secret) => Ok(DeviceToken {
                id: id.to_owned(),
                secret: secret.into(),
            }),
            _ => Err(Error::invalid(
                "invalid_device_token",
                "device_token must be a token this server handed out: <id>.<secret>",
            )),
        }
    }
}

impl<S: Store> Ichido<S> {
    fn device_hash(&self, id: &str, secret: &str) -> String {
        self.keyring
            .hasher("device-token")
            .hash_hex(format!("{id}.{secret}").as_bytes())
    }

    fn signin_hash(&self, signin_id: &str) -> String {
        self.keyring
            .hasher("signin-id")
            .hash_hex(signin_id.as_bytes())
    }

    /// `POST /v1/signin`. Every no takes the same path: the prologue's
    /// reads and its one password evaluation, the device read when a token
    /// is presented (whoever the user turns out to be), and the one write of
    /// `refuse`.
    pub async fn signin(&self, ctx: &Context, req: &SigninRequest) -> Result<Decision, Error> {
        let presented = req
            .device_token
            .as_ref()
            .map(|t| DeviceToken::parse(t.expose()))
            .transpose()?;
        if req.app.is_empty() || req.app.len() > 100 {
            return Err(Error::invalid(
                "invalid_app",
                "app must be 1-100 characters",
            ));
        }
        let now = self.clock.now();
        // The browser's address and agent, as the application saw them.
        let ctx = Context {
            actor: ctx.actor.clone(),
            client_ip: req.client_ip.clone(),
            user_agent: req.user_agent.clone(),
        };
        let subject = self
            .subject(&req.username, Some(req.password.expose()), now)
            .await?;
        let device = match &presented {
            Some(t) => self.store.device(&t.id).await?,
            None => None,
        };
        let Some(user) = subject.ready() else {
            let ev = Event::new(&ctx, now, "signin", "reject").user(&req.username);
            // For a real account, the attempt goes into its history: from a
            // device of its own or not, as the token says.
            let own = device
                .as_ref()
                .filter(|d| d.revoked_at.is_none() && subject.is_account(d.user_id));
            let history = SigninRecord {
                user_id: 0,
                at: now,
                result: "reject".into(),
                app: req.app.clone(),
                client_ip: req.client_ip.clone(),
                device_name: Some(own.map_or_else(
                    || device_name(req.user_agent.as_deref()),
                    |d| d.name.clone(),
                )),
                new_device: own.is_none(),
                factor: None,
            };
            self.refuse_with(
                &subject,
                ev,
                "wrong_password",
                Vec::new(),
                Some(history),
                now,
            )
            .await?;
            return Ok(Decision::Reject);
        };
        let record = |result: &str, device: Option<&Device>, factor: Option<&str>| SigninRecord {
            user_id: user.id,
            at: now,
            result: result.to_owned(),
            app: req.app.clone(),
            client_ip: req.client_ip.clone(),
            device_name: Some(device.map_or_else(
                || device_name(req.user_agent.as_deref()),
                |d| d.name.clone(),
            )),
            new_device: device.is_none(),
            factor: factor.map(str::to_owned),
        };
        let known = device.filter(|d| d.user_id == user.id && d.revoked_at.is_none());
        // A token used twice: no other device vouches for this one.
        let mut reused = false;
        if let (Some(t), Some(d)) = (&presented, known) {
            let hash = self.device_hash(&t.id, t.secret.expose());
            let current = ct_eq(hash.as_bytes(), d.secret_hash.as_bytes());
            let previous = d
                .previous_hash
                .as_ref()
                .is_some_and(|p| ct_eq(hash.as_bytes(), p.as_bytes()));
            if current && d.is_trusted(now, &self.signin) {
                let secret = random::token(DEVICE_SECRET_BYTES);
                let rotation = Rotation {
                    device_id: d.id.clone(),
                    old_hash: d.secret_hash.clone(),
                    new_hash: self.device_hash(&d.id, &secret),
                    ip: req.client_ip.clone(),
                    now,
                };
                let ev = Event::new(&ctx, now, "signin", "accept")
                    .user(user.username.as_str())
                    .reason("trusted_device");
                let rec = record("accept", Some(&d), Some("device"));
                if self.store.rotate_device(&rotation, &rec, &ev).await? {
                    return Ok(Decision::Accept {
                        device_token: Some(format!("{}.{secret}", d.id).into()),
                    });
                }
                // Another sign-in replaced this very secret first: the
                // token was used twice.
                self.revoke_reused(&ctx, user, &d, now).await?;
                reused = true;
            } else if previous {
                // A secret replaced before: a copy of the token is in use.
                self.revoke_reused(&ctx, user, &d, now).await?;
                reused = true;
            }
        }
        if !reused && self.signin.strength == Strength::Weak {
            let rec = record("accept", None, Some("network"));
            if let Some(accepted) = self
                .accept_on_trusted_network(&ctx, user, req, now, rec)
                .await?
            {
                return Ok(accepted);
            }
        }
        self.challenge_signin(
            &ctx,
            &subject,
            user,
            req,
            now,
            record("challenge", None, None),
        )
        .await
    }

    /// `[signin] strength = "weak"`: a device not remembered, signing in from
    /// the network of a device of the user still trusted (see
    /// `same_network`), is accepted without a second factor and remembered.
    /// `None` when no trusted device is in that network.
    async fn accept_on_trusted_network(
        &self,
        ctx: &Context,
        user: &User,
        req: &SigninRequest,
        now: Timestamp,
        record: SigninRecord,
    ) -> Result<Option<Decision>, Error> {
        let Some(ip) = req.client_ip.as_deref() else {
            return Ok(None);
        };
        let devices = self.store.devices_of_user(user.id).await?;
        let vouched = devices.iter().any(|d| {
            d.is_trusted(now, &self.signin)
                && d.last_ip.as_deref().is_some_and(|l| same_network(l, ip))
        });
        if !vouched {
            return Ok(None);
        }
        let (device, token) = self.new_device(
            user.id,
            device_name(req.user_agent.as_deref()),
            req.client_ip.clone(),
            now,
        );
        let ev = Event::new(ctx, now, "signin", "accept")
            .user(user.username.as_str())
            .reason("trusted_network");
        self.store
            .record_signin(&record, Some(&device), &ev)
            .await?;
        Ok(Some(Decision::Accept {
            device_token: Some(token),
        }))
    }

    /// A device to remember, and its token for the browser.
    fn new_device(
        &self,
        user_id: i64,
        name: String,
        ip: Option<String>,
        now: Timestamp,
    ) -> (Device, SecretString) {
        let id = random::token(DEVICE_ID_BYTES);
        let secret = random::token(DEVICE_SECRET_BYTES);
        let device = Device {
            secret_hash: self.device_hash(&id, &secret),
            previous_hash: None,
            user_id,
            name,
            created_at: now,
            last_seen_at: now,
            last_ip: ip,
            expires_at: now.plus_secs(self.signin.device_days * 86_400),
            revoked_at: None,
            revoked_reason: None,
            id: id.clone(),
        };
        (device, SecretString::from(format!("{id}.{secret}")))
    }

    async fn revoke_reused(
        &self,
        ctx: &Context,
        user: &User,
        d: &Device,
        now: Timestamp,
    ) -> Result<(), Error> {
        let ev = Event::new(ctx, now, "device.revoke", "success")
            .user(user.username.as_str())
            .reason("token_reused");
        self.store
            .revoke_devices(user.id, Some(&d.id), "token_reused", now, &ev)
            .await?;
        Ok(())
    }

    /// The right password from a device not trusted: the factors the user
    /// can answer now. A user without an authenticator app is sent a code
    /// to their email or SMS tokens, as `POST /v1/challenges` sends it.
    async fn challenge_signin(
        &self,
        ctx: &Context,
        subject: &Subject,
        user: &User,
        req: &SigninRequest,
        now: Timestamp,
        record: SigninRecord,
    ) -> Result<Decision, Error> {
        let kinds: Vec<TokenKind> = subject.tokens.iter().map(|t| t.params.kind).collect();
        let has_app = kinds.iter().any(|k| k.is_oath());
        let mut factors: Vec<String> = Vec::new();
        for k in kinds {
            let answerable = if has_app {
                k.is_oath()
            } else {
                k.is_out_of_band()
            };
            if answerable && !factors.iter().any(|f| f == k.as_str()) {
                factors.push(k.as_str().to_owned());
            }
        }
        if !has_app && !factors.is_empty() {
            let challenge = ChallengeRequest {
                username: req.username.clone(),
                ..ChallengeRequest::default()
            };
            match self.issue_challenge(ctx, subject, &challenge, now).await {
                // Throttled: the code sent moments ago still works.
                Ok(_) | Err(ChallengeError::Throttled { .. }) => {}
                Err(ChallengeError::Delivery(_)) => {}
                Err(ChallengeError::Other(e)) => return Err(e),
            }
        }
        for kind in [CodeKind::Backup, CodeKind::Emergency] {
            if self.store.remaining_codes(user.id, kind).await? > 0 {
                factors.push(kind.as_str().to_owned());
            }
        }
        let event = |result: &str, reason: &str| {
            Event::new(ctx, now, "signin", result)
                .user(user.username.as_str())
                .reason(reason)
        };
        if factors.is_empty() {
            // Nothing could answer: no second factor, no sign-in.
            let record = SigninRecord {
                result: "reject".into(),
                ..record
            };
            self.store
                .record_signin(&record, None, &event("reject", "no_second_factor"))
                .await?;
            return Ok(Decision::Reject);
        }
        let signin_id = random::token(SIGNIN_ID_BYTES);
        let pending = PendingSignin {
            id_hash: self.signin_hash(&signin_id),
            user_id: user.id,
            username: user.username.to_string(),
            app: req.app.clone(),
            client_ip: req.client_ip.clone(),
            user_agent: req.user_agent.clone(),
            factors: factors.join(","),
            created_at: now,
            expires_at: now.plus_secs(self.signin.answer_seconds),
        };
        self.store
            .open_signin(&pending, &record, &event("challenge", "new_device"))
            .await?;
        Ok(Decision::Challenge { signin_id, factors })
    }

    /// `POST /v1/signin/{signin_id}/answer`. The sign-in is spent by the
    /// first answer, right or wrong; the code is checked by `validate`.
    pub async fn answer_signin(&self, ctx: &Context, a: &Answer) -> Result<Decision, Error> {
        if let Some(f) = &a.factor
            && !FACTORS.contains(&f.as_str())
        {
            return Err(Error::invalid(
                "invalid_factor",
                format!("factor must be one of {}", FACTORS.join(", ")),
            ));
        }
        let now = self.clock.now();
        let taken = self
            .store
            .take_signin(&self.signin_hash(&a.signin_id))
            .await?;
        let Some(p) = taken.filter(|p| p.expires_at > now) else {
            let ev = Event::new(ctx, now, "signin.answer", "reject").reason("unknown_signin");
            self.store.append_audit(&ev).await?;
            return Ok(Decision::Reject);
        };
        let ctx = Context {
            actor: ctx.actor.clone(),
            client_ip: p.client_ip.clone(),
            user_agent: p.user_agent.clone(),
        };
        let event = |result: &str, reason: &str| {
            Event::new(&ctx, now, "signin.answer", result)
                .user(&p.username)
                .reason(reason)
        };
        let name = device_name(p.user_agent.as_deref());
        let mut record = SigninRecord {
            user_id: p.user_id,
            at: now,
            result: "reject".into(),
            app: p.app.clone(),
            client_ip: p.client_ip.clone(),
            device_name: Some(name.clone()),
            new_device: true,
            factor: a.factor.clone(),
        };
        if a.factor.as_ref().is_some_and(|f| !p.offers(f)) {
            self.store
                .record_signin(&record, None, &event("reject", "factor_not_offered"))
                .await?;
            return Ok(Decision::Reject);
        }
        let serial = match self
            .validate(&ctx, &p.username, a.code.expose(), None)
            .await?
        {
            Outcome::Accept { serial } => serial,
            Outcome::Reject => {
                // `validate` counted the failure and logged why.
                self.store
                    .record_signin(&record, None, &event("reject", "wrong_code"))
                    .await?;
                return Ok(Decision::Reject);
            }
        };
        let factor = match serial.as_str() {
            "backup-code" => "backup".to_owned(),
            "emergency-code" => "emergency".to_owned(),
            s => self
                .store
                .token_by_serial(s)
                .await?
                .map_or_else(|| "code".to_owned(), |t| t.params.kind.as_str().to_owned()),
        };
        record.result = "accept".into();
        record.factor = Some(factor.clone());
        let (device, token) = if a.remember_device {
            let (device, token) = self.new_device(p.user_id, name, p.client_ip.clone(), now);
            (Some(device), Some(token))
        } else {
            (None, None)
        };
        self.store
            .record_signin(&record, device.as_ref(), &event("accept", &factor))
            .await?;
        Ok(Decision::Accept {
            device_token: token,
        })
    }

    /// The user's remembered devices, revoked ones too, newest first.
    pub async fn devices(&self, username: &str) -> Result<Vec<Device>, Error> {
        let user = self.user(username).await?;
        Ok(self.store.devices_of_user(user.id).await?)
    }

    /// Revokes one device (`Some(id)`) or all of them; how many.
    pub async fn revoke_devices(
        &self,
        ctx: &Context,
        username: &str,
        device_id: Option<&str>,
    ) -> Result<u64, Error> {
        let user = self.user(username).await?;
        let now = self.clock.now();
        let ev = Event::new(ctx, now, "device.revoke", "success")
            .user(username)
            .reason("revoked");
        let n = self
            .store
            .revoke_devices(user.id, device_id, "revoked", now, &ev)
            .await?;
        if n == 0 && device_id.is_some() {
            return Err(Error::NotFound("device"));
        }
        Ok(n)
    }

    /// The user's sign-in decisions, newest first, with their row ids.
    pub async fn signins(
        &self,
        username: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, SigninRecord)>, Error> {
        let user = self.user(username).await?;
        Ok(self
            .store
            .signins_of_user(user.id, before, limit.clamp(1, 1000))
            .await?)
    }

    /// Deletes the sign-in decisions older than `[signin] history_days`;
    /// how many.
    pub async fn prune_signin_history(&self) -> Result<u64, Error> {
        let before = self
            .clock
            .now()
            .plus_secs(-self.signin.history_days * 86_400);
        Ok(self.store.prune_signins(before).await?)
    }
}
