//! Opening a database that is already there.

use crate::common::{connect, token, user, verified_log};
use ichido_domain::store::Store;
use ichido_domain::token::TokenState;

pub async fn schema_migration_is_idempotent(url: String) {
    // Two nodes starting at once on an empty database migrate it once.
    let (first, racer) = tokio::join!(connect(&url), connect(&url));
    racer.close().await;
    let alice = user(&first, "alice").await;
    token(&first, "TOTP1", Some(alice.id), TokenState::Active).await;
    first.close().await;

    let second = connect(&url).await;
    let found = second
        .user_by_name("alice")
        .await
        .unwrap()
        .expect("data kept across a reconnect");
    assert_eq!(found.id, alice.id);
    assert_eq!(second.tokens_of_user(alice.id).await.unwrap().len(), 1);
    user(&second, "bob").await;
    // Another handle on the same database, opened while this one is in use.
    let third = connect(&url).await;
    assert!(third.user_by_name("bob").await.unwrap().is_some());
    user(&third, "carol").await;
    assert_eq!(second.list_users(None, None, 10).await.unwrap().len(), 3);
    let log = verified_log(&third).await;
    assert_eq!(log.len(), 4, "the chain continues across reconnects");
    second.close().await;
    third.close().await;
}
