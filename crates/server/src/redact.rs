//! Configuration secrets on their way out.
//!
//! The configuration types must be `Serialize` (figment's defaults layer and
//! the list of known keys are built from `Config::default()`), but a secret
//! must never be written back out — not in a dump, a debug endpoint or a
//! test's snapshot. These `serialize_with` helpers keep the shape (absent,
//! empty, set) and replace the value itself with a marker.

use std::collections::BTreeMap;

use ichido_crypto::SecretString;
use serde::Serializer;
use serde::ser::SerializeMap;

/// What a set secret serialises as.
pub const MARKER: &str = "**redacted**";

fn shape(s: &SecretString) -> &'static str {
    if s.is_empty() { "" } else { MARKER }
}

pub fn secret<S: Serializer>(value: &SecretString, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(shape(value))
}

pub fn optional<S: Serializer>(value: &Option<SecretString>, ser: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => ser.serialize_some(shape(v)),
        None => ser.serialize_none(),
    }
}

/// A map whose names may be shown and whose values may not (HTTP headers).
pub fn values<S: Serializer>(
    map: &BTreeMap<String, SecretString>,
    ser: S,
) -> Result<S::Ok, S::Error> {
    let mut out = ser.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        out.serialize_entry(k, shape(v))?;
    }
    out.end()
}

/// For clap: a command-line value straight into a redacting type.
pub fn parse_arg(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Holder {
        #[serde(serialize_with = "secret")]
        set: SecretString,
        #[serde(serialize_with = "secret")]
        empty: SecretString,
        #[serde(serialize_with = "optional")]
        some: Option<SecretString>,
        #[serde(serialize_with = "optional")]
        none: Option<SecretString>,
        #[serde(serialize_with = "values")]
        headers: BTreeMap<String, SecretString>,
    }

    /// Every request type that carries a password, a code, a seed or a key
    /// file, filled from JSON as a client would send it.
    #[test]
    fn debug_of_request_types_shows_no_password_code_or_seed() {
        use crate::http::{challenges, recovery, tokens, users, validate};
        fn shown<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
            let v: T = serde_json::from_str(json).unwrap();
            format!("{v:?}")
        }
        let all = [
            shown::<validate::ValidateRequest>(
                r#"{"username":"alice","code":"code-4711","password":"pw-4711"}"#,
            ),
            shown::<challenges::CreateChallengeRequest>(
                r#"{"username":"alice","password":"pw-4711"}"#,
            ),
            shown::<users::CreateUserRequest>(r#"{"username":"alice","password":"pw-4711"}"#),
            shown::<users::PatchUserRequest>(r#"{"password":"pw-4711"}"#),
            shown::<tokens::CreateTokenRequest>(
                r#"{"type":"totp","secret_hex":"seed-4711","secret":"seed-4711"}"#,
            ),
            shown::<tokens::ActivateRequest>(r#"{"code":"code-4711"}"#),
            shown::<tokens::ResyncRequest>(r#"{"code1":"code-4711","code2":"code-4711"}"#),
            shown::<recovery::ImportRequest>(
                r#"{"format":"csv","content":"T1,seed-4711,totp,6,30","psk_hex":"psk-4711"}"#,
            ),
        ];
        for text in &all {
            assert!(text.contains("redacted"), "{text}");
            for secret in ["pw-4711", "code-4711", "seed-4711", "psk-4711"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    #[test]
    fn serialised_secrets_keep_their_shape_and_lose_their_value() {
        let h = Holder {
            set: SecretString::from("pw-one"),
            empty: SecretString::default(),
            some: Some(SecretString::from("pw-two")),
            none: None,
            headers: BTreeMap::from([("authorization".into(), SecretString::from("Bearer pw-3"))]),
        };
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "set": "**redacted**", "empty": "", "some": "**redacted**", "none": null,
                "headers": {"authorization": "**redacted**"}
            })
        );
    }
}
