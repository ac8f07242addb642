//! Forward-only schema migrations, one SQL file per version and backend,
//! embedded in the binary so a fresh install needs nothing beside it.

use sqlx::Row;

use crate::{Backend, Db, backend_err};
use ichido_domain::StoreError;
use ichido_domain::audit::ChainKey;

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_challenges.sql")),
    (3, include_str!("../migrations/sqlite/0003_recovery.sql")),
    (4, include_str!("../migrations/sqlite/0004_reset.sql")),
    (
        5,
        include_str!("../migrations/sqlite/0005_reset_procedure_and_key_revocation.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_audit_keyed.sql")),
    (7, include_str!("../migrations/sqlite/0007_two_step.sql")),
    (8, include_str!("../migrations/sqlite/0008_signin.sql")),
    (
        9,
        include_str!("../migrations/sqlite/0009_signin_history_by_time.sql"),
    ),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_challenges.sql"),
    ),
    (3, include_str!("../migrations/postgres/0003_recovery.sql")),
    (4, include_str!("../migrations/postgres/0004_reset.sql")),
    (
        5,
        include_str!("../migrations/postgres/0005_reset_procedure_and_key_revocation.sql"),
    ),
    (
        6,
        include_str!("../migrations/postgres/0006_audit_keyed.sql"),
    ),
    (7, include_str!("../migrations/postgres/0007_two_step.sql")),
    (8, include_str!("../migrations/postgres/0008_signin.sql")),
    (
        9,
        include_str!("../migrations/postgres/0009_signin_history_by_time.sql"),
    ),
];

pub(crate) async fn run(db: &Db, chain: &ChainKey) -> Result<(), StoreError> {
    let steps = match db.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let mut tx = db.writer().begin().await.map_err(backend_err)?;
    if db.backend() == Backend::Postgres {
        // Nodes starting together must not migrate twice.
        sqlx::query("SELECT pg_advisory_xact_lock(4849)")
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await
        .and_then(|r| r.try_get("v"))
        .map_err(backend_err)?;
    for (version, sql) in steps.iter().filter(|(v, _)| *v > current) {
        for stmt in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(stmt)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
        }
        if *version == crate::audit_rekey::VERSION {
            crate::audit_rekey::rekey(&mut tx, chain).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(0_i64)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        tracing::info!(version, "applied schema migration");
    }
    tx.commit().await.map_err(backend_err)
}
