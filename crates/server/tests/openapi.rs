//! `/openapi.json` tells the truth about errors: every operation lists the
//! statuses its shape can produce, each with the one error body, and the
//! statuses the running server really answers are among those listed.

mod common;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ERROR_REF: &str = "#/components/schemas/ErrorBody";

async fn document(s: &TestServer) -> Value {
    let (st, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK, "{doc}");
    doc
}

/// The statuses the document lists for one operation.
fn listed(doc: &Value, method: &str, path: &str) -> Vec<String> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .keys()
        .cloned()
        .collect()
}

async fn every_operation_lists_its_error_statuses_with_the_error_body(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let doc = document(&s).await;
    assert!(
        doc["components"]["schemas"]["ErrorBody"].is_object(),
        "no ErrorBody schema"
    );
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{method} {path}");
            let statuses: Vec<&str> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let has = |s: &str| statuses.contains(&s);
            let params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            let body = op.get("requestBody").is_some();
            let keyed = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if params || body {
                assert!(has("400"), "{at}: {statuses:?}");
            }
            if keyed {
                assert!(has("401") && has("403"), "{at}: {statuses:?}");
            }
            if body {
                for s in ["413", "415", "422"] {
                    assert!(
                        has(s),
                        "{at} takes JSON but does not list {s}: {statuses:?}"
                    );
                }
            }
            if path.contains('{') {
                assert!(has("404"), "{at}: {statuses:?}");
            }
            // Probes (`/readyz`, `/metrics`) answer plain text for their callers.
            for (status, response) in op["responses"].as_object().unwrap() {
                if path.starts_with("/v1/") && (status.starts_with('4') || status.starts_with('5'))
                {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, ERROR_REF, "{at} {status}: {response}");
                }
            }
        }
    }
    assert!(operations > 30, "only {operations} operations");
    // What a handler adds itself stays listed too.
    assert!(listed(&doc, "post", "/v1/validate").contains(&"429".to_owned()));
    assert!(listed(&doc, "post", "/v1/users").contains(&"409".to_owned()));
    s.stop().await;
}

async fn real_errors_of_the_server_are_listed_in_the_document(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.max_body_bytes = 1024).await else {
        return;
    };
    let doc = document(&s).await;
    let validator = s.api_key("validator").await;
    let (serial, _) = {
        s.create_user("ann").await;
        s.enroll("ann", json!({"type": "totp"})).await
    };
    let raw = |method: &str, path: &str, key: Option<&str>, ctype: &str, body: String| {
        let mut req = s
            .http
            .request(method.parse().unwrap(), format!("{}{path}", s.base))
            .header("content-type", ctype)
            .body(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let admin = s.admin.clone();
    let cases: Vec<(&str, &str, StatusCode)> = vec![
        (
            "post",
            "/v1/validate",
            raw(
                "POST",
                "/v1/validate",
                Some(&validator),
                "application/json",
                "{".into(),
            )
            .await
            .unwrap()
            .status(),
        ),
        (
            "post",
            "/v1/validate",
            raw(
                "POST",
                "/v1/validate",
                Some(&validator),
                "text/plain",
                "{}".into(),
            )
            .await
            .unwrap()
            .status(),
        ),
        (
            "post",
            "/v1/validate",
            raw(
                "POST",
                "/v1/validate",
                None,
                "application/json",
                "{}".into(),
            )
            .await
            .unwrap()
            .status(),
        ),
        (
            "post",
            "/v1/users",
            raw(
                "POST",
                "/v1/users",
                Some(&validator),
                "application/json",
                r#"{"username":"x"}"#.into(),
            )
            .await
            .unwrap()
            .status(),
        ),
        (
            "post",
            "/v1/users",
            raw(
                "POST",
                "/v1/users",
                Some(&admin),
                "application/json",
                format!(r#"{{"username":"{}"}}"#, "x".repeat(2048)),
            )
            .await
            .unwrap()
            .status(),
        ),
        (
            "get",
            "/v1/users/{username}",
            s.get("/v1/users/nobody").await.0,
        ),
        (
            "get",
            "/v1/users/{username}",
            s.get("/v1/users/no%0Abody").await.0,
        ),
        (
            "patch",
            "/v1/tokens/{serial}",
            s.call(
                "PATCH",
                &format!("/v1/tokens/{serial}"),
                Some(&admin),
                Some(json!({"valid_until": "soon"})),
            )
            .await
            .0,
        ),
        (
            "post",
            "/v1/users",
            s.post("/v1/users", json!({"username": "ann"})).await.0,
        ),
    ];
    let expected = [400, 415, 401, 403, 413, 404, 422, 422, 409];
    for ((method, path, got), want) in cases.into_iter().zip(expected) {
        assert_eq!(got.as_u16(), want, "{method} {path}");
        assert!(
            listed(&doc, method, path).contains(&got.as_str().to_owned()),
            "{method} {path} answered {got} but does not list it"
        );
    }
    s.stop().await;
}

on_both_backends!(
    every_operation_lists_its_error_statuses_with_the_error_body,
    real_errors_of_the_server_are_listed_in_the_document,
);
