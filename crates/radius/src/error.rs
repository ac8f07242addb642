//! The two error types of the codec: one for bytes coming in, one for bytes
//! going out. Each message quotes the rule it enforces.

/// Why received bytes are not a well-formed RADIUS packet (RFC 2865 §3, §5)
/// or a well-formed hidden User-Password (RFC 2865 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// RFC 2865 §3: the header alone is 20 octets.
    #[error("{received} octets is shorter than the 20-octet RADIUS header (RFC 2865 §3)")]
    TooShort {
        /// Octets received.
        received: usize,
    },
    /// RFC 2865 §3: "The minimum length is 20 and maximum length is 4096."
    #[error("Length field {length} is outside 20..=4096 (RFC 2865 §3)")]
    LengthOutOfRange {
        /// The Length field as read.
        length: u16,
    },
    /// RFC 2865 §3: "If the packet is shorter than the Length field indicates,
    /// it MUST be silently discarded."
    #[error("Length field says {length} octets but only {received} were received (RFC 2865 §3)")]
    Truncated {
        /// The Length field as read.
        length: u16,
        /// Octets received.
        received: usize,
    },
    /// RFC 2865 §5: an attribute's Length counts its Type and Length octets,
    /// so it is at least 2.
    #[error("attribute at offset {offset} has Length {length}, less than 2 (RFC 2865 §5)")]
    AttributeTooShort {
        /// Offset of the attribute's Type octet in the packet.
        offset: usize,
        /// The attribute's Length octet (0 when the packet ends after the Type).
        length: u8,
    },
    /// RFC 2865 §5: an attribute must fit inside the packet's Length.
    #[error(
        "attribute at offset {offset} with Length {length} runs past the packet end (RFC 2865 §5)"
    )]
    AttributeOverrun {
        /// Offset of the attribute's Type octet in the packet.
        offset: usize,
        /// The attribute's Length octet.
        length: u8,
    },
    /// RFC 2865 §5.2: the hidden password is 16 to 128 octets, a multiple of 16.
    #[error(
        "hidden User-Password of {length} octets is not a multiple of 16 in 16..=128 (RFC 2865 §5.2)"
    )]
    UserPasswordLength {
        /// Length of the hidden value.
        length: usize,
    },
}

/// Why a packet or attribute cannot be put on the wire (RFC 2865 §3, §5, §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// RFC 2865 §5: the Length octet holds at most 255, so a value holds at most 253.
    #[error("attribute {typ} has a {length}-octet value; at most 253 fit (RFC 2865 §5)")]
    AttributeTooLong {
        /// The attribute's Type.
        typ: u8,
        /// The value's length.
        length: usize,
    },
    /// RFC 2865 §3: "The minimum length is 20 and maximum length is 4096."
    #[error("packet would be {length} octets; at most 4096 are allowed (RFC 2865 §3)")]
    PacketTooLong {
        /// The length the packet would have had.
        length: usize,
    },
    /// RFC 2865 §5.2: "the password ... with a maximum length of 128 octets".
    #[error("User-Password of {length} octets is longer than 128 (RFC 2865 §5.2)")]
    PasswordTooLong {
        /// The password's length.
        length: usize,
    },
}
