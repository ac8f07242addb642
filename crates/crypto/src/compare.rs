//! Constant-time equality.
//!
//! Every comparison of a secret against a submitted value goes through
//! [`ct_eq`], so there is one place to audit instead of a `==` per call site.

use subtle::ConstantTimeEq;

/// Compares two byte strings in time that depends only on their lengths.
///
/// Different lengths return `false` at once: the length of a code, hash or
/// token is public (it is fixed by the format), only its content is secret.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // `subtle` already answers 0 for slices of different lengths; the explicit
    // check documents that the early exit is intended.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::ct_eq;

    #[test]
    fn equal_slices_compare_equal() {
        assert!(ct_eq(b"123456", b"123456"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn one_differing_byte_is_unequal() {
        assert!(!ct_eq(b"123456", b"123457"));
        assert!(!ct_eq(b"a23456", b"123456"));
    }

    #[test]
    fn a_prefix_is_not_equal() {
        assert!(!ct_eq(b"123", b"000123"));
        assert!(!ct_eq(b"123456", b"12345"));
        assert!(!ct_eq(b"", b"0"));
    }
}
