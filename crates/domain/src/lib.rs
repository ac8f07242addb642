//! The domain of Ichido: users, tokens and their life cycle, the validation
//! policy (windows, drift, replay, lockout), audit events, and the ports the
//! adapters implement (`Store`, `Clock`). No SQL, no HTTP, no async runtime.

pub mod audit;
pub mod challenge;
pub mod clock;
pub mod error;
pub mod ids;
pub mod notify;
pub mod password;
pub mod policy;
pub mod recovery;
pub mod reset;
pub mod service;
pub mod signin;
pub mod store;
pub mod token;
pub mod two_step;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{Error, StoreError};
pub use ids::{Serial, Username};
pub use store::Store;
