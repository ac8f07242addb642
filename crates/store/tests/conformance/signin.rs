//! Sign-in: a pending sign-in is taken once, by any handle; a remembered
//! device's secret is replaced only from the one it still has; a new
//! password revokes every device; the history is pruned by age.

use crate::common::{at, event, user};
use ichido_domain::signin::{Device, PendingSignin, Rotation, SigninRecord, SigninStore};
use ichido_domain::store::Store;
use ichido_domain::user::UserPatch;
use ichido_store::Db;

fn record(user_id: i64, result: &str) -> SigninRecord {
    SigninRecord {
        user_id,
        at: at(0),
        result: result.into(),
        app: "webmail".into(),
        client_ip: Some("192.0.2.7".into()),
        device_name: Some("Firefox on Linux".into()),
        new_device: true,
        factor: None,
    }
}

fn device(id: &str, user_id: i64) -> Device {
    Device {
        id: id.into(),
        user_id,
        secret_hash: "h1".into(),
        previous_hash: None,
        name: "Firefox on Linux".into(),
        created_at: at(0),
        last_seen_at: at(0),
        last_ip: None,
        expires_at: at(86_400),
        revoked_at: None,
        revoked_reason: None,
    }
}

pub async fn concurrent_answers_take_a_pending_signin_once(db: Db) {
    let alice = user(&db, "alice").await;
    let pending = PendingSignin {
        id_hash: "s1".into(),
        user_id: alice.id,
        username: "alice".into(),
        app: "webmail".into(),
        client_ip: None,
        user_agent: None,
        factors: "totp,backup".into(),
        created_at: at(0),
        expires_at: at(300),
    };
    db.open_signin(&pending, &record(alice.id, "challenge"), &event("signin"))
        .await
        .unwrap();
    let takes = (0..8).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { db.take_signin("s1").await.unwrap() })
    });
    let mut won = Vec::new();
    for t in takes {
        won.extend(t.await.unwrap());
    }
    assert_eq!(won, vec![pending]);
    let history = db.signins_of_user(alice.id, None, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].1, record(alice.id, "challenge"));
}

pub async fn a_device_secret_is_replaced_only_from_the_current_one(db: Db) {
    let alice = user(&db, "alice").await;
    let d = device("d1", alice.id);
    db.record_signin(&record(alice.id, "accept"), Some(&d), &event("signin"))
        .await
        .unwrap();
    let rotation = |old: &str, new: &str| Rotation {
        device_id: "d1".into(),
        old_hash: old.into(),
        new_hash: new.into(),
        ip: Some("192.0.2.8".into()),
        now: at(60),
    };
    let rec = record(alice.id, "accept");
    assert!(
        db.rotate_device(&rotation("h1", "h2"), &rec, &event("signin"))
            .await
            .unwrap()
    );
    assert!(
        !db.rotate_device(&rotation("h1", "h3"), &rec, &event("signin"))
            .await
            .unwrap()
    );
    let stored = db.device("d1").await.unwrap().unwrap();
    assert_eq!(
        (stored.secret_hash.as_str(), stored.previous_hash.as_deref()),
        ("h2", Some("h1"))
    );
    assert_eq!(stored.last_seen_at, at(60));
    assert_eq!(stored.last_ip.as_deref(), Some("192.0.2.8"));
    // The history has the first decision and the one rotation that happened.
    assert_eq!(
        db.signins_of_user(alice.id, None, 10).await.unwrap().len(),
        2
    );
}

pub async fn a_new_password_revokes_every_device(db: Db) {
    let alice = user(&db, "alice").await;
    for id in ["d1", "d2"] {
        db.record_signin(
            &record(alice.id, "accept"),
            Some(&device(id, alice.id)),
            &event("signin"),
        )
        .await
        .unwrap();
    }
    let patch = UserPatch {
        password_hash: Some(Some("$argon2id$x".into())),
        ..Default::default()
    };
    db.update_user(alice.id, &patch, at(5), &event("user.update.password"))
        .await
        .unwrap();
    let devices = db.devices_of_user(alice.id).await.unwrap();
    assert_eq!(devices.len(), 2);
    for d in devices {
        assert_eq!(d.revoked_at, Some(at(5)));
        assert_eq!(d.revoked_reason.as_deref(), Some("password_changed"));
    }
    let n = db
        .revoke_devices(alice.id, None, "revoked", at(6), &event("device.revoke"))
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing left to revoke");
}

pub async fn pruning_deletes_only_the_history_before_the_cutoff(db: Db) {
    let alice = user(&db, "alice").await;
    for secs in [0, 100, 200] {
        let rec = SigninRecord {
            at: at(secs),
            ..record(alice.id, "accept")
        };
        db.record_signin(&rec, None, &event("signin"))
            .await
            .unwrap();
    }
    assert_eq!(db.prune_signins(at(100)).await.unwrap(), 1);
    assert_eq!(db.prune_signins(at(100)).await.unwrap(), 0);
    let left: Vec<_> = db
        .signins_of_user(alice.id, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.at)
        .collect();
    assert_eq!(left, vec![at(200), at(100)]);
}
