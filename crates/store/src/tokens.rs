use crate::writer::Tx;
use crate::{Db, backend_err, rows};
use ichido_domain::audit::Event;
use ichido_domain::store::{Acceptance, Result, SealedRow};
use ichido_domain::token::{NewToken, Token, TokenState, Validity};
use ichido_domain::{StoreError, Timestamp};
use sqlx::Row;

/// Runs one conditional UPDATE; when it changed exactly one row, appends the
/// event and reports true. Nothing is written when it changed none.
async fn update_one<'q>(
    c: &mut Tx,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ev: &Event,
) -> Result<bool> {
    let r = query.execute(c.conn()).await.map_err(backend_err)?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    crate::audit::append(c, ev).await?;
    Ok(true)
}

pub(crate) async fn create(db: &Db, t: &NewToken, now: Timestamp, ev: &Event) -> Result<Token> {
    let (t, ev) = (t.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let sql = format!(
                "INSERT INTO tokens (serial, user_id, kind, algorithm, digits, period, state, label, issuer, sealed_secret, \
                   drift, failed_count, created_at, pending_until, ocra_suite, address, valid_from, valid_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11, $12, $13, $14, $15, $16) RETURNING {}",
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
                .bind(t.label)
                .bind(t.issuer)
                .bind(t.sealed_secret)
                .bind(now.0)
                .bind(t.pending_until.map(|p| p.0))
                .bind(t.ocra_suite)
                .bind(t.address)
                .bind(t.valid_from.map(|v| v.0))
                .bind(t.valid_until.map(|v| v.0))
                .fetch_one(c.conn())
                .await
                .map_err(backend_err)?;
            let token = rows::token(&row)?;
            crate::audit::append(c, &ev).await?;
            Ok(token)
        })
    })
    .await
}

pub(crate) async fn by_serial(db: &Db, serial: &str) -> Result<Option<Token>> {
    let sql = format!(
        "SELECT {} FROM tokens WHERE serial = $1",
        rows::TOKEN_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(serial)
        .fetch_optional(db.reader())
        .await
        .map_err(backend_err)?;
    row.as_ref().map(rows::token).transpose()
}

pub(crate) async fn of_user(db: &Db, user_id: i64, only_active: bool) -> Result<Vec<Token>> {
    let sql = format!(
        "SELECT {} FROM tokens WHERE user_id = $1 AND ($2 = 0 OR state = 'active') ORDER BY id",
        rows::TOKEN_COLUMNS
    );
    let found = sqlx::query(&sql)
        .bind(user_id)
        .bind(i64::from(only_active))
        .fetch_all(db.reader())
        .await
        .map_err(backend_err)?;
    found.iter().map(rows::token).collect()
}

pub(crate) async fn activate(db: &Db, a: &Acceptance, ev: &Event) -> Result<bool> {
    let (a, ev) = (a.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let q = sqlx::query(
                "UPDATE tokens SET state = 'active', last_counter = $1, drift = $2, activated_at = $3, last_used_at = $3, \
                   pending_until = NULL, failed_count = 0 \
                 WHERE id = $4 AND state = 'pending' AND (pending_until IS NULL OR pending_until > $3)",
            )
            .bind(a.counter)
            .bind(a.drift)
            .bind(a.now.0)
            .bind(a.token_id);
            if !update_one(c, q, &ev).await? {
                return Ok(false);
            }
            crate::recovery::revoke_replaced(c, a.token_id, &ev).await?;
            Ok(true)
        })
    })
    .await
}

pub(crate) async fn set_state(
    db: &Db,
    id: i64,
    from: &[TokenState],
    to: TokenState,
    ev: &Event,
) -> Result<bool> {
    // At most five states: bind them all, padding with one that never matches.
    // Revoked and lost are final whatever the caller lists: their seed is gone.
    let mut states: Vec<&'static str> = from.iter().map(|s| s.as_str()).collect();
    states.resize(5, "-");
    let erase = i64::from(to.is_final());
    let ev = ev.clone();
    db.write(move |c| {
        Box::pin(async move {
            let q = sqlx::query(
                "UPDATE tokens SET state = $1, sealed_secret = CASE WHEN $2 = 1 THEN '' ELSE sealed_secret END \
                 WHERE id = $3 AND state IN ($4, $5, $6, $7, $8) AND state NOT IN ('revoked', 'lost')",
            )
            .bind(to.as_str())
            .bind(erase)
            .bind(id)
            .bind(states[0])
            .bind(states[1])
            .bind(states[2])
            .bind(states[3])
            .bind(states[4]);
            update_one(c, q, &ev).await
        })
    })
    .await
}

pub(crate) async fn set_label(db: &Db, id: i64, label: Option<&str>, ev: &Event) -> Result<()> {
    let (label, ev) = (label.map(str::to_owned), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let q = sqlx::query("UPDATE tokens SET label = $1 WHERE id = $2")
                .bind(label)
                .bind(id);
            // A label on no token is an error, never an audited no-op.
            if update_one(c, q, &ev).await? {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
    })
    .await
}

pub(crate) async fn set_validity(db: &Db, id: i64, validity: Validity, ev: &Event) -> Result<()> {
    let ev = ev.clone();
    db.write(move |c| {
        Box::pin(async move {
            let q =
                sqlx::query("UPDATE tokens SET valid_from = $1, valid_until = $2 WHERE id = $3")
                    .bind(validity.from.map(|v| v.0))
                    .bind(validity.until.map(|v| v.0))
                    .bind(id);
            if update_one(c, q, &ev).await? {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
    })
    .await
}

pub(crate) async fn resync(db: &Db, a: &Acceptance, ev: &Event) -> Result<bool> {
    let (a, ev) = (a.clone(), ev.clone());
    db.write(move |c| {
        Box::pin(async move {
            let q = sqlx::query(
                "UPDATE tokens SET last_counter = $1, drift = $2, failed_count = 0 \
                 WHERE id = $3 AND state IN ('active', 'disabled') AND (last_counter IS NULL OR last_counter < $1)",
            )
            .bind(a.counter)
            .bind(a.drift)
            .bind(a.token_id);
            update_one(c, q, &ev).await
        })
    })
    .await
}

pub(crate) async fn sealed(db: &Db) -> Result<Vec<SealedRow>> {
    let found = sqlx::query(
        "SELECT id, serial, sealed_secret FROM tokens WHERE sealed_secret <> '' ORDER BY id",
    )
    .fetch_all(db.reader())
    .await
    .map_err(backend_err)?;
    found
        .iter()
        .map(|r| {
            Ok(SealedRow {
                token_id: r.try_get("id").map_err(backend_err)?,
                serial: r.try_get("serial").map_err(backend_err)?,
                sealed_secret: r.try_get("sealed_secret").map_err(backend_err)?,
            })
        })
        .collect()
}

pub(crate) async fn reseal(db: &Db, id: i64, old: &str, new: &str) -> Result<bool> {
    let (old, new) = (old.to_owned(), new.to_owned());
    db.write(move |c| {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE tokens SET sealed_secret = $1 WHERE id = $2 AND sealed_secret = $3",
            )
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(c.conn())
            .await
            .map_err(backend_err)?;
            Ok(r.rows_affected() == 1)
        })
    })
    .await
}
