//! Pending second steps of two-step sign-ins: taken once, by any handle.

use ichido_domain::Timestamp;
use ichido_domain::two_step::{PendingStep, TwoStepStore};
use ichido_store::Db;

fn step(key: &str, expires_at: i64) -> PendingStep {
    PendingStep {
        key_hash: key.into(),
        client: "vpn".into(),
        username: "alice".into(),
        expires_at: Timestamp(expires_at),
    }
}

pub async fn a_pending_step_is_taken_once(db: Db) {
    let s = step("k1", 2_000);
    db.open_step(&s, Timestamp(1_000)).await.unwrap();
    assert_eq!(db.take_step("k1").await.unwrap(), Some(s));
    assert_eq!(db.take_step("k1").await.unwrap(), None, "spent");
    assert_eq!(db.take_step("never").await.unwrap(), None);
}

pub async fn concurrent_takes_of_one_step_yield_exactly_one(db: Db) {
    db.open_step(&step("k2", 2_000), Timestamp(1_000))
        .await
        .unwrap();
    let takes = (0..8).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { db.take_step("k2").await.unwrap() })
    });
    let mut won = 0;
    for t in takes {
        won += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(won, 1);
}

pub async fn opening_a_step_clears_the_expired_ones(db: Db) {
    db.open_step(&step("old", 1_500), Timestamp(1_000))
        .await
        .unwrap();
    db.open_step(&step("live", 9_000), Timestamp(1_000))
        .await
        .unwrap();
    // At 1_500 the first one has expired: the next opening deletes it.
    db.open_step(&step("new", 9_000), Timestamp(1_500))
        .await
        .unwrap();
    assert_eq!(db.take_step("old").await.unwrap(), None);
    assert!(db.take_step("live").await.unwrap().is_some());
    assert!(db.take_step("new").await.unwrap().is_some());
}
