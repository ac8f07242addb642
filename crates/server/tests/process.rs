//! The real `ichido` binary as operators run it: separate processes, real
//! signals (SIGTERM, SIGKILL), real files on disk and real databases.
//!
//! Codes come from HOTP tokens whose counters the tests control, computed by
//! `totp-rs`, so nothing here depends on the wall clock.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use support::api::{Api, Verdict, seed_bytes};
use support::postgres::{TempDatabase, postgres_url};
use support::process::{Finished, Install, find_api_key, run_raw, sqlite_files};
use support::sqlite::{copy_files, found_in_database, hex, restore, sealed_secret, sqlite_exec};

/// Load tests send far more than the per-address default from 127.0.0.1.
fn without_rate_limit(install: Install) -> Install {
    install.env("ICHIDO_RATE_LIMIT__PER_SECOND", "0")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_data_dir_key_and_prints_admin_key_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("does-not-exist-yet");
    let install = Install::sqlite(&data);

    let mut first = install.serve();
    let key = first.bootstrap_key();
    assert!(
        install.db_path().is_file(),
        "first start creates {}",
        install.db_path().display()
    );
    assert_eq!(
        mode(&data.join("master.key")),
        0o600,
        "master.key must be readable by its owner only"
    );
    assert_eq!(
        mode(&data) & 0o077,
        0,
        "the data directory must not be open to group or others"
    );
    let master_key = std::fs::read(data.join("master.key")).unwrap();

    let api = Api::new(&first, &key);
    assert_eq!(api.create_user("alice").await, StatusCode::CREATED);
    let (status, stdout) = first.stop();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly, got {status}"
    );
    assert_eq!(
        stdout.matches(key.as_str()).count(),
        1,
        "the key is printed exactly once:\n{stdout}"
    );
    assert!(
        !first.stderr().contains(&key),
        "the admin key must never be logged"
    );

    let mut second = install.serve();
    let api = Api::new(&second, &key);
    let (status, body) = api.get("/v1/users/alice").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "data of the first run is still there: {body}"
    );
    assert_eq!(body["username"], "alice");
    assert_eq!(
        api.create_user("bob").await,
        StatusCode::CREATED,
        "the first key still works"
    );
    let unknown = Api::new(&second, &format!("ichido_{}", "A".repeat(43)));
    assert_eq!(
        unknown.create_user("mallory").await,
        StatusCode::UNAUTHORIZED,
        "only issued keys work"
    );
    let (status, stdout) = second.stop();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly, got {status}"
    );
    assert_eq!(
        find_api_key(&stdout),
        None,
        "a second start must not print an admin key:\n{stdout}"
    );
    assert_eq!(
        std::fs::read(data.join("master.key")).unwrap(),
        master_key,
        "a restart must not replace the master key"
    );
}

#[test]
fn a_first_start_that_cannot_listen_does_not_swallow_the_admin_key() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let failed = install.run(&["serve", "--listen", &busy.local_addr().unwrap().to_string()]);
    assert!(
        !failed.status.success(),
        "serving on a port in use must fail"
    );
    drop(busy);

    let mut server = install.serve();
    let (_, stdout) = server.stop();
    let printed = [failed.stdout.as_str(), stdout.as_str()]
        .into_iter()
        .filter_map(find_api_key)
        .count();
    assert_eq!(
        printed, 1,
        "one of the two starts must print the first admin key\nfailed start:\n{}\nsecond start:\n{stdout}",
        failed.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_during_validation_load_loses_no_accepted_state() {
    let tmp = tempfile::tempdir().unwrap();
    let install = without_rate_limit(Install::sqlite(tmp.path().join("data")));
    let mut server = install.serve();
    let key = server.bootstrap_key();
    let api = Api::new(&server, &key);

    let mut users = Vec::new();
    for i in 0..20 {
        let name = format!("load{i:02}");
        let token = api.user_with_hotp(&name).await;
        users.push((name, token));
    }
    let locked = api.user_with_hotp("locked").await;
    let wrong = locked.hotp.wrong_code(20);
    for _ in 0..10 {
        assert_eq!(api.validate("locked", &wrong).await, Verdict::Reject);
    }
    let (_, body) = api.get("/v1/users/locked").await;
    assert!(
        body["locked_until"].is_string(),
        "10 failures lock the user: {body}"
    );

    // Five clients, each owning four users, send the next code of each of
    // their users in turn, without pause, until the server dies under them.
    let api = Arc::new(api);
    let accepted_so_far = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for own in users.chunks(4).map(<[_]>::to_vec) {
        let (api, counted) = (api.clone(), accepted_so_far.clone());
        clients.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            'load: for counter in 1.. {
                for (name, token) in &own {
                    match api.try_validate(name, &token.hotp.at(counter)).await {
                        Ok(Verdict::Accept { serial }) => {
                            assert_eq!(serial, token.serial);
                            accepted.push((name.clone(), counter));
                            counted.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(Verdict::Reject) => panic!(
                            "{name}: fresh code of counter {counter} rejected before the crash"
                        ),
                        // The server was killed under this request.
                        Err(_) => break 'load,
                    }
                }
            }
            accepted
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(8);
    while accepted_so_far.load(Ordering::SeqCst) < 400 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.crash();
    let mut accepted: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for client in clients {
        for (name, counter) in client.await.expect("load client") {
            accepted.entry(name).or_default().push(counter);
        }
    }
    let total: usize = accepted.values().map(Vec::len).sum();
    assert!(
        total >= 40,
        "too little load before the crash to prove anything: {total} accepted codes"
    );
    eprintln!(
        "crash after {total} accepted codes for {} users",
        accepted.len()
    );

    let mut server = install.serve();
    let api = Arc::new(Api::new(&server, &key));
    let mut checks = Vec::new();
    for (name, token) in users {
        let counters = accepted.remove(&name).unwrap_or_default();
        let api = api.clone();
        checks.push(tokio::spawn(async move {
            // Every replay counts as a failure; unlock before the tenth so the
            // rejects below are replay protection, not a lockout.
            for chunk in counters.chunks(9) {
                for &c in chunk {
                    let verdict = api.validate(&name, &token.hotp.at(c)).await;
                    assert_eq!(
                        verdict,
                        Verdict::Reject,
                        "{name}: code of counter {c}, accepted before the crash, passed again"
                    );
                }
                api.unlock(&name).await;
            }
            // The code in flight at the crash may or may not have been
            // committed; the one after it is fresh either way.
            let fresh = counters.iter().max().copied().unwrap_or(0) + 2;
            let verdict = api.validate(&name, &token.hotp.at(fresh)).await;
            assert_eq!(
                verdict,
                Verdict::Accept {
                    serial: token.serial.clone()
                },
                "{name}: fresh code after restart"
            );
        }));
    }
    for check in checks {
        check.await.expect("replay check");
    }

    assert_eq!(
        api.validate("locked", &locked.hotp.at(1)).await,
        Verdict::Reject,
        "the lockout survives the crash"
    );
    api.unlock("locked").await;
    assert_eq!(
        api.validate("locked", &locked.hotp.at(1)).await,
        Verdict::Accept {
            serial: locked.serial.clone()
        },
        "the same code passes once unlocked, so the reject above was the lockout"
    );

    server.stop();
    let verify = install
        .run(&["audit", "verify"])
        .ok("audit verify after a crash");
    assert!(
        verify.stdout.contains("audit log intact"),
        "{}",
        verify.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_accept_a_code_exactly_once() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let db = TempDatabase::create(&admin_url).await;
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    // Each losing request is a counted failure: 49 per round would lock the user.
    let node = |dir: &PathBuf| {
        without_rate_limit(Install::postgres(dir, &db.url))
            .env("ICHIDO_POLICY__MAX_FAILURES", "1000000")
    };

    let a = node(&dir_a).serve();
    let key = a.bootstrap_key();
    // The nodes share the master key: B gets a copy of the one A created.
    std::fs::create_dir(&dir_b).unwrap();
    std::fs::set_permissions(&dir_b, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(dir_a.join("master.key"), dir_b.join("master.key")).unwrap();
    std::fs::set_permissions(
        dir_b.join("master.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let mut b = node(&dir_b).serve();

    let nodes = [Arc::new(Api::new(&a, &key)), Arc::new(Api::new(&b, &key))];
    assert_eq!(nodes[0].create_user("shared").await, StatusCode::CREATED);
    let token = nodes[0].enroll_hotp("shared").await;
    assert_eq!(
        nodes[1].activate(&token.serial, &token.hotp.at(0)).await,
        StatusCode::OK,
        "B activates what A enrolled"
    );

    for counter in 1..=5 {
        let code = token.hotp.at(counter);
        let start = Arc::new(tokio::sync::Barrier::new(50));
        let requests: Vec<_> = (0..50)
            .map(|i| {
                let (api, code, start) = (nodes[i % 2].clone(), code.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    (i % 2, api.validate("shared", &code).await)
                })
            })
            .collect();
        let mut accepted_by = Vec::new();
        for r in requests {
            if let (node, Verdict::Accept { serial }) = r.await.expect("validation request") {
                assert_eq!(serial, token.serial);
                accepted_by.push(["A", "B"][node]);
            }
        }
        assert_eq!(
            accepted_by.len(),
            1,
            "code of counter {counter}: accepted by {accepted_by:?}, want exactly one"
        );
    }
    let (_, stdout) = b.stop();
    assert_eq!(
        find_api_key(&stdout),
        None,
        "the second node of an installation prints no admin key:\n{stdout}"
    );
    drop(a);
}

fn assert_verify_fails(out: Finished, naming: &[&str]) {
    assert!(
        !out.status.success(),
        "audit verify must fail on a tampered log\nstdout:\n{}",
        out.stdout
    );
    for n in naming {
        assert!(
            out.stderr.contains(n),
            "audit verify must say {n:?}, said:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_detects_an_edited_and_a_deleted_event() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let mut server = install.serve();
    let api = Api::new(&server, &server.bootstrap_key());
    let token = api.user_with_hotp("carol").await;
    assert!(matches!(
        api.validate("carol", &token.hotp.at(1)).await,
        Verdict::Accept { .. }
    ));
    assert_eq!(
        api.validate("carol", &token.hotp.wrong_code(20)).await,
        Verdict::Reject
    );
    server.stop();

    let verify = || install.run(&["audit", "verify"]);
    let intact = verify().ok("audit verify of an untouched log");
    assert!(
        intact.stdout.contains("audit log intact: 6 events"),
        "{}",
        intact.stdout
    );
    let db = install.db_path();
    let backup = tmp.path().join("backup");
    copy_files(&sqlite_files(&db), &backup);

    assert_eq!(
        sqlite_exec(&db, "UPDATE audit SET result = 'accept' WHERE seq = 2").await,
        1
    );
    assert_verify_fails(verify(), &["event 2 was edited"]);

    restore(&db, &backup);
    verify().ok("audit verify of the restored copy");
    assert_eq!(sqlite_exec(&db, "DELETE FROM audit WHERE seq = 3").await, 1);
    assert_verify_fails(verify(), &["event 3 was deleted"]);

    restore(&db, &backup);
    assert_eq!(
        sqlite_exec(
            &db,
            "DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)"
        )
        .await,
        1
    );
    assert_verify_fails(verify(), &["cut after event 5"]);

    // Cutting the tail and lowering the head to match needs the key.
    restore(&db, &backup);
    sqlite_exec(&db, "DELETE FROM audit WHERE seq = 6").await;
    sqlite_exec(
        &db,
        "UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit WHERE seq = 5)",
    )
    .await;
    assert_verify_fails(verify(), &["chain head (event 5) does not match"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_checkpoint_catches_a_restored_old_copy_of_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let mut server = install.serve();
    let key = server.bootstrap_key();
    let token = Api::new(&server, &key).user_with_hotp("dave").await;
    server.stop();
    let db = install.db_path();
    let old_copy = tmp.path().join("old");
    copy_files(&sqlite_files(&db), &old_copy);

    let mut server = install.serve();
    assert!(matches!(
        Api::new(&server, &key)
            .validate("dave", &token.hotp.at(1))
            .await,
        Verdict::Accept { .. }
    ));
    server.stop();
    let checkpoints = tmp.path().join("checkpoints");
    let cp = checkpoints.to_str().unwrap();
    install
        .run(&["audit", "checkpoint", "--out", cp])
        .ok("audit checkpoint");
    install
        .run(&["audit", "verify", "--checkpoint", cp])
        .ok("verify against the checkpoint just taken");

    // The old copy is a consistent, keyed log on its own: only the
    // checkpoint, kept outside the database, shows that events are gone.
    restore(&db, &old_copy);
    install
        .run(&["audit", "verify"])
        .ok("the old copy verifies without a checkpoint");
    assert_verify_fails(
        install.run(&["audit", "verify", "--checkpoint", cp]),
        &["the log was cut after event", "a checkpoint saw event"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_logged_by_the_server_are_accepted_by_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let install =
        Install::sqlite(tmp.path().join("data")).env("ICHIDO_AUDIT__CHECKPOINT_SECONDS", "3600");
    let mut server = install.serve();
    let key = server.bootstrap_key();
    Api::new(&server, &key).user_with_hotp("gina").await;
    // The first checkpoint is logged at start; wait for the line, not a time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.stderr().contains("audit checkpoint {") {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        tokio::task::yield_now().await;
    }
    server.stop();
    let log = tmp.path().join("server.log");
    std::fs::write(&log, server.stderr()).unwrap();
    let verified = install
        .run(&["audit", "verify", "--checkpoint", log.to_str().unwrap()])
        .ok("verify against the logged checkpoint");
    assert!(
        verified.stdout.contains("agrees with 1 checkpoints"),
        "{}",
        verified.stdout
    );
}

/// `ichido keys list`: the ids, and which one is current.
fn key_ids(install: &Install) -> (Vec<String>, String) {
    let out = install.run(&["keys", "list"]).ok("keys list");
    let ids: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    let current = out
        .stdout
        .lines()
        .find(|l| l.contains("(current)"))
        .and_then(|l| l.split_whitespace().next());
    (
        ids.clone(),
        current
            .unwrap_or_else(|| panic!("no current key in:\n{}", out.stdout))
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_while_serving_is_picked_up_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let server = install.serve();
    let key = server.bootstrap_key();
    let api = Api::new(&server, &key);
    let mut tokens = Vec::new();
    for name in ["erin", "ezra", "elio"] {
        tokens.push((name, api.user_with_hotp(name).await));
    }
    let (_, old) = key_ids(&install);

    // Validations keep coming while another process adds a key and
    // re-seals every seed under it; every one of them must be accepted.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|(name, token)| {
            let (base, key, stop) = (server.base_url(), key.clone(), stop.clone());
            tokio::spawn(async move {
                let api = Api::at(&base, &key);
                let mut counter = 1;
                while !stop.load(Ordering::SeqCst) || counter == 1 {
                    let verdict = api.validate(name, &token.hotp.at(counter)).await;
                    assert!(
                        matches!(verdict, Verdict::Accept { .. }),
                        "{name}, code {counter}: {verdict:?}"
                    );
                    counter += 1;
                }
                counter
            })
        })
        .collect();
    let rotate = install.clone();
    tokio::task::spawn_blocking(move || {
        rotate
            .run(&["keys", "rotate"])
            .ok("keys rotate while the server runs")
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let mut next = Vec::new();
    for task in load {
        next.push(task.await.expect("validations under rotation"));
    }
    let (_, new) = key_ids(&install);
    assert_ne!(new, old);
    let (name, token) = &tokens[0];
    let resealed = sealed_secret(&install.db_path(), &token.serial).await;
    assert!(resealed.starts_with(&format!("{new}:")), "{resealed}");

    // Now every seed is under the new key: the server has read the file again.
    assert!(
        matches!(
            api.validate(name, &token.hotp.at(next[0])).await,
            Verdict::Accept { .. }
        ),
        "after the rotation:\n{}",
        server.stderr()
    );
    // And seals new seeds under the new key.
    let fresh = api.user_with_hotp("frank").await;
    let sealed = sealed_secret(&install.db_path(), &fresh.serial).await;
    assert!(sealed.starts_with(&format!("{new}:")), "{sealed}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_makes_the_server_seal_under_a_key_rotated_since_it_started() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let server = install.serve();
    let api = Api::new(&server, &server.bootstrap_key());
    install.run(&["keys", "rotate"]).ok("keys rotate");
    let (_, new) = key_ids(&install);
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.stderr().contains("reloaded the keyring on SIGHUP") {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        tokio::task::yield_now().await;
    }
    // No sealed value named the new key yet: only the signal taught it.
    let token = api.user_with_hotp("hana").await;
    let sealed = sealed_secret(&install.db_path(), &token.serial).await;
    assert!(sealed.starts_with(&format!("{new}:")), "{sealed}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_keeps_tokens_working() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let mut server = install.serve();
    let key = server.bootstrap_key();
    let api = Api::new(&server, &key);
    let token = api.user_with_hotp("dave").await;
    assert!(matches!(
        api.validate("dave", &token.hotp.at(1)).await,
        Verdict::Accept { .. }
    ));
    server.stop();

    let (ids, old) = key_ids(&install);
    assert_eq!(
        ids,
        vec![old.clone()],
        "a new installation has one master key"
    );
    let before = sealed_secret(&install.db_path(), &token.serial).await;
    assert!(
        before.starts_with(&format!("{old}:")),
        "sealed under {old}: {before}"
    );

    let rotated = install.run(&["keys", "rotate"]).ok("keys rotate");
    assert!(
        rotated.stdout.contains("re-sealed 1 "),
        "one seed re-sealed: {}",
        rotated.stdout
    );
    let (ids, new) = key_ids(&install);
    assert_eq!(
        ids.len(),
        2,
        "the old key is kept next to the new one: {ids:?}"
    );
    assert!(ids.contains(&old) && new != old, "{ids:?}, current {new}");
    assert!(
        rotated.stdout.contains(&new),
        "rotate names the new key {new}: {}",
        rotated.stdout
    );
    let after = sealed_secret(&install.db_path(), &token.serial).await;
    assert!(
        after.starts_with(&format!("{new}:")),
        "re-sealed under {new}: {after}"
    );

    let server = install.serve();
    let api = Api::new(&server, &key);
    assert_eq!(
        api.validate("dave", &token.hotp.at(2)).await,
        Verdict::Accept {
            serial: token.serial.clone()
        }
    );
    assert_eq!(
        api.validate("dave", &token.hotp.at(1)).await,
        Verdict::Reject,
        "rotation does not reset the counter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_export_writes_json_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let mut server = install.serve();
    let api = Api::new(&server, &server.bootstrap_key());
    let token = api.user_with_hotp("erin").await;
    assert!(matches!(
        api.validate("erin", &token.hotp.at(1)).await,
        Verdict::Accept { .. }
    ));
    assert_eq!(
        api.validate("erin", &token.hotp.at(1)).await,
        Verdict::Reject
    );

    // Exported from a live server, as an operator would.
    let file = tmp.path().join("audit.jsonl");
    install
        .run(&["audit", "export", "--out", file.to_str().unwrap()])
        .ok("audit export --out");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with('\n'), "every line is terminated");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert_eq!(events.len(), 6, "{text}");
    let mut prev = "0".repeat(64);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["seq"].as_i64(),
            Some(i as i64 + 1),
            "seq, oldest first: {e}"
        );
        assert!(
            e["action"].as_str().is_some_and(|a| !a.is_empty()),
            "action: {e}"
        );
        let hash = e["hash"].as_str().unwrap_or_else(|| panic!("hash: {e}"));
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "hash: {e}"
        );
        assert_eq!(
            e["prev_hash"].as_str(),
            Some(prev.as_str()),
            "each event links to the one before: {e}"
        );
        prev = hash.to_owned();
    }
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "apikey.create",
            "user.create",
            "token.enroll",
            "token.activate",
            "validate",
            "validate"
        ]
    );
    assert_eq!(events[4]["result"], "accept");
    assert_eq!(events[5]["result"], "reject");
    assert!(!text.contains(&token.secret), "no seed in the audit log");

    server.stop();
    let stdout = install
        .run(&["audit", "export"])
        .ok("audit export to stdout")
        .stdout;
    assert_eq!(stdout, text, "stdout and --out carry the same export");
}

#[test]
fn bad_command_line_input_exits_non_zero_without_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "not a directory").unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let sqlite = Install::sqlite(&data);

    let cases: Vec<(&str, Finished, &str)> = vec![
        (
            "unparsable listen address",
            sqlite.run(&["serve", "--listen", "nonsense"]),
            "nonsense",
        ),
        (
            "unknown role",
            sqlite.run(&["admin-key", "create", "--role", "root"]),
            "root",
        ),
        (
            "missing config file",
            sqlite.run(&["serve", "--config", "/does/not/exist"]),
            "/does/not/exist",
        ),
        ("unknown subcommand", run_raw(&["frobnicate"]), "frobnicate"),
        (
            "port already in use",
            sqlite.run(&["serve", "--listen", busy.as_str()]),
            busy.as_str(),
        ),
        (
            "bad environment value",
            sqlite
                .clone()
                .env("ICHIDO_POLICY__MAX_FAILURES", "many")
                .run(&["serve"]),
            "max_failures",
        ),
        (
            "unsupported database URL",
            Install::postgres(&data, "mysql://db.invalid/ichido").run(&["audit", "verify"]),
            "unsupported database URL",
        ),
        (
            "data directory is a file",
            Install::sqlite(&a_file).run(&["audit", "verify"]),
            "a-file",
        ),
    ];
    for (what, out, mentions) in cases {
        assert!(
            !out.status.success(),
            "{what}: must exit non-zero\nstderr:\n{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("panicked"),
            "{what}: panicked:\n{}",
            out.stderr
        );
        let messages: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("ichido: ") || l.starts_with("error: "))
            .collect();
        assert_eq!(
            messages.len(),
            1,
            "{what}: want one error line, stderr:\n{}",
            out.stderr
        );
        assert!(
            messages[0].contains(mentions),
            "{what}: the message should mention {mentions:?}: {}",
            messages[0]
        );
        assert_eq!(
            find_api_key(&out.stdout),
            None,
            "{what}: printed a key:\n{}",
            out.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_are_not_stored_in_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let install = Install::sqlite(tmp.path().join("data"));
    let mut server = install.serve();
    let api = Api::new(&server, &server.bootstrap_key());
    assert_eq!(api.create_user("frank").await, StatusCode::CREATED);
    let pending = api.enroll_hotp("frank").await;
    let active = api.user_with_hotp("grace").await;

    let mut needles = Vec::new();
    for t in [&pending, &active] {
        let raw = seed_bytes(&t.secret);
        needles.push(("base32 seed", t.secret.as_bytes().to_vec()));
        needles.push((
            "lower-case base32 seed",
            t.secret.to_ascii_lowercase().into_bytes(),
        ));
        needles.push(("hex seed", hex(&raw).into_bytes()));
        needles.push(("raw seed", raw));
    }
    // The scan sees what is stored: the serials are, in the clear.
    let serials = [
        ("serial", pending.serial.as_bytes().to_vec()),
        ("serial", active.serial.as_bytes().to_vec()),
    ];
    assert!(
        found_in_database(&install, &serials).len() >= 2,
        "the scan must see stored rows"
    );

    let found = found_in_database(&install, &needles);
    assert!(
        found.is_empty(),
        "seed found at rest while serving: {found:?}"
    );
    assert!(
        !server.stderr().contains(&pending.secret),
        "a seed was logged"
    );
    server.stop();
    let found = found_in_database(&install, &needles);
    assert!(
        found.is_empty(),
        "seed found at rest after shutdown: {found:?}"
    );
    assert!(
        !server.stderr().contains(&active.secret),
        "a seed was logged"
    );
}
