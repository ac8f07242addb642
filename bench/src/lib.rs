//! Load generator for Ichido: enrolls users with HOTP and TOTP tokens
//! through the API, then checks valid (never reused) and wrong codes over
//! HTTP or RADIUS, in closed or open loop, and reports throughput, latency
//! percentiles, error counts and the server's CPU and memory. The same
//! workload runs against privacyIDEA for comparison.

pub mod enroll;
pub mod flood;
pub mod fsync;
pub mod load;
pub mod report;
pub mod table;
pub mod target;
pub mod users;
