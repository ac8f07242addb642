//! The two writes of the hot path, each with its audit event.

use sqlx::Row;

use crate::{Db, backend_err};
use ichido_domain::audit::Event;
use ichido_domain::store::{Acceptance, Failure, FailureOutcome, Result};

/// The once-ever rule is this conditional update: of any number of concurrent
/// callers with the same counter, on any number of nodes, one sees a row
/// change. A lock set meanwhile by a concurrent failure wins over the success.
pub(crate) async fn accept(db: &Db, a: &Acceptance, ev: &Event) -> Result<bool> {
    let (a, ev) = (a.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let advanced = sqlx::query(
                "UPDATE tokens SET last_counter = $1, drift = $2, last_used_at = $3, failed_count = 0 \
                 WHERE id = $4 AND state = 'active' AND (last_counter IS NULL OR last_counter < $1) \
                   AND (valid_from IS NULL OR valid_from <= $3) AND (valid_until IS NULL OR valid_until > $3) \
                   AND NOT EXISTS (SELECT 1 FROM users WHERE id = $5 AND locked_until > $3)",
            )
            .bind(a.counter)
            .bind(a.drift)
            .bind(a.now.0)
            .bind(a.token_id)
            .bind(a.user_id)
            .execute(c.conn())
            .await
            .map_err(backend_err)?;
            if advanced.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query("UPDATE users SET failed_count = 0 WHERE id = $1 AND failed_count <> 0")
                .bind(a.user_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            crate::audit::append(c, &ev).await?;
            Ok(true)
        })
    })
    .await
}

/// Counts the failure; the one that reaches the limit locks the user and
/// starts the count afresh for after the lock.
pub(crate) async fn record_failure(db: &Db, f: &Failure, ev: &Event) -> Result<FailureOutcome> {
    let (f, ev) = (f.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            sqlx::query("UPDATE tokens SET failed_count = failed_count + 1 WHERE user_id = $1 AND state = 'active'")
                .bind(f.user_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            let row = sqlx::query(
                "UPDATE users SET \
                   failed_count = CASE WHEN failed_count + 1 >= $1 THEN 0 ELSE failed_count + 1 END, \
                   locked_until = CASE WHEN failed_count + 1 >= $1 THEN $2 ELSE locked_until END \
                 WHERE id = $3 RETURNING failed_count, locked_until",
            )
            .bind(f.max_failures)
            .bind(f.lock_until.0)
            .bind(f.user_id)
            .fetch_optional(c.conn())
            .await
            .map_err(backend_err)?;
            crate::audit::append(c, &ev).await?;
            // The user was deleted meanwhile: nothing to count, still audited.
            let Some(row) = row else {
                return Ok(FailureOutcome { locked_now: false, failed_count: 0 });
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
                crate::audit::append(c, &lock).await?;
            }
            Ok(FailureOutcome { locked_now, failed_count })
        })
    })
    .await
}
