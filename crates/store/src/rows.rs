//! Rows to domain values. A row that does not decode is a storage failure,
//! reported as such, never a panic.

use sqlx::Row;
use sqlx::any::AnyRow;

use ichido_domain::audit::{Event, Record};
use ichido_domain::token::{OathParams, Token, TokenKind, TokenState};
use ichido_domain::user::{ApiKey, Role, User};
use ichido_domain::{Serial, StoreError, Timestamp, Username};
use ichido_otp::{Algorithm, Digits};

pub(crate) const USER_COLUMNS: &str = "id, username, display_name, email, phone, password_hash, failed_count, locked_until, created_at, updated_at";

pub(crate) const TOKEN_COLUMNS: &str = "id, serial, user_id, kind, algorithm, digits, period, state, label, issuer, \
     sealed_secret, last_counter, drift, failed_count, created_at, activated_at, last_used_at, pending_until, \
     ocra_suite, address, valid_from, valid_until";

pub(crate) const AUDIT_COLUMNS: &str = "seq, at, actor, action, username, serial, client_ip, user_agent, result, reason, prev_hash, hash";

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("stored row has an invalid {what}"))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    col: &str,
) -> Result<T, StoreError> {
    row.try_get(col).map_err(crate::backend_err)
}

fn ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(get::<Option<i64>>(row, col)?.map(Timestamp))
}

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: get(row, "id")?,
        username: Username::parse(&get::<String>(row, "username")?)
            .map_err(|_| corrupt("username"))?,
        display_name: get(row, "display_name")?,
        email: get(row, "email")?,
        phone: get(row, "phone")?,
        password_hash: get(row, "password_hash")?,
        failed_count: get(row, "failed_count")?,
        locked_until: ts(row, "locked_until")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

pub(crate) fn token(row: &AnyRow) -> Result<Token, StoreError> {
    let kind = TokenKind::parse(&get::<String>(row, "kind")?).ok_or_else(|| corrupt("kind"))?;
    let algorithm: Algorithm = get::<String>(row, "algorithm")?
        .parse()
        .map_err(|_| corrupt("algorithm"))?;
    let digits = u8::try_from(get::<i64>(row, "digits")?)
        .ok()
        .and_then(|d| Digits::new(d).ok())
        .ok_or_else(|| corrupt("digits"))?;
    let period = u64::try_from(get::<i64>(row, "period")?).map_err(|_| corrupt("period"))?;
    Ok(Token {
        id: get(row, "id")?,
        serial: Serial::parse(&get::<String>(row, "serial")?).map_err(|_| corrupt("serial"))?,
        user_id: get(row, "user_id")?,
        params: OathParams {
            kind,
            algorithm,
            digits,
            period,
        },
        state: TokenState::parse(&get::<String>(row, "state")?).ok_or_else(|| corrupt("state"))?,
        label: get(row, "label")?,
        issuer: get(row, "issuer")?,
        sealed_secret: get(row, "sealed_secret")?,
        last_counter: get(row, "last_counter")?,
        drift: get(row, "drift")?,
        failed_count: get(row, "failed_count")?,
        created_at: Timestamp(get(row, "created_at")?),
        activated_at: ts(row, "activated_at")?,
        last_used_at: ts(row, "last_used_at")?,
        pending_until: ts(row, "pending_until")?,
        ocra_suite: get(row, "ocra_suite")?,
        address: get(row, "address")?,
        valid_from: ts(row, "valid_from")?,
        valid_until: ts(row, "valid_until")?,
    })
}

pub(crate) fn api_key(row: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: Role::parse(&get::<String>(row, "role")?).ok_or_else(|| corrupt("role"))?,
        created_at: Timestamp(get(row, "created_at")?),
        revoked_at: get::<Option<i64>>(row, "revoked_at")?.map(Timestamp),
    })
}

pub(crate) fn record(row: &AnyRow) -> Result<Record, StoreError> {
    Ok(Record {
        seq: get(row, "seq")?,
        event: Event {
            at: Timestamp(get(row, "at")?),
            actor: get(row, "actor")?,
            action: get(row, "action")?,
            username: get(row, "username")?,
            serial: get(row, "serial")?,
            client_ip: get(row, "client_ip")?,
            user_agent: get(row, "user_agent")?,
            result: get(row, "result")?,
            reason: get(row, "reason")?,
        },
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}
