//! The packet Code octet (RFC 2865 §3, §4; RFC 2866 §4).

/// The Code field of a RADIUS packet (RFC 2865 §3).
///
/// `From<u8>` maps the known values to their named variant and everything
/// else to [`Code::Other`], so `Code::from(b)` round-trips through `u8`.
/// Build `Other` only with values that have no named variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Access-Request, code 1 (RFC 2865 §4.1).
    AccessRequest,
    /// Access-Accept, code 2 (RFC 2865 §4.2).
    AccessAccept,
    /// Access-Reject, code 3 (RFC 2865 §4.3).
    AccessReject,
    /// Accounting-Request, code 4 (RFC 2866 §4.1).
    AccountingRequest,
    /// Accounting-Response, code 5 (RFC 2866 §4.2).
    AccountingResponse,
    /// Access-Challenge, code 11 (RFC 2865 §4.4).
    AccessChallenge,
    /// Status-Server, code 12 (RFC 2865 §3, experimental; RFC 5997).
    StatusServer,
    /// Status-Client, code 13 (RFC 2865 §3, experimental).
    StatusClient,
    /// Any other code (RFC 2865 §3: unknown codes are silently discarded by
    /// the receiver; the codec keeps them so the caller decides).
    Other(u8),
}

impl From<u8> for Code {
    /// Reads the Code octet (RFC 2865 §3).
    fn from(value: u8) -> Self {
        match value {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            12 => Code::StatusServer,
            13 => Code::StatusClient,
            other => Code::Other(other),
        }
    }
}

impl From<Code> for u8 {
    /// Writes the Code octet (RFC 2865 §3).
    fn from(code: Code) -> Self {
        match code {
            Code::AccessRequest => 1,
            Code::AccessAccept => 2,
            Code::AccessReject => 3,
            Code::AccountingRequest => 4,
            Code::AccountingResponse => 5,
            Code::AccessChallenge => 11,
            Code::StatusServer => 12,
            Code::StatusClient => 13,
            Code::Other(other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn every_octet_round_trips_through_code() {
        for b in 0..=u8::MAX {
            assert_eq!(u8::from(Code::from(b)), b);
        }
    }

    #[test]
    fn named_codes_have_their_rfc_values() {
        assert_eq!(Code::from(1), Code::AccessRequest);
        assert_eq!(Code::from(2), Code::AccessAccept);
        assert_eq!(Code::from(3), Code::AccessReject);
        assert_eq!(Code::from(4), Code::AccountingRequest);
        assert_eq!(Code::from(5), Code::AccountingResponse);
        assert_eq!(Code::from(11), Code::AccessChallenge);
        assert_eq!(Code::from(12), Code::StatusServer);
        assert_eq!(Code::from(13), Code::StatusClient);
        assert_eq!(Code::from(40), Code::Other(40));
    }
}
