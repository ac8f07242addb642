//! The key file: the keyring as JSON, written so that it is never readable by
//! anyone but its owner.
//!
//! ```json
//! {"version":1,"current":"k2","hash_key":"<b64>",
//!  "keys":[{"id":"k1","key":"<b64>","created_at":1700000000}, ...]}
//! ```
//!
//! Keys are standard base64 with padding. Every write goes to a temporary file
//! created with mode 0600 in the same directory, is fsynced, and then moved
//! into place; the directory is fsynced too. A crash therefore leaves either
//! the old file or the new one, and a rotation that was reported as saved is
//! not forgotten after a power loss (which would strand every value sealed
//! under the new key).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use data_encoding::{BASE64, HEXLOWER};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keyring::{Key, KeyError, KeyId, Keyring, MasterKey};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    current: KeyId,
    hash_key: KeyBytes,
    keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: KeyId,
    key: KeyBytes,
    created_at: u64,
}

/// A 256-bit key in base64; wiped on drop, in both directions of serde.
struct KeyBytes(Key);

impl Serialize for KeyBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(BASE64.encode(&self.0[..]));
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for KeyBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = KeyBytes;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a 32-byte key in padded base64")
            }

            // Only `visit_str` is implemented, so the key text is borrowed from
            // the (zeroizing) input and no owned copy of it is left behind.
            // Errors name the problem, never the value.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyBytes, E> {
                let bytes = Zeroizing::new(
                    BASE64
                        .decode(v.as_bytes())
                        .map_err(|_| E::custom("a key is not valid padded base64"))?,
                );
                let key: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| E::custom("a key is not 32 bytes long"))?;
                Ok(KeyBytes(Zeroizing::new(key)))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The file's content for `ring`, in zeroizing memory.
pub(crate) fn to_json(ring: &Keyring) -> Zeroizing<Vec<u8>> {
    let file = KeyFile {
        version: VERSION,
        current: ring.current_id().clone(),
        hash_key: KeyBytes(ring.hash_key().clone()),
        keys: ring
            .master_keys()
            .iter()
            .map(|k| KeyEntry {
                id: k.id.clone(),
                key: KeyBytes(k.key.clone()),
                created_at: k.created_at,
            })
            .collect(),
    };
    // Sized up front (an entry is under 150 bytes pretty-printed) so that no
    // reallocation leaves a partial copy of the keys in freed memory.
    let mut text = Zeroizing::new(Vec::with_capacity(256 + 256 * file.keys.len()));
    serde_json::to_writer_pretty(&mut *text, &file).expect("a keyring always serializes");
    text.push(b'\n');
    text
}

/// Parses the file's content. Error messages give the position and the kind
/// of problem, never a piece of the content.
pub(crate) fn from_json(text: &str) -> Result<Keyring, KeyError> {
    let file: KeyFile = serde_json::from_str(text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected field or value",
            serde_json::error::Category::Eof => "truncated",
        };
        KeyError::Format(format!("{what} at line {} column {}", e.line(), e.column()))
    })?;
    if file.version != VERSION {
        return Err(KeyError::Format(format!(
            "version {} is not supported (expected {VERSION})",
            file.version
        )));
    }
    let keys = file
        .keys
        .into_iter()
        .map(|e| MasterKey {
            id: e.id,
            key: e.key.0,
            created_at: e.created_at,
        })
        .collect();
    Keyring::from_parts(file.current, file.hash_key.0, keys)
}

pub(crate) fn load(path: &Path) -> Result<Keyring, KeyError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io_error(path))?);
    from_json(&text).map_err(|e| match e {
        KeyError::Format(reason) => KeyError::Format(format!("{}: {reason}", path.display())),
        other => other,
    })
}

pub(crate) fn save(ring: &Keyring, path: &Path) -> Result<(), KeyError> {
    let tmp = write_temp(path, &to_json(ring))?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path)(e));
    }
    sync_dir(path)
}

pub(crate) fn load_or_create(path: &Path) -> Result<(Keyring, bool), KeyError> {
    if path.try_exists().map_err(io_error(path))? {
        return Ok((load(path)?, false));
    }
    create_parent(path)?;
    let ring = Keyring::generate();
    let tmp = write_temp(path, &to_json(&ring))?;
    // A hard link publishes the complete file only if no file is there yet,
    // so a second process starting at the same moment cannot overwrite the
    // first one's keys (and strand what it already sealed).
    let linked = fs::hard_link(&tmp, path);
    let published = match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // Filesystems without hard links: fall back to a rename, which is
        // only unsafe against a second process in the same instant.
        Err(_) if !path.exists() => fs::rename(&tmp, path).map(|()| true),
        Err(e) => Err(e),
    };
    let _ = fs::remove_file(&tmp);
    match published.map_err(io_error(path))? {
        true => {
            sync_dir(path)?;
            Ok((ring, true))
        }
        false => Ok((load(path)?, false)),
    }
}

/// Writes `content` to a new temporary file next to `path`, with mode 0600
/// from the moment it exists, and fsyncs it.
fn write_temp(path: &Path, content: &[u8]) -> Result<PathBuf, KeyError> {
    let name = path
        .file_name()
        .ok_or_else(|| KeyError::Format(format!("{} is not a file path", path.display())))?;
    // 64 random bits keep concurrent writers from picking the same name.
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        HEXLOWER.encode(&crate::random::bytes(8))
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io_error(&tmp))?;
    let written = restrict(&file)
        .and_then(|()| file.write_all(content))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&tmp)(e));
    }
    Ok(tmp)
}

/// Sets exactly 0600: the mode given at creation is narrowed by the umask,
/// which must not be able to leave the owner without read access either.
fn restrict(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

fn create_parent(path: &Path) -> Result<(), KeyError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_error(dir))
}

/// Makes a rename or link in `path`'s directory durable.
fn sync_dir(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_every_key() {
        let mut ring = Keyring::generate();
        let old = ring.seal(b"seed", b"row");
        ring.rotate();
        let back = from_json(std::str::from_utf8(&to_json(&ring)).unwrap()).unwrap();
        assert_eq!(back.ids(), ring.ids());
        assert_eq!(back.current_id(), ring.current_id());
        assert_eq!(back.open(&old, b"row").unwrap().as_bytes(), b"seed");
        assert_eq!(back.hasher("p").hash(b"x"), ring.hasher("p").hash(b"x"));
    }

    #[test]
    fn file_has_the_documented_shape() {
        let ring = Keyring::generate();
        let value: serde_json::Value = serde_json::from_slice(&to_json(&ring)).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["current"], "k1");
        assert_eq!(value["keys"][0]["id"], "k1");
        assert!(value["keys"][0]["created_at"].as_u64().unwrap() > 1_600_000_000);
        let key = value["keys"][0]["key"].as_str().unwrap();
        assert_eq!(BASE64.decode(key.as_bytes()).unwrap().len(), 32);
        let hash_key = value["hash_key"].as_str().unwrap();
        assert_eq!(BASE64.decode(hash_key.as_bytes()).unwrap().len(), 32);
    }

    #[test]
    fn content_fits_the_preallocated_buffer() {
        let mut ring = Keyring::generate();
        for _ in 0..20 {
            ring.rotate();
        }
        assert!(to_json(&ring).len() <= 256 + 256 * 21);
    }

    fn file(current: &str, ids: &[&str], key: &str) -> String {
        let keys: Vec<String> = ids
            .iter()
            .map(|id| format!(r#"{{"id":"{id}","key":"{key}","created_at":1}}"#))
            .collect();
        format!(
            r#"{{"version":1,"current":"{current}","hash_key":"{}","keys":[{}]}}"#,
            BASE64.encode(&[1u8; 32]),
            keys.join(",")
        )
    }

    #[test]
    fn invalid_files_are_refused_without_quoting_keys() {
        let key = BASE64.encode(&[2u8; 32]);
        assert!(from_json(&file("k1", &["k1"], &key)).is_ok());
        let short = BASE64.encode(&[2u8; 31]);
        let cases = [
            file("k2", &["k1"], &key),
            file("k1", &["k1", "k1"], &key),
            file("k1", &[], &key),
            file("k1", &["k1"], &short),
            file("k1", &["k1"], "SECRETISH!"),
            file("k:1", &["k:1"], &key),
            file("k1", &["k1"], &key).replace("\"version\":1", "\"version\":2"),
            file("k1", &["k1"], &key).replace("\"version\":1", "\"verzion\":1"),
            file("k1", &["k1"], &key)[..40].to_owned(),
            String::new(),
        ];
        for text in cases {
            let err = from_json(&text).expect_err(&text).to_string();
            assert!(!err.contains(&key) && !err.contains(&short), "{err}");
            assert!(!err.contains("SECRETISH"), "{err}");
        }
    }
}
