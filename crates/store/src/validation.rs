//! The two writes of the hot path, each with its audit event, each one round
//! trip to the database: statements that depend on each other are chained
//! inside it (SQLite: one multi-statement execute linked by `changes()`;
//! PostgreSQL: one statement of data-modifying CTEs). Every other write
//! takes a round trip per statement, which is fine off the hot path.

use std::sync::LazyLock;

use sqlx::Row;

use crate::audit::{INSERT_INTO, bind_link, next_link, placeholders};
use crate::writer::Isolation;
use crate::{Backend, Db, backend_err};
use ichido_domain::audit::Event;
use ichido_domain::store::{Acceptance, Failure, FailureOutcome, Result};

/// The once-ever rule is the conditional update of the token: of any number
/// of concurrent callers with the same counter, on any number of nodes, one
/// sees a row change, and only that one inserts its audit row and resets the
/// user's failures. A lock set meanwhile by a concurrent failure wins over
/// the success.
const ADVANCE: &str = "UPDATE tokens SET last_counter = $1, drift = $2, last_used_at = $3, failed_count = 0 \
     WHERE id = $4 AND state = 'active' AND (last_counter IS NULL OR last_counter < $1) \
       AND (valid_from IS NULL OR valid_from <= $3) AND (valid_until IS NULL OR valid_until > $3) \
       AND NOT EXISTS (SELECT 1 FROM users WHERE id = $5 AND locked_until > $3)";

static ACCEPT_SQLITE: LazyLock<String> = LazyLock::new(|| {
    // `changes()` is the row count of the statement before: the advance,
    // then the audit insert (which happened only if the advance did).
    format!(
        "{ADVANCE}; {INSERT_INTO} SELECT {} WHERE changes() = 1 RETURNING seq; \
         UPDATE users SET failed_count = 0 WHERE id = $5 AND failed_count <> 0 AND changes() = 1",
        placeholders(6)
    )
});

static ACCEPT_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH advanced AS ({ADVANCE} RETURNING id), \
           logged AS ({INSERT_INTO} SELECT {} FROM advanced RETURNING seq), \
           reset AS (UPDATE users SET failed_count = 0 WHERE id = $5 AND failed_count <> 0 \
                     AND EXISTS (SELECT 1 FROM advanced)) \
         SELECT seq FROM logged",
        placeholders(6)
    )
});

pub(crate) async fn accept(db: &Db, a: &Acceptance, ev: &Event) -> Result<bool> {
    let (a, ev, backend) = (a.clone(), ev.clone(), db.backend());
    // Without a savepoint: these fail only when the database does.
    db.writer
        .write(Isolation::None, move |tx| {
            Box::pin(async move {
                let sql = match backend {
                    Backend::Sqlite => &ACCEPT_SQLITE,
                    Backend::Postgres => &ACCEPT_POSTGRES,
                };
                let link = next_link(tx, &ev);
                let q = sqlx::query(sql)
                    .bind(a.counter)
                    .bind(a.drift)
                    .bind(a.now.0)
                    .bind(a.token_id)
                    .bind(a.user_id);
                // All rows, so that every statement of SQLite's chain runs.
                let logged = bind_link(q, &link, &ev)
                    .fetch_all(tx.conn())
                    .await
                    .map_err(backend_err)?;
                if logged.is_empty() {
                    return Ok(false);
                }
                tx.head = link.head;
                Ok(true)
            })
        })
        .await
}

const COUNT_ON_TOKENS: &str =
    "UPDATE tokens SET failed_count = failed_count + 1 WHERE user_id = $1 AND state = 'active'";
const COUNT_ON_USER: &str = "UPDATE users SET \
       failed_count = CASE WHEN failed_count + 1 >= $2 THEN 0 ELSE failed_count + 1 END, \
       locked_until = CASE WHEN failed_count + 1 >= $2 THEN $3 ELSE locked_until END \
     WHERE id = $1 RETURNING failed_count, locked_until";

static FAILURE_SQLITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{COUNT_ON_TOKENS}; {COUNT_ON_USER}; {INSERT_INTO} VALUES ({})",
        placeholders(4)
    )
});

static FAILURE_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH on_tokens AS ({COUNT_ON_TOKENS}), on_user AS ({COUNT_ON_USER}), \
           logged AS ({INSERT_INTO} VALUES ({})) \
         SELECT failed_count, locked_until FROM on_user",
        placeholders(4)
    )
});

/// Counts the failure; the one that reaches the limit locks the user and
/// starts the count afresh for after the lock.
pub(crate) async fn record_failure(db: &Db, f: &Failure, ev: &Event) -> Result<FailureOutcome> {
    let (f, ev, backend) = (f.clone(), ev.clone(), db.backend());
    // Without a savepoint: these fail only when the database does.
    db.writer
        .write(Isolation::None, move |tx| {
            Box::pin(async move {
                let sql = match backend {
                    Backend::Sqlite => &FAILURE_SQLITE,
                    Backend::Postgres => &FAILURE_POSTGRES,
                };
                let link = next_link(tx, &ev);
                let q = sqlx::query(sql)
                    .bind(f.user_id)
                    .bind(f.max_failures)
                    .bind(f.lock_until.0);
                // All rows, so that every statement of SQLite's chain runs.
                let rows = bind_link(q, &link, &ev)
                    .fetch_all(tx.conn())
                    .await
                    .map_err(backend_err)?;
                tx.head = link.head;
                for id in &f.challenges {
                    sqlx::query(
                        "UPDATE challenges SET attempts = attempts + 1 \
                         WHERE id = $1 AND user_id = $2 AND used_at IS NULL",
                    )
                    .bind(id)
                    .bind(f.user_id)
                    .execute(tx.conn())
                    .await
                    .map_err(backend_err)?;
                }
                if let Some(record) = &f.signin {
                    crate::signin::insert_record(tx, record).await?;
                }
                // The user was deleted meanwhile: nothing to count, still audited.
                let Some(row) = rows.first() else {
                    return Ok(FailureOutcome {
                        locked_now: false,
                        failed_count: 0,
                    });
                };
                let failed_count: i64 = row.try_get("failed_count").map_err(backend_err)?;
                let locked_until: Option<i64> = row.try_get("locked_until").map_err(backend_err)?;
                let locked_now = failed_count == 0 && locked_until == Some(f.lock_until.0);
                if locked_now {
                    let mut lock = ev.clone();
                    lock.action = "user.lock".into();
                    lock.result = "success".into();
                    lock.reason = Some("too_many_failures".into());
                    lock.serial = None;
                    crate::audit::append(tx, &lock).await?;
                }
                Ok(FailureOutcome {
                    locked_now,
                    failed_count,
                })
            })
        })
        .await
}
