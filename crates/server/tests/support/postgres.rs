//! A PostgreSQL database of its own for each test that needs one.

use sqlx::Connection;

/// `ICHIDO_TEST_POSTGRES_URL`, required in CI; elsewhere its absence skips.
pub fn postgres_url() -> Option<String> {
    match std::env::var("ICHIDO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("ICHIDO_TEST_POSTGRES_URL must be set in CI")
        }
        _ => {
            eprintln!(
                "skipped: set ICHIDO_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run this test"
            );
            None
        }
    }
}

/// A database of its own for one test, dropped (with its connections) at the end.
pub struct TempDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TempDatabase {
    pub async fn create(admin_url: &str) -> TempDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!(
            "ichido_p_{:x}_{:x}",
            std::process::id(),
            nanos & 0xffff_ffff_ffff
        );
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to ICHIDO_TEST_POSTGRES_URL");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        TempDatabase {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop cannot await, and may run inside the test's runtime: use a thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// The same server and credentials, another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    format!("{server}/{name}{query}")
}
