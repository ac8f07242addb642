//! Challenges: stored with their events, consumed by one conditional UPDATE.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::writer::Tx;
use crate::{Backend, Db, backend_err};
use ichido_domain::audit::Event;
use ichido_domain::challenge::{Challenge, Consume, NewChallenge, ResendLimit, ResendStats};
use ichido_domain::store::Result;
use ichido_domain::{StoreError, Timestamp};

const COLUMNS: &str = "id, token_id, user_id, code_hash, created_at, expires_at, attempts, max_attempts, used_at, txn, question";

fn row(r: &AnyRow) -> std::result::Result<Challenge, StoreError> {
    let get_ts = |c: &str| -> std::result::Result<Option<Timestamp>, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(c)
            .map_err(backend_err)?
            .map(Timestamp))
    };
    Ok(Challenge {
        id: r.try_get("id").map_err(backend_err)?,
        token_id: r.try_get("token_id").map_err(backend_err)?,
        user_id: r.try_get("user_id").map_err(backend_err)?,
        code_hash: r.try_get("code_hash").map_err(backend_err)?,
        created_at: Timestamp(r.try_get("created_at").map_err(backend_err)?),
        expires_at: Timestamp(r.try_get("expires_at").map_err(backend_err)?),
        attempts: r.try_get("attempts").map_err(backend_err)?,
        max_attempts: r.try_get("max_attempts").map_err(backend_err)?,
        used_at: get_ts("used_at")?,
        transaction: r.try_get("txn").map_err(backend_err)?,
        question: r.try_get("question").map_err(backend_err)?,
    })
}

pub(crate) async fn create(
    db: &Db,
    rows: &[NewChallenge],
    evs: &[Event],
    limit: Option<&ResendLimit>,
    refused: &Event,
) -> Result<Option<Timestamp>> {
    let (rows, evs, limit, refused) =
        (rows.to_vec(), evs.to_vec(), limit.cloned(), refused.clone());
    let backend = db.backend();
    db.write(move |c| {
        Box::pin(async move {
            if let Some(limit) = &limit {
                lock_user(c, backend, limit.user_id).await?;
                let stats = resend_stats_on(c.conn(), limit.user_id, &limit.tokens, limit.since()).await?;
                if let Some(retry_at) = limit.retry_at(&stats) {
                    crate::audit::append(c, &refused).await?;
                    return Ok(Some(retry_at));
                }
            }
            for r in rows {
                sqlx::query(
                    "INSERT INTO challenges (id, token_id, user_id, code_hash, created_at, expires_at, attempts, \
                       max_attempts, txn, question) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)",
                )
                .bind(r.id)
                .bind(r.token_id)
                .bind(r.user_id)
                .bind(r.code_hash)
                .bind(r.created_at.0)
                .bind(r.expires_at.0)
                .bind(r.max_attempts)
                .bind(r.transaction)
                .bind(r.question)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            }
            for ev in &evs {
                crate::audit::append(c, ev).await?;
            }
            Ok(None)
        })
    })
    .await
}

/// Takes the user's row lock on PostgreSQL, so that two nodes checking one
/// user's throttle queue on each other. (SQLite has one writer already.)
pub(crate) async fn lock_user(c: &mut Tx, backend: Backend, user_id: i64) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(c.conn())
            .await
            .map_err(backend_err)?;
    }
    Ok(())
}

pub(crate) async fn by_id(db: &Db, id: &str) -> Result<Vec<Challenge>> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE id = $1 ORDER BY token_id");
    let found = sqlx::query(&sql)
        .bind(id)
        .fetch_all(db.reader())
        .await
        .map_err(backend_err)?;
    found.iter().map(row).collect()
}

pub(crate) async fn open(db: &Db, user_id: i64, now: Timestamp) -> Result<Vec<Challenge>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM challenges WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2 \
         AND attempts < max_attempts ORDER BY created_at DESC, id, token_id"
    );
    let found = sqlx::query(&sql)
        .bind(user_id)
        .bind(now.0)
        .fetch_all(db.reader())
        .await
        .map_err(backend_err)?;
    found.iter().map(row).collect()
}

/// Once: of any number of concurrent right answers, on any number of nodes,
/// one sees the challenge change. Every row of the challenge is used up, so
/// the code sent by another channel dies with it.
pub(crate) async fn consume(db: &Db, k: &Consume, evs: &[Event]) -> Result<bool> {
    let (k, evs) = (k.clone(), evs.to_vec());
    db.write(move |c| {
        Box::pin(async move {
            let used = sqlx::query(
                "UPDATE challenges SET used_at = $1 \
                 WHERE id = $2 AND used_at IS NULL AND expires_at > $1 AND attempts < max_attempts \
                   AND EXISTS (SELECT 1 FROM challenges m WHERE m.id = $2 AND m.token_id = $3 AND m.user_id = $4) \
                   AND EXISTS (SELECT 1 FROM tokens t WHERE t.id = $3 AND t.user_id = $4 \
                     AND t.state = CASE WHEN $5 = 1 THEN 'pending' ELSE 'active' END \
                     AND ($5 = 0 OR t.pending_until IS NULL OR t.pending_until > $1) \
                     AND (t.valid_from IS NULL OR t.valid_from <= $1) AND (t.valid_until IS NULL OR t.valid_until > $1) \
                     AND ($6 IS NULL OR t.last_counter IS NULL OR t.last_counter < $6)) \
                   AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = $4 AND u.locked_until > $1)",
            )
            .bind(k.now.0)
            .bind(k.challenge_id.clone())
            .bind(k.token_id)
            .bind(k.user_id)
            .bind(i64::from(k.activate))
            .bind(k.counter)
            .execute(c.conn())
            .await
            .map_err(backend_err)?;
            if used.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE tokens SET last_used_at = $1, failed_count = 0, \
                   last_counter = CASE WHEN $2 IS NULL THEN last_counter ELSE $2 END, \
                   state = 'active', \
                   activated_at = CASE WHEN $3 = 1 THEN $1 ELSE activated_at END, \
                   pending_until = CASE WHEN $3 = 1 THEN NULL ELSE pending_until END \
                 WHERE id = $4",
            )
            .bind(k.now.0)
            .bind(k.counter)
            .bind(i64::from(k.activate))
            .bind(k.token_id)
            .execute(c.conn())
            .await
            .map_err(backend_err)?;
            sqlx::query("UPDATE users SET failed_count = 0 WHERE id = $1 AND failed_count <> 0")
                .bind(k.user_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            for ev in &evs {
                crate::audit::append(c, ev).await?;
            }
            Ok(true)
        })
    })
    .await
}

pub(crate) async fn attempt(db: &Db, ids: &[String]) -> Result<()> {
    let ids = ids.to_vec();
    db.write(move |c| {
        Box::pin(async move {
            for id in ids {
                sqlx::query(
                    "UPDATE challenges SET attempts = attempts + 1 WHERE id = $1 AND used_at IS NULL",
                )
                .bind(id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            }
            Ok(())
        })
    })
    .await
}

/// Only sent codes count: an OCRA question costs nothing to ask.
pub(crate) async fn resend_stats(
    db: &Db,
    user_id: i64,
    tokens: &[i64],
    since: Timestamp,
) -> Result<ResendStats> {
    resend_stats_on(db.reader(), user_id, tokens, since).await
}

async fn resend_stats_on<'e, E: Executor<'e, Database = Any>>(
    e: E,
    user_id: i64,
    tokens: &[i64],
    since: Timestamp,
) -> Result<ResendStats> {
    // Ids are numbers from this database, written into the text as such.
    let of_tokens = if tokens.is_empty() {
        "NULL".to_owned()
    } else {
        let ids: Vec<String> = tokens.iter().map(i64::to_string).collect();
        format!(
            "CASE WHEN token_id IN ({}) THEN created_at END",
            ids.join(", ")
        )
    };
    let sql = format!(
        "SELECT COUNT(DISTINCT id) AS n, MIN(created_at) AS oldest, MAX({of_tokens}) AS last \
         FROM challenges WHERE user_id = $1 AND created_at >= $2 AND code_hash IS NOT NULL"
    );
    let r = sqlx::query(&sql)
        .bind(user_id)
        .bind(since.0)
        .fetch_one(e)
        .await
        .map_err(backend_err)?;
    stats(&r)
}

/// Reads `n`, `oldest` and `last` of a stats query.
pub(crate) fn stats(r: &AnyRow) -> Result<ResendStats> {
    let ts = |c: &str| -> Result<Option<Timestamp>> {
        Ok(r.try_get::<Option<i64>, _>(c)
            .map_err(backend_err)?
            .map(Timestamp))
    };
    Ok(ResendStats {
        in_window: r.try_get("n").map_err(backend_err)?,
        oldest_in_window: ts("oldest")?,
        last: ts("last")?,
    })
}

pub(crate) async fn notice_cursor(db: &Db) -> Result<i64> {
    let r = sqlx::query("SELECT seq FROM notice_cursor WHERE id = 1")
        .fetch_one(db.reader())
        .await
        .map_err(backend_err)?;
    r.try_get("seq").map_err(backend_err)
}

pub(crate) async fn advance_notice_cursor(db: &Db, from: i64, to: i64) -> Result<bool> {
    db.write(move |c| {
        Box::pin(async move {
            let r = sqlx::query("UPDATE notice_cursor SET seq = $1 WHERE id = 1 AND seq = $2")
                .bind(to)
                .bind(from)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            Ok(r.rows_affected() == 1)
        })
    })
    .await
}
