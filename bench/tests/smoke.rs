//! A short run of the load generator against the real server started in
//! this process: every valid code is accepted, every wrong code and every
//! replayed copy rejected, over HTTP and over RADIUS.

use std::sync::Arc;
use std::time::Duration;

use ichido_bench::enroll::{EnrollOptions, enroll_ichido};
use ichido_bench::load::{self, LoadOptions, Mode};
use ichido_bench::report::Report;
use ichido_bench::target::{self, Radius, Target};
use ichido_domain::SystemClock;
use ichido_domain::service::Settings;
use ichido_server::config::{Config, RadiusClientConfig, RadiusMode};

const RADIUS_SECRET: &str = "bench-smoke-shared-secret";

fn assert_all_answers_expected(r: &Report) {
    eprint!("{}", r.summary());
    assert!(r.counts.errors.is_empty(), "errors: {:?}", r.counts.errors);
    assert!(
        r.counts.valid_sent > 0 && r.counts.wrong_sent > 0,
        "{}",
        r.summary()
    );
    assert_eq!(
        r.counts.valid_accepted,
        r.counts.valid_sent,
        "{}",
        r.summary()
    );
    assert_eq!(
        r.counts.wrong_rejected,
        r.counts.wrong_sent,
        "{}",
        r.summary()
    );
    assert_eq!(r.counts.replays_accepted, 0, "{}", r.summary());
}

fn options(label: &str, mode: Mode) -> LoadOptions {
    LoadOptions {
        label: label.into(),
        mode,
        duration: Duration::from_millis(1000),
        warmup: Duration::from_millis(200),
        wrong_ratio: 0.2,
        replay_ratio: 0.2,
        server_pids: vec![std::process::id()],
        ..LoadOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_accepts_every_valid_code_and_rejects_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        durability: "normal".into(),
        ..Config::default()
    };
    config.rate_limit.per_second = 0;
    config.radius.listen = Some("127.0.0.1:0".parse().unwrap());
    config.radius.clients = vec![RadiusClientConfig {
        name: "bench".into(),
        address: "127.0.0.1".into(),
        secret: Some(RADIUS_SECRET.into()),
        mode: RadiusMode::Otp,
        rate_per_second: 0,
        ..Default::default()
    }];
    let settings = Settings {
        password_cost: ichido_crypto::Cost::fast_for_tests(),
        ..Settings::default()
    };
    let running = ichido_server::app::start(config, Arc::new(SystemClock), settings)
        .await
        .expect("server starts");
    let url = format!("http://{}", running.addr);
    let key = running
        .bootstrap_key
        .clone()
        .expect("first start creates an admin key");
    let radius_addr = running.radius_addr.expect("RADIUS listens");

    let http = target::http_client(8, Duration::from_secs(10)).unwrap();
    let enroll = EnrollOptions {
        users: 40,
        totp_ratio: 0.25,
        prefix: "smoke-".into(),
        concurrency: 4,
    };
    let users = enroll_ichido(&http, &url, &key, &enroll)
        .await
        .expect("enrollment");
    assert_eq!(users.len(), 40);

    let ichido = || Target::Ichido {
        http: http.clone(),
        urls: vec![url.clone()],
        key: key.clone(),
    };
    let (closed, users) = load::run(
        ichido(),
        &users,
        options("closed", Mode::Closed { concurrency: 4 }),
    )
    .await
    .unwrap();
    assert_all_answers_expected(&closed);
    assert!(closed.counts.replays_sent > 0, "{}", closed.summary());
    assert!(closed.server_rss_mib.is_some_and(|m| m > 0.0));

    let open = Mode::Open {
        rate: 100.0,
        max_in_flight: 16,
    };
    let (open, users) = load::run(ichido(), &users, options("open", open))
        .await
        .unwrap();
    assert_all_answers_expected(&open);
    assert!(open.requests >= 50, "{}", open.summary());

    let radius = Target::Radius(
        Radius::new(radius_addr, RADIUS_SECRET, 4, Duration::from_secs(5))
            .await
            .unwrap(),
    );
    let mut opts = options("radius", Mode::Closed { concurrency: 4 });
    opts.replay_ratio = 0.0;
    let (radius, _) = load::run(radius, &users, opts).await.unwrap();
    assert_all_answers_expected(&radius);

    running.stop().await;
}
