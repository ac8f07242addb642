//! Errors of the domain layer. HTTP statuses are chosen at the edge, not here.

/// What a storage adapter can report; backend details stay in the message.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

/// The outcome of a domain operation that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing named does not exist (or the caller may not know it does).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique name is taken, or the state forbids the transition.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The request is well-formed but its content is wrong.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed secret failed to open: a wrong master key or a tampered row.
    #[error("a sealed secret could not be opened")]
    Unseal,
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }
}
