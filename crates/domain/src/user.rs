//! Account holders and the roles of API callers.

use crate::clock::Timestamp;
use crate::ids::Username;

#[derive(Clone, Debug)]
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

#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub username: Option<Username>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
}

/// Fields to change; `Some(None)` clears an optional field.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub display_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub password_hash: Option<Option<String>>,
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
