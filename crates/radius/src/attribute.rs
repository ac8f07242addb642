//! Attributes as Type + raw value (RFC 2865 §5), and a reader for
//! Vendor-Specific attributes (RFC 2865 §5.26).

use crate::dictionary::VENDOR_SPECIFIC;
use crate::error::EncodeError;

/// Longest attribute value: the Length octet (at most 255) counts the Type
/// and Length octets too (RFC 2865 §5).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 253;

/// One attribute: its Type and its value as raw octets (RFC 2865 §5).
///
/// Values are not interpreted; Vendor-Specific (26) stays raw and is read
/// with [`Attribute::vendor_specific`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The Type octet (RFC 2865 §5).
    pub typ: u8,
    /// The value octets, without Type and Length (RFC 2865 §5).
    pub value: Vec<u8>,
}

impl Attribute {
    /// An attribute of Type `typ` carrying `value` (RFC 2865 §5).
    pub fn new(typ: u8, value: impl Into<Vec<u8>>) -> Self {
        Attribute {
            typ,
            value: value.into(),
        }
    }

    /// A Vendor-Specific attribute in the format RFC 2865 §5.26 recommends:
    /// Vendor-Id, then each sub-attribute as vendor type, vendor length, value.
    pub fn new_vendor_specific(
        vendor_id: u32,
        sub_attributes: &[VendorAttribute<'_>],
    ) -> Result<Self, EncodeError> {
        let mut value = vendor_id.to_be_bytes().to_vec();
        for sub in sub_attributes {
            let length = sub.value.len() + 2;
            let length = u8::try_from(length).map_err(|_| EncodeError::AttributeTooLong {
                typ: VENDOR_SPECIFIC,
                length: sub.value.len(),
            })?;
            value.push(sub.vendor_type);
            value.push(length);
            value.extend_from_slice(sub.value);
        }
        if value.len() > MAX_ATTRIBUTE_VALUE_LEN {
            return Err(EncodeError::AttributeTooLong {
                typ: VENDOR_SPECIFIC,
                length: value.len(),
            });
        }
        Ok(Attribute::new(VENDOR_SPECIFIC, value))
    }

    /// Reads a Vendor-Specific attribute (RFC 2865 §5.26): `None` unless the
    /// Type is 26 and the value holds the 4-octet Vendor-Id and at least one
    /// octet of data (Length >= 7).
    pub fn vendor_specific(&self) -> Option<VendorSpecific<'_>> {
        if self.typ != VENDOR_SPECIFIC || self.value.len() < 5 {
            return None;
        }
        let (id, data) = self.value.split_at(4);
        let vendor_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        Some(VendorSpecific { vendor_id, data })
    }
}

/// The content of a Vendor-Specific attribute (RFC 2865 §5.26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorSpecific<'a> {
    /// The Vendor-Id: the vendor's IANA Private Enterprise Number (RFC 2865 §5.26).
    pub vendor_id: u32,
    /// The String field after the Vendor-Id, as raw octets (RFC 2865 §5.26).
    pub data: &'a [u8],
}

impl<'a> VendorSpecific<'a> {
    /// Splits the data into sub-attributes in the RFC 2865 §5.26 recommended
    /// format (vendor type, vendor length >= 2, value); `None` when the data
    /// does not follow that format (some vendors use their own).
    pub fn sub_attributes(&self) -> Option<Vec<VendorAttribute<'a>>> {
        let mut out = Vec::new();
        let mut rest = self.data;
        while !rest.is_empty() {
            let [vendor_type, length, ..] = *rest else {
                return None;
            };
            let length = usize::from(length);
            if length < 2 || length > rest.len() {
                return None;
            }
            out.push(VendorAttribute {
                vendor_type,
                value: &rest[2..length],
            });
            rest = &rest[length..];
        }
        Some(out)
    }
}

/// One vendor sub-attribute in the RFC 2865 §5.26 recommended format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorAttribute<'a> {
    /// The vendor's own attribute type (RFC 2865 §5.26).
    pub vendor_type: u8,
    /// The sub-attribute's value (RFC 2865 §5.26).
    pub value: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_specific_round_trips_through_sub_attributes() {
        let subs = [
            VendorAttribute {
                vendor_type: 1,
                value: b"group=admins",
            },
            VendorAttribute {
                vendor_type: 7,
                value: b"",
            },
        ];
        let attr = Attribute::new_vendor_specific(14823, &subs).unwrap();
        assert_eq!(attr.typ, VENDOR_SPECIFIC);
        let vsa = attr.vendor_specific().unwrap();
        assert_eq!(vsa.vendor_id, 14823);
        assert_eq!(vsa.sub_attributes().unwrap(), subs);
    }

    #[test]
    fn vendor_specific_needs_type_26_and_seven_octets() {
        assert!(
            Attribute::new(1, vec![0, 0, 0, 9, 1])
                .vendor_specific()
                .is_none()
        );
        assert!(
            Attribute::new(26, vec![0, 0, 0, 9])
                .vendor_specific()
                .is_none()
        );
        let vsa = Attribute::new(26, vec![0, 0, 0, 9, 0xff]);
        let vsa = vsa.vendor_specific().unwrap();
        assert_eq!(vsa.vendor_id, 9);
        // One octet cannot hold a vendor type and a vendor length.
        assert!(vsa.sub_attributes().is_none());
    }

    #[test]
    fn vendor_sub_attribute_with_bad_length_is_not_split() {
        for data in [&[1u8, 1][..], &[1, 5, 0], &[1, 2, 3]] {
            let mut value = 9u32.to_be_bytes().to_vec();
            value.extend_from_slice(data);
            let attr = Attribute::new(26, value);
            assert!(attr.vendor_specific().unwrap().sub_attributes().is_none());
        }
    }

    #[test]
    fn vendor_specific_too_long_is_refused() {
        let big = [0u8; 250];
        let sub = [VendorAttribute {
            vendor_type: 1,
            value: &big,
        }];
        assert!(matches!(
            Attribute::new_vendor_specific(9, &sub),
            Err(EncodeError::AttributeTooLong { typ: 26, .. })
        ));
        let huge = [0u8; 254];
        let sub = [VendorAttribute {
            vendor_type: 1,
            value: &huge,
        }];
        assert!(Attribute::new_vendor_specific(9, &sub).is_err());
    }
}
