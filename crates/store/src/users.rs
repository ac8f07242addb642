use crate::{Db, backend_err, rows};
use ichido_domain::audit::Event;
use ichido_domain::store::Result;
use ichido_domain::user::{NewUser, User, UserPatch};
use ichido_domain::{StoreError, Timestamp};

pub(crate) async fn create(db: &Db, u: &NewUser, now: Timestamp, ev: &Event) -> Result<User> {
    let username = u
        .username
        .as_ref()
        .ok_or_else(|| StoreError::Backend("username missing".into()))?
        .to_string();
    let (u, ev) = (u.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let sql = format!(
                "INSERT INTO users (username, display_name, email, phone, password_hash, failed_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING {}",
                rows::USER_COLUMNS
            );
            let row = sqlx::query(&sql)
                .bind(username)
                .bind(u.display_name)
                .bind(u.email)
                .bind(u.phone)
                .bind(u.password_hash)
                .bind(now.0)
                .fetch_one(c.conn())
                .await
                .map_err(backend_err)?;
            let user = rows::user(&row)?;
            crate::audit::append(c, &ev).await?;
            Ok(user)
        })
    })
    .await
}

pub(crate) async fn by_name(db: &Db, username: &str) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {} FROM users WHERE username = $1",
        rows::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(username)
        .fetch_optional(db.reader())
        .await
        .map_err(backend_err)?;
    row.as_ref().map(rows::user).transpose()
}

pub(crate) async fn by_id(db: &Db, id: i64) -> Result<Option<User>> {
    let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await
        .map_err(backend_err)?;
    row.as_ref().map(rows::user).transpose()
}

pub(crate) async fn list(
    db: &Db,
    query: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<User>> {
    // Not LIKE: SQLite's ignores ASCII case, PostgreSQL's does not. Removing
    // the query from the name changes it exactly when the name contains it,
    // byte for byte on both, with no wildcard characters to escape.
    let query = query.filter(|q| !q.is_empty());
    let sql = format!(
        "SELECT {} FROM users WHERE ($1 IS NULL OR replace(username, $1, '') <> username) \
         AND ($2 IS NULL OR username > $2) ORDER BY username LIMIT $3",
        rows::USER_COLUMNS
    );
    let found = sqlx::query(&sql)
        .bind(query)
        .bind(after)
        .bind(limit)
        .fetch_all(db.reader())
        .await
        .map_err(backend_err)?;
    found.iter().map(rows::user).collect()
}

pub(crate) async fn update(
    db: &Db,
    id: i64,
    p: &UserPatch,
    now: Timestamp,
    ev: &Event,
) -> Result<User> {
    let (p, ev) = (p.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            // Each field: kept when its flag is 0, otherwise the new value (possibly NULL).
            let sql = format!(
                "UPDATE users SET \
                   display_name = CASE WHEN $1 = 1 THEN $2 ELSE display_name END, \
                   email = CASE WHEN $3 = 1 THEN $4 ELSE email END, \
                   phone = CASE WHEN $5 = 1 THEN $6 ELSE phone END, \
                   password_hash = CASE WHEN $7 = 1 THEN $8 ELSE password_hash END, \
                   updated_at = $9 \
                 WHERE id = $10 RETURNING {}",
                rows::USER_COLUMNS
            );
            let flag = |o: &Option<Option<String>>| i64::from(o.is_some());
            let row = sqlx::query(&sql)
                .bind(flag(&p.display_name))
                .bind(p.display_name.clone().flatten())
                .bind(flag(&p.email))
                .bind(p.email.clone().flatten())
                .bind(flag(&p.phone))
                .bind(p.phone.clone().flatten())
                .bind(flag(&p.password_hash))
                .bind(p.password_hash.clone().flatten())
                .bind(now.0)
                .bind(id)
                .fetch_optional(c.conn())
                .await
                .map_err(backend_err)?
                .ok_or(StoreError::NotFound)?;
            let user = rows::user(&row)?;
            // A new password ends the trust of every remembered device.
            if p.password_hash.is_some() {
                crate::signin::revoke_all_in(c, id, "password_changed", now).await?;
            }
            crate::audit::append(c, &ev).await?;
            Ok(user)
        })
    })
    .await
}

pub(crate) async fn delete(db: &Db, id: i64, ev: &Event) -> Result<()> {
    let ev = ev.clone();
    db.write(move |c| {
        Box::pin(async move {
            // Revoked tokens stay as rows for the audit trail, without owner or seed.
            sqlx::query("UPDATE tokens SET state = 'revoked', user_id = NULL, sealed_secret = '' WHERE user_id = $1")
                .bind(id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            sqlx::query("DELETE FROM trusted_devices WHERE user_id = $1")
                .bind(id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            let gone = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(c.conn()).await.map_err(backend_err)?;
            if gone.rows_affected() != 1 {
                return Err(StoreError::NotFound);
            }
            crate::audit::append(c, &ev).await
        })
    })
    .await
}

pub(crate) async fn unlock(db: &Db, id: i64, now: Timestamp, ev: &Event) -> Result<()> {
    let ev = ev.clone();
    db.write(move |c| {
        Box::pin(async move {
            let r = sqlx::query("UPDATE users SET failed_count = 0, locked_until = NULL, updated_at = $1 WHERE id = $2")
                .bind(now.0)
                .bind(id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            if r.rows_affected() != 1 {
                return Err(StoreError::NotFound);
            }
            // Tokens no longer tried for their own failures work again too.
            sqlx::query("UPDATE tokens SET failed_count = 0 WHERE user_id = $1 AND failed_count <> 0")
                .bind(id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
            crate::audit::append(c, &ev).await
        })
    })
    .await
}
