//! What the process-level tests share: the `ichido` binary as a child
//! process, an API client with independently computed codes, and direct
//! access to the databases behind the server.

pub mod api;
pub mod postgres;
pub mod process;
pub mod sqlite;
