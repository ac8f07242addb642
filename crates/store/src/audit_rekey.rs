//! Schema version 6 keys the audit chain. A log written before it is linked
//! with plain SHA-256, which anyone who can write the database can recompute.
//! When that version is applied, the log is first checked as it was written
//! (every link, and the head), then every link is recomputed under the key in
//! the same transaction, and an `audit.rekey` event records it. A log that
//! does not verify is not re-keyed, which would launder the tampering: the
//! start fails and names the event.

use std::sync::LazyLock;

use sqlx::{AnyConnection, Row};

use crate::audit::{INSERT_INTO, bind_link, link_after, placeholders};
use crate::writer::Head;
use crate::{backend_err, rows};
use ichido_domain::audit::{
    ChainKey, Context, Event, GENESIS_HASH, chain_hash, unkeyed_chain_hash,
};
use ichido_domain::{Clock, StoreError, SystemClock};

/// The schema version whose application re-keys the log.
pub(crate) const VERSION: i64 = 6;

/// Rows read per round trip.
const PAGE: i64 = 1000;

pub(crate) async fn rekey(conn: &mut AnyConnection, key: &ChainKey) -> Result<(), StoreError> {
    let refuse = |what: String| {
        StoreError::Backend(format!(
            "the audit log written before the chain was keyed does not verify ({what}); \
             it is not re-keyed, so that the damage stays visible"
        ))
    };
    let mut old = GENESIS_HASH;
    let mut new = GENESIS_HASH;
    let mut last = 0_i64;
    loop {
        let sql = format!(
            "SELECT {} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            rows::AUDIT_COLUMNS
        );
        let page = sqlx::query(&sql)
            .bind(last)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend_err)?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let r = rows::record(row)?;
            let hash = unkeyed_chain_hash(&old, r.seq, &r.event);
            if r.seq != last + 1 {
                return Err(refuse(format!("event {} is missing", last + 1)));
            }
            if r.prev_hash != hex::encode(old) || r.hash != hex::encode(hash) {
                return Err(refuse(format!("event {} was edited", r.seq)));
            }
            let keyed = chain_hash(key, &new, r.seq, &r.event);
            sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2 WHERE seq = $3")
                .bind(hex::encode(new))
                .bind(hex::encode(keyed))
                .bind(r.seq)
                .execute(&mut *conn)
                .await
                .map_err(backend_err)?;
            (old, new, last) = (hash, keyed, r.seq);
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend_err)?;
    let (head_seq, head_hash): (i64, String) = (
        head.try_get("seq").map_err(backend_err)?,
        head.try_get("hash").map_err(backend_err)?,
    );
    if head_seq != last || head_hash != hex::encode(old) {
        return Err(refuse(format!(
            "the log ends at event {last} but the head says {head_seq}"
        )));
    }
    let mut head = Head {
        seq: last,
        hash: new,
    };
    if last > 0 {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("{INSERT_INTO} VALUES ({})", placeholders(1)));
        let ev = Event::new(
            &Context::system(),
            SystemClock.now(),
            "audit.rekey",
            "success",
        )
        .reason("keyed");
        let link = link_after(key, head, &ev);
        bind_link(sqlx::query(&SQL), &link, &ev)
            .execute(&mut *conn)
            .await
            .map_err(backend_err)?;
        head = link.head;
        tracing::warn!(
            events = last,
            "re-keyed the audit log written before the chain was keyed"
        );
    }
    let hash = hex::encode(head.hash);
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, tag = $3 WHERE id = 1")
        .bind(head.seq)
        .bind(&hash)
        .bind(key.head_tag(head.seq, &hash))
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
    Ok(())
}
