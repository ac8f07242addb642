//! Appending to the hash chain, and reading it back. The head is read and
//! locked once per write transaction by the writer (`writer::Tx`).

use sqlx::Row;

use crate::writer::{Head, Tx};
use crate::{backend_err, rows};
use ichido_domain::StoreError;
use ichido_domain::audit::{Event, Query, Record, chain_hash};

/// Inserts the event as the chain's next link; the batch writes the new head
/// back before it commits (see `writer`).
pub(crate) async fn append(tx: &mut Tx, ev: &Event) -> Result<(), StoreError> {
    let seq = tx.head.seq + 1;
    let hash = chain_hash(&tx.head.hash, seq, ev);
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
    .bind(hex::encode(tx.head.hash))
    .bind(hex::encode(hash))
    .execute(tx.conn())
    .await
    .map_err(backend_err)?;
    tx.head = Head { seq, hash };
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
