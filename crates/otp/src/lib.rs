//! The OATH engine of Ichido: HOTP (RFC 4226), TOTP (RFC 6238) and OCRA (RFC 6287), base32
//! (RFC 4648), `otpauth://` Key URIs and their QR codes.
//!
//! Pure: no I/O, no clock, no async. Time is an argument; randomness comes from an injected
//! [`rand::RngCore`] (or the operating system through [`Secret::generate`]). Verification returns
//! which counter or time step matched ([`Verified`]), never a bare bool, so that callers can
//! refuse replays; codes are compared in constant time as fixed-length digit strings.

#![warn(missing_docs)]

mod algorithm;
pub mod base32;
mod code;
mod hotp;
mod mac;
pub mod ocra;
pub mod qr;
mod secret;
mod totp;
mod uri;
mod window;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use base32::Base32Error;
pub use code::{Code, CodeError, Digits, DigitsError};
pub use hotp::Hotp;
pub use qr::QrError;
pub use secret::{HexError, Secret};
pub use totp::{Totp, TotpError};
pub use uri::{KeyUri, UriError, UriKind};
pub use window::{Verified, Window};
