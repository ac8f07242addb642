//! Base32 with the RFC 4648 §6 alphabet, as used by Key URIs for secrets.

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a text is not base32 (RFC 4648 §6).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Base32Error {
    /// A character outside the alphabet.
    #[error(
        "invalid base32 character {ch:?} at position {position}: RFC 4648 §6 allows only A-Z and 2-7 (spaces and '-' are ignored)"
    )]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its position (in characters) in the input.
        position: usize,
    },
    /// A symbol count that cannot end a group of 8 (RFC 4648 §6: 2, 4, 5 or 7 symbols in a final quantum).
    #[error(
        "base32 input of {symbols} symbols has a final group of {remainder}: RFC 4648 §6 allows a final group of 2, 4, 5 or 7 symbols"
    )]
    InvalidLength {
        /// Symbols that are not padding.
        symbols: usize,
        /// `symbols % 8`.
        remainder: usize,
    },
    /// Padding that does not complete the last group of 8 (RFC 4648 §6).
    #[error(
        "base32 padding is wrong: RFC 4648 §6 pads the last group with '=' to exactly 8 characters"
    )]
    InvalidPadding,
    /// Nothing to decode where a value is required.
    #[error("base32 secret is empty")]
    Empty,
}

/// Encodes bytes as RFC 4648 §6 base32 without `=` padding, the form Key URIs use.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn symbol_value(ch: char) -> Option<u8> {
    match ch {
        'A'..='Z' => Some(ch as u8 - b'A'),
        'a'..='z' => Some(ch as u8 - b'a'),
        '2'..='7' => Some(ch as u8 - b'2' + 26),
        _ => None,
    }
}

/// Decodes RFC 4648 §6 base32: case-insensitive, ignoring whitespace and `-`, with optional `=`
/// padding at the end. Leftover bits of the last symbol are discarded.
pub fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    let mut symbols = 0usize;
    let mut padding = 0usize;
    for (position, ch) in text.chars().enumerate() {
        if ch.is_ascii_whitespace() || ch == '-' {
            continue;
        }
        if ch == '=' {
            padding += 1;
            continue;
        }
        let value = match symbol_value(ch) {
            Some(value) if padding == 0 => value,
            _ => return Err(Base32Error::InvalidChar { ch, position }),
        };
        symbols += 1;
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    let remainder = symbols % 8;
    if !matches!(remainder, 0 | 2 | 4 | 5 | 7) {
        return Err(Base32Error::InvalidLength { symbols, remainder });
    }
    if padding > 0 && (remainder == 0 || remainder + padding != 8) {
        return Err(Base32Error::InvalidPadding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 test vectors.
    const RFC4648_SECTION_10: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY======"),
        ("fo", "MZXQ===="),
        ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI======"),
    ];

    #[test]
    fn rfc4648_section_10_vectors_encode_without_padding() {
        for (plain, padded) in RFC4648_SECTION_10 {
            assert_eq!(encode(plain.as_bytes()), padded.trim_end_matches('='));
        }
    }

    #[test]
    fn rfc4648_section_10_vectors_decode_with_and_without_padding() {
        for (plain, padded) in RFC4648_SECTION_10 {
            assert_eq!(decode(padded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(padded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn decoding_ignores_case_spaces_and_dashes() {
        assert_eq!(decode("mzxw 6ytb-oi").unwrap(), b"foobar");
        assert_eq!(
            decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ").unwrap(),
            b"12345678901234567890"
        );
    }

    #[test]
    fn characters_outside_the_alphabet_are_named_with_their_position() {
        assert_eq!(
            decode("MZ1W"),
            Err(Base32Error::InvalidChar {
                ch: '1',
                position: 2
            })
        );
        assert_eq!(
            decode("MZXW8"),
            Err(Base32Error::InvalidChar {
                ch: '8',
                position: 4
            })
        );
        assert!(matches!(
            decode("MZ=W"),
            Err(Base32Error::InvalidChar { ch: 'W', .. })
        ));
        assert!(decode("ÄBC").is_err());
    }

    #[test]
    fn impossible_lengths_and_bad_padding_are_rejected() {
        assert_eq!(
            decode("M"),
            Err(Base32Error::InvalidLength {
                symbols: 1,
                remainder: 1
            })
        );
        assert!(matches!(
            decode("MZX"),
            Err(Base32Error::InvalidLength { .. })
        ));
        assert!(matches!(
            decode("MZXW6Y"),
            Err(Base32Error::InvalidLength { .. })
        ));
        assert_eq!(decode("MY==="), Err(Base32Error::InvalidPadding));
        assert_eq!(decode("MZXW6YTB========"), Err(Base32Error::InvalidPadding));
        assert_eq!(decode("========"), Err(Base32Error::InvalidPadding));
    }
}
