//! Code shared by the integration tests.

/// Octets from a hex dump written as in the RFCs: pairs separated by
/// spaces and newlines.
pub fn octets(dump: &str) -> Vec<u8> {
    let compact: String = dump.split_whitespace().collect();
    hex::decode(compact).expect("a well-formed hex dump")
}
