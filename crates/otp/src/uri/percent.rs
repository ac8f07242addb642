//! Percent-encoding (RFC 3986 §2.1) for Key URI labels and parameters.

use std::fmt::Write;

/// Encodes every byte except the unreserved characters of RFC 3986 §2.3 and `@`, which is
/// allowed unencoded in both paths and queries (RFC 3986 §3.3, §3.4).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); the result must be UTF-8. `+` stays a plus sign.
pub(crate) fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let nibble = |b: u8| char::from(b).to_digit(16);
            out.push((nibble(hex[0])? * 16 + nibble(hex[1])?) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_escaped_and_restored() {
        let text = "ACME Co: a&b=c/d?e#f+g%h ü";
        let encoded = encode(text);
        assert_eq!(
            encoded,
            "ACME%20Co%3A%20a%26b%3Dc%2Fd%3Fe%23f%2Bg%25h%20%C3%BC"
        );
        assert_eq!(decode(&encoded).as_deref(), Some(text));
        assert_eq!(encode("alice@example.com"), "alice@example.com");
    }

    #[test]
    fn broken_escapes_are_rejected() {
        assert_eq!(decode("%"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%+1"), None);
        assert_eq!(decode("%FF"), None);
    }
}
