use sqlx::Row;

use crate::{Db, backend_err, rows};
use ichido_domain::Timestamp;
use ichido_domain::audit::Event;
use ichido_domain::store::Result;
use ichido_domain::user::{ApiKey, Role};

/// Never the hash: nothing listed can be used to look a key up.
const COLUMNS: &str = "id, name, role, created_at, revoked_at";

pub(crate) async fn create(
    db: &Db,
    name: &str,
    role: Role,
    key_hash: &str,
    now: Timestamp,
    ev: &Event,
) -> Result<ApiKey> {
    let (name, key_hash, ev) = (name.to_owned(), key_hash.to_owned(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let sql = format!(
                "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING {COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(name)
                .bind(role.as_str())
                .bind(key_hash)
                .bind(now.0)
                .fetch_one(c.conn())
                .await
                .map_err(backend_err)?;
            let key = rows::api_key(&row)?;
            crate::audit::append(c, &ev).await?;
            Ok(key)
        })
    })
    .await
}

/// Only a key not revoked: read on every request, so a revocation on one node
/// holds on all of them at once.
pub(crate) async fn by_hash(db: &Db, key_hash: &str) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(key_hash)
        .fetch_optional(db.reader())
        .await
        .map_err(backend_err)?;
    row.as_ref().map(rows::api_key).transpose()
}

pub(crate) async fn count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM api_keys")
        .fetch_one(db.reader())
        .await
        .map_err(backend_err)?;
    row.try_get("n").map_err(backend_err)
}

/// Every key, revoked ones too, oldest first.
pub(crate) async fn list(db: &Db) -> Result<Vec<ApiKey>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY id");
    let rows = sqlx::query(&sql)
        .fetch_all(db.reader())
        .await
        .map_err(backend_err)?;
    rows.iter().map(rows::api_key).collect()
}

/// Revokes a key not yet revoked; false when there is none.
pub(crate) async fn revoke(db: &Db, id: i64, now: Timestamp, ev: &Event) -> Result<bool> {
    let ev = ev.clone();
    db.write(move |c| {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now.0)
            .bind(id)
            .execute(c.conn())
            .await
            .map_err(backend_err)?;
            if r.rows_affected() != 1 {
                return Ok(false);
            }
            crate::audit::append(c, &ev).await?;
            Ok(true)
        })
    })
    .await
}
