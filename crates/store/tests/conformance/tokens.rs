//! Token life cycle and seed rotation: every change conditional on the state
//! or value it expects.

use crate::common::{acceptance, at, audit_len, event, new_token, reload, token, user};
use ichido_domain::Timestamp;
use ichido_domain::store::Store;
use ichido_domain::token::TokenState;
use ichido_store::Db;

pub async fn token_state_transitions_are_conditional(db: Db) {
    use TokenState::*;
    let u = user(&db, "alice").await;
    let t = token(&db, "TOTP1", Some(u.id), Active).await;
    let kept = token(&db, "TOTP2", Some(u.id), Active).await;
    let lost = token(&db, "TOTP3", Some(u.id), Active).await;
    let set = |id: i64, from: &'static [TokenState], to: TokenState| {
        let db = db.clone();
        async move {
            db.set_token_state(id, from, to, at(1), &event("token.state"))
                .await
                .unwrap()
        }
    };
    let events = audit_len(&db).await;
    assert!(
        !set(t.id, &[Pending], Disabled).await,
        "not from a state it is not in"
    );
    assert!(!set(t.id, &[], Disabled).await, "not from no state at all");
    assert!(
        !set(t.id + 1000, &[Active], Disabled).await,
        "not for a missing token"
    );
    assert_eq!(
        audit_len(&db).await,
        events,
        "a refused transition appends nothing"
    );
    assert_eq!(reload(&db, &t).await.state, Active);

    assert!(set(t.id, &[Active], Disabled).await);
    let disabled = reload(&db, &t).await;
    assert_eq!(
        (disabled.state, disabled.sealed_secret.as_str()),
        (Disabled, "k1:TOTP1"),
        "disabling keeps the seed"
    );
    assert!(
        !set(t.id, &[Active], Disabled).await,
        "the same transition twice"
    );
    assert!(set(t.id, &[Disabled], Active).await);
    assert!(
        set(t.id, &[Pending, Active, Disabled, Revoked, Lost], Revoked).await,
        "every state listed"
    );
    let revoked = reload(&db, &t).await;
    assert_eq!(
        (revoked.state, revoked.sealed_secret.as_str()),
        (Revoked, ""),
        "revoking erases the seed"
    );
    assert!(set(lost.id, &[Active, Disabled], Lost).await);
    let lost = reload(&db, &lost).await;
    assert_eq!(
        (lost.state, lost.sealed_secret.as_str()),
        (Lost, ""),
        "losing erases the seed"
    );
    assert!(
        !set(t.id, &[Active, Disabled], Active).await,
        "revoked is final"
    );
    assert_eq!(audit_len(&db).await, events + 4);

    let sealed = db.sealed_secrets().await.unwrap();
    let sealed: Vec<_> = sealed
        .iter()
        .map(|r| (r.token_id, r.serial.as_str(), r.sealed_secret.as_str()))
        .collect();
    assert_eq!(
        sealed,
        [(kept.id, "TOTP2", "k1:TOTP2")],
        "revoked and lost tokens have no seed to reseal"
    );
    let tokens: Vec<_> = db
        .tokens_of_user(u.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.state)
        .collect();
    assert_eq!(tokens, [Revoked, Active, Lost]);
}

pub async fn activate_only_pending_and_unexpired(db: Db) {
    let u = user(&db, "alice").await;
    let enroll = |serial: &'static str, until: Option<Timestamp>| {
        let db = db.clone();
        async move {
            let mut t = new_token(serial, Some(u.id), TokenState::Pending);
            t.pending_until = until;
            db.create_token(&t, at(0), &event("token.enroll"))
                .await
                .unwrap()
        }
    };
    let ev = event("token.activate");

    let t = enroll("TOTP1", Some(at(300))).await;
    assert_eq!(
        (t.state, t.pending_until, t.activated_at),
        (TokenState::Pending, Some(at(300)), None)
    );
    assert!(
        db.active_tokens(u.id).await.unwrap().is_empty(),
        "a pending token is not tried"
    );
    let mut proof = acceptance(&t, 100, at(299));
    proof.drift = 1;
    assert!(db.activate_token(&proof, &ev).await.unwrap());
    let active = reload(&db, &t).await;
    assert_eq!(active.state, TokenState::Active);
    assert_eq!(
        (active.last_counter, active.drift),
        (Some(100), 1),
        "the proving code is used up"
    );
    assert_eq!(
        (
            active.activated_at,
            active.last_used_at,
            active.pending_until
        ),
        (Some(at(299)), Some(at(299)), None)
    );
    assert!(
        !db.activate_token(&acceptance(&t, 101, at(299)), &ev)
            .await
            .unwrap(),
        "only once"
    );
    assert!(
        !db.accept(&acceptance(&t, 100, at(300)), &ev).await.unwrap(),
        "the proving code does not pass again"
    );
    assert!(db.accept(&acceptance(&t, 101, at(300)), &ev).await.unwrap());

    let late = enroll("TOTP2", Some(at(300))).await;
    let events = audit_len(&db).await;
    assert!(
        !db.activate_token(&acceptance(&late, 100, at(300)), &ev)
            .await
            .unwrap(),
        "expired at pending_until"
    );
    assert!(
        !db.activate_token(&acceptance(&late, 100, at(301)), &ev)
            .await
            .unwrap()
    );
    let still = reload(&db, &late).await;
    assert_eq!(
        (still.state, still.last_counter),
        (TokenState::Pending, None)
    );
    assert_eq!(audit_len(&db).await, events);

    let open = enroll("TOTP3", None).await;
    assert!(
        db.activate_token(&acceptance(&open, 1, at(86_400)), &ev)
            .await
            .unwrap(),
        "no deadline, no expiry"
    );

    let disabled = token(&db, "TOTP4", Some(u.id), TokenState::Disabled).await;
    assert!(
        !db.activate_token(&acceptance(&disabled, 1, at(1)), &ev)
            .await
            .unwrap()
    );
    assert_eq!(reload(&db, &disabled).await.state, TokenState::Disabled);
}

pub async fn reseal_replaces_only_the_expected_value(db: Db) {
    let u = user(&db, "alice").await;
    let t = token(&db, "TOTP1", Some(u.id), TokenState::Active).await;
    let other = token(&db, "TOTP2", Some(u.id), TokenState::Active).await;

    assert!(
        !db.reseal(t.id, "k0:stale", "k2:new").await.unwrap(),
        "not over a value it does not hold"
    );
    assert!(
        !db.reseal(t.id + 1000, "k1:TOTP1", "k2:new").await.unwrap(),
        "not for a missing token"
    );
    assert_eq!(reload(&db, &t).await.sealed_secret, "k1:TOTP1");
    assert!(db.reseal(t.id, "k1:TOTP1", "k2:TOTP1").await.unwrap());
    assert_eq!(reload(&db, &t).await.sealed_secret, "k2:TOTP1");
    assert!(
        !db.reseal(t.id, "k1:TOTP1", "k3:TOTP1").await.unwrap(),
        "a second rotation from the old value"
    );
    assert_eq!(
        reload(&db, &other).await.sealed_secret,
        "k1:TOTP2",
        "other rows are untouched"
    );

    // A token revoked between the scan and the reseal keeps its seed erased.
    let scan = db.sealed_secrets().await.unwrap();
    let row = scan.iter().find(|r| r.token_id == other.id).unwrap();
    assert!(
        db.set_token_state(
            other.id,
            &[TokenState::Active],
            TokenState::Revoked,
            at(1),
            &event("token.revoke")
        )
        .await
        .unwrap()
    );
    assert!(
        !db.reseal(row.token_id, &row.sealed_secret, "k2:TOTP2")
            .await
            .unwrap()
    );
    assert_eq!(reload(&db, &other).await.sealed_secret, "");
}

pub async fn validity_is_stored_on_creation_and_replaced_whole(db: Db) {
    use ichido_domain::StoreError;
    use ichido_domain::token::Validity;
    let u = user(&db, "alice").await;
    let new = ichido_domain::token::NewToken {
        valid_from: Some(at(10)),
        valid_until: Some(at(20)),
        ..new_token("TOTP1", Some(u.id), TokenState::Active)
    };
    let t = db
        .create_token(&new, at(0), &event("token.create"))
        .await
        .unwrap();
    assert_eq!((t.valid_from, t.valid_until), (Some(at(10)), Some(at(20))));
    assert!(!t.valid_at(at(9)) && t.valid_at(at(10)) && !t.valid_at(at(20)));

    let events = audit_len(&db).await;
    let open_start = Validity {
        from: None,
        until: Some(at(30)),
    };
    db.set_token_validity(t.id, open_start, &event("token.update.validity"))
        .await
        .unwrap();
    let t = reload(&db, &t).await;
    assert_eq!((t.valid_from, t.valid_until), (None, Some(at(30))));
    assert_eq!(audit_len(&db).await, events + 1, "the change is audited");
    let gone = db
        .set_token_validity(t.id + 1000, open_start, &event("token.update.validity"))
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    assert_eq!(
        audit_len(&db).await,
        events + 1,
        "a missing token appends nothing"
    );
}
