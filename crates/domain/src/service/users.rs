use crate::password::HashJob;

use super::Ichido;
use crate::audit::{Context, Event, Query, Record};
use crate::error::{Error, StoreError};
use crate::ids::Username;
use crate::store::Store;
use crate::user::{NewUser, User, UserPatch};

#[derive(Clone, Debug, Default)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password: Option<String>,
}

fn check_email(email: &Option<String>) -> Result<(), Error> {
    match email {
        Some(e) if e.len() > 254 || !e.contains('@') || e.starts_with('@') || e.ends_with('@') => {
            Err(Error::invalid(
                "invalid_email",
                "email must look like name@domain",
            ))
        }
        _ => Ok(()),
    }
}

fn check_phone(phone: &Option<String>) -> Result<(), Error> {
    match phone {
        Some(p)
            if p.len() > 32
                || p.chars().filter(|c| c.is_ascii_digit()).count() < 5
                || !p
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            Err(Error::invalid(
                "invalid_phone",
                "phone must be digits with optional + - ( ) . and spaces",
            ))
        }
        _ => Ok(()),
    }
}

fn check_display_name(name: &Option<String>) -> Result<(), Error> {
    match name {
        Some(n) if n.chars().count() > 256 => Err(Error::invalid(
            "invalid_display_name",
            "display_name must be at most 256 characters",
        )),
        _ => Ok(()),
    }
}

impl<S: Store> Ichido<S> {
    async fn hash_password(&self, pw: &str) -> Result<String, Error> {
        if pw.is_empty() || pw.len() > 1024 {
            return Err(Error::invalid(
                "invalid_password",
                "password must be 1-1024 bytes",
            ));
        }
        self.passwords
            .hash(HashJob::new(pw, self.settings.password_cost))
            .await
            .map_err(|e| Error::invalid("invalid_password", e.to_string()))
    }

    pub async fn create_user(&self, ctx: &Context, req: CreateUserRequest) -> Result<User, Error> {
        let username = Username::parse(&req.username)?;
        check_email(&req.email)?;
        check_phone(&req.phone)?;
        check_display_name(&req.display_name)?;
        let password_hash = match req.password.as_deref() {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        let now = self.clock.now();
        let ev = Event::new(ctx, now, "user.create", "success").user(username.as_str());
        let new = NewUser {
            username: Some(username),
            display_name: req.display_name,
            email: req.email,
            phone: req.phone,
            password_hash,
        };
        self.store
            .create_user(&new, now, &ev)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    Error::conflict("user_exists", "a user with this username already exists")
                }
                e => e.into(),
            })
    }

    pub async fn user(&self, username: &str) -> Result<User, Error> {
        self.store
            .user_by_name(username)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    pub async fn list_users(
        &self,
        query: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>, Error> {
        Ok(self
            .store
            .list_users(query, after, limit.clamp(1, 1000))
            .await?)
    }

    pub async fn update_user(
        &self,
        ctx: &Context,
        username: &str,
        mut patch: UserPatch,
        new_password: Option<Option<String>>,
    ) -> Result<User, Error> {
        let user = self.user(username).await?;
        if let Some(e) = &patch.email {
            check_email(e)?;
        }
        if let Some(p) = &patch.phone {
            check_phone(p)?;
        }
        if let Some(d) = &patch.display_name {
            check_display_name(d)?;
        }
        if let Some(pw) = new_password {
            patch.password_hash = Some(match pw.as_deref() {
                Some(p) => Some(self.hash_password(p).await?),
                None => None,
            });
        }
        let now = self.clock.now();
        let action = if patch.password_hash.is_some() {
            "user.update.password"
        } else {
            "user.update"
        };
        let ev = Event::new(ctx, now, action, "success").user(username);
        Ok(self.store.update_user(user.id, &patch, now, &ev).await?)
    }

    pub async fn delete_user(&self, ctx: &Context, username: &str) -> Result<(), Error> {
        let user = self.user(username).await?;
        let now = self.clock.now();
        let ev = Event::new(ctx, now, "user.delete", "success").user(username);
        Ok(self.store.delete_user(user.id, now, &ev).await?)
    }

    pub async fn unlock_user(&self, ctx: &Context, username: &str) -> Result<(), Error> {
        let user = self.user(username).await?;
        let now = self.clock.now();
        let ev = Event::new(ctx, now, "user.unlock", "success").user(username);
        Ok(self.store.unlock_user(user.id, now, &ev).await?)
    }

    /// The audit log, newest first.
    pub async fn store_audit(&self, q: &Query) -> Result<Vec<Record>, Error> {
        Ok(self.store.audit_events(q).await?)
    }

    /// Sign-in attempts of one user, newest first.
    pub async fn history(
        &self,
        username: &str,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Record>, Error> {
        self.user(username).await?;
        let q = Query {
            username: Some(username.to_owned()),
            action: Some("validate".into()),
            before_seq,
            limit: limit.clamp(1, 1000),
            ..Default::default()
        };
        Ok(self.store.audit_events(&q).await?)
    }
}
