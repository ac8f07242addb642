//! Users and API keys: create, find, list, change, delete.

use crate::common::{acceptance, at, audit_len, event, reload, token, user, verified_log};
use ichido_domain::StoreError;
use ichido_domain::Username;
use ichido_domain::store::Store;
use ichido_domain::token::TokenState;
use ichido_domain::user::{NewUser, Role, User, UserPatch};
use ichido_store::Db;

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

pub async fn user_create_get_list_update_delete(db: Db) {
    let new = NewUser {
        username: Some(Username::parse("alice").unwrap()),
        display_name: Some("Alice".into()),
        email: Some("alice@example.com".into()),
        phone: None,
        password_hash: Some("$argon2id$v=19$dummy".into()),
    };
    let alice = db
        .create_user(&new, at(0), &event("user.create"))
        .await
        .unwrap();
    assert_eq!(alice.username.as_str(), "alice");
    assert_eq!(alice.display_name.as_deref(), Some("Alice"));
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.phone, None);
    assert_eq!(alice.password_hash.as_deref(), Some("$argon2id$v=19$dummy"));
    assert_eq!((alice.failed_count, alice.locked_until), (0, None));
    assert_eq!((alice.created_at, alice.updated_at), (at(0), at(0)));

    let by_name = db
        .user_by_name("alice")
        .await
        .unwrap()
        .expect("found by name");
    let by_id = db.user_by_id(alice.id).await.unwrap().expect("found by id");
    assert_eq!((by_name.id, by_id.username.as_str()), (alice.id, "alice"));
    assert!(db.user_by_name("nobody").await.unwrap().is_none());
    assert!(db.user_by_id(alice.id + 1000).await.unwrap().is_none());

    let again = db.create_user(&new, at(1), &event("user.create")).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "duplicate username: {again:?}"
    );

    for name in [
        "bob",
        "alex",
        "a.b",
        "a-b",
        "ab",
        "carol@example.com",
        "x+y",
        "Alfred",
    ] {
        user(&db, name).await;
    }
    let all = db.list_users(None, None, 100).await.unwrap();
    assert_eq!(
        names(&all),
        [
            "Alfred",
            "a-b",
            "a.b",
            "ab",
            "alex",
            "alice",
            "bob",
            "carol@example.com",
            "x+y"
        ]
    );
    let list = |q: &'static str| {
        let db = db.clone();
        async move { db.list_users(Some(q), None, 100).await.unwrap() }
    };
    assert_eq!(names(&list("al").await), ["alex", "alice"]);
    assert_eq!(
        names(&list("Al").await),
        ["Alfred"],
        "the substring is matched case by case"
    );
    assert_eq!(names(&list("a.b").await), ["a.b"], "`.` is no wildcard");
    assert_eq!(names(&list("@").await), ["carol@example.com"]);
    assert!(
        list("%").await.is_empty(),
        "`%` is matched literally, not as a wildcard"
    );
    assert!(
        list("_").await.is_empty(),
        "`_` is matched literally, not as a wildcard"
    );
    assert!(
        list("a_b").await.is_empty(),
        "`_` is matched literally, not as a wildcard"
    );
    assert!(
        list("\\").await.is_empty(),
        "the escape character is matched literally"
    );
    assert_eq!(
        names(&list("").await).len(),
        all.len(),
        "an empty query matches everyone"
    );

    // Paging: each page starts after the last name of the one before.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = db.list_users(None, after.as_deref(), 4).await.unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some(last.username.to_string());
        paged.extend(page);
    }
    assert_eq!(names(&paged), names(&all));
    let page = db.list_users(Some("a"), Some("alex"), 10).await.unwrap();
    assert_eq!(
        names(&page),
        ["alice", "carol@example.com"],
        "query and cursor combine"
    );

    let patch = UserPatch {
        display_name: Some(Some("Alice A.".into())),
        email: Some(None),
        phone: Some(Some("+15550100".into())),
        password_hash: None,
    };
    let changed = db
        .update_user(alice.id, &patch, at(60), &event("user.update"))
        .await
        .unwrap();
    assert_eq!(changed.display_name.as_deref(), Some("Alice A."));
    assert_eq!(changed.email, None, "Some(None) clears the field");
    assert_eq!(changed.phone.as_deref(), Some("+15550100"));
    assert_eq!(
        changed.password_hash.as_deref(),
        Some("$argon2id$v=19$dummy"),
        "None keeps the field"
    );
    assert_eq!((changed.created_at, changed.updated_at), (at(0), at(60)));
    let stored = db.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.display_name, stored.email, stored.phone),
        (changed.display_name, None, changed.phone)
    );
    let missing = db
        .update_user(alice.id + 1000, &patch, at(61), &event("user.update"))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    db.delete_user(alice.id, at(120), &event("user.delete"))
        .await
        .unwrap();
    assert!(db.user_by_id(alice.id).await.unwrap().is_none());
    assert!(db.user_by_name("alice").await.unwrap().is_none());
    let twice = db
        .delete_user(alice.id, at(121), &event("user.delete"))
        .await;
    assert!(matches!(twice, Err(StoreError::NotFound)), "{twice:?}");
    let reborn = db
        .create_user(&new, at(130), &event("user.create"))
        .await
        .unwrap();
    assert_eq!(
        reborn.username.as_str(),
        "alice",
        "a deleted user's name is free again"
    );
    // Its id is not: whatever still refers to the old user must not find the new one.
    db.delete_user(reborn.id, at(140), &event("user.delete"))
        .await
        .unwrap();
    let third = db
        .create_user(&new, at(150), &event("user.create"))
        .await
        .unwrap();
    assert!(
        third.id > reborn.id,
        "ids are never reused: {} after {}",
        third.id,
        reborn.id
    );
}

pub async fn delete_user_revokes_and_unassigns_tokens(db: Db) {
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;
    let mut serials = Vec::new();
    for (serial, state) in [
        ("A1", TokenState::Active),
        ("A2", TokenState::Pending),
        ("A3", TokenState::Disabled),
    ] {
        serials.push(token(&db, serial, Some(alice.id), state).await);
    }
    let bobs = token(&db, "B1", Some(bob.id), TokenState::Active).await;
    let events = audit_len(&db).await;

    db.delete_user(alice.id, at(60), &event("user.delete").user("alice"))
        .await
        .unwrap();
    assert!(db.user_by_id(alice.id).await.unwrap().is_none());
    for t in &serials {
        let after = reload(&db, t).await;
        assert_eq!(after.state, TokenState::Revoked, "{} revoked", t.serial);
        assert_eq!(after.user_id, None, "{} unassigned", t.serial);
        assert_eq!(after.sealed_secret, "", "{} seed erased", t.serial);
        assert!(
            !db.accept(&acceptance(t, 1, at(61)), &event("validate"))
                .await
                .unwrap()
        );
    }
    assert!(db.tokens_of_user(alice.id).await.unwrap().is_empty());
    let b = reload(&db, &bobs).await;
    assert_eq!(
        (b.state, b.user_id, b.sealed_secret.as_str()),
        (TokenState::Active, Some(bob.id), "k1:B1")
    );
    let sealed: Vec<_> = db
        .sealed_secrets()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.serial)
        .collect();
    assert_eq!(sealed, ["B1"]);
    let log = verified_log(&db).await;
    assert_eq!(
        log.len() as i64,
        events + 1,
        "one event for the deletion and its tokens"
    );
    assert_eq!(log.last().unwrap().event.action, "user.delete");

    let again = user(&db, "alice").await;
    assert!(
        db.tokens_of_user(again.id).await.unwrap().is_empty(),
        "a new alice inherits nothing"
    );
}

pub async fn api_keys_create_find_count(db: Db) {
    assert_eq!(db.count_api_keys().await.unwrap(), 0);
    assert!(db.api_key_by_hash("h1").await.unwrap().is_none());
    let ev = event("apikey.create");
    let admin = db
        .create_api_key("bootstrap", Role::Admin, "h1", at(5), &ev)
        .await
        .unwrap();
    let gateway = db
        .create_api_key("vpn", Role::Validator, "h2", at(6), &ev)
        .await
        .unwrap();
    assert_ne!(admin.id, gateway.id);
    assert_eq!(db.count_api_keys().await.unwrap(), 2);

    let found = db
        .api_key_by_hash("h2")
        .await
        .unwrap()
        .expect("found by hash");
    assert_eq!(
        (found.id, found.name.as_str(), found.role, found.created_at),
        (gateway.id, "vpn", Role::Validator, at(6))
    );
    let found = db.api_key_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(
        (found.name.as_str(), found.role, found.created_at),
        ("bootstrap", Role::Admin, at(5))
    );
    assert!(
        db.api_key_by_hash("H1").await.unwrap().is_none(),
        "hashes compare exactly"
    );

    let events = audit_len(&db).await;
    let dup = db
        .create_api_key("other", Role::Helpdesk, "h1", at(7), &ev)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(db.count_api_keys().await.unwrap(), 2);
    assert_eq!(audit_len(&db).await, events);
    db.create_api_key("desk", Role::Helpdesk, "h3", at(8), &ev)
        .await
        .unwrap();
    assert_eq!(
        db.api_key_by_hash("h3").await.unwrap().unwrap().role,
        Role::Helpdesk
    );
    assert_eq!(db.count_api_keys().await.unwrap(), 3);
}

pub async fn a_revoked_api_key_is_not_found_but_still_listed(db: Db) {
    let ev = event("apikey.create");
    let admin = db
        .create_api_key("bootstrap", Role::Admin, "h1", at(5), &ev)
        .await
        .unwrap();
    let gateway = db
        .create_api_key("vpn", Role::Validator, "h2", at(6), &ev)
        .await
        .unwrap();
    assert_eq!(gateway.revoked_at, None);
    let events = audit_len(&db).await;
    let revoke = event("apikey.revoke");
    assert!(db.revoke_api_key(gateway.id, at(9), &revoke).await.unwrap());
    assert_eq!(audit_len(&db).await, events + 1);
    assert!(db.api_key_by_hash("h2").await.unwrap().is_none());
    assert!(db.api_key_by_hash("h1").await.unwrap().is_some());
    // Revoking again changes nothing and logs nothing.
    assert!(
        !db.revoke_api_key(gateway.id, at(10), &revoke)
            .await
            .unwrap()
    );
    assert!(!db.revoke_api_key(9_999, at(10), &revoke).await.unwrap());
    assert_eq!(audit_len(&db).await, events + 1);
    let listed: Vec<(i64, Option<ichido_domain::Timestamp>)> = db
        .list_api_keys()
        .await
        .unwrap()
        .iter()
        .map(|k| (k.id, k.revoked_at))
        .collect();
    assert_eq!(listed, vec![(admin.id, None), (gateway.id, Some(at(9)))]);
}
