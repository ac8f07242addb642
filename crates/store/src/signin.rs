//! Sign-in: pending sign-ins (taken by the one statement that deletes them,
//! so two nodes cannot both answer one), remembered devices (a secret is
//! replaced only by an UPDATE that still finds the old one) and the history,
//! each written with its audit event.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::writer::Tx;
use crate::{Db, backend_err};
use ichido_domain::audit::Event;
use ichido_domain::signin::{Device, PendingSignin, Result, Rotation, SigninRecord, SigninStore};
use ichido_domain::{StoreError, Timestamp};

const PENDING_COLUMNS: &str =
    "id_hash, user_id, username, app, client_ip, user_agent, factors, created_at, expires_at";
const DEVICE_COLUMNS: &str = "id, user_id, secret_hash, previous_hash, name, created_at, \
     last_seen_at, last_ip, expires_at, revoked_at, revoked_reason";

fn pending(r: &AnyRow) -> std::result::Result<PendingSignin, StoreError> {
    Ok(PendingSignin {
        id_hash: r.try_get("id_hash").map_err(backend_err)?,
        user_id: r.try_get("user_id").map_err(backend_err)?,
        username: r.try_get("username").map_err(backend_err)?,
        app: r.try_get("app").map_err(backend_err)?,
        client_ip: r.try_get("client_ip").map_err(backend_err)?,
        user_agent: r.try_get("user_agent").map_err(backend_err)?,
        factors: r.try_get("factors").map_err(backend_err)?,
        created_at: Timestamp(r.try_get("created_at").map_err(backend_err)?),
        expires_at: Timestamp(r.try_get("expires_at").map_err(backend_err)?),
    })
}

fn device(r: &AnyRow) -> std::result::Result<Device, StoreError> {
    Ok(Device {
        id: r.try_get("id").map_err(backend_err)?,
        user_id: r.try_get("user_id").map_err(backend_err)?,
        secret_hash: r.try_get("secret_hash").map_err(backend_err)?,
        previous_hash: r.try_get("previous_hash").map_err(backend_err)?,
        name: r.try_get("name").map_err(backend_err)?,
        created_at: Timestamp(r.try_get("created_at").map_err(backend_err)?),
        last_seen_at: Timestamp(r.try_get("last_seen_at").map_err(backend_err)?),
        last_ip: r.try_get("last_ip").map_err(backend_err)?,
        expires_at: Timestamp(r.try_get("expires_at").map_err(backend_err)?),
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(backend_err)?
            .map(Timestamp),
        revoked_reason: r.try_get("revoked_reason").map_err(backend_err)?,
    })
}

fn record(r: &AnyRow) -> std::result::Result<(i64, SigninRecord), StoreError> {
    Ok((
        r.try_get("id").map_err(backend_err)?,
        SigninRecord {
            user_id: r.try_get("user_id").map_err(backend_err)?,
            at: Timestamp(r.try_get("at").map_err(backend_err)?),
            result: r.try_get("result").map_err(backend_err)?,
            app: r.try_get("app").map_err(backend_err)?,
            client_ip: r.try_get("client_ip").map_err(backend_err)?,
            device_name: r.try_get("device_name").map_err(backend_err)?,
            new_device: r.try_get::<i64, _>("new_device").map_err(backend_err)? != 0,
            factor: r.try_get("factor").map_err(backend_err)?,
        },
    ))
}

/// Appends one decision to the history inside a write.
pub(crate) async fn insert_record(tx: &mut Tx, s: &SigninRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO signins (user_id, at, result, app, client_ip, device_name, new_device, factor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(s.user_id)
    .bind(s.at.0)
    .bind(s.result.clone())
    .bind(s.app.clone())
    .bind(s.client_ip.clone())
    .bind(s.device_name.clone())
    .bind(i64::from(s.new_device))
    .bind(s.factor.clone())
    .execute(tx.conn())
    .await
    .map_err(backend_err)?;
    Ok(())
}

/// Revokes every device of the user inside a write (a password change).
pub(crate) async fn revoke_all_in(
    tx: &mut Tx,
    user_id: i64,
    reason: &str,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE trusted_devices SET revoked_at = $1, revoked_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now.0)
    .bind(reason.to_owned())
    .bind(user_id)
    .execute(tx.conn())
    .await
    .map_err(backend_err)?;
    Ok(done.rows_affected())
}

impl SigninStore for Db {
    async fn open_signin(
        &self,
        pending: &PendingSignin,
        record: &SigninRecord,
        ev: &Event,
    ) -> Result<()> {
        let (p, record, ev) = (pending.clone(), record.clone(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                // Abandoned sign-ins go with the next one.
                sqlx::query("DELETE FROM signin_pending WHERE expires_at <= $1")
                    .bind(p.created_at.0)
                    .execute(c.conn())
                    .await
                    .map_err(backend_err)?;
                let sql = format!(
                    "INSERT INTO signin_pending ({PENDING_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                );
                sqlx::query(&sql)
                    .bind(p.id_hash)
                    .bind(p.user_id)
                    .bind(p.username)
                    .bind(p.app)
                    .bind(p.client_ip)
                    .bind(p.user_agent)
                    .bind(p.factors)
                    .bind(p.created_at.0)
                    .bind(p.expires_at.0)
                    .execute(c.conn())
                    .await
                    .map_err(backend_err)?;
                insert_record(c, &record).await?;
                crate::audit::append(c, &ev).await
            })
        })
        .await
    }

    async fn take_signin(&self, id_hash: &str) -> Result<Option<PendingSignin>> {
        let id_hash = id_hash.to_owned();
        self.write(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "DELETE FROM signin_pending WHERE id_hash = $1 RETURNING {PENDING_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(id_hash)
                    .fetch_optional(c.conn())
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(pending).transpose()
            })
        })
        .await
    }

    async fn record_signin(
        &self,
        record: &SigninRecord,
        new_device: Option<&Device>,
        ev: &Event,
    ) -> Result<()> {
        let (record, d, ev) = (record.clone(), new_device.cloned(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                if let Some(d) = d {
                    let sql = format!(
                        "INSERT INTO trusted_devices ({DEVICE_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    );
                    sqlx::query(&sql)
                        .bind(d.id)
                        .bind(d.user_id)
                        .bind(d.secret_hash)
                        .bind(d.previous_hash)
                        .bind(d.name)
                        .bind(d.created_at.0)
                        .bind(d.last_seen_at.0)
                        .bind(d.last_ip)
                        .bind(d.expires_at.0)
                        .bind(d.revoked_at.map(|t| t.0))
                        .bind(d.revoked_reason)
                        .execute(c.conn())
                        .await
                        .map_err(backend_err)?;
                }
                insert_record(c, &record).await?;
                crate::audit::append(c, &ev).await
            })
        })
        .await
    }

    async fn device(&self, id: &str) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM trusted_devices WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_owned())
            .fetch_optional(self.reader())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(device).transpose()
    }

    async fn devices_of_user(&self, user_id: i64) -> Result<Vec<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM trusted_devices WHERE user_id = $1 \
             ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(self.reader())
            .await
            .map_err(backend_err)?;
        rows.iter().map(device).collect()
    }

    async fn rotate_device(&self, r: &Rotation, record: &SigninRecord, ev: &Event) -> Result<bool> {
        let (r, record, ev) = (r.clone(), record.clone(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE trusted_devices SET secret_hash = $1, previous_hash = $2, \
                       last_seen_at = $3, last_ip = $4 \
                     WHERE id = $5 AND secret_hash = $6 AND revoked_at IS NULL",
                )
                .bind(r.new_hash)
                .bind(r.old_hash.clone())
                .bind(r.now.0)
                .bind(r.ip)
                .bind(r.device_id)
                .bind(r.old_hash)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                insert_record(c, &record).await?;
                crate::audit::append(c, &ev).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn revoke_devices(
        &self,
        user_id: i64,
        device_id: Option<&str>,
        reason: &str,
        now: Timestamp,
        ev: &Event,
    ) -> Result<u64> {
        let (device_id, reason, ev) = (device_id.map(str::to_owned), reason.to_owned(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                let n = match device_id {
                    None => revoke_all_in(c, user_id, &reason, now).await?,
                    Some(id) => sqlx::query(
                        "UPDATE trusted_devices SET revoked_at = $1, revoked_reason = $2 \
                         WHERE user_id = $3 AND id = $4 AND revoked_at IS NULL",
                    )
                    .bind(now.0)
                    .bind(reason)
                    .bind(user_id)
                    .bind(id)
                    .execute(c.conn())
                    .await
                    .map_err(backend_err)?
                    .rows_affected(),
                };
                if n > 0 {
                    crate::audit::append(c, &ev).await?;
                }
                Ok(n)
            })
        })
        .await
    }

    async fn lock_account(
        &self,
        user_id: i64,
        until: Timestamp,
        now: Timestamp,
        ev: &Event,
    ) -> Result<()> {
        let ev = ev.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE users SET locked_until = $1, failed_count = 0, updated_at = $2 \
                     WHERE id = $3",
                )
                .bind(until.0)
                .bind(now.0)
                .bind(user_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                revoke_all_in(c, user_id, "not_me", now).await?;
                crate::audit::append(c, &ev).await
            })
        })
        .await
    }

    async fn signins_of_user(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, SigninRecord)>> {
        let rows = sqlx::query(
            "SELECT id, user_id, at, result, app, client_ip, device_name, new_device, factor \
             FROM signins WHERE user_id = $1 AND ($2 IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(user_id)
        .bind(before)
        .bind(limit)
        .fetch_all(self.reader())
        .await
        .map_err(backend_err)?;
        rows.iter().map(record).collect()
    }

    async fn prune_signins(&self, before: Timestamp) -> Result<u64> {
        self.write(move |c| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM signins WHERE at < $1")
                    .bind(before.0)
                    .execute(c.conn())
                    .await
                    .map_err(backend_err)?;
                Ok(done.rows_affected())
            })
        })
        .await
    }
}
