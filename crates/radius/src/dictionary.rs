//! Attribute Type numbers (RFC 2865 §5, RFC 2866 §5, RFC 2869 §5, RFC 3162,
//! RFC 3579 §3). Only the numbers: values stay raw octets in
//! [`Attribute`](crate::Attribute).

/// User-Name, type 1 (RFC 2865 §5.1).
pub const USER_NAME: u8 = 1;
/// User-Password, type 2 (RFC 2865 §5.2); hidden with [`crate::encrypt_user_password`].
pub const USER_PASSWORD: u8 = 2;
/// CHAP-Password, type 3 (RFC 2865 §5.3).
pub const CHAP_PASSWORD: u8 = 3;
/// NAS-IP-Address, type 4 (RFC 2865 §5.4).
pub const NAS_IP_ADDRESS: u8 = 4;
/// NAS-Port, type 5 (RFC 2865 §5.5).
pub const NAS_PORT: u8 = 5;
/// Service-Type, type 6 (RFC 2865 §5.6).
pub const SERVICE_TYPE: u8 = 6;
/// Framed-Protocol, type 7 (RFC 2865 §5.7).
pub const FRAMED_PROTOCOL: u8 = 7;
/// Framed-IP-Address, type 8 (RFC 2865 §5.8).
pub const FRAMED_IP_ADDRESS: u8 = 8;
/// Framed-IP-Netmask, type 9 (RFC 2865 §5.9).
pub const FRAMED_IP_NETMASK: u8 = 9;
/// Framed-Routing, type 10 (RFC 2865 §5.10).
pub const FRAMED_ROUTING: u8 = 10;
/// Filter-Id, type 11 (RFC 2865 §5.11).
pub const FILTER_ID: u8 = 11;
/// Framed-MTU, type 12 (RFC 2865 §5.12).
pub const FRAMED_MTU: u8 = 12;
/// Framed-Compression, type 13 (RFC 2865 §5.13).
pub const FRAMED_COMPRESSION: u8 = 13;
/// Login-IP-Host, type 14 (RFC 2865 §5.14).
pub const LOGIN_IP_HOST: u8 = 14;
/// Login-Service, type 15 (RFC 2865 §5.15).
pub const LOGIN_SERVICE: u8 = 15;
/// Reply-Message, type 18 (RFC 2865 §5.18).
pub const REPLY_MESSAGE: u8 = 18;
/// State, type 24 (RFC 2865 §5.24): echoed unmodified in the Access-Request
/// that answers an Access-Challenge.
pub const STATE: u8 = 24;
/// Class, type 25 (RFC 2865 §5.25).
pub const CLASS: u8 = 25;
/// Vendor-Specific, type 26 (RFC 2865 §5.26); read with
/// [`Attribute::vendor_specific`](crate::Attribute::vendor_specific).
pub const VENDOR_SPECIFIC: u8 = 26;
/// Session-Timeout, type 27 (RFC 2865 §5.27).
pub const SESSION_TIMEOUT: u8 = 27;
/// Idle-Timeout, type 28 (RFC 2865 §5.28).
pub const IDLE_TIMEOUT: u8 = 28;
/// Termination-Action, type 29 (RFC 2865 §5.29).
pub const TERMINATION_ACTION: u8 = 29;
/// Called-Station-Id, type 30 (RFC 2865 §5.30).
pub const CALLED_STATION_ID: u8 = 30;
/// Calling-Station-Id, type 31 (RFC 2865 §5.31).
pub const CALLING_STATION_ID: u8 = 31;
/// NAS-Identifier, type 32 (RFC 2865 §5.32).
pub const NAS_IDENTIFIER: u8 = 32;
/// Proxy-State, type 33 (RFC 2865 §5.33): copied unmodified and in order
/// into the reply by [`Packet::reply`](crate::Packet::reply).
pub const PROXY_STATE: u8 = 33;
/// Acct-Status-Type, type 40 (RFC 2866 §5.1).
pub const ACCT_STATUS_TYPE: u8 = 40;
/// Acct-Session-Id, type 44 (RFC 2866 §5.5).
pub const ACCT_SESSION_ID: u8 = 44;
/// Event-Timestamp, type 55 (RFC 2869 §5.3).
pub const EVENT_TIMESTAMP: u8 = 55;
/// CHAP-Challenge, type 60 (RFC 2865 §5.40).
pub const CHAP_CHALLENGE: u8 = 60;
/// NAS-Port-Type, type 61 (RFC 2865 §5.41).
pub const NAS_PORT_TYPE: u8 = 61;
/// Connect-Info, type 77 (RFC 2869 §5.11).
pub const CONNECT_INFO: u8 = 77;
/// EAP-Message, type 79 (RFC 3579 §3.1).
pub const EAP_MESSAGE: u8 = 79;
/// Message-Authenticator, type 80 (RFC 3579 §3.2; RFC 2869 §5.14): an
/// HMAC-MD5 over the whole packet, 16 octets.
pub const MESSAGE_AUTHENTICATOR: u8 = 80;
/// NAS-Port-Id, type 87 (RFC 2869 §5.17).
pub const NAS_PORT_ID: u8 = 87;
/// NAS-IPv6-Address, type 95 (RFC 3162 §2.1).
pub const NAS_IPV6_ADDRESS: u8 = 95;
