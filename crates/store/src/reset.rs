//! Self-service reset requests: stored hashed; each step (proof, waiting
//! period, cancel, enrollment) is one conditional UPDATE, and enrollment also
//! revokes the user's tokens, stores the new pending one and voids the
//! recovery codes and open challenges, in one transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::recovery::{insert_token, replace_codes_in};
use crate::{Db, backend_err};
use ichido_domain::audit::Event;
use ichido_domain::challenge::ResendLimit;

use crate::challenges::{lock_user, stats};
use ichido_domain::recovery::CodeKind;
use ichido_domain::reset::{CompleteReset, NewReset, Reset, ResetStore, Result};
use ichido_domain::token::Token;
use ichido_domain::{StoreError, Timestamp};

const COLUMNS: &str = "id, user_id, created_at, expires_at, approved_at, verified_at, \
     waiting_until, cancelled_at, used_at, serial";

fn row(r: &AnyRow) -> std::result::Result<Reset, StoreError> {
    let ts = |c: &str| -> std::result::Result<Option<Timestamp>, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(c)
            .map_err(backend_err)?
            .map(Timestamp))
    };
    Ok(Reset {
        id: r.try_get("id").map_err(backend_err)?,
        user_id: r.try_get("user_id").map_err(backend_err)?,
        created_at: Timestamp(r.try_get("created_at").map_err(backend_err)?),
        expires_at: Timestamp(r.try_get("expires_at").map_err(backend_err)?),
        approved_at: ts("approved_at")?,
        verified_at: ts("verified_at")?,
        waiting_until: ts("waiting_until")?,
        cancelled_at: ts("cancelled_at")?,
        used_at: ts("used_at")?,
        serial: r.try_get("serial").map_err(backend_err)?,
    })
}

impl Db {
    async fn reset_where(&self, column: &str, value: &str) -> Result<Option<Reset>> {
        let sql = format!("SELECT {COLUMNS} FROM reset_requests WHERE {column} = $1");
        let found = sqlx::query(&sql)
            .bind(value.to_owned())
            .fetch_optional(self.reader())
            .await
            .map_err(backend_err)?;
        found.as_ref().map(row).transpose()
    }
}

impl ResetStore for Db {
    async fn create_reset(
        &self,
        r: &NewReset,
        evs: &[Event],
        limit: &ResendLimit,
        refused: &Event,
    ) -> Result<Option<Timestamp>> {
        let (r, evs, limit, refused) = (r.clone(), evs.to_vec(), limit.clone(), refused.clone());
        let backend = self.backend();
        self.write(move |c| {
            Box::pin(async move {
                lock_user(c, backend, limit.user_id).await?;
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n, MIN(created_at) AS oldest, MAX(created_at) AS last \
                     FROM reset_requests WHERE user_id = $1 AND created_at >= $2",
                )
                .bind(limit.user_id)
                .bind(limit.since().0)
                .fetch_one(c.conn())
                .await
                .map_err(backend_err)?;
                if let Some(retry_at) = limit.retry_at(&stats(&row)?) {
                    crate::audit::append(c, &refused).await?;
                    return Ok(Some(retry_at));
                }
                sqlx::query(
                    "INSERT INTO reset_requests (id, user_id, token_hash, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(r.id)
                .bind(r.user_id)
                .bind(r.token_hash)
                .bind(r.created_at.0)
                .bind(r.expires_at.0)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                for ev in &evs {
                    crate::audit::append(c, ev).await?;
                }
                Ok(None)
            })
        })
        .await
    }

    async fn reset_by_id(&self, id: &str) -> Result<Option<Reset>> {
        self.reset_where("id", id).await
    }

    async fn reset_by_hash(&self, token_hash: &str) -> Result<Option<Reset>> {
        self.reset_where("token_hash", token_hash).await
    }

    async fn approve_reset(&self, id: &str, now: Timestamp, ev: &Event) -> Result<bool> {
        let (id, ev) = (id.to_owned(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE reset_requests SET approved_at = $1 \
                     WHERE id = $2 AND used_at IS NULL AND cancelled_at IS NULL \
                       AND approved_at IS NULL AND expires_at > $1",
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

    async fn prove_reset(
        &self,
        id: &str,
        now: Timestamp,
        expires_at: Timestamp,
        ev: &Event,
    ) -> Result<bool> {
        let (id, ev) = (id.to_owned(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE reset_requests SET verified_at = $1, expires_at = $2 \
                     WHERE id = $3 AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > $1",
                )
                .bind(now.0)
                .bind(expires_at.0)
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

    async fn start_reset_wait(
        &self,
        id: &str,
        until: Timestamp,
        expires_at: Timestamp,
        ev: &Event,
    ) -> Result<bool> {
        let (id, ev) = (id.to_owned(), ev.clone());
        let now = ev.at;
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE reset_requests SET waiting_until = $1, expires_at = $2 \
                     WHERE id = $3 AND used_at IS NULL AND cancelled_at IS NULL \
                       AND waiting_until IS NULL AND expires_at > $4",
                )
                .bind(until.0)
                .bind(expires_at.0)
                .bind(id)
                .bind(now.0)
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

    async fn cancel_resets(
        &self,
        user_id: i64,
        made_by: Timestamp,
        now: Timestamp,
        ev: &Event,
    ) -> Result<u64> {
        let ev = ev.clone();
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE reset_requests SET cancelled_at = $1 \
                     WHERE user_id = $2 AND created_at <= $3 AND used_at IS NULL \
                       AND cancelled_at IS NULL",
                )
                .bind(now.0)
                .bind(user_id)
                .bind(made_by.0)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                if r.rows_affected() > 0 {
                    crate::audit::append(c, &ev).await?;
                }
                Ok(r.rows_affected())
            })
        })
        .await
    }

    /// Of any number of concurrent uses of one link, one changes the row;
    /// the others change nothing at all. Each revoked token gets an event of
    /// its own, made from the first of `evs`.
    async fn complete_reset(&self, c: &CompleteReset, evs: &[Event]) -> Result<Option<Token>> {
        let (r, evs) = (c.clone(), evs.to_vec());
        self.write(move |c| {
            Box::pin(async move {
                // The same rule as `Reset::stage` = Ready, checked again
                // where it cannot race.
                let used = sqlx::query(
                    "UPDATE reset_requests SET used_at = $1, serial = $5 \
                     WHERE token_hash = $2 AND user_id = $3 AND used_at IS NULL \
                       AND cancelled_at IS NULL AND expires_at > $1 \
                       AND (approved_at IS NOT NULL OR $4 = 0) \
                       AND (verified_at IS NOT NULL OR approved_at IS NOT NULL \
                            OR (waiting_until IS NOT NULL AND waiting_until <= $1))",
                )
                .bind(r.now.0)
                .bind(r.token_hash.clone())
                .bind(r.user_id)
                .bind(i64::from(r.require_approval))
                .bind(r.token.serial.as_str().to_owned())
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                if used.rows_affected() != 1 {
                    return Ok(None);
                }
                let revoked = sqlx::query(
                    "UPDATE tokens SET state = 'revoked', sealed_secret = '' \
                     WHERE user_id = $1 AND state IN ('pending', 'active', 'disabled') RETURNING serial",
                )
                .bind(r.user_id)
                .fetch_all(c.conn())
                .await
                .map_err(backend_err)?;
                let token = insert_token(c, &r.token, r.now, None, None, None).await?;
                // Nothing that worked before the reset works after it.
                replace_codes_in(c, r.user_id, CodeKind::Backup, &[], r.now).await?;
                replace_codes_in(c, r.user_id, CodeKind::Emergency, &[], r.now).await?;
                sqlx::query(
                    "UPDATE challenges SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
                )
                .bind(r.now.0)
                .bind(r.user_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                // Nor does a remembered device stand in for the new factor.
                crate::signin::revoke_all_in(c, r.user_id, "reset", r.now).await?;
                for ev in &evs {
                    crate::audit::append(c, ev).await?;
                }
                if let Some(first) = evs.first() {
                    for row in &revoked {
                        let mut ev = first.clone();
                        ev.action = "token.revoke".into();
                        ev.result = "success".into();
                        ev.serial = Some(row.try_get("serial").map_err(backend_err)?);
                        ev.reason = Some("reset".into());
                        crate::audit::append(c, &ev).await?;
                    }
                }
                Ok(Some(token))
            })
        })
        .await
    }
}
