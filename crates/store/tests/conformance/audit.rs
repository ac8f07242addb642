//! The hash-chained log: one event per change, none for a change that did
//! not happen, intact under concurrency, and readable by filter.

use std::collections::HashSet;
use std::sync::Arc;

use crate::common::{acceptance, at, event, new_token, reload, verified_log};
use ichido_domain::StoreError;
use ichido_domain::Username;
use ichido_domain::audit::{Context, Event, Query};
use ichido_domain::store::{Failure, Store};
use ichido_domain::token::TokenState;
use ichido_domain::user::{NewUser, Role, UserPatch};
use ichido_store::Db;
use tokio::sync::Barrier;

pub async fn every_change_appends_one_chained_audit_event(db: Db) {
    let ctx = Context {
        actor: "apikey:ops".into(),
        client_ip: Some("192.0.2.7".into()),
        user_agent: Some("conformance/1 \"quoted\" ✓".into()),
    };
    // The events that must be in the log, in order.
    let mut expected: Vec<Event> = Vec::new();
    let ev = |secs: i64, action: &str| Event::new(&ctx, at(secs), action, "success").user("alice");

    let new = NewUser {
        username: Some(Username::parse("alice").unwrap()),
        ..Default::default()
    };
    let e = ev(1, "user.create");
    let u = db.create_user(&new, at(1), &e).await.unwrap();
    expected.push(e.clone());
    let dup = db.create_user(&new, at(2), &ev(2, "user.create")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let e = ev(3, "user.update");
    db.update_user(
        u.id,
        &UserPatch {
            display_name: Some(Some("A".into())),
            ..Default::default()
        },
        at(3),
        &e,
    )
    .await
    .unwrap();
    expected.push(e);
    let gone = db
        .update_user(
            u.id + 1000,
            &UserPatch::default(),
            at(4),
            &ev(4, "user.update"),
        )
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");

    let mut pending = new_token("TOTP1", Some(u.id), TokenState::Pending);
    pending.pending_until = Some(at(600));
    let e = ev(5, "token.enroll").serial("TOTP1");
    let t = db.create_token(&pending, at(5), &e).await.unwrap();
    expected.push(e);
    let dup = db
        .create_token(&pending, at(6), &ev(6, "token.enroll").serial("TOTP1"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let e = ev(7, "token.activate").serial("TOTP1");
    assert!(
        db.activate_token(&acceptance(&t, 10, at(7)), &e)
            .await
            .unwrap()
    );
    expected.push(e);
    assert!(
        !db.activate_token(&acceptance(&t, 11, at(8)), &ev(8, "token.activate"))
            .await
            .unwrap()
    );

    let e = ev(9, "token.label").serial("TOTP1");
    db.set_token_label(t.id, Some("phone"), &e).await.unwrap();
    expected.push(e);
    assert_eq!(reload(&db, &t).await.label.as_deref(), Some("phone"));
    let gone = db
        .set_token_label(t.id + 1000, Some("x"), &ev(10, "token.label"))
        .await;
    assert!(
        matches!(gone, Err(StoreError::NotFound)),
        "label of a missing token: {gone:?}"
    );

    let e = ev(11, "validate").reason("ok");
    assert!(db.accept(&acceptance(&t, 11, at(11)), &e).await.unwrap());
    expected.push(e);
    assert!(
        !db.accept(&acceptance(&t, 11, at(12)), &ev(12, "validate"))
            .await
            .unwrap()
    );

    for secs in 13..=15 {
        let e = Event {
            result: "reject".into(),
            ..ev(secs, "validate").serial("TOTP1").reason("wrong_code")
        };
        let f = Failure {
            user_id: u.id,
            max_failures: 3,
            lock_until: at(900),
            now: at(secs),
            challenges: Vec::new(),
            signin: None,
        };
        let out = db.record_failure(&f, &e).await.unwrap();
        expected.push(e.clone());
        if out.locked_now {
            expected.push(
                Event {
                    action: "user.lock".into(),
                    result: "success".into(),
                    serial: None,
                    ..e
                }
                .reason("too_many_failures"),
            );
        }
    }
    let e = ev(16, "user.unlock");
    db.unlock_user(u.id, at(16), &e).await.unwrap();
    expected.push(e);

    let e = ev(17, "token.resync").serial("TOTP1");
    assert!(
        db.resync_token(&acceptance(&t, 20, at(17)), &e)
            .await
            .unwrap()
    );
    expected.push(e);
    assert!(
        !db.resync_token(&acceptance(&t, 20, at(18)), &ev(18, "token.resync"))
            .await
            .unwrap()
    );

    let e = ev(19, "token.disable").serial("TOTP1");
    assert!(
        db.set_token_state(
            t.id,
            &[TokenState::Active],
            TokenState::Disabled,
            at(19),
            &e
        )
        .await
        .unwrap()
    );
    expected.push(e);
    let e = ev(20, "token.disable");
    assert!(
        !db.set_token_state(
            t.id,
            &[TokenState::Active],
            TokenState::Disabled,
            at(20),
            &e
        )
        .await
        .unwrap()
    );

    let e = Event::new(&ctx, at(21), "apikey.create", "success");
    db.create_api_key("ops", Role::Admin, "hash-1", at(21), &e)
        .await
        .unwrap();
    expected.push(e);
    let e = Event::new(&ctx, at(22), "apikey.create", "success");
    let dup = db
        .create_api_key("ops2", Role::Admin, "hash-1", at(22), &e)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let e = Event {
        result: "reject".into(),
        ..ev(23, "validate").reason("unknown_user")
    };
    db.append_audit(&e).await.unwrap();
    expected.push(e);

    let e = ev(24, "user.delete");
    db.delete_user(u.id, at(24), &e).await.unwrap();
    expected.push(e);
    let gone = db.delete_user(u.id, at(25), &ev(25, "user.delete")).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let gone = db.unlock_user(u.id, at(26), &ev(26, "user.unlock")).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");

    let log = verified_log(&db).await;
    let logged: Vec<_> = log.into_iter().map(|r| r.event).collect();
    assert_eq!(logged.len(), 16, "one event per change, plus the lock");
    assert_eq!(
        logged, expected,
        "the log holds exactly the changes, as given"
    );
}

pub async fn concurrent_audit_appends_keep_the_chain_intact(db: Db) {
    let start = Arc::new(Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let (db, start) = (db.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                db.append_audit(&event("validate").reason(&format!("n{n}")))
                    .await
                    .unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let log = verified_log(&db).await;
    let seqs: Vec<i64> = log.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    let reasons: HashSet<_> = log
        .iter()
        .map(|r| r.event.reason.clone().unwrap())
        .collect();
    assert_eq!(reasons.len(), 50, "every append is in the log once");
}

pub async fn concurrent_failed_changes_append_nothing(db: Db) {
    // Ten names, each created by four writers at once: one wins, three conflict.
    let start = Arc::new(Barrier::new(40));
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let (db, start) = (db.clone(), start.clone());
            let name = format!("u{}", n % 10);
            tokio::spawn(async move {
                let new = NewUser {
                    username: Some(Username::parse(&name).unwrap()),
                    ..Default::default()
                };
                start.wait().await;
                match db
                    .create_user(&new, at(n), &event("user.create").user(&name))
                    .await
                {
                    Ok(_) => true,
                    Err(StoreError::Conflict(_)) => false,
                    Err(e) => panic!("{name}: {e}"),
                }
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap());
    }
    assert_eq!(created, 10);
    assert_eq!(db.list_users(None, None, 100).await.unwrap().len(), 10);
    let log = verified_log(&db).await;
    assert_eq!(log.len(), 10, "a conflicting write leaves no event");
    let names: HashSet<_> = log
        .iter()
        .map(|r| r.event.username.clone().unwrap())
        .collect();
    assert_eq!(names.len(), 10);
}

pub async fn audit_events_filters_and_pages(db: Db) {
    // seq: 1 alice validate @10, 2 bob validate @20, 3 alice token.enroll @30,
    //      4 alice validate @40, 5 system (no user) @50, 6 alice validate @60
    let rows: [(Option<&str>, &str, i64); 6] = [
        (Some("alice"), "validate", 10),
        (Some("bob"), "validate", 20),
        (Some("alice"), "token.enroll", 30),
        (Some("alice"), "validate", 40),
        (None, "keys.rotate", 50),
        (Some("alice"), "validate", 60),
    ];
    for (username, action, secs) in rows {
        let mut e = Event::new(&Context::cli(), at(secs), action, "success");
        e.username = username.map(str::to_owned);
        db.append_audit(&e).await.unwrap();
    }
    let seqs = |q: Query| {
        let db = db.clone();
        async move {
            db.audit_events(&q)
                .await
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>()
        }
    };
    let q = |limit: i64| Query {
        limit,
        ..Default::default()
    };

    assert_eq!(seqs(q(100)).await, [6, 5, 4, 3, 2, 1], "newest first");
    assert_eq!(seqs(q(2)).await, [6, 5]);
    assert_eq!(
        seqs(Query {
            username: Some("alice".into()),
            ..q(100)
        })
        .await,
        [6, 4, 3, 1]
    );
    assert_eq!(
        seqs(Query {
            username: Some("carol".into()),
            ..q(100)
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        seqs(Query {
            action: Some("validate".into()),
            ..q(100)
        })
        .await,
        [6, 4, 2, 1]
    );
    assert_eq!(
        seqs(Query {
            username: Some("alice".into()),
            action: Some("validate".into()),
            ..q(100)
        })
        .await,
        [6, 4, 1]
    );
    assert_eq!(
        seqs(Query {
            since: Some(at(20)),
            until: Some(at(50)),
            ..q(100)
        })
        .await,
        [4, 3, 2],
        "since ≤ at < until"
    );
    assert_eq!(
        seqs(Query {
            since: Some(at(41)),
            ..q(100)
        })
        .await,
        [6, 5]
    );
    assert_eq!(
        seqs(Query {
            until: Some(at(11)),
            ..q(100)
        })
        .await,
        [1]
    );
    assert_eq!(
        seqs(Query {
            before_seq: Some(4),
            ..q(100)
        })
        .await,
        [3, 2, 1]
    );

    // Paging newest first through alice's events, two at a time.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = seqs(Query {
            username: Some("alice".into()),
            before_seq: before,
            ..q(2)
        })
        .await;
        let Some(&last) = page.last() else { break };
        before = Some(last);
        pages.push(page);
    }
    assert_eq!(pages, [vec![6, 4], vec![3, 1]]);

    let records = db
        .audit_events(&Query {
            before_seq: Some(6),
            ..q(1)
        })
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (
            records[0].event.actor.as_str(),
            records[0].event.username.as_deref()
        ),
        ("cli", None)
    );
    assert_eq!(records[0].event.action, "keys.rotate");
    verified_log(&db).await;
}
