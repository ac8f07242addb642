//! PSKC (RFC 6030): `KeyContainer` → `KeyPackage` → `Key`, secrets in
//! `PlainValue` (§4.1) or encrypted with a pre-shared key (§6.1):
//! AES-128-CBC, the IV prepended to the ciphertext, and an HMAC-SHA1
//! `ValueMAC` over IV and ciphertext under the `MACKey`, itself encrypted
//! with the same pre-shared key. `Policy/StartDate` and `ExpiryDate` (§5)
//! become the token's validity period.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use ichido_domain::Timestamp;
use ichido_domain::service::ImportedToken;
use ichido_domain::token::{OathParams, TokenKind, Validity};
use ichido_otp::{Algorithm, Digits};
use roxmltree::{Document, Node};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ImportError;

const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn path<'a, 'i>(n: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(n, |at, name| child(at, name))
}

fn text(n: Node) -> String {
    n.text().unwrap_or_default().trim().to_owned()
}

fn base64(n: Node, what: &str) -> Result<Vec<u8>, ImportError> {
    let clean: String = text(n).chars().filter(|c| !c.is_whitespace()).collect();
    BASE64
        .decode(clean.as_bytes())
        .map_err(|_| ImportError(format!("{what}: not valid base64")))
}

/// `Key/Policy/<name>` (RFC 6030 §5): an `xs:dateTime`; one without a zone
/// is read as UTC.
fn date(key: Node, name: &str) -> Result<Option<Timestamp>, String> {
    let Some(n) = path(key, &["Policy", name]) else {
        return Ok(None);
    };
    let t = text(n);
    let zoned = OffsetDateTime::parse(&t, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{t}Z"), &Rfc3339))
        .map_err(|_| format!("Policy/{name} {t:?} is not an xs:dateTime"))?;
    Ok(Some(Timestamp(
        (zoned.unix_timestamp_nanos() / 1_000_000) as i64,
    )))
}

/// Decrypts an element holding `EncryptionMethod` and `CipherData/CipherValue`.
fn decrypt(n: Node, psk: Option<&[u8]>, what: &str) -> Result<(Vec<u8>, Vec<u8>), ImportError> {
    let err = |m: &str| ImportError(format!("{what}: {m}"));
    let psk = psk.ok_or_else(|| err("encrypted, but no pre-shared key was given"))?;
    let method = child(n, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| err("EncryptionMethod is missing"))?;
    if method != AES128_CBC {
        return Err(err(&format!("unsupported encryption {method}")));
    }
    if psk.len() != 16 {
        return Err(err("aes128-cbc needs a 16-byte pre-shared key"));
    }
    let value = path(n, &["CipherData", "CipherValue"])
        .ok_or_else(|| err("CipherData/CipherValue is missing"))?;
    let raw = base64(value, what)?;
    if raw.len() < 32 || raw.len() % 16 != 0 {
        return Err(err("CipherValue is not an IV and whole AES blocks"));
    }
    let (iv, ct) = raw.split_at(16);
    let plain = cbc::Decryptor::<aes::Aes128>::new_from_slices(psk, iv)
        .map_err(|_| err("bad key or IV length"))?
        .decrypt_padded_vec_mut::<Pkcs7>(ct)
        .map_err(|_| err("does not decrypt: wrong pre-shared key?"))?;
    Ok((plain, raw))
}

pub fn parse(content: &str, psk: Option<&[u8]>) -> Result<Vec<ImportedToken>, ImportError> {
    let doc = Document::parse(content).map_err(|e| ImportError(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "KeyContainer" {
        return Err(ImportError("the root element must be KeyContainer".into()));
    }
    let mac_key = match child(root, "MACMethod") {
        Some(m) => {
            let alg = m.attribute("Algorithm").unwrap_or_default();
            if alg != HMAC_SHA1 {
                return Err(ImportError(format!(
                    "MACMethod: unsupported algorithm {alg}"
                )));
            }
            let key = child(m, "MACKey")
                .ok_or_else(|| ImportError("MACMethod: MACKey is missing".into()))?;
            Some(decrypt(key, psk, "MACMethod/MACKey")?.0)
        }
        None => None,
    };
    let mut out = Vec::new();
    for (i, package) in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "KeyPackage")
        .enumerate()
    {
        let key = child(package, "Key")
            .ok_or_else(|| ImportError(format!("KeyPackage {}: no Key element", i + 1)))?;
        let id = key.attribute("Id").unwrap_or_default();
        let at = format!("KeyPackage {} (Key Id=\"{id}\")", i + 1);
        let err = |m: &str| ImportError(format!("{at}: {m}"));
        let algorithm = key.attribute("Algorithm").unwrap_or_default();
        let kind = if algorithm.ends_with(":hotp") {
            TokenKind::Hotp
        } else if algorithm.ends_with(":totp") {
            TokenKind::Totp
        } else {
            return Err(err(&format!("unsupported Algorithm \"{algorithm}\"")));
        };
        let serial = path(package, &["DeviceInfo", "SerialNo"])
            .map(text)
            .unwrap_or_else(|| id.to_owned());
        let digits = match path(key, &["AlgorithmParameters", "ResponseFormat"]) {
            Some(f) => f
                .attribute("Length")
                .and_then(|l| l.parse::<u8>().ok())
                .and_then(|l| Digits::new(l).ok())
                .ok_or_else(|| err("ResponseFormat Length must be 6, 7 or 8"))?,
            None => Digits::new(6).unwrap_or_default(),
        };
        let secret_el =
            path(key, &["Data", "Secret"]).ok_or_else(|| err("Data/Secret is missing"))?;
        let secret = if let Some(p) = child(secret_el, "PlainValue") {
            base64(p, &format!("{at} Secret/PlainValue"))?
        } else if let Some(e) = child(secret_el, "EncryptedValue") {
            let (plain, raw) = decrypt(e, psk, &format!("{at} Secret/EncryptedValue"))?;
            let mac_key = mac_key
                .as_deref()
                .ok_or_else(|| err("an encrypted secret needs a MACMethod"))?;
            let mac =
                child(secret_el, "ValueMAC").ok_or_else(|| err("Secret/ValueMAC is missing"))?;
            let expected = base64(mac, &format!("{at} Secret/ValueMAC"))?;
            let mut h = <Hmac<sha1::Sha1> as Mac>::new_from_slice(mac_key)
                .map_err(|_| err("bad MAC key"))?;
            h.update(&raw);
            h.verify_slice(&expected)
                .map_err(|_| err("Secret/ValueMAC does not match: altered or wrong key"))?;
            plain
        } else {
            return Err(err("Secret has neither PlainValue nor EncryptedValue"));
        };
        let number = |name: &str| -> Result<Option<u64>, ImportError> {
            path(key, &["Data", name, "PlainValue"])
                .map(|n| {
                    text(n)
                        .parse::<u64>()
                        .map_err(|_| err(&format!("Data/{name} is not a whole number")))
                })
                .transpose()
        };
        let counter = number("Counter")?;
        let period = number("TimeInterval")?.unwrap_or(30);
        out.push(ImportedToken {
            serial,
            secret: ichido_crypto::SecretBytes::new(secret),
            params: OathParams {
                kind,
                algorithm: Algorithm::Sha1,
                digits,
                period,
            },
            counter,
            issuer: child(key, "Issuer").map(text),
            validity: Validity {
                from: date(key, "StartDate").map_err(|m| err(&m))?,
                until: date(key, "ExpiryDate").map_err(|m| err(&m))?,
            },
        });
    }
    Ok(out)
}
