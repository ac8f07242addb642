use ichido_crypto::{SecretString, random};

use super::Ichido;
use crate::audit::{Context, Event};
use crate::error::Error;
use crate::store::Store;
use crate::user::{ApiKey, Role};

/// A key as created: the plaintext exists only in this value.
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

/// Keys look like `ichido_<43 base64url chars>`: 256 bits of entropy, and a
/// prefix that secret scanners can recognise.
const PREFIX: &str = "ichido_";

impl<S: Store> Ichido<S> {
    /// The lookup hash of a presented key; `None` when it cannot be one of ours.
    pub fn api_key_hash(&self, secret: &str) -> Option<String> {
        (secret.starts_with(PREFIX) && secret.len() <= 128)
            .then(|| self.keyring.hasher("api-key").hash_hex(secret.as_bytes()))
    }

    pub async fn create_api_key(
        &self,
        ctx: &Context,
        name: &str,
        role: Role,
    ) -> Result<NewApiKey, Error> {
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "invalid_name",
                "name must be 1-64 printable characters",
            ));
        }
        let secret = format!("{PREFIX}{}", random::token(32));
        let now = self.clock.now();
        let mut ev = Event::new(ctx, now, "apikey.create", "success");
        ev.reason = Some(format!("{name}:{}", role.as_str()));
        let hash = self.keyring.hasher("api-key").hash_hex(secret.as_bytes());
        let key = self
            .store
            .create_api_key(name, role, &hash, now, &ev)
            .await?;
        Ok(NewApiKey {
            key,
            secret: SecretString::from(secret),
        })
    }

    /// The key a bearer token names, if any. Unknown and malformed keys look alike.
    pub async fn authenticate_api_key(&self, secret: &str) -> Result<Option<ApiKey>, Error> {
        match self.api_key_hash(secret) {
            Some(hash) => Ok(self.store.api_key_by_hash(&hash).await?),
            None => Ok(None),
        }
    }

    /// The key stored under a lookup hash (for callers that cache by hash).
    pub async fn store_api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, Error> {
        Ok(self.store.api_key_by_hash(hash).await?)
    }

    /// Every key, revoked ones too; never a secret or its hash.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>, Error> {
        Ok(self.store.list_api_keys().await?)
    }

    /// Revokes a key by id or, when `which` is not a number, by its name
    /// (which must then name exactly one key not yet revoked). It stops
    /// working at once on every node: keys are read on each request.
    pub async fn revoke_api_key(&self, ctx: &Context, which: &str) -> Result<ApiKey, Error> {
        let keys = self.store.list_api_keys().await?;
        let key = match which.parse::<i64>() {
            Ok(id) => keys.into_iter().find(|k| k.id == id),
            Err(_) => {
                let mut named: Vec<ApiKey> = keys
                    .into_iter()
                    .filter(|k| k.name == which && k.revoked_at.is_none())
                    .collect();
                if named.len() > 1 {
                    return Err(Error::conflict(
                        "ambiguous_name",
                        "several keys have this name; revoke by id",
                    ));
                }
                named.pop()
            }
        }
        .ok_or(Error::NotFound("api key"))?;
        let now = self.clock.now();
        let mut ev = Event::new(ctx, now, "apikey.revoke", "success");
        ev.reason = Some(format!("{}:{}:{}", key.id, key.name, key.role.as_str()));
        if !self.store.revoke_api_key(key.id, now, &ev).await? {
            return Err(Error::conflict(
                "already_revoked",
                "the key is revoked already",
            ));
        }
        Ok(ApiKey {
            revoked_at: Some(now),
            ..key
        })
    }

    /// On a brand-new installation: the first admin key, or nothing if any key exists.
    pub async fn bootstrap_admin_key(&self) -> Result<Option<NewApiKey>, Error> {
        if self.store.count_api_keys().await? > 0 {
            return Ok(None);
        }
        self.create_api_key(&Context::system(), "bootstrap-admin", Role::Admin)
            .await
            .map(Some)
    }
}
