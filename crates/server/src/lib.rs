//! The Ichido server: configuration, the HTTP API, and the wiring that
//! starts them. The `ichido` binary and the end-to-end tests share it.

pub mod app;
pub mod config;
pub mod delivery;
pub mod http;
pub mod import;
pub mod logging;
pub mod metrics;
pub mod passwords;
pub mod radius;
