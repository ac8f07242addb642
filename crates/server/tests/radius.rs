//! RADIUS end to end: the server in-process on 127.0.0.1:0, FreeRADIUS's
//! `radclient` as the gateway, and our own codec where a test needs exact
//! octets (retransmissions, garbage).

mod common;
mod radius_support;
mod support_mail;

use std::time::{Duration, Instant};

use ichido_radius::{Code, Packet, dictionary, verify_response};
use ichido_server::config::RadiusMode;
use radius_support::*;

const WAIT: Duration = Duration::from_secs(3);
const SILENCE: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_and_code_in_one_field_are_accepted_by_radclient() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let field = format!("secret{}", hotp(&seed, 6, 1));
    let reply = radclient(h.radius, "auth", SECRET, &pap("alice", &field), 2).await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );

    let accepts = h.audit("validate").await;
    let e = &accepts[0].event;
    assert_eq!(
        (e.result.as_str(), e.actor.as_str()),
        ("accept", "radius:vpn")
    );
    assert_eq!(e.client_ip.as_deref(), Some("127.0.0.1"));
    assert!(
        h.metric("ichido_radius_requests_total{result=\"accept\"}") >= 1,
        "{}",
        h.metrics()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_code_is_rejected_audited_with_the_nas_and_counted() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let wrong = format!(
        "{:06}",
        (hotp(&seed, 6, 1).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let attrs = format!(
        "{}, Calling-Station-Id = \"198.51.100.7\", NAS-Port = 42",
        pap("alice", &format!("secret{wrong}"))
    );
    let reply = radclient(h.radius, "auth", SECRET, &attrs, 2).await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        reply.output
    );
    assert_eq!(reply.reply_message, None, "a reject says nothing about why");
    assert_eq!(h.failed_count("alice").await, 1);

    let rejects = h.audit("validate").await;
    let e = &rejects[0].event;
    assert_eq!(
        (e.result.as_str(), e.reason.as_deref()),
        ("reject", Some("wrong_code_after_password"))
    );
    assert_eq!(e.actor, "radius:vpn");
    assert_eq!(
        e.client_ip.as_deref(),
        Some("198.51.100.7"),
        "the end user's address"
    );
    // Then the request's identity, which ties a retransmission to it.
    let ua = e.user_agent.as_deref().unwrap();
    let (gateway, request) = ua.rsplit_once(' ').unwrap();
    assert_eq!(gateway, "nas=127.0.0.1 port=42 calling=198.51.100.7");
    assert!(request.starts_with("request="), "{ua}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_look_like_a_wrong_code() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let code = hotp(&seed, 6, 1);
    for (user, field) in [
        ("alice", format!("Secret{code}")),
        ("mallory", format!("secret{code}")),
    ] {
        let reply = radclient(h.radius, "auth", SECRET, &pap(user, &field), 2).await;
        assert_eq!(
            reply.code.as_deref(),
            Some("Access-Reject"),
            "{}",
            reply.output
        );
        assert_eq!(reply.reply_message, None);
    }
    assert_eq!(h.failed_count("alice").await, 1);
    // The code was never spent: it still works with the right password.
    let reply = radclient(
        h.radius,
        "auth",
        SECRET,
        &pap("alice", &format!("secret{code}")),
        2,
    )
    .await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_length_follows_the_users_tokens() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    // A password ending in digits, and tokens of 6 and 8 digits: only one
    // split has the password as its prefix.
    let six = h.user_with_hotp("alice", Some("pin42"), 6).await;
    let eight = h.add_hotp("alice", 8).await;
    let reply = radclient(
        h.radius,
        "auth",
        SECRET,
        &pap("alice", &format!("pin42{}", hotp(&eight, 8, 1))),
        2,
    )
    .await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
    let reply = radclient(
        h.radius,
        "auth",
        SECRET,
        &pap("alice", &format!("pin42{}", hotp(&six, 6, 1))),
        2,
    )
    .await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
    let reply = radclient(h.radius, "auth", SECRET, &pap("alice", "pin4212345678"), 2).await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        reply.output
    );
    assert_eq!(
        h.failed_count("alice").await,
        1,
        "one attempt, one failure, whatever the splits tried"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_mode_takes_the_code_alone() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("rdp", RadiusMode::Otp)]).await;
    let seed = h.user_with_hotp("alice", None, 6).await;
    let reply = radclient(
        h.radius,
        "auth",
        SECRET,
        &pap("alice", &hotp(&seed, 6, 1)),
        2,
    )
    .await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
    // Once ever: the same code again is a replay.
    let reply = radclient(
        h.radius,
        "auth",
        SECRET,
        &pap("alice", &hotp(&seed, 6, 1)),
        2,
    )
    .await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        reply.output
    );
    assert_eq!(
        h.audit("validate").await[0].event.reason.as_deref(),
        Some("replay")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_challenge_accepts_the_code_with_its_state_once() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::Challenge)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;

    let first = radclient(h.radius, "auth", SECRET, &pap("alice", "secret"), 2).await;
    assert_eq!(
        first.code.as_deref(),
        Some("Access-Challenge"),
        "{}",
        first.output
    );
    assert_eq!(
        first.reply_message.as_deref(),
        Some("Enter your authenticator code")
    );
    let state = first.state.expect("the challenge carries a State");

    let answer = format!("{}, State = {state}", pap("alice", &hotp(&seed, 6, 1)));
    let second = radclient(h.radius, "auth", SECRET, &answer, 2).await;
    assert_eq!(
        second.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        second.output
    );

    // The State is spent: a second answer with it fails, even with a fresh code.
    let again = format!("{}, State = {state}", pap("alice", &hotp(&seed, 6, 2)));
    let third = radclient(h.radius, "auth", SECRET, &again, 2).await;
    assert_eq!(
        third.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        third.output
    );
    assert_eq!(
        h.audit("radius.state").await[0].event.reason.as_deref(),
        Some("unknown_state")
    );
    assert_eq!(h.audit("radius.password").await[0].event.result, "accept");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_state_expires_by_the_server_clock() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::Challenge)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let first = radclient(h.radius, "auth", SECRET, &pap("alice", "secret"), 2).await;
    let state = first.state.expect("State");
    h.clock.advance_secs(121);
    let answer = format!("{}, State = {state}", pap("alice", &hotp(&seed, 6, 1)));
    let second = radclient(h.radius, "auth", SECRET, &answer, 2).await;
    assert_eq!(
        second.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        second.output
    );
    assert_eq!(
        h.audit("radius.state").await[0].event.reason.as_deref(),
        Some("expired_state")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_wrong_password_is_rejected_and_counted() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::Challenge)]).await;
    h.user_with_hotp("alice", Some("secret"), 6).await;
    for user in ["alice", "nobody"] {
        let reply = radclient(h.radius, "auth", SECRET, &pap(user, "wrong"), 2).await;
        assert_eq!(
            reply.code.as_deref(),
            Some("Access-Reject"),
            "{}",
            reply.output
        );
        assert_eq!(reply.state, None);
    }
    assert_eq!(h.failed_count("alice").await, 1);
    let events = h.audit("radius.password").await;
    let reasons: Vec<_> = events
        .iter()
        .filter_map(|r| r.event.reason.as_deref())
        .collect();
    assert_eq!(reasons, ["unknown_user", "wrong_password"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shared_secret_gets_no_answer() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let field = format!("secret{}", hotp(&seed, 6, 1));
    let reply = radclient(h.radius, "auth", "not-the-secret", &pap("alice", &field), 1).await;
    assert_eq!(reply.code, None, "{}", reply.output);
    assert!(reply.output.contains("No reply"), "{}", reply.output);
    assert_eq!(
        h.failed_count("alice").await,
        0,
        "a forged packet counts nothing against the user"
    );
    assert_eq!(
        h.metric("ichido_radius_dropped_total{reason=\"bad_message_authenticator\"}"),
        1
    );
    assert_eq!(
        h.audit("radius.drop").await[0].event.reason.as_deref(),
        Some("bad_message_authenticator")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_message_authenticator_is_refused_unless_the_client_allows_it() {
    if !have_radclient() {
        return;
    }
    let without =
        |user: &str, pw: &str| format!("User-Name = \"{user}\", User-Password = \"{pw}\"");
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let field = format!("secret{}", hotp(&seed, 6, 1));
    let reply = radclient(h.radius, "auth", SECRET, &without("alice", &field), 1).await;
    assert_eq!(reply.code, None, "{}", reply.output);
    assert_eq!(
        h.metric("ichido_radius_dropped_total{reason=\"missing_message_authenticator\"}"),
        1
    );
    assert_eq!(
        h.audit("radius.drop").await[0].event.reason.as_deref(),
        Some("missing_message_authenticator")
    );
    assert_eq!(h.failed_count("alice").await, 0);
    h.stop().await;

    let legacy = ichido_server::config::RadiusClientConfig {
        require_message_authenticator: false,
        ..client("legacy", RadiusMode::PasswordOtp)
    };
    let h = Harness::start(vec![legacy]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let field = format!("secret{}", hotp(&seed, 6, 1));
    let reply = radclient(h.radius, "auth", SECRET, &without("alice", &field), 2).await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_server_is_answered() {
    if !have_radclient() {
        return;
    }
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let reply = radclient(
        h.radius,
        "status",
        SECRET,
        "Message-Authenticator = 0x00",
        2,
    )
    .await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        reply.output
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_client_is_dropped_and_audited_sparingly() {
    let mut vpn = client("vpn", RadiusMode::PasswordOtp);
    vpn.address = "192.0.2.0/24".into();
    let h = Harness::start(vec![vpn]).await;
    h.user_with_hotp("alice", Some("secret"), 6).await;
    let socket = socket().await;
    for id in 0..5 {
        let request = access_request(id, "alice", "secret123456", SECRET, &[]);
        assert_eq!(exchange(&socket, h.radius, &request, SILENCE).await, None);
    }
    assert_eq!(
        h.metric("ichido_radius_dropped_total{reason=\"unknown_client\"}"),
        5
    );
    let events = h.audit("radius.unknown_client").await;
    assert_eq!(
        events.len(),
        1,
        "one event per source per period, not one per packet"
    );
    assert_eq!(events[0].event.client_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(events[0].event.result, "reject");
    assert_eq!(h.failed_count("alice").await, 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_clients_configured_still_binds_and_drops_everything() {
    let h = Harness::start(vec![]).await;
    let socket = socket().await;
    let request = access_request(1, "alice", "secret123456", SECRET, &[]);
    assert_eq!(exchange(&socket, h.radius, &request, SILENCE).await, None);
    assert_eq!(
        h.metric("ichido_radius_dropped_total{reason=\"unknown_client\"}"),
        1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radius_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ichido_server::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    config.radius.listen = None;
    let clock = ichido_domain::ManualClock::at(ichido_domain::Timestamp(T0));
    let settings = ichido_domain::service::Settings {
        password_cost: ichido_crypto::Cost::fast_for_tests(),
        ..Default::default()
    };
    let running = ichido_server::app::start(config, std::sync::Arc::new(clock), settings)
        .await
        .unwrap();
    assert_eq!(running.radius_addr, None);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmission_gets_the_same_answer_without_a_second_attempt() {
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let socket = socket().await;

    let wrong = access_request(7, "alice", "secret000000", SECRET, &[]);
    let first = exchange(&socket, h.radius, &wrong, WAIT)
        .await
        .expect("an answer");
    let again = exchange(&socket, h.radius, &wrong, WAIT)
        .await
        .expect("the same answer");
    assert_eq!(first, again);
    assert_eq!(Packet::decode(&first).unwrap().code, Code::AccessReject);
    assert_eq!(
        h.failed_count("alice").await,
        1,
        "a retransmission is not a second attempt"
    );

    let right = access_request(
        8,
        "alice",
        &format!("secret{}", hotp(&seed, 6, 1)),
        SECRET,
        &[],
    );
    let first = exchange(&socket, h.radius, &right, WAIT)
        .await
        .expect("an answer");
    let again = exchange(&socket, h.radius, &right, WAIT)
        .await
        .expect("the same answer");
    assert_eq!(
        first, again,
        "an accepted request stays accepted, not a replay"
    );
    assert_eq!(Packet::decode(&first).unwrap().code, Code::AccessAccept);
    assert_eq!(
        h.metric("ichido_radius_requests_total{result=\"retransmission\"}"),
        2
    );
    assert_eq!(
        h.audit("validate").await.len(),
        2,
        "two decisions, two events"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reply_carries_a_valid_message_authenticator_and_proxy_state() {
    let h = Harness::start(vec![client("vpn", RadiusMode::Challenge)]).await;
    h.user_with_hotp("alice", Some("secret"), 6).await;
    let socket = socket().await;
    for (id, pw) in [(1u8, "secret"), (2, "wrong")] {
        let request = access_request(
            id,
            "alice",
            pw,
            SECRET,
            &[(dictionary::PROXY_STATE, b"hop-1".to_vec())],
        );
        let raw = exchange(&socket, h.radius, &request, WAIT)
            .await
            .expect("an answer");
        let req = Packet::decode(&request).unwrap();
        assert!(verify_response(&raw, &req.authenticator, SECRET.as_bytes()));
        let reply = Packet::decode(&raw).unwrap();
        assert_eq!(reply.identifier, id);
        assert_eq!(
            reply.attributes[0].typ,
            dictionary::MESSAGE_AUTHENTICATOR,
            "first, as BlastRADIUS advises"
        );
        assert_eq!(reply.attr(dictionary::PROXY_STATE), Some(&b"hop-1"[..]));
        let expected = if id == 1 {
            Code::AccessChallenge
        } else {
            Code::AccessReject
        };
        assert_eq!(reply.code, expected);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_packets_are_dropped_and_the_server_keeps_answering() {
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    let seed = h.user_with_hotp("alice", Some("secret"), 6).await;
    let socket = socket().await;

    let good = access_request(1, "alice", "secret000000", SECRET, &[]);
    let mut garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![1],
        vec![1; 19],
        // Length field below 20, above 4096, beyond the datagram.
        [&[1u8, 2, 0, 19][..], &[0; 16]].concat(),
        [&[1u8, 2, 0xff, 0xff][..], &[0; 16]].concat(),
        [&[1u8, 2, 0, 200][..], &[0; 16]].concat(),
        // An attribute of Length 0, 1, and one that runs past the end.
        [&[1u8, 2, 0, 22][..], &[0; 16], &[1, 0]].concat(),
        [&[1u8, 2, 0, 22][..], &[0; 16], &[1, 1]].concat(),
        [&[1u8, 2, 0, 23][..], &[0; 16], &[1, 9, 0]].concat(),
        vec![0xff; 5000],
    ];
    // Well framed but truncated at every length, and with every bit flipped.
    for n in 0..good.len() {
        garbage.push(good[..n].to_vec());
    }
    for bit in 0..good.len() * 8 {
        let mut flipped = good.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        garbage.push(flipped);
    }
    // An Accounting-Request is not ours to answer on this port.
    let mut accounting = good.clone();
    accounting[0] = 4;
    garbage.push(accounting);
    // A short hidden password.
    let mut odd = Packet::new_access_request(3, [9; 16]);
    odd.add_string(dictionary::USER_NAME, "alice")
        .add(dictionary::USER_PASSWORD, vec![1; 15]);
    let odd = odd.encode_request(SECRET.as_bytes()).unwrap();
    garbage.push(odd.clone());

    for g in &garbage {
        socket.send_to(g, h.radius).await.unwrap();
    }
    // Whatever got through the checks (a flipped bit inside the hidden
    // password, the short password) is answered with a reject; nothing else.
    let deadline = Instant::now() + SILENCE;
    while let Some(raw) = receive(&socket, deadline.saturating_duration_since(Instant::now())).await
    {
        assert_eq!(Packet::decode(&raw).unwrap().code, Code::AccessReject);
    }

    let right = access_request(
        2,
        "alice",
        &format!("secret{}", hotp(&seed, 6, 1)),
        SECRET,
        &[],
    );
    let raw = exchange(&socket, h.radius, &right, WAIT)
        .await
        .expect("still answering");
    assert_eq!(Packet::decode(&raw).unwrap().code, Code::AccessAccept);
    assert!(
        h.metric("ichido_radius_dropped_total{reason=\"malformed\"}") >= 9,
        "{}",
        h.metrics()
    );
    assert_eq!(
        h.metric("ichido_radius_dropped_total{reason=\"oversized\"}"),
        1
    );
    assert!(h.metric("ichido_radius_dropped_total{reason=\"unsupported_code\"}") >= 1);
    assert!(h.metric("ichido_radius_dropped_total{reason=\"bad_message_authenticator\"}") >= 100);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radius_failures_lock_the_user_like_the_rest_api() {
    let h = Harness::start_with(vec![client("vpn", RadiusMode::Otp)], |c| {
        c.policy.max_failures = 3
    })
    .await;
    let seed = h.user_with_hotp("alice", None, 6).await;
    let socket = socket().await;
    for id in 0..3 {
        let request = access_request(id, "alice", "000000", SECRET, &[]);
        let raw = exchange(&socket, h.radius, &request, WAIT)
            .await
            .expect("an answer");
        assert_eq!(Packet::decode(&raw).unwrap().code, Code::AccessReject);
    }
    let request = access_request(9, "alice", &hotp(&seed, 6, 1), SECRET, &[]);
    let raw = exchange(&socket, h.radius, &request, WAIT)
        .await
        .expect("an answer");
    assert_eq!(
        Packet::decode(&raw).unwrap().code,
        Code::AccessReject,
        "locked: even the right code fails"
    );
    assert!(
        h.ichido()
            .user("alice")
            .await
            .unwrap()
            .locked_until
            .is_some()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_a_clients_rate_are_dropped() {
    let mut vpn = client("vpn", RadiusMode::Otp);
    vpn.rate_per_second = 2;
    let h = Harness::start(vec![vpn]).await;
    h.user_with_hotp("alice", None, 6).await;
    let socket = socket().await;
    for id in 0..10 {
        socket
            .send_to(
                &access_request(id, "alice", "000000", SECRET, &[]),
                h.radius,
            )
            .await
            .unwrap();
    }
    let mut answers = 0;
    while receive(&socket, SILENCE).await.is_some() {
        answers += 1;
    }
    assert!((1..10).contains(&answers), "{answers} answers");
    assert_eq!(
        h.metric("ichido_radius_dropped_total{reason=\"rate_limited\"}"),
        10 - answers
    );
    h.stop().await;
}

/// The load figure: Access-Accepts per second with valid, unique HOTP codes
/// spread over many users. Run with
/// `cargo test --release -p ichido-server --test radius -- --ignored --nocapture radius_load`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn radius_load_figure() {
    const USERS: usize = 500;
    const CODES_PER_USER: u64 = 20;
    const SOCKETS: usize = 32;
    let h = Harness::start(vec![client("load", RadiusMode::Otp)]).await;
    let mut seeds = Vec::new();
    for u in 0..USERS {
        seeds.push(h.user_with_hotp(&format!("user{u}"), None, 6).await);
    }
    // Each socket takes whole users, so every user's codes go in counter order.
    let mut jobs: Vec<Vec<Vec<u8>>> = vec![Vec::new(); SOCKETS];
    for (u, seed) in seeds.iter().enumerate() {
        for counter in 1..=CODES_PER_USER {
            let id = (jobs[u % SOCKETS].len() % 256) as u8;
            let code = hotp(seed, 6, counter);
            jobs[u % SOCKETS].push(access_request(id, &format!("user{u}"), &code, SECRET, &[]));
        }
    }
    let server = h.radius;
    let started = Instant::now();
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|requests| {
            tokio::spawn(async move {
                let socket = socket().await;
                let mut accepts = 0u64;
                for request in requests {
                    // One retry, as a gateway would.
                    let raw = match exchange(&socket, server, &request, WAIT).await {
                        Some(raw) => Some(raw),
                        None => exchange(&socket, server, &request, WAIT).await,
                    };
                    if raw.is_some_and(|r| {
                        Packet::decode(&r).is_ok_and(|p| p.code == Code::AccessAccept)
                    }) {
                        accepts += 1;
                    }
                }
                accepts
            })
        })
        .collect();
    let mut accepts = 0;
    for t in tasks {
        accepts += t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = USERS as u64 * CODES_PER_USER;
    println!(
        "RADIUS load: {accepts}/{total} accepted in {elapsed:.2} s = {:.0} accepts/s ({SOCKETS} concurrent gateways)",
        accepts as f64 / elapsed
    );
    assert_eq!(accepts, total);
    h.stop().await;
}

/// Waits (in real time, bounded) until the server has counted `line` `n` times.
async fn counted(h: &Harness, line: &str, n: u64) {
    let until = Instant::now() + Duration::from_secs(10);
    while h.metric(line) < n {
        assert!(Instant::now() < until, "{line} never reached {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmission_after_a_lost_commit_acknowledgement_is_accepted_and_counts_nothing() {
    lost_commit_acknowledgement(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmission_after_a_lost_commit_acknowledgement_on_postgres() {
    let Some(url) = common::postgres_url() else {
        eprintln!("skipped: ICHIDO_TEST_POSTGRES_URL is not set");
        return;
    };
    let (_db, url) = common::create_pg_database(&url).await;
    lost_commit_acknowledgement(Some(url)).await;
}

async fn lost_commit_acknowledgement(database_url: Option<String>) {
    let h = Harness::start_with(vec![client("vpn", RadiusMode::Otp)], |c| {
        c.database_url = database_url.map(Into::into);
    })
    .await;
    let seed = h.user_with_hotp("alice", None, 6).await;
    let socket = socket().await;

    // The acceptance commits, but the server hears an error: it does not answer.
    h.ichido().store.lose_next_commit_ack();
    let request = access_request(9, "alice", &hotp(&seed, 6, 1), SECRET, &[]);
    socket.send_to(&request, h.radius).await.unwrap();
    counted(
        &h,
        "ichido_radius_dropped_total{reason=\"internal_error\"}",
        1,
    )
    .await;

    // The gateway retransmits the very same octets.
    let reply = exchange(&socket, h.radius, &request, WAIT)
        .await
        .expect("an answer to the retransmission");
    assert_eq!(Packet::decode(&reply).unwrap().code, Code::AccessAccept);
    assert_eq!(h.failed_count("alice").await, 0, "no failure counted");
    let events = h.audit("validate").await;
    let results: Vec<_> = events.iter().map(|r| r.event.result.as_str()).collect();
    assert_eq!(results, ["accept"], "one acceptance, no replay");

    // Its later copies get the same answer; a new request with that code is a replay.
    let again = exchange(&socket, h.radius, &request, WAIT).await.unwrap();
    assert_eq!(again, reply);
    let replay = access_request(10, "alice", &hotp(&seed, 6, 1), SECRET, &[]);
    let reply = exchange(&socket, h.radius, &replay, WAIT).await.unwrap();
    assert_eq!(Packet::decode(&reply).unwrap().code, Code::AccessReject);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_mode_sends_an_email_only_user_the_code_once_and_says_where() {
    if !have_radclient() {
        return;
    }
    let sink = support_mail::SmtpSink::start().await;
    let h = Harness::start_with(vec![client("vpn", RadiusMode::Challenge)], |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
    })
    .await;
    let ctx = ichido_domain::audit::Context::system();
    let user = ichido_domain::service::CreateUserRequest {
        username: "alice".into(),
        email: Some("alice@example.com".into()),
        password: Some("secret".into()),
        ..Default::default()
    };
    h.ichido().create_user(&ctx, user).await.unwrap();
    let enroll = ichido_domain::service::EnrollRequest {
        kind: "email".into(),
        ..Default::default()
    };
    let enrolled = h
        .ichido()
        .enroll_out_of_band(&ctx, "alice", enroll)
        .await
        .unwrap();
    let first_code = sink.inbox.nth(0).await.code();
    h.ichido()
        .activate(&ctx, enrolled.token.serial.as_str(), &first_code)
        .await
        .unwrap();
    h.clock.advance_secs(120);

    // The first step, and a retransmission of it: the same Access-Challenge.
    let socket = socket().await;
    let request = access_request(1, "alice", "secret", SECRET, &[]);
    let raw = exchange(&socket, h.radius, &request, WAIT).await.unwrap();
    let again = exchange(&socket, h.radius, &request, WAIT).await.unwrap();
    assert_eq!(raw, again);
    let reply = Packet::decode(&raw).unwrap();
    assert_eq!(reply.code, Code::AccessChallenge);
    assert_eq!(
        reply.string(dictionary::REPLY_MESSAGE).as_deref(),
        Some("Enter the code sent to a***@example.com")
    );
    let state = reply.attr(dictionary::STATE).expect("a State").to_vec();

    let mail = sink.inbox.nth(1).await;
    assert_eq!(mail.to, vec!["<alice@example.com>".to_string()]);
    let sent: Vec<_> = h
        .audit("challenge.create")
        .await
        .into_iter()
        .filter(|r| r.event.actor == "radius:vpn")
        .collect();
    assert_eq!(sent.len(), 1, "one code sent: {sent:?}");
    assert_eq!(sent[0].event.result, "success");

    // The second step, from radclient: the mailed code with the State.
    let answer = format!(
        "{}, State = 0x{}",
        pap("alice", &mail.code()),
        hex::encode(&state)
    );
    let second = radclient(h.radius, "auth", SECRET, &answer, 2).await;
    assert_eq!(
        second.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        second.output
    );
    assert_eq!(sink.inbox.len(), 2, "no second mail");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_mode_sends_nothing_to_a_user_with_an_app() {
    let sink = support_mail::SmtpSink::start().await;
    let h = Harness::start_with(vec![client("vpn", RadiusMode::Challenge)], |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = sink.addr.port();
        c.smtp.security = ichido_server::delivery::SmtpSecurity::None;
        c.smtp.from = "Ichido <mfa@example.com>".into();
        c.smtp.attempts = 1;
    })
    .await;
    h.user_with_hotp("alice", Some("secret"), 6).await;
    let socket = socket().await;
    let request = access_request(1, "alice", "secret", SECRET, &[]);
    let raw = exchange(&socket, h.radius, &request, WAIT).await.unwrap();
    let reply = Packet::decode(&raw).unwrap();
    assert_eq!(reply.code, Code::AccessChallenge);
    assert_eq!(
        reply.string(dictionary::REPLY_MESSAGE).as_deref(),
        Some("Enter your authenticator code")
    );
    assert!(
        h.audit("challenge.create")
            .await
            .iter()
            .all(|r| r.event.actor != "radius:vpn")
    );
    assert_eq!(sink.inbox.len(), 0);
    h.stop().await;
}

/// Behind a load balancer the two steps reach different nodes: the State
/// lives in the database they share, good once, until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_state_from_one_node_is_answered_on_another_once() {
    if !have_radclient() {
        return;
    }
    let Some(url) = common::postgres_url() else {
        eprintln!("skipped: ICHIDO_TEST_POSTGRES_URL is not set");
        return;
    };
    let (_db, url) = common::create_pg_database(&url).await;
    let clients = || vec![client("vpn", RadiusMode::Challenge)];
    let a = Harness::start_with(clients(), |c| c.database_url = Some(url.as_str().into())).await;
    let b = a.join(clients()).await;
    let seed = a.user_with_hotp("alice", Some("secret"), 6).await;

    let first = radclient(a.radius, "auth", SECRET, &pap("alice", "secret"), 2).await;
    assert_eq!(
        first.code.as_deref(),
        Some("Access-Challenge"),
        "{}",
        first.output
    );
    let state = first.state.expect("a State");
    let answer = format!("{}, State = {state}", pap("alice", &hotp(&seed, 6, 1)));
    let second = radclient(b.radius, "auth", SECRET, &answer, 2).await;
    assert_eq!(
        second.code.as_deref(),
        Some("Access-Accept"),
        "{}",
        second.output
    );

    // Spent on B, it is spent for A too, even with a fresh code.
    let again = format!("{}, State = {state}", pap("alice", &hotp(&seed, 6, 2)));
    let third = radclient(a.radius, "auth", SECRET, &again, 2).await;
    assert_eq!(
        third.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        third.output
    );
    assert_eq!(
        a.audit("radius.state").await[0].event.reason.as_deref(),
        Some("unknown_state")
    );

    // One issued by B and answered on A after its lifetime (120 s) fails.
    let first = radclient(b.radius, "auth", SECRET, &pap("alice", "secret"), 2).await;
    let state = first.state.expect("a State");
    a.clock.advance_secs(121);
    let late = format!("{}, State = {state}", pap("alice", &hotp(&seed, 6, 2)));
    let reply = radclient(a.radius, "auth", SECRET, &late, 2).await;
    assert_eq!(
        reply.code.as_deref(),
        Some("Access-Reject"),
        "{}",
        reply.output
    );
    assert_eq!(
        a.audit("radius.state").await[0].event.reason.as_deref(),
        Some("expired_state")
    );
    b.stop().await;
    a.stop().await;
}

/// What one Access-Request cost the server, from its work counters.
fn radius_work(h: &Harness) -> [u64; 3] {
    ["reads", "writes", "password_hashes"].map(|w| {
        h.metric(&format!(
            "ichido_request_work_total{{route=\"radius\",work=\"{w}\"}}"
        ))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_cost_the_same_and_read_the_same_for_every_kind_of_user() {
    let h = Harness::start(vec![client("vpn", RadiusMode::PasswordOtp)]).await;
    h.user_with_hotp("alice", Some("secret"), 6).await;
    h.user_with_hotp("locked", Some("secret"), 6).await;
    h.user_with_hotp("nopass", None, 6).await;
    let socket = socket().await;
    // Lock "locked" with wrong passwords (max_failures is 10 by default).
    for id in 0..10u8 {
        let wrong = access_request(id, "locked", "nope000000", SECRET, &[]);
        exchange(&socket, h.radius, &wrong, WAIT)
            .await
            .expect("an answer");
    }
    let mut answers = Vec::new();
    for (id, user) in (100u8..).zip(["ghost", "locked", "nopass", "alice"]) {
        let before = radius_work(&h);
        let request = access_request(id, user, "wrongpw123456", SECRET, &[]);
        let reply = exchange(&socket, h.radius, &request, WAIT)
            .await
            .expect("an answer");
        let after = radius_work(&h);
        let work: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        let mut packet = Packet::decode(&reply).unwrap();
        // The identifier, authenticator and Message-Authenticator follow the
        // request; everything else must be the same.
        packet.identifier = 0;
        packet.authenticator = [0; 16];
        packet
            .attributes
            .retain(|a| a.typ != dictionary::MESSAGE_AUTHENTICATOR);
        answers.push((user, packet, work));
    }
    let (_, first, first_work) = &answers[0];
    assert_eq!(first.code, Code::AccessReject);
    assert_eq!(first_work[2], 1, "one Argon2id evaluation");
    for (user, packet, work) in &answers[1..] {
        assert_eq!(
            packet, first,
            "{user}'s answer differs from an unknown user's"
        );
        assert_eq!(
            work, first_work,
            "{user}'s work differs from an unknown user's"
        );
    }
    h.stop().await;
}
