use sqlx::Row;

use crate::{Db, backend_err, rows};
use ichido_domain::Timestamp;
use ichido_domain::audit::Event;
use ichido_domain::store::Result;
use ichido_domain::user::{ApiKey, Role};

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
            let row = sqlx::query(
                "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING id, name, role, created_at",
            )
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

pub(crate) async fn by_hash(db: &Db, key_hash: &str) -> Result<Option<ApiKey>> {
    let row = sqlx::query("SELECT id, name, role, created_at FROM api_keys WHERE key_hash = $1")
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
