//! Getting back in: backup codes and the emergency unlock code, lost tokens
//! with a temporary replacement, moving to a new phone, hardware tokens
//! imported from seed files, and the reports that find forgotten tokens.

use ichido_otp::{Algorithm, Secret};

use super::Ichido;
use super::subject::Subject;
use super::tokens::{Enrolled, key_uri};
use super::validation::Outcome;
use crate::audit::{Context, Event};
use crate::clock::Timestamp;
use crate::error::{Error, StoreError};
use crate::ids::Serial;
use crate::recovery::{CODE_ALPHABET, CodeKind, LostToken, group_code, normalize_code};
use crate::store::Store;
use crate::token::{NewToken, OathParams, Token, TokenKind, TokenState};
use crate::user::User;

/// How long a temporary replacement works unless the request says otherwise.
pub const DEFAULT_TEMPORARY_SECONDS: i64 = 7 * 24 * 3600;

/// What replaces a lost token for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    None,
    /// A TOTP seed shown once, active at once.
    Totp,
    /// Codes sent to the user's email address.
    Email,
}

#[derive(Clone, Debug)]
pub struct LostRequest {
    pub replacement: Replacement,
    /// Lifetime of the replacement; default 7 days.
    pub valid_seconds: Option<i64>,
}

pub struct LostResult {
    pub lost: Token,
    /// The temporary token; for a TOTP, its seed and Key URI, shown once.
    pub temporary: Option<Enrolled>,
}

/// One hardware token read from a seed file.
#[derive(Clone, Debug)]
pub struct ImportedToken {
    pub serial: String,
    pub secret: Vec<u8>,
    pub params: OathParams,
    /// HOTP: the counter of the next code the token shows.
    pub counter: Option<u64>,
    pub issuer: Option<String>,
}

/// `n` characters of [`CODE_ALPHABET`], 5 bits each from the OS CSPRNG.
pub(super) fn random_code(n: usize) -> String {
    ichido_crypto::random::bytes(n)
        .into_iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
        .collect()
}

impl<S: Store> Ichido<S> {
    pub(super) fn recovery_hash(&self, kind: CodeKind, user_id: i64, code: &str) -> String {
        self.keyring
            .hasher(kind.purpose())
            .hash_hex(format!("{user_id}:{code}").as_bytes())
    }

    /// A new set of codes of `kind`, shown this once; the old set is void.
    pub async fn new_recovery_codes(
        &self,
        ctx: &Context,
        username: &str,
        kind: CodeKind,
    ) -> Result<Vec<String>, Error> {
        let user = self.user(username).await?;
        let codes: Vec<String> = (0..kind.count())
            .map(|_| random_code(kind.chars()))
            .collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| self.recovery_hash(kind, user.id, c))
            .collect();
        let now = self.clock.now();
        let ev =
            Event::new(ctx, now, &format!("{}.create", kind.as_str()), "success").user(username);
        self.store
            .replace_codes(user.id, kind, &hashes, now, &ev)
            .await?;
        Ok(codes.iter().map(|c| group_code(c)).collect())
    }

    pub async fn remaining_codes(&self, username: &str, kind: CodeKind) -> Result<i64, Error> {
        let user = self.user(username).await?;
        Ok(self.store.remaining_codes(user.id, kind).await?)
    }

    /// A backup or emergency code in place of an OTP: used once, and the user
    /// (and, for the emergency code, the administrators' webhook) hears of it.
    /// `None` when the code is not one: the caller counts the failure.
    /// Tried for every subject, ready or not (then for an id that has no
    /// codes), so that a code of this shape costs the same hash and write.
    pub(super) async fn accept_recovery_code(
        &self,
        ctx: &Context,
        subject: &Subject,
        typed: &str,
        now: Timestamp,
    ) -> Result<Option<Outcome>, Error> {
        let Some((kind, code)) = normalize_code(typed) else {
            return Ok(None);
        };
        let user_id = subject.id();
        let hash = self.recovery_hash(kind, user_id, &code);
        let username = subject.ready().map(|u| u.username.as_str());
        let ev = Event::new(ctx, now, &format!("{}.use", kind.as_str()), "success")
            .user(username.unwrap_or_default())
            .reason("ok");
        if !self
            .store
            .consume_code(user_id, kind, &hash, now, &ev)
            .await?
        {
            return Ok(None);
        }
        let serial = Serial::parse(&format!("{}-code", kind.as_str()))?;
        Ok(Some(Outcome::Accept { serial }))
    }

    /// Marks a token lost: it stops working at once and its seed is erased.
    /// A temporary replacement can be issued in the same transaction.
    pub async fn mark_lost(
        &self,
        ctx: &Context,
        serial: &str,
        req: LostRequest,
    ) -> Result<LostResult, Error> {
        let t = self.token(serial).await?;
        let username = self.owner_name(&t).await?;
        let now = self.clock.now();
        let lifetime = req.valid_seconds.unwrap_or(DEFAULT_TEMPORARY_SECONDS);
        if !(60..=90 * 24 * 3600).contains(&lifetime) {
            return Err(Error::invalid(
                "invalid_validity",
                "a temporary token is valid for 1 minute to 90 days",
            ));
        }
        let valid_until = now.plus_secs(lifetime);
        let mut evs = vec![
            Event::new(ctx, now, "token.lost", "success")
                .user(&username)
                .serial(serial),
        ];
        let mut shown = None;
        let replacement = match req.replacement {
            Replacement::None => None,
            r => {
                let user = match t.user_id {
                    Some(id) => self.store.user_by_id(id).await?,
                    None => None,
                }
                .ok_or_else(|| {
                    Error::conflict(
                        "unassigned",
                        "an unassigned token has no one to replace it for",
                    )
                })?;
                let (new, secret) = self.temporary_token(&user, r)?;
                evs.push(
                    Event::new(ctx, now, "token.enroll", "success")
                        .user(&username)
                        .serial(new.serial.as_str())
                        .reason("temporary"),
                );
                shown = secret;
                Some(new)
            }
        };
        let lost = LostToken {
            token_id: t.id,
            replacement,
            valid_until: Some(valid_until),
            now,
        };
        let Some(temporary) = self.store.mark_lost(&lost, &evs).await? else {
            return Err(Error::conflict(
                "invalid_state",
                format!("a {} token cannot become lost", t.state.as_str()),
            ));
        };
        let temporary = temporary.map(|token| {
            let (secret, uri) = match &shown {
                Some(s) => (
                    s.to_base32(),
                    key_uri(
                        &token.params,
                        token.issuer.as_deref().unwrap_or_default(),
                        &username,
                        s.clone(),
                        0,
                    )
                    .to_string(),
                ),
                None => (String::new(), String::new()),
            };
            Enrolled { token, secret, uri }
        });
        Ok(LostResult {
            lost: self.token(serial).await?,
            temporary,
        })
    }

    fn temporary_token(
        &self,
        user: &User,
        r: Replacement,
    ) -> Result<(NewToken, Option<Secret>), Error> {
        let issuer = Some(self.settings.default_issuer.clone());
        let label = Some("temporary".to_owned());
        Ok(match r {
            Replacement::Email => {
                let address = user.email.clone().ok_or_else(|| {
                    Error::invalid("no_email", "the user has no email address for codes")
                })?;
                let params = OathParams {
                    kind: TokenKind::Email,
                    algorithm: Algorithm::Sha1,
                    digits: ichido_otp::Digits::new(self.challenge_policy().digits)
                        .unwrap_or_default(),
                    period: 30,
                };
                let new = NewToken {
                    serial: Serial::generate("email"),
                    user_id: Some(user.id),
                    params,
                    state: TokenState::Active,
                    label,
                    issuer,
                    sealed_secret: String::new(),
                    pending_until: None,
                    ocra_suite: None,
                    address: Some(address),
                };
                (new, None)
            }
            _ => {
                let params = OathParams {
                    kind: TokenKind::Totp,
                    algorithm: Algorithm::Sha1,
                    digits: ichido_otp::Digits::new(6).unwrap_or_default(),
                    period: 30,
                };
                let secret = Secret::generate(Algorithm::Sha1);
                let serial = Serial::generate("totp");
                let sealed = self
                    .keyring
                    .seal(secret.as_bytes(), &Token::secret_aad(&serial));
                let new = NewToken {
                    serial,
                    user_id: Some(user.id),
                    params,
                    state: TokenState::Active,
                    label,
                    issuer,
                    sealed_secret: sealed.to_text(),
                    pending_until: None,
                    ocra_suite: None,
                    address: None,
                };
                (new, Some(secret))
            }
        })
    }

    /// A new phone: a pending token of the same kind whose activation
    /// revokes the old one in the same transaction.
    pub async fn replace_token(&self, ctx: &Context, serial: &str) -> Result<Enrolled, Error> {
        let old = self.token(serial).await?;
        if !old.params.kind.is_oath() {
            return Err(Error::conflict(
                "invalid_type",
                "only hotp and totp tokens are replaced this way",
            ));
        }
        if !matches!(old.state, TokenState::Active | TokenState::Disabled) {
            return Err(Error::conflict(
                "invalid_state",
                format!("a {} token cannot be replaced", old.state.as_str()),
            ));
        }
        let username = self.owner_name(&old).await?;
        if username.is_empty() {
            return Err(Error::conflict(
                "unassigned",
                "an unassigned token has no one to replace it for",
            ));
        }
        let now = self.clock.now();
        let secret = Secret::generate(old.params.algorithm);
        let serial_new = Serial::generate(old.params.kind.as_str());
        let issuer = old
            .issuer
            .clone()
            .unwrap_or_else(|| self.settings.default_issuer.clone());
        let new = NewToken {
            serial: serial_new.clone(),
            user_id: old.user_id,
            params: old.params,
            state: TokenState::Pending,
            label: old.label.clone(),
            issuer: Some(issuer.clone()),
            sealed_secret: self
                .keyring
                .seal(secret.as_bytes(), &Token::secret_aad(&serial_new))
                .to_text(),
            pending_until: Some(now.plus_secs(self.policy.pending_seconds)),
            ocra_suite: None,
            address: None,
        };
        let ev = Event::new(ctx, now, "token.enroll", "success")
            .user(&username)
            .serial(serial_new.as_str())
            .reason("replacement");
        let token = self
            .store
            .create_replacement(&new, old.id, now, &ev)
            .await?;
        let uri = key_uri(&old.params, &issuer, &username, secret.clone(), 0).to_string();
        Ok(Enrolled {
            token,
            secret: secret.to_base32(),
            uri,
        })
    }

    /// Stores every token of a seed file or none. Imported tokens are active
    /// and unassigned until given to a user.
    pub async fn import_tokens(
        &self,
        ctx: &Context,
        tokens: Vec<ImportedToken>,
    ) -> Result<usize, Error> {
        if tokens.is_empty() {
            return Err(Error::invalid("empty_import", "the file holds no token"));
        }
        let now = self.clock.now();
        let mut rows = Vec::with_capacity(tokens.len());
        let mut evs = Vec::with_capacity(tokens.len());
        let mut seen = std::collections::HashSet::new();
        for (i, t) in tokens.iter().enumerate() {
            let at = |m: String| Error::invalid("invalid_import", format!("token {}: {m}", i + 1));
            let serial = Serial::parse(&t.serial).map_err(|e| at(e.to_string()))?;
            if !seen.insert(t.serial.clone()) {
                return Err(at(format!("serial {} appears twice", t.serial)));
            }
            if self.store.token_by_serial(&t.serial).await?.is_some() {
                return Err(at(format!("serial {} exists already", t.serial)));
            }
            if !(10..=128).contains(&t.secret.len()) {
                return Err(at("a seed must be 10-128 bytes (RFC 4226 §4)".into()));
            }
            if !t.params.kind.is_oath() {
                return Err(at("only hotp and totp tokens are imported".into()));
            }
            t.params.validate().map_err(|e| at(e.to_string()))?;
            let new = NewToken {
                serial: serial.clone(),
                user_id: None,
                params: t.params,
                state: TokenState::Active,
                label: None,
                issuer: t.issuer.clone(),
                sealed_secret: self
                    .keyring
                    .seal(&t.secret, &Token::secret_aad(&serial))
                    .to_text(),
                pending_until: None,
                ocra_suite: None,
                address: None,
            };
            // The next code shows counter C: everything below it counts as used.
            let last = t
                .counter
                .filter(|c| *c > 0 && t.params.kind == TokenKind::Hotp)
                .map(|c| c as i64 - 1);
            rows.push((new, last));
            evs.push(
                Event::new(ctx, now, "token.import", "success")
                    .serial(serial.as_str())
                    .reason("seed_file"),
            );
        }
        match self.store.import_tokens(&rows, now, &evs).await {
            Ok(()) => Ok(rows.len()),
            Err(StoreError::Conflict(_)) => Err(Error::conflict(
                "serial_exists",
                "a serial of the file was stored meanwhile; nothing was imported",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives an imported, unassigned token to a user.
    pub async fn assign_token(
        &self,
        ctx: &Context,
        serial: &str,
        username: &str,
    ) -> Result<Token, Error> {
        let t = self.token(serial).await?;
        let user = self.user(username).await?;
        if t.state.is_final() {
            return Err(Error::conflict(
                "invalid_state",
                format!("a {} token cannot be assigned", t.state.as_str()),
            ));
        }
        let ev = Event::new(ctx, self.clock.now(), "token.assign", "success")
            .user(username)
            .serial(serial);
        if !self.store.assign_token(t.id, user.id, &ev).await? {
            return Err(Error::conflict(
                "already_assigned",
                "the token belongs to a user already",
            ));
        }
        self.token(serial).await
    }

    /// Active tokens unused for `days` days.
    pub async fn stale_tokens(&self, days: i64) -> Result<Vec<Token>, Error> {
        if !(1..=3650).contains(&days) {
            return Err(Error::invalid("invalid_days", "days must be 1-3650"));
        }
        let before = self.clock.now().plus_secs(-days * 86_400);
        Ok(self.store.stale_tokens(before).await?)
    }

    pub async fn users_without_token(&self) -> Result<Vec<User>, Error> {
        Ok(self.store.users_without_token().await?)
    }
}
