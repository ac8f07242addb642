//! Appending to the hash chain. The head row is updated first: on PostgreSQL
//! its row lock orders concurrent appenders across nodes, on SQLite the single
//! writer already does.

use sqlx::{AnyConnection, Row};

use crate::{backend_err, rows};
use ichido_domain::StoreError;
use ichido_domain::audit::{Event, Query, Record, chain_hash};

pub(crate) async fn append(conn: &mut AnyConnection, ev: &Event) -> Result<(), StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend_err)?;
    let seq: i64 = head.try_get("seq").map_err(backend_err)?;
    let prev_hex: String = head.try_get("hash").map_err(backend_err)?;
    let mut prev = [0u8; 32];
    hex::decode_to_slice(&prev_hex, &mut prev)
        .map_err(|_| StoreError::Backend("audit head hash is corrupt".into()))?;
    let hash = hex::encode(chain_hash(&prev, seq, ev));
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, username, serial, client_ip, user_agent, result, reason, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(ev.at.0)
    .bind(&ev.actor)
    .bind(&ev.action)
    .bind(&ev.username)
    .bind(&ev.serial)
    .bind(&ev.client_ip)
    .bind(&ev.user_agent)
    .bind(&ev.result)
    .bind(&ev.reason)
    .bind(&prev_hex)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .map_err(backend_err)?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
    Ok(())
}

pub(crate) async fn events(pool: &sqlx::AnyPool, q: &Query) -> Result<Vec<Record>, StoreError> {
    // Absent filters bind NULL and match everything; one statement for all.
    let sql = format!(
        "SELECT {} FROM audit WHERE ($1 IS NULL OR username = $1) AND ($2 IS NULL OR action = $2) \
         AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) AND ($5 IS NULL OR seq < $5) \
         ORDER BY seq DESC LIMIT $6",
        rows::AUDIT_COLUMNS
    );
    let found = sqlx::query(&sql)
        .bind(&q.username)
        .bind(&q.action)
        .bind(q.since.map(|t| t.0))
        .bind(q.until.map(|t| t.0))
        .bind(q.before_seq)
        .bind(q.limit)
        .fetch_all(pool)
        .await
        .map_err(backend_err)?;
    found.iter().map(rows::record).collect()
}

pub(crate) async fn scan(
    pool: &sqlx::AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let sql = format!(
        "SELECT {} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        rows::AUDIT_COLUMNS
    );
    let found = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(backend_err)?;
    found.iter().map(rows::record).collect()
}

pub(crate) async fn head(pool: &sqlx::AnyPool) -> Result<(i64, String), StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(backend_err)?;
    Ok((
        row.try_get("seq").map_err(backend_err)?,
        row.try_get("hash").map_err(backend_err)?,
    ))
}
