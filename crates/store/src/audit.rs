//! Appending to the keyed hash chain (`ichido_domain::audit::chain`), and
//! reading it back. The head is read and locked once per write transaction by
//! the writer (`writer::Tx`), which also tags it before the commit.

use std::sync::LazyLock;

use sqlx::Row;

use crate::writer::{Head, Tx};
use crate::{backend_err, rows};
use ichido_domain::StoreError;
use ichido_domain::audit::{ChainKey, Event, Head as Tip, Query, Record, chain_hash};

/// The columns of an audit row, in the order `bind_link` binds them.
pub(crate) const INSERT_INTO: &str = "INSERT INTO audit (seq, at, actor, action, username, serial, client_ip, user_agent, \
     result, reason, prev_hash, hash)";

/// `$first, …, $(first + 11)`: the placeholders of one audit row.
pub(crate) fn placeholders(first: usize) -> String {
    (first..first + 12)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The chain's next link for an event: computed here, stored by whichever
/// statement inserts it, made the head only once that statement did.
pub(crate) struct Link {
    pub(crate) head: Head,
    prev: String,
    hash: String,
}

pub(crate) fn next_link(tx: &Tx, ev: &Event) -> Link {
    link_after(&tx.key, tx.head, ev)
}

/// The link of `ev` after `head`, under `key`.
pub(crate) fn link_after(key: &ChainKey, head: Head, ev: &Event) -> Link {
    let seq = head.seq + 1;
    let hash = chain_hash(key, &head.hash, seq, ev);
    Link {
        head: Head { seq, hash },
        prev: hex::encode(head.hash),
        hash: hex::encode(hash),
    }
}

/// Binds the row of `link` in `INSERT_INTO`'s column order.
pub(crate) fn bind_link<'q>(q: AnyQuery<'q>, link: &'q Link, ev: &'q Event) -> AnyQuery<'q> {
    q.bind(link.head.seq)
        .bind(ev.at.0)
        .bind(&ev.actor)
        .bind(&ev.action)
        .bind(&ev.username)
        .bind(&ev.serial)
        .bind(&ev.client_ip)
        .bind(&ev.user_agent)
        .bind(&ev.result)
        .bind(&ev.reason)
        .bind(&link.prev)
        .bind(&link.hash)
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Inserts the event as the chain's next link; the batch writes the new head
/// back before it commits (see `writer`).
pub(crate) async fn append(tx: &mut Tx, ev: &Event) -> Result<(), StoreError> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("{INSERT_INTO} VALUES ({})", placeholders(1)));
    let link = next_link(tx, ev);
    bind_link(sqlx::query(&SQL), &link, ev)
        .execute(tx.conn())
        .await
        .map_err(backend_err)?;
    tx.head = link.head;
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

pub(crate) async fn tip(pool: &sqlx::AnyPool) -> Result<Tip, StoreError> {
    let row = sqlx::query("SELECT seq, hash, tag FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(backend_err)?;
    Ok(Tip {
        seq: row.try_get("seq").map_err(backend_err)?,
        hash: row.try_get("hash").map_err(backend_err)?,
        tag: row.try_get("tag").map_err(backend_err)?,
    })
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
