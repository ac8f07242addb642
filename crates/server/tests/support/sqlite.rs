//! Reading and editing an installation's SQLite files behind the server's back.

use std::path::{Path, PathBuf};

use sqlx::Connection;

use super::process::{Install, sqlite_files};

/// Runs one statement on an installation's SQLite file; the rows it changed.
pub async fn sqlite_exec(db: &Path, sql: &str) -> u64 {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open ichido.db");
    let n = sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected();
    conn.close().await.expect("close ichido.db");
    n
}

pub fn copy_files(files: &[PathBuf], to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in files {
        std::fs::copy(f, to.join(f.file_name().unwrap())).unwrap();
    }
}

/// Puts back the database files saved in `backup`.
pub fn restore(db: &Path, backup: &Path) {
    for f in sqlite_files(db) {
        std::fs::remove_file(f).unwrap();
    }
    let saved: Vec<PathBuf> = std::fs::read_dir(backup)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    copy_files(&saved, db.parent().unwrap());
}

pub async fn sealed_secret(db: &Path, serial: &str) -> String {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open ichido.db");
    let sealed =
        sqlx::query_scalar::<_, String>("SELECT sealed_secret FROM tokens WHERE serial = ?")
            .bind(serial)
            .fetch_one(&mut conn)
            .await
            .expect("the token row");
    conn.close().await.expect("close ichido.db");
    sealed
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Which of `needles` occur in any of the database files.
pub fn found_in_database(install: &Install, needles: &[(&str, Vec<u8>)]) -> Vec<String> {
    let files = sqlite_files(&install.db_path());
    assert!(
        !files.is_empty(),
        "no database files in {}",
        install.data_dir.display()
    );
    let mut found = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for (what, needle) in needles {
            if contains(&bytes, needle) {
                found.push(format!(
                    "{what} in {}",
                    f.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    found
}
