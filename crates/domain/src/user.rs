//! Account holders and the roles of API callers.

use std::fmt;

use crate::clock::Timestamp;
use crate::ids::Username;

/// `Debug` is written by hand for the user types: a password hash can be
/// attacked offline, so it never reaches a log; only whether there is one.
#[derive(Clone)]
pub struct User {
    pub id: i64,
    pub username: Username,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Argon2id PHC string; `None` when the user has no static password.
    pub password_hash: Option<String>,
    /// Consecutive failed validations since the last success or lockout.
    pub failed_count: i64,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[derive(Clone, Default)]
pub struct NewUser {
    pub username: Option<Username>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
}

/// Fields to change; `Some(None)` clears an optional field.
#[derive(Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub password_hash: Option<Option<String>>,
}

/// What a log may say of a password hash.
fn hash_shown(hash: Option<&String>) -> Option<&'static str> {
    hash.map(|_| "**redacted**")
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("password_hash", &hash_shown(self.password_hash.as_ref()))
            .field("failed_count", &self.failed_count)
            .field("locked_until", &self.locked_until)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("password_hash", &hash_shown(self.password_hash.as_ref()))
            .finish()
    }
}

impl fmt::Debug for UserPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserPatch")
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|h| hash_shown(h.as_ref())),
            )
            .finish()
    }
}

/// What an API key may do. Each role is a strict subset of the one before.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Only `/v1/validate` and `/v1/challenges`: what a gateway holds.
    Validator,
    /// Read users and tokens, disable, unlock; no secrets, no key management.
    Helpdesk,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Helpdesk => "helpdesk",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "validator" => Some(Role::Validator),
            "helpdesk" => Some(Role::Helpdesk),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    /// Set once revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_holds_a_password_hash() {
        let phc = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        let new = NewUser {
            password_hash: Some(phc.to_owned()),
            ..NewUser::default()
        };
        let patch = UserPatch {
            password_hash: Some(Some(phc.to_owned())),
            ..UserPatch::default()
        };
        for shown in [format!("{new:?}"), format!("{patch:?}")] {
            assert!(!shown.contains("argon2id"), "{shown}");
            assert!(shown.contains("**redacted**"), "{shown}");
        }
    }
}
