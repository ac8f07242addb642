//! The hot path: a code accepted once, ever; every failure counted; the lock.

use std::collections::HashSet;
use std::sync::Arc;

use crate::common::{acceptance, at, audit_len, event, reload, token, user, verified_log};
use ichido_domain::StoreError;
use ichido_domain::Timestamp;
use ichido_domain::store::{Failure, FailureOutcome, Store};
use ichido_domain::token::TokenState;
use ichido_store::Db;
use tokio::sync::Barrier;

pub async fn accept_advances_once_and_never_again(db: Db) {
    let u = user(&db, "alice").await;
    let t = token(&db, "TOTP0001", Some(u.id), TokenState::Active).await;
    let events = audit_len(&db).await;
    let ev = event("validate").user("alice");

    assert!(db.accept(&acceptance(&t, 5, at(10)), &ev).await.unwrap());
    let after = reload(&db, &t).await;
    assert_eq!(
        (after.last_counter, after.last_used_at),
        (Some(5), Some(at(10)))
    );

    assert!(
        !db.accept(&acceptance(&t, 5, at(11)), &ev).await.unwrap(),
        "the same counter twice"
    );
    assert!(
        !db.accept(&acceptance(&t, 4, at(12)), &ev).await.unwrap(),
        "an older counter"
    );
    let mut next = acceptance(&t, 6, at(13));
    next.drift = -1;
    assert!(db.accept(&next, &ev).await.unwrap(), "the next counter");
    let after = reload(&db, &t).await;
    assert_eq!(
        (after.last_counter, after.drift, after.last_used_at),
        (Some(6), -1, Some(at(13)))
    );
    assert!(!db.accept(&acceptance(&t, 6, at(14)), &ev).await.unwrap());
    assert_eq!(
        audit_len(&db).await,
        events + 2,
        "only the two acceptances are audited"
    );
}

pub async fn concurrent_accepts_of_one_counter_yield_exactly_one(db: Db) {
    let u = user(&db, "alice").await;
    let t = token(&db, "TOTP0001", Some(u.id), TokenState::Active).await;
    let events = audit_len(&db).await;
    let start = Arc::new(Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (db, start, acc) = (db.clone(), start.clone(), acceptance(&t, 1_000, at(10)));
            tokio::spawn(async move {
                start.wait().await;
                db.accept(&acc, &event("validate").user("alice"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 1, "one code, one acceptance");
    assert_eq!(reload(&db, &t).await.last_counter, Some(1_000));
    assert_eq!(audit_len(&db).await, events + 1);
    verified_log(&db).await;
}

pub async fn accept_is_refused_for_a_token_not_active(db: Db) {
    let u = user(&db, "alice").await;
    let ev = event("validate").user("alice");
    for (serial, state) in [
        ("PEND1", TokenState::Pending),
        ("DIS1", TokenState::Disabled),
        ("REV1", TokenState::Revoked),
        ("LOST1", TokenState::Lost),
    ] {
        let t = token(&db, serial, Some(u.id), state).await;
        let events = audit_len(&db).await;
        assert!(
            !db.accept(&acceptance(&t, 1, at(10)), &ev).await.unwrap(),
            "{state:?} token accepted a code"
        );
        let after = reload(&db, &t).await;
        assert_eq!(
            (after.state, after.last_counter, after.last_used_at),
            (state, None, None)
        );
        assert_eq!(audit_len(&db).await, events);
    }
    // Once disabled, an active token refuses too; enabled again, it accepts.
    let t = token(&db, "TOTP1", Some(u.id), TokenState::Active).await;
    assert!(
        db.set_token_state(
            t.id,
            &[TokenState::Active],
            TokenState::Disabled,
            at(1),
            &event("token.disable")
        )
        .await
        .unwrap()
    );
    assert!(!db.accept(&acceptance(&t, 1, at(10)), &ev).await.unwrap());
    assert!(
        db.set_token_state(
            t.id,
            &[TokenState::Disabled],
            TokenState::Active,
            at(2),
            &event("token.enable")
        )
        .await
        .unwrap()
    );
    assert!(db.accept(&acceptance(&t, 1, at(10)), &ev).await.unwrap());
    let active: Vec<_> = db
        .active_tokens(u.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.serial.to_string())
        .collect();
    assert_eq!(active, ["TOTP1"]);
}

pub async fn failures_count_and_lock_at_the_limit(db: Db) {
    let u = user(&db, "alice").await;
    let active = token(&db, "TOTP1", Some(u.id), TokenState::Active).await;
    let disabled = token(&db, "TOTP2", Some(u.id), TokenState::Disabled).await;
    let ev = event("validate").user("alice").reason("wrong_code");
    let failure = |now: Timestamp| Failure {
        user_id: u.id,
        max_failures: 3,
        lock_until: now.plus_secs(300),
        now,
        challenges: Vec::new(),
        signin: None,
    };

    // A success before the limit starts the count afresh.
    for n in 1..=2 {
        let out = db.record_failure(&failure(at(n)), &ev).await.unwrap();
        assert_eq!(
            out,
            FailureOutcome {
                locked_now: false,
                failed_count: n
            }
        );
    }
    assert!(
        db.accept(&acceptance(&active, 1, at(3)), &ev)
            .await
            .unwrap()
    );
    let stored = db.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.failed_count, reload(&db, &active).await.failed_count),
        (0, 0)
    );

    let events = audit_len(&db).await;
    assert_eq!(
        db.record_failure(&failure(at(10)), &ev)
            .await
            .unwrap()
            .failed_count,
        1
    );
    assert_eq!(
        db.record_failure(&failure(at(11)), &ev)
            .await
            .unwrap()
            .failed_count,
        2
    );
    let third = db.record_failure(&failure(at(12)), &ev).await.unwrap();
    assert_eq!(
        third,
        FailureOutcome {
            locked_now: true,
            failed_count: 0
        }
    );
    let locked = db.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(locked.locked_until, Some(at(312)));
    assert_eq!(
        locked.failed_count, 0,
        "the count starts afresh for after the lock"
    );
    assert!(locked.is_locked(at(13)));
    assert_eq!(
        reload(&db, &active).await.failed_count,
        3,
        "active tokens count the failures"
    );
    assert_eq!(
        reload(&db, &disabled).await.failed_count,
        0,
        "tokens not tried do not"
    );
    let log = verified_log(&db).await;
    let actions: Vec<_> = log[events as usize..]
        .iter()
        .map(|r| r.event.action.as_str())
        .collect();
    assert_eq!(actions, ["validate", "validate", "validate", "user.lock"]);

    // While locked, even a correct code is refused, and nothing changes.
    assert!(
        !db.accept(&acceptance(&active, 2, at(100)), &ev)
            .await
            .unwrap()
    );
    let refused = reload(&db, &active).await;
    assert_eq!((refused.last_counter, refused.failed_count), (Some(1), 3));
    assert_eq!(audit_len(&db).await, events + 4);
    // A failure during the lock does not extend it.
    let during = db.record_failure(&failure(at(101)), &ev).await.unwrap();
    assert_eq!(
        during,
        FailureOutcome {
            locked_now: false,
            failed_count: 1
        }
    );
    assert_eq!(
        db.user_by_id(u.id).await.unwrap().unwrap().locked_until,
        Some(at(312))
    );

    // The lock ends on its own at `locked_until`.
    assert!(
        db.accept(&acceptance(&active, 2, at(312)), &ev)
            .await
            .unwrap()
    );
    let after = db.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(
        (after.failed_count, reload(&db, &active).await.failed_count),
        (0, 0)
    );

    // Or earlier, by the helpdesk.
    for n in 0..3 {
        db.record_failure(&failure(at(400 + n)), &ev).await.unwrap();
    }
    assert!(
        db.user_by_id(u.id)
            .await
            .unwrap()
            .unwrap()
            .is_locked(at(403))
    );
    db.unlock_user(u.id, at(403), &event("user.unlock"))
        .await
        .unwrap();
    let unlocked = db.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(
        (
            unlocked.locked_until,
            unlocked.failed_count,
            unlocked.updated_at
        ),
        (None, 0, at(403))
    );
    assert!(
        db.accept(&acceptance(&active, 3, at(404)), &ev)
            .await
            .unwrap()
    );
    let missing = db
        .unlock_user(u.id + 1000, at(405), &event("user.unlock"))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn concurrent_failures_are_all_counted(db: Db) {
    let u = user(&db, "alice").await;
    let t = token(&db, "TOTP1", Some(u.id), TokenState::Active).await;
    let events = audit_len(&db).await;
    let start = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (db, start) = (db.clone(), start.clone());
            let f = Failure {
                user_id: u.id,
                max_failures: 1000,
                lock_until: at(300),
                now: at(0),
                challenges: Vec::new(),
                signin: None,
            };
            tokio::spawn(async move {
                start.wait().await;
                db.record_failure(&f, &event("validate").user("alice").reason("wrong_code"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut counts = HashSet::new();
    for task in tasks {
        let out = task.await.unwrap();
        assert!(!out.locked_now);
        counts.insert(out.failed_count);
    }
    assert_eq!(
        counts,
        (1..=20).collect::<HashSet<_>>(),
        "each failure saw its own count"
    );
    assert_eq!(db.user_by_id(u.id).await.unwrap().unwrap().failed_count, 20);
    assert_eq!(reload(&db, &t).await.failed_count, 20);
    assert_eq!(audit_len(&db).await, events + 20);

    // With a limit of 5, the 5th, 10th, 15th and 20th failure each lock, and only they.
    db.unlock_user(u.id, at(1), &event("user.unlock"))
        .await
        .unwrap();
    let events = audit_len(&db).await;
    let start = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (db, start) = (db.clone(), start.clone());
            let f = Failure {
                user_id: u.id,
                max_failures: 5,
                lock_until: at(300),
                now: at(2),
                challenges: Vec::new(),
                signin: None,
            };
            tokio::spawn(async move {
                start.wait().await;
                db.record_failure(&f, &event("validate").user("alice").reason("wrong_code"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut locks = 0;
    for task in tasks {
        locks += usize::from(task.await.unwrap().locked_now);
    }
    assert_eq!(locks, 4);
    let after = db.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!((after.failed_count, after.locked_until), (0, Some(at(300))));
    let log = verified_log(&db).await;
    assert_eq!(log.len() as i64, events + 24, "20 failures and 4 locks");
    assert_eq!(
        log.iter().filter(|r| r.event.action == "user.lock").count(),
        4
    );
}

/// Two handles on one database are two nodes: each has its own group-commit
/// writer. Both get the same codes for many tokens at once, in opposite
/// orders, so each batch touches tokens the other batch also wants. Every
/// code is accepted exactly once and no write fails (a deadlock between the
/// nodes' batches would abort one of them).
pub async fn two_nodes_accepting_the_same_codes_never_deadlock(url: String) {
    let (a, b) = (
        crate::common::connect(&url).await,
        crate::common::connect(&url).await,
    );
    let u = user(&a, "alice").await;
    let mut tokens = Vec::new();
    for n in 0..8 {
        tokens.push(token(&a, &format!("TOTP{n:04}"), Some(u.id), TokenState::Active).await);
    }
    let events = audit_len(&a).await;
    let rounds = 20;
    let start = Arc::new(Barrier::new(2 * tokens.len()));
    let mut tasks = Vec::new();
    for (node, db) in [(0, a.clone()), (1, b.clone())] {
        for i in 0..tokens.len() {
            // Node 0 walks the tokens forwards, node 1 backwards.
            let t = if node == 0 {
                tokens[i].clone()
            } else {
                tokens[tokens.len() - 1 - i].clone()
            };
            let (db, start) = (db.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let mut accepted = 0;
                for round in 1..=rounds {
                    let acc = acceptance(&t, round, at(10 + round));
                    accepted += usize::from(
                        db.accept(&acc, &event("validate").user("alice"))
                            .await
                            .unwrap(),
                    );
                }
                accepted
            }));
        }
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap();
    }
    assert_eq!(
        accepted,
        tokens.len() * rounds as usize,
        "each code once, on one node or the other"
    );
    for t in &tokens {
        assert_eq!(reload(&a, t).await.last_counter, Some(rounds));
    }
    assert_eq!(audit_len(&a).await, events + accepted as i64);
    verified_log(&b).await;
    a.close().await;
    b.close().await;
}

/// Only an accepted code clears the user's failures: a replayed code, a
/// token that is not active, or any other refused acceptance leaves the count
/// (and the audit log) as it was, so replaying an old code cannot reset a
/// lockout in the making.
pub async fn a_refused_acceptance_keeps_the_failure_count(db: Db) {
    let u = user(&db, "alice").await;
    let active = token(&db, "TOTP1", Some(u.id), TokenState::Active).await;
    let disabled = token(&db, "TOTP2", Some(u.id), TokenState::Disabled).await;
    let ev = event("validate").user("alice");
    assert!(
        db.accept(&acceptance(&active, 5, at(1)), &ev)
            .await
            .unwrap()
    );
    let failure = Failure {
        user_id: u.id,
        max_failures: 10,
        lock_until: at(900),
        now: at(2),
        challenges: Vec::new(),
        signin: None,
    };
    for _ in 0..2 {
        db.record_failure(&failure, &ev).await.unwrap();
    }
    let events = audit_len(&db).await;
    for refused in [
        acceptance(&active, 5, at(3)),
        acceptance(&active, 4, at(3)),
        acceptance(&disabled, 9, at(3)),
    ] {
        assert!(!db.accept(&refused, &ev).await.unwrap());
    }
    let stored = db.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(stored.failed_count, 2, "refused acceptances reset nothing");
    assert_eq!(audit_len(&db).await, events, "and log nothing");
    assert!(
        db.accept(&acceptance(&active, 6, at(4)), &ev)
            .await
            .unwrap()
    );
    assert_eq!(db.user_by_id(u.id).await.unwrap().unwrap().failed_count, 0);
}
