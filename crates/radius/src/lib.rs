//! RADIUS codec for Ichido: packets and attributes (RFC 2865 §3, §5),
//! Request/Response Authenticators (RFC 2865 §3, RFC 2866 §3), User-Password
//! hiding (RFC 2865 §5.2) and Message-Authenticator (RFC 3579 §3.2).
//!
//! Pure functions over octets: no sockets, no clock, no randomness. The
//! caller draws Request Authenticators and owns the UDP socket.
//!
//! A server answering an Access-Request:
//!
//! ```
//! use ichido_radius::{
//!     Code, MessageAuthCheck, Packet, decrypt_user_password, dictionary, verify_message_authenticator,
//!     verify_response,
//! };
//! # let secret = b"xyzzy5461";
//! # let mut req = Packet::new_access_request(7, [0x42; 16]);
//! # req.add_string(dictionary::USER_NAME, "nemo");
//! # let hidden = ichido_radius::encrypt_user_password(b"arctangent", secret, &req.authenticator).unwrap();
//! # req.add(dictionary::USER_PASSWORD, hidden);
//! # let datagram = req.encode_request(secret).unwrap();
//! let request = Packet::decode(&datagram)?;
//! assert_eq!(verify_message_authenticator(&datagram, secret), MessageAuthCheck::Valid);
//! let hidden = request.attr(dictionary::USER_PASSWORD).unwrap();
//! let password = decrypt_user_password(hidden, secret, &request.authenticator)?;
//! assert_eq!(password, b"arctangent");
//!
//! let mut accept = Packet::reply(&request, Code::AccessAccept);
//! accept.add_string(dictionary::REPLY_MESSAGE, "welcome");
//! let answer = accept.encode_response(&request.authenticator, secret)?;
//! assert!(verify_response(&answer, &request.authenticator, secret));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod attribute;
mod auth;
mod code;
pub mod dictionary;
mod error;
mod message_authenticator;
mod packet;

pub use attribute::{Attribute, MAX_ATTRIBUTE_VALUE_LEN, VendorAttribute, VendorSpecific};
pub use auth::{
    MAX_USER_PASSWORD_LEN, decrypt_user_password, encrypt_user_password, response_authenticator,
    verify_accounting_request, verify_response,
};
pub use code::Code;
pub use error::{DecodeError, EncodeError};
pub use message_authenticator::{MessageAuthCheck, verify_message_authenticator};
pub use packet::{HEADER_LEN, MAX_PACKET_LEN, Packet};
