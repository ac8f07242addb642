//! A token whose seed cannot be opened (sealed under a key this node does
//! not have, or a damaged row) is skipped: the user's other tokens still
//! work, and the answer is an ordinary one, not a server error.

mod common;

use common::{Backend, TestServer, totp};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_opened_does_not_block_the_users_other_tokens() {
    let s = TestServer::start(Backend::Sqlite).await.expect("SQLite");
    let validator = s.api_key("validator").await;
    s.create_user("alice").await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (serial, secret) = s.enroll("alice", json!({"type": "totp"})).await;
        let code = totp(&secret, s.now_secs());
        let (st, b) = s
            .post(
                &format!("/v1/tokens/{serial}/activate"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        tokens.push((serial, secret));
    }
    let db = s
        .running
        .as_ref()
        .unwrap()
        .state
        .config
        .data_dir
        .join("ichido.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let damaged =
        sqlx::query("UPDATE tokens SET sealed_secret = 'k9:not-a-sealed-value' WHERE serial = ?")
            .bind(&tokens[0].0)
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(damaged.rows_affected(), 1);
    conn.close().await.unwrap();

    s.clock.advance_secs(30);
    let code = totp(&tokens[1].1, s.now_secs());
    assert_eq!(
        s.validate(&validator, "alice", &code).await,
        json!({"result": "accept", "serial": tokens[1].0})
    );
    assert_eq!(
        s.validate(&validator, "alice", "000000").await,
        json!({"result": "reject"}),
        "a wrong code is an ordinary reject, not a server error"
    );
    s.stop().await;
}
