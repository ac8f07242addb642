//! The audit chain against someone who can write the database but does not
//! hold the key: each attack is played with plain SQL on the raw database,
//! then the log is verified the way `ichido audit verify` does.

use std::sync::Arc;

use crate::common::{chain_key, connect, event};
use ichido_domain::audit::verify::{VerifyError, verify_log};
use ichido_domain::audit::{ChainError, Checkpoint, Head, unkeyed_chain_hash};
use ichido_domain::store::Store;
use ichido_domain::{Timestamp, audit::GENESIS_HASH};
use ichido_store::Db;
use sqlx::{AnyPool, Row};

async fn raw(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(url).await.expect("raw connection")
}

async fn append(db: &Db, n: usize) {
    for i in 0..n {
        db.append_audit(&event(&format!("test.{i}"))).await.unwrap();
    }
}

async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.expect(sql);
}

async fn verify(db: &Db, checkpoints: &[Checkpoint]) -> Result<i64, ChainError> {
    match verify_log(db, &chain_key(), checkpoints).await {
        Ok(v) => Ok(v.events),
        Err(VerifyError::Chain(e)) => Err(e),
        Err(VerifyError::Store(e)) => panic!("store: {e}"),
    }
}

pub async fn deleting_the_tail_and_lowering_the_head_is_detected(url: String) {
    let db = connect(&url).await;
    append(&db, 6).await;
    assert_eq!(verify(&db, &[]).await, Ok(6));
    let pool = raw(&url).await;
    exec(&pool, "DELETE FROM audit WHERE seq > 4").await;
    exec(&pool, "UPDATE audit_head SET seq = 4 WHERE id = 1").await;
    assert_eq!(
        verify(&db, &[]).await,
        Err(ChainError::HeadMismatch { seq: 4 })
    );
    // Copying event 4's hash into the head does not help: its tag is missing.
    exec(
        &pool,
        "UPDATE audit_head SET hash = (SELECT hash FROM audit WHERE seq = 4) WHERE id = 1",
    )
    .await;
    assert_eq!(
        verify(&db, &[]).await,
        Err(ChainError::HeadMismatch { seq: 4 })
    );
    pool.close().await;
}

pub async fn rewriting_the_chain_with_plain_sha256_is_detected(url: String) {
    let db = connect(&url).await;
    append(&db, 5).await;
    let pool = raw(&url).await;
    exec(&pool, "UPDATE audit SET result = 'failure' WHERE seq = 2").await;
    // The attacker recomputes every link from the edit on, as the chain was
    // computed before it was keyed, and moves the head along.
    let log = db.audit_scan(0, 100).await.unwrap();
    let mut prev: [u8; 32] = hex::decode(&log[0].hash).unwrap().try_into().unwrap();
    for r in &log[1..] {
        let h = unkeyed_chain_hash(&prev, r.seq, &r.event);
        sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(hex::encode(prev))
            .bind(hex::encode(h))
            .bind(r.seq)
            .execute(&pool)
            .await
            .unwrap();
        prev = h;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hex::encode(prev))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(verify(&db, &[]).await, Err(ChainError::Edited { seq: 2 }));
    pool.close().await;
}

pub async fn truncation_below_a_checkpoint_is_detected_with_a_restored_head(url: String) {
    let db = connect(&url).await;
    append(&db, 4).await;
    let pool = raw(&url).await;
    // The attacker's old copy of the head row, e.g. from a backup.
    let old = sqlx::query("SELECT seq, hash, tag FROM audit_head WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (seq, hash, tag): (i64, String, String) = (old.get("seq"), old.get("hash"), old.get("tag"));
    append(&db, 2).await;
    let tip = db.audit_tip().await.unwrap();
    let checkpoint = Checkpoint::sign(&chain_key(), &tip, Timestamp::from_secs(1_700_000_600));
    assert_eq!(verify(&db, std::slice::from_ref(&checkpoint)).await, Ok(6));

    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, tag = $3 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .bind(tag)
        .execute(&pool)
        .await
        .unwrap();
    // With the later events still there, the old head is below them.
    assert_eq!(
        verify(&db, &[]).await,
        Err(ChainError::BeyondHead { seq: 5, head: 4 })
    );
    exec(&pool, "DELETE FROM audit WHERE seq > 4").await;
    // Consistent on its own: only the anchor outside the database tells.
    assert_eq!(verify(&db, &[]).await, Ok(4));
    assert_eq!(
        verify(&db, std::slice::from_ref(&checkpoint)).await,
        Err(ChainError::CutBelowCheckpoint {
            last: 4,
            checkpoint: 6
        })
    );
    // Nor can the checkpoint be lowered to match without the key.
    let lowered = Checkpoint {
        seq: 4,
        ..checkpoint
    };
    assert_eq!(
        verify(&db, &[lowered]).await,
        Err(ChainError::CheckpointForged { seq: 4 })
    );
    pool.close().await;
}

pub async fn a_checkpoint_of_another_history_is_detected(db: Db) {
    append(&db, 3).await;
    let tip = db.audit_tip().await.unwrap();
    let other = Head {
        seq: 2,
        hash: hex::encode([7u8; 32]),
        tag: None,
    };
    let mismatched = Checkpoint::sign(&chain_key(), &other, Timestamp::from_secs(1));
    assert_eq!(
        verify(
            &db,
            &[
                Checkpoint::sign(&chain_key(), &tip, Timestamp::from_secs(1)),
                mismatched
            ]
        )
        .await,
        Err(ChainError::CheckpointMismatch { seq: 2 })
    );
}

pub async fn verify_during_appends_reports_intact(db: Db) {
    append(&db, 3).await;
    let db = Arc::new(db);
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                db.append_audit(&event(&format!("live.{i}"))).await.unwrap();
            }
        })
    };
    let mut checks = 0;
    loop {
        let done = writer.is_finished();
        let events = verify(&db, &[]).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(events >= 3);
        checks += 1;
        if done {
            break;
        }
    }
    writer.await.unwrap();
    assert!(checks >= 1);
    assert_eq!(verify(&db, &[]).await, Ok(303));
}

/// Takes the schema back to before version 6 (the keyed chain), undoing it
/// and every later version, so the next connect migrates from there.
async fn forget_versions_since_audit_keyed(pool: &AnyPool) {
    exec(pool, "DELETE FROM schema_migrations WHERE version >= 6").await;
    exec(pool, "DROP TABLE two_step_pending").await;
    exec(pool, "DROP TABLE signin_pending").await;
    exec(pool, "DROP TABLE trusted_devices").await;
    exec(pool, "DROP TABLE signins").await;
    exec(pool, "ALTER TABLE audit_head DROP COLUMN tag").await;
}

pub async fn a_log_written_before_the_key_is_rekeyed_once(url: String) {
    let db = connect(&url).await;
    db.close().await;
    // The database as version 5 left it: an unkeyed chain, a head without a tag.
    let pool = raw(&url).await;
    let mut prev = GENESIS_HASH;
    for seq in 1..=3_i64 {
        let e = event("user.create");
        let h = unkeyed_chain_hash(&prev, seq, &e);
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, action, result, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(e.at.0)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.result)
        .bind(hex::encode(prev))
        .bind(hex::encode(h))
        .execute(&pool)
        .await
        .unwrap();
        prev = h;
    }
    sqlx::query("UPDATE audit_head SET seq = 3, hash = $1, tag = NULL WHERE id = 1")
        .bind(hex::encode(prev))
        .execute(&pool)
        .await
        .unwrap();
    forget_versions_since_audit_keyed(&pool).await;
    pool.close().await;

    let db = connect(&url).await;
    assert_eq!(verify(&db, &[]).await, Ok(4), "three events and the re-key");
    let log = db.audit_scan(0, 10).await.unwrap();
    assert_eq!(log[3].event.action, "audit.rekey");
    db.close().await;
    // Opened again, nothing more happens.
    let db = connect(&url).await;
    assert_eq!(verify(&db, &[]).await, Ok(4));
}

pub async fn a_tampered_unkeyed_log_is_not_rekeyed(url: String) {
    let db = connect(&url).await;
    db.close().await;
    let pool = raw(&url).await;
    let e = event("user.create");
    let h = unkeyed_chain_hash(&GENESIS_HASH, 1, &e);
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, result, prev_hash, hash) \
         VALUES (1, $1, $2, $3, 'failure', $4, $5)",
    )
    .bind(e.at.0)
    .bind(e.actor)
    .bind(e.action)
    .bind(hex::encode(GENESIS_HASH))
    .bind(hex::encode(h))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 1, hash = $1 WHERE id = 1")
        .bind(hex::encode(h))
        .execute(&pool)
        .await
        .unwrap();
    forget_versions_since_audit_keyed(&pool).await;
    pool.close().await;
    let err = Db::connect(&url, ichido_store::Durability::Full, chain_key())
        .await
        .expect_err("an edited unkeyed log must not be re-keyed");
    assert!(err.to_string().contains("event 1 was edited"), "{err}");
}
