//! Recovery codes, lost and replaced tokens, imports and reports: each write
//! one transaction with its audit events.

use crate::writer::Tx;
use sqlx::Row;

use crate::{Db, backend_err, rows};
use ichido_domain::Timestamp;
use ichido_domain::audit::Event;
use ichido_domain::recovery::{CodeKind, LostToken, RecoveryStore, Result};
use ichido_domain::token::{NewToken, Token};
use ichido_domain::user::User;

/// Inserts one token with its validity, replaced token and last counter.
pub(crate) async fn insert_token(
    c: &mut Tx,
    t: &NewToken,
    now: Timestamp,
    valid_until: Option<Timestamp>,
    replaces: Option<i64>,
    last_counter: Option<i64>,
) -> Result<Token> {
    let sql = format!(
        "INSERT INTO tokens (serial, user_id, kind, algorithm, digits, period, state, label, issuer, sealed_secret, \
           drift, failed_count, created_at, pending_until, ocra_suite, address, valid_until, replaces, last_counter, valid_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING {}",
        rows::TOKEN_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(t.serial.as_str().to_owned())
        .bind(t.user_id)
        .bind(t.params.kind.as_str())
        .bind(t.params.algorithm.to_string())
        .bind(i64::from(t.params.digits.get()))
        .bind(t.params.period as i64)
        .bind(t.state.as_str())
        .bind(t.label.clone())
        .bind(t.issuer.clone())
        .bind(t.sealed_secret.clone())
        .bind(now.0)
        .bind(t.pending_until.map(|p| p.0))
        .bind(t.ocra_suite.clone())
        .bind(t.address.clone())
        // A temporary replacement's own lifetime, else the token's.
        .bind(valid_until.or(t.valid_until).map(|v| v.0))
        .bind(replaces)
        .bind(last_counter)
        .bind(t.valid_from.map(|v| v.0))
        .fetch_one(c.conn())
        .await
        .map_err(backend_err)?;
    rows::token(&row)
}

/// After a replacement's activation: revokes the token it replaces, erasing
/// its seed, with an event of its own. Nothing when it replaces none.
pub(crate) async fn revoke_replaced(c: &mut Tx, token_id: i64, activated: &Event) -> Result<()> {
    let old = sqlx::query(
        "UPDATE tokens SET state = 'revoked', sealed_secret = '' \
         WHERE id = (SELECT replaces FROM tokens WHERE id = $1) AND state NOT IN ('revoked', 'lost') \
         RETURNING serial",
    )
    .bind(token_id)
    .fetch_optional(c.conn())
    .await
    .map_err(backend_err)?;
    if let Some(row) = old {
        let serial: String = row.try_get("serial").map_err(backend_err)?;
        let mut ev = activated.clone();
        ev.action = "token.revoke".into();
        ev.result = "success".into();
        ev.serial = Some(serial);
        ev.reason = Some("replaced".into());
        crate::audit::append(c, &ev).await?;
    }
    Ok(())
}

/// Voids every code of `kind` the user had and stores the new hashes, inside
/// the caller's transaction.
pub(crate) async fn replace_codes_in(
    c: &mut Tx,
    user_id: i64,
    kind: CodeKind,
    hashes: &[String],
    now: Timestamp,
) -> Result<()> {
    sqlx::query("DELETE FROM backup_codes WHERE user_id = $1 AND kind = $2")
        .bind(user_id)
        .bind(kind.as_str())
        .execute(c.conn())
        .await
        .map_err(backend_err)?;
    for h in hashes {
        sqlx::query(
            "INSERT INTO backup_codes (user_id, kind, code_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .bind(h.clone())
        .bind(now.0)
        .execute(c.conn())
        .await
        .map_err(backend_err)?;
    }
    Ok(())
}

impl RecoveryStore for Db {
    async fn replace_codes(
        &self,
        user_id: i64,
        kind: CodeKind,
        hashes: &[String],
        now: Timestamp,
        ev: &Event,
    ) -> Result<()> {
        let (hashes, ev) = (hashes.to_vec(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                replace_codes_in(c, user_id, kind, &hashes, now).await?;
                crate::audit::append(c, &ev).await
            })
        })
        .await
    }

    /// Once: of any number of concurrent uses of one code, one changes the row.
    async fn consume_code(
        &self,
        user_id: i64,
        kind: CodeKind,
        hash: &str,
        now: Timestamp,
        ev: &Event,
    ) -> Result<bool> {
        let (hash, ev) = (hash.to_owned(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                let used = sqlx::query(
                    "UPDATE backup_codes SET used_at = $1 \
                     WHERE user_id = $2 AND code_hash = $3 AND kind = $4 AND used_at IS NULL \
                       AND NOT EXISTS (SELECT 1 FROM users WHERE id = $2 AND locked_until > $1)",
                )
                .bind(now.0)
                .bind(user_id)
                .bind(hash)
                .bind(kind.as_str())
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                if used.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE users SET failed_count = 0 WHERE id = $1 AND failed_count <> 0",
                )
                .bind(user_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                crate::audit::append(c, &ev).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn remaining_codes(&self, user_id: i64, kind: CodeKind) -> Result<i64> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM backup_codes WHERE user_id = $1 AND kind = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .fetch_one(self.reader())
        .await
        .map_err(backend_err)?;
        r.try_get("n").map_err(backend_err)
    }

    async fn mark_lost(&self, lost: &LostToken, evs: &[Event]) -> Result<Option<Option<Token>>> {
        let (lost, evs) = (lost.clone(), evs.to_vec());
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE tokens SET state = 'lost', sealed_secret = '' \
                     WHERE id = $1 AND state IN ('pending', 'active', 'disabled')",
                )
                .bind(lost.token_id)
                .execute(c.conn())
                .await
                .map_err(backend_err)?;
                if r.rows_affected() != 1 {
                    return Ok(None);
                }
                let temporary = match &lost.replacement {
                    Some(t) => {
                        Some(insert_token(c, t, lost.now, lost.valid_until, None, None).await?)
                    }
                    None => None,
                };
                for ev in &evs {
                    crate::audit::append(c, ev).await?;
                }
                Ok(Some(temporary))
            })
        })
        .await
    }

    async fn create_replacement(
        &self,
        token: &NewToken,
        replaces: i64,
        now: Timestamp,
        ev: &Event,
    ) -> Result<Token> {
        let (t, ev) = (token.clone(), ev.clone());
        self.write(move |c| {
            Box::pin(async move {
                let token = insert_token(c, &t, now, None, Some(replaces), None).await?;
                crate::audit::append(c, &ev).await?;
                Ok(token)
            })
        })
        .await
    }

    async fn import_tokens(
        &self,
        tokens: &[(NewToken, Option<i64>)],
        now: Timestamp,
        evs: &[Event],
    ) -> Result<()> {
        let (tokens, evs) = (tokens.to_vec(), evs.to_vec());
        self.write(move |c| {
            Box::pin(async move {
                for (t, last) in &tokens {
                    insert_token(c, t, now, None, None, *last).await?;
                }
                for ev in &evs {
                    crate::audit::append(c, ev).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn assign_token(&self, token_id: i64, user_id: i64, ev: &Event) -> Result<bool> {
        let ev = ev.clone();
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE tokens SET user_id = $1 \
                     WHERE id = $2 AND user_id IS NULL AND state NOT IN ('revoked', 'lost')",
                )
                .bind(user_id)
                .bind(token_id)
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

    async fn stale_tokens(&self, before: Timestamp) -> Result<Vec<Token>> {
        let sql = format!(
            "SELECT {} FROM tokens WHERE state = 'active' \
             AND COALESCE(last_used_at, activated_at, created_at) < $1 ORDER BY id",
            rows::TOKEN_COLUMNS
        );
        let found = sqlx::query(&sql)
            .bind(before.0)
            .fetch_all(self.reader())
            .await
            .map_err(backend_err)?;
        found.iter().map(rows::token).collect()
    }

    async fn users_without_token(&self) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users u WHERE NOT EXISTS \
             (SELECT 1 FROM tokens t WHERE t.user_id = u.id AND t.state = 'active') ORDER BY username",
            rows::USER_COLUMNS
        );
        let found = sqlx::query(&sql)
            .fetch_all(self.reader())
            .await
            .map_err(backend_err)?;
        found.iter().map(rows::user).collect()
    }
}
