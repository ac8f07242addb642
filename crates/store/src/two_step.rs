//! Pending second steps of two-step sign-ins: inserted with the first step,
//! deleted by the one statement that takes them, so two nodes cannot both
//! take the same one.

use sqlx::Row;

use crate::{Db, backend_err};
use ichido_domain::Timestamp;
use ichido_domain::two_step::{PendingStep, Result, TwoStepStore};

impl TwoStepStore for Db {
    async fn open_step(&self, step: &PendingStep, now: Timestamp) -> Result<()> {
        let step = step.clone();
        self.write(move |c| {
            Box::pin(async move {
                // Abandoned sign-ins go with the next one, so the table stays
                // the size of the sign-ins under way.
                sqlx::query("DELETE FROM two_step_pending WHERE expires_at <= $1")
                    .bind(now.0)
                    .execute(c.conn())
                    .await
                    .map_err(backend_err)?;
                sqlx::query(
                    "INSERT INTO two_step_pending (key_hash, client, username, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(step.key_hash)
                .bind(step.client)
                .bind(step.username)
                .bind(step.expires_at.0)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn take_step(&self, key_hash: &str) -> Result<Option<PendingStep>> {
        let key_hash = key_hash.to_owned();
        self.write(move |c| {
            Box::pin(async move {
                let row = sqlx::query(
                    "DELETE FROM two_step_pending WHERE key_hash = $1 \
                     RETURNING key_hash, client, username, expires_at",
                )
                .bind(key_hash)
                .fetch_optional(c.conn())
                .await
                .map_err(backend_err)?;
                let Some(r) = row else {
                    return Ok(None);
                };
                Ok(Some(PendingStep {
                    key_hash: r.try_get("key_hash").map_err(backend_err)?,
                    client: r.try_get("client").map_err(backend_err)?,
                    username: r.try_get("username").map_err(backend_err)?,
                    expires_at: Timestamp(r.try_get("expires_at").map_err(backend_err)?),
                }))
            })
        })
        .await
    }
}
