//! The packet: header + attributes, decoded from and encoded to octets
//! (RFC 2865 §3, §5). Authenticators are in `auth` and
//! `message_authenticator`; this module only frames.

use std::net::Ipv4Addr;

use crate::attribute::{Attribute, MAX_ATTRIBUTE_VALUE_LEN};
use crate::code::Code;
use crate::error::{DecodeError, EncodeError};

/// Octets in the header: Code, Identifier, Length, Authenticator (RFC 2865 §3).
pub const HEADER_LEN: usize = 20;

/// Largest packet, and largest Length field value (RFC 2865 §3).
pub const MAX_PACKET_LEN: usize = 4096;

/// Offset of the 16-octet Authenticator field (RFC 2865 §3).
pub(crate) const AUTHENTICATOR: std::ops::Range<usize> = 4..20;

/// A RADIUS packet (RFC 2865 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The Code field (RFC 2865 §3).
    pub code: Code,
    /// The Identifier field, which matches requests and replies (RFC 2865 §3).
    pub identifier: u8,
    /// The Authenticator field: a Request or Response Authenticator (RFC 2865 §3).
    pub authenticator: [u8; 16],
    /// The attributes, in wire order (RFC 2865 §5: order of attributes of
    /// the same type is significant).
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// An empty packet (RFC 2865 §3).
    pub fn new(code: Code, identifier: u8, authenticator: [u8; 16]) -> Self {
        Packet {
            code,
            identifier,
            authenticator,
            attributes: Vec::new(),
        }
    }

    /// Parses a packet (RFC 2865 §3): the Length field must be in 20..=4096
    /// and no larger than the octets received; octets past Length are padding
    /// and ignored; every attribute must have Length >= 2 and end inside the
    /// packet (RFC 2865 §5). Never panics.
    pub fn decode(raw: &[u8]) -> Result<Packet, DecodeError> {
        let packet = frame(raw)?;
        let attributes = RawAttributes::new(packet)
            .map(|r| r.map(|a| Attribute::new(a.typ, a.value)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Packet {
            code: Code::from(packet[0]),
            identifier: packet[1],
            authenticator: authenticator_of(packet),
            attributes,
        })
    }

    /// Writes the packet as it stands, Authenticator field included
    /// (RFC 2865 §3). Fails when a value exceeds 253 octets (RFC 2865 §5)
    /// or the packet exceeds 4096 (RFC 2865 §3).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        write(
            self.code,
            self.identifier,
            &self.authenticator,
            self.attributes.iter(),
        )
    }

    /// The value of the first attribute of Type `typ` (RFC 2865 §5).
    pub fn attr(&self, typ: u8) -> Option<&[u8]> {
        self.attrs(typ).next()
    }

    /// The values of every attribute of Type `typ`, in wire order (RFC 2865 §5).
    pub fn attrs(&self, typ: u8) -> impl Iterator<Item = &[u8]> {
        self.attributes
            .iter()
            .filter(move |a| a.typ == typ)
            .map(|a| a.value.as_slice())
    }

    /// The first attribute of Type `typ` read as text (RFC 2865 §5 "text":
    /// UTF-8; invalid sequences are replaced, not refused).
    pub fn string(&self, typ: u8) -> Option<String> {
        self.attr(typ)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The first attribute of Type `typ` read as a 32-bit "integer"
    /// (RFC 2865 §5); `None` unless the value is exactly 4 octets.
    pub fn u32(&self, typ: u8) -> Option<u32> {
        let v: [u8; 4] = self.attr(typ)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    /// The first attribute of Type `typ` read as an "address" (RFC 2865 §5);
    /// `None` unless the value is exactly 4 octets.
    pub fn ipv4(&self, typ: u8) -> Option<Ipv4Addr> {
        let v: [u8; 4] = self.attr(typ)?.try_into().ok()?;
        Some(Ipv4Addr::from(v))
    }

    /// Appends an attribute (RFC 2865 §5); lengths are checked by `encode`.
    pub fn add(&mut self, typ: u8, value: impl Into<Vec<u8>>) -> &mut Self {
        self.attributes.push(Attribute::new(typ, value));
        self
    }

    /// Appends a "text" attribute, UTF-8 (RFC 2865 §5).
    pub fn add_string(&mut self, typ: u8, value: &str) -> &mut Self {
        self.add(typ, value.as_bytes())
    }

    /// Appends an "integer" attribute, 32 bits big-endian (RFC 2865 §5).
    pub fn add_u32(&mut self, typ: u8, value: u32) -> &mut Self {
        self.add(typ, value.to_be_bytes())
    }

    /// Appends an "address" attribute, 4 octets (RFC 2865 §5).
    pub fn add_ipv4(&mut self, typ: u8, value: Ipv4Addr) -> &mut Self {
        self.add(typ, value.octets())
    }
}

/// Writes a header and the given attributes (RFC 2865 §3, §5).
pub(crate) fn write<'a>(
    code: Code,
    identifier: u8,
    authenticator: &[u8; 16],
    attributes: impl Iterator<Item = &'a Attribute>,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    out.push(u8::from(code));
    out.push(identifier);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(authenticator);
    for attribute in attributes {
        let length = attribute.value.len();
        if length > MAX_ATTRIBUTE_VALUE_LEN {
            return Err(EncodeError::AttributeTooLong {
                typ: attribute.typ,
                length,
            });
        }
        if out.len() + 2 + length > MAX_PACKET_LEN {
            return Err(EncodeError::PacketTooLong {
                length: out.len() + 2 + length,
            });
        }
        out.push(attribute.typ);
        // At most 255: checked against MAX_ATTRIBUTE_VALUE_LEN above.
        out.push((length + 2) as u8);
        out.extend_from_slice(&attribute.value);
    }
    // At most 4096: checked against MAX_PACKET_LEN above.
    let total = (out.len() as u16).to_be_bytes();
    out[2..4].copy_from_slice(&total);
    Ok(out)
}

/// Checks the header and every attribute (RFC 2865 §3, §5) and returns the
/// packet without its padding.
pub(crate) fn frame(raw: &[u8]) -> Result<&[u8], DecodeError> {
    let [_, _, hi, lo, ..] = *raw else {
        return Err(DecodeError::TooShort {
            received: raw.len(),
        });
    };
    if raw.len() < HEADER_LEN {
        return Err(DecodeError::TooShort {
            received: raw.len(),
        });
    }
    let length = u16::from_be_bytes([hi, lo]);
    if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&usize::from(length)) {
        return Err(DecodeError::LengthOutOfRange { length });
    }
    let packet = raw
        .get(..usize::from(length))
        .ok_or(DecodeError::Truncated {
            length,
            received: raw.len(),
        })?;
    for attribute in RawAttributes::new(packet) {
        attribute?;
    }
    Ok(packet)
}

/// The Authenticator field of a packet at least 20 octets long.
pub(crate) fn authenticator_of(packet: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&packet[AUTHENTICATOR]);
    out
}

/// One attribute as found in the octets (RFC 2865 §5).
pub(crate) struct RawAttribute<'a> {
    /// Offset of the Type octet within the packet.
    pub offset: usize,
    pub typ: u8,
    pub value: &'a [u8],
}

/// Walks the attributes of a packet whose header is already checked; yields
/// an error once, at the first malformed attribute, then stops.
pub(crate) struct RawAttributes<'a> {
    packet: &'a [u8],
    offset: usize,
}

impl<'a> RawAttributes<'a> {
    pub(crate) fn new(packet: &'a [u8]) -> Self {
        RawAttributes {
            packet,
            offset: HEADER_LEN,
        }
    }
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = Result<RawAttribute<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.offset;
        let rest = self.packet.get(offset..).filter(|r| !r.is_empty())?;
        // Stop after this item whatever happens, unless it is well-formed.
        self.offset = self.packet.len();
        let (typ, length) = match *rest {
            [typ, length, ..] => (typ, length),
            [_] => return Some(Err(DecodeError::AttributeTooShort { offset, length: 0 })),
            [] => return None,
        };
        if length < 2 {
            return Some(Err(DecodeError::AttributeTooShort { offset, length }));
        }
        let Some(value) = rest.get(2..usize::from(length)) else {
            return Some(Err(DecodeError::AttributeOverrun { offset, length }));
        };
        self.offset = offset + usize::from(length);
        Some(Ok(RawAttribute { offset, typ, value }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u16) -> Vec<u8> {
        let mut p = vec![1, 7];
        p.extend_from_slice(&length.to_be_bytes());
        p.extend_from_slice(&[0xaa; 16]);
        p
    }

    #[test]
    fn fewer_than_twenty_octets_is_too_short() {
        for n in 0..HEADER_LEN {
            let raw = vec![0u8; n];
            assert_eq!(
                Packet::decode(&raw),
                Err(DecodeError::TooShort { received: n })
            );
        }
    }

    #[test]
    fn length_field_outside_20_to_4096_is_refused() {
        for length in [0u16, 19, 4097, u16::MAX] {
            let mut raw = header(length);
            raw.resize(5000, 0);
            assert_eq!(
                Packet::decode(&raw),
                Err(DecodeError::LengthOutOfRange { length })
            );
        }
    }

    #[test]
    fn fewer_octets_than_length_is_truncated() {
        let raw = header(21);
        assert_eq!(
            Packet::decode(&raw),
            Err(DecodeError::Truncated {
                length: 21,
                received: 20
            })
        );
    }

    #[test]
    fn octets_beyond_length_are_padding_and_ignored() {
        let mut raw = header(26);
        raw.extend_from_slice(&[1, 6, b'n', b'e', b'm', b'o']);
        raw.extend_from_slice(&[0x55; 40]);
        let p = Packet::decode(&raw).unwrap();
        assert_eq!(p.attributes, vec![Attribute::new(1, "nemo")]);
        assert_eq!(p.encode().unwrap(), raw[..26]);
    }

    #[test]
    fn attribute_length_below_two_is_refused() {
        for length in [0u8, 1] {
            let mut raw = header(22);
            raw.extend_from_slice(&[1, length]);
            assert_eq!(
                Packet::decode(&raw),
                Err(DecodeError::AttributeTooShort { offset: 20, length })
            );
        }
        // A lone Type octet at the end has no Length at all.
        let mut raw = header(21);
        raw.push(1);
        assert_eq!(
            Packet::decode(&raw),
            Err(DecodeError::AttributeTooShort {
                offset: 20,
                length: 0
            })
        );
    }

    #[test]
    fn attribute_running_past_length_is_refused_even_into_padding() {
        let mut raw = header(24);
        raw.extend_from_slice(&[1, 6, b'a', b'b', b'c', b'd']);
        assert_eq!(
            Packet::decode(&raw),
            Err(DecodeError::AttributeOverrun {
                offset: 20,
                length: 6
            })
        );
    }

    #[test]
    fn value_over_253_octets_does_not_encode() {
        let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
        p.add(18, vec![b'x'; 253]);
        assert_eq!(p.encode().unwrap().len(), 20 + 255);
        p.add(18, vec![b'x'; 254]);
        assert_eq!(
            p.encode(),
            Err(EncodeError::AttributeTooLong {
                typ: 18,
                length: 254
            })
        );
    }

    #[test]
    fn packet_over_4096_octets_does_not_encode() {
        let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
        // 16 * 255 = 4080, + 20 = 4100.
        for _ in 0..16 {
            p.add(18, vec![b'x'; 253]);
        }
        assert!(matches!(
            p.encode(),
            Err(EncodeError::PacketTooLong { length: 4100 })
        ));
        p.attributes.pop();
        p.add(18, vec![b'x'; 249]);
        let raw = p.encode().unwrap();
        assert_eq!(raw.len(), MAX_PACKET_LEN);
        assert_eq!(Packet::decode(&raw).unwrap(), p);
    }

    #[test]
    fn typed_accessors_read_what_the_adders_wrote() {
        let mut p = Packet::new(Code::AccessRequest, 1, [0; 16]);
        p.add_string(1, "nemo")
            .add_u32(5, 3)
            .add_ipv4(4, Ipv4Addr::new(192, 168, 1, 16))
            .add(33, [1])
            .add(33, [2]);
        assert_eq!(p.string(1).as_deref(), Some("nemo"));
        assert_eq!(p.u32(5), Some(3));
        assert_eq!(p.ipv4(4), Some(Ipv4Addr::new(192, 168, 1, 16)));
        assert_eq!(
            p.attrs(33).collect::<Vec<_>>(),
            vec![&[1u8][..], &[2u8][..]]
        );
        assert_eq!(p.u32(1), Some(u32::from_be_bytes(*b"nemo")));
        assert_eq!(p.u32(33), None);
        assert_eq!(p.ipv4(33), None);
        assert_eq!(p.attr(99), None);
    }

    #[test]
    fn invalid_utf8_text_is_read_lossily() {
        let mut p = Packet::new(Code::AccessRequest, 1, [0; 16]);
        p.add(1, vec![b'a', 0xff, b'b']);
        assert_eq!(p.string(1).as_deref(), Some("a\u{fffd}b"));
    }
}
