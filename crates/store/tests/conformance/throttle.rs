//! Resend throttles decided inside the write, and failed answers counted on
//! their challenges in the failure's own transaction.

use std::sync::Arc;

use crate::common::{at, event, token, user};
use ichido_domain::Store;
use ichido_domain::challenge::{ChallengePolicy, NewChallenge, ResendLimit};
use ichido_domain::store::Failure;
use ichido_domain::token::TokenState;
use ichido_store::Db;
use tokio::sync::Barrier;

fn challenge(id: &str, user_id: i64, token_id: i64, now: i64) -> NewChallenge {
    NewChallenge {
        id: id.into(),
        user_id,
        token_id,
        code_hash: Some("00".repeat(32)),
        created_at: at(now),
        expires_at: at(now + 300),
        max_attempts: 3,
        transaction: None,
        question: None,
    }
}

/// At most one send per 30 s to the same tokens, `max` per 15 minutes.
fn limit(user_id: i64, tokens: Vec<i64>, max: i64, now: i64) -> ResendLimit {
    ResendLimit {
        user_id,
        tokens,
        policy: ChallengePolicy {
            resend_min_seconds: 30,
            resend_max_per_window: max,
            resend_window_seconds: 900,
            ..ChallengePolicy::default()
        },
        now: at(now),
    }
}

pub async fn concurrent_sends_pass_the_throttle_once(db: Db) {
    let u = user(&db, "alice").await;
    let t = token(&db, "EMAIL1", Some(u.id), TokenState::Active).await;
    let start = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let (db, start) = (db.clone(), start.clone());
            let row = challenge(&format!("c{n}"), u.id, t.id, 100);
            let limit = limit(u.id, vec![t.id], 5, 100);
            tokio::spawn(async move {
                start.wait().await;
                db.create_challenges(
                    &[row],
                    &[event("challenge.create")],
                    Some(&limit),
                    &event("throttled"),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        if task.await.unwrap().is_none() {
            stored += 1;
        }
    }
    assert_eq!(
        stored, 1,
        "one send per resend_min_seconds, however many ask at once"
    );
    assert_eq!(db.open_challenges(u.id, at(101)).await.unwrap().len(), 1);
}

pub async fn the_first_code_to_another_token_is_not_a_resend(db: Db) {
    let u = user(&db, "alice").await;
    let email = token(&db, "EMAIL1", Some(u.id), TokenState::Active).await;
    let sms = token(&db, "SMS1", Some(u.id), TokenState::Active).await;
    let first = db
        .create_challenges(
            &[challenge("a", u.id, email.id, 100)],
            &[],
            Some(&limit(u.id, vec![email.id], 5, 100)),
            &event("throttled"),
        )
        .await
        .unwrap();
    assert_eq!(first, None);
    let other = db
        .create_challenges(
            &[challenge("b", u.id, sms.id, 101)],
            &[],
            Some(&limit(u.id, vec![sms.id], 5, 101)),
            &event("throttled"),
        )
        .await
        .unwrap();
    assert_eq!(
        other, None,
        "a code to the SMS token right after one to the email token"
    );
    let again = db
        .create_challenges(
            &[challenge("c", u.id, email.id, 102)],
            &[],
            Some(&limit(u.id, vec![email.id], 5, 102)),
            &event("throttled"),
        )
        .await
        .unwrap();
    assert_eq!(again, Some(at(130)), "the email token again within 30 s");
}

pub async fn a_failure_takes_an_attempt_from_each_named_challenge(db: Db) {
    let u = user(&db, "alice").await;
    let t = token(&db, "EMAIL1", Some(u.id), TokenState::Active).await;
    db.create_challenges(
        &[challenge("a", u.id, t.id, 100)],
        &[],
        None,
        &event("throttled"),
    )
    .await
    .unwrap();
    db.create_challenges(
        &[challenge("b", u.id, t.id, 100)],
        &[],
        None,
        &event("throttled"),
    )
    .await
    .unwrap();
    let f = Failure {
        user_id: u.id,
        max_failures: 10,
        lock_until: at(1000),
        now: at(101),
        challenges: vec!["a".into()],
        signin: None,
    };
    db.record_failure(&f, &event("validate").user("alice"))
        .await
        .unwrap();
    let attempts = |id: &'static str| {
        let db = db.clone();
        async move { db.challenge(id).await.unwrap()[0].attempts }
    };
    assert_eq!((attempts("a").await, attempts("b").await), (1, 0));
}
