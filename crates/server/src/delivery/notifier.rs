//! Notices to account holders, derived from the audit log. Every change is
//! written together with its audit event, so reading the log in order (from
//! a cursor kept in the database) misses no notice and invents none, and the
//! notices survive a restart. A notice is sent (email and/or webhook, each
//! retried with backoff) before the cursor moves past it: at least once.
//! With several nodes, the node whose cursor update wins goes on; another
//! may have sent the same notice too.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ichido_domain::Store as _;
use ichido_domain::audit::Record;
use ichido_domain::notify::{Email, Notice, Sms, render, render_html};

use super::webhook::Webhook;
use crate::app::AppState;
use crate::config::Config;
use crate::http::wire::rfc3339;

const ADVICE: &str =
    "If this was not you, change your password and contact your administrator at once.";

/// Starts the notifier when notices are configured. It stops by itself once
/// the server is gone.
pub fn spawn(state: &AppState) -> anyhow::Result<()> {
    let n = &state.config.notifications;
    // Reset notices are part of the reset procedure (the waiting period is
    // only safe if the holder hears of it): they go out whenever mail or SMS
    // can leave, whatever `[notifications]` says about the others.
    let can_deliver = !state.config.smtp.host.is_empty() || !state.config.sms.url.is_empty();
    if !n.email && n.webhook_url.is_none() && !can_deliver {
        return Ok(());
    }
    let webhook = match (&n.webhook_url, &n.webhook_secret) {
        (Some(url), Some(secret)) => Some(Webhook::new(url, secret.expose())?),
        _ => None,
    };
    let notifier = Notifier {
        config: Arc::downgrade(&state.config),
        ichido: state.ichido.clone(),
        webhook,
    };
    let poll = Duration::from_millis(n.poll_ms.max(10));
    tokio::spawn(run(notifier, poll));
    Ok(())
}

struct Notifier {
    /// Only a weak handle, so the task ends with the server.
    config: Weak<Config>,
    ichido: ichido_domain::service::Ichido<ichido_store::Db>,
    webhook: Option<Webhook>,
}

async fn run(n: Notifier, poll: Duration) {
    loop {
        tokio::time::sleep(poll).await;
        let Some(cfg) = n.config.upgrade() else {
            break;
        };
        if let Err(e) = tick(&n.ichido, &cfg, n.webhook.as_ref()).await {
            tracing::warn!(error = %e, "notices could not be processed; will retry");
        }
    }
}

async fn tick(
    ichido: &ichido_domain::service::Ichido<ichido_store::Db>,
    cfg: &Config,
    webhook: Option<&Webhook>,
) -> Result<(), ichido_domain::StoreError> {
    let cursor = ichido.store.notice_cursor().await?;
    let records = ichido.store.audit_scan(cursor, 100).await?;
    let mut at = cursor;
    for r in records {
        if let Some(notice) =
            Notice::of(&r.event).filter(|n| n.is_reset() || cfg.notifications.events.enabled(*n))
        {
            send(ichido, cfg, webhook, notice, &r).await;
        }
        if !ichido.store.advance_notice_cursor(at, r.seq).await? {
            return Ok(());
        }
        at = r.seq;
    }
    Ok(())
}

/// Sends one notice on every configured channel; a channel that keeps
/// failing is logged and skipped so one dead webhook cannot stop the rest.
async fn send(
    ichido: &ichido_domain::service::Ichido<ichido_store::Db>,
    cfg: &Config,
    webhook: Option<&Webhook>,
    notice: Notice,
    r: &Record,
) {
    let e = &r.event;
    let Some(username) = e.username.as_deref() else {
        return;
    };
    let time = rfc3339(e.at);
    // A waiting reset is cancellable from every channel it is announced on.
    let what = match notice {
        Notice::ResetWaiting => format!(
            "{}. To cancel it, open {}",
            notice.describe(),
            ichido.reset_cancel_link(username, e.at)
        ),
        // A sign-in from a new device can be disowned at once.
        Notice::NewDeviceSignIn => format!(
            "{}. If it was not you, open {} to lock your account and sign out every \
             remembered device, then tell your administrator",
            notice.describe(),
            ichido.not_me_link(username, e.at)
        ),
        _ => notice.describe().to_owned(),
    };
    let ip = e.client_ip.clone().unwrap_or_else(|| "unknown".into());
    let ua = e.user_agent.clone().unwrap_or_else(|| "unknown".into());
    let attempts = cfg.notifications.max_attempts.clamp(1, 16) as u32;
    if let Some(hook) = webhook {
        let body = serde_json::json!({
            "event": notice.as_str(),
            "seq": r.seq,
            "username": username,
            "serial": e.serial,
            "time": time,
            "ip": e.client_ip,
            "user_agent": e.user_agent,
            "message": what,
            "advice": ADVICE,
        })
        .to_string();
        let now = ichido.clock().now().unix_secs();
        if let Err(err) = hook.post(&body, attempts, now).await {
            tracing::error!(seq = r.seq, error = %err, "webhook notice not delivered");
        }
    }
    let user = match ichido.store.user_by_name(username).await {
        Ok(Some(u)) => u,
        _ => return,
    };
    if notice.is_reset()
        && let Some(phone) = user.phone.clone()
    {
        let sms = Sms {
            to: phone,
            message: format!("{}: {what}", ichido.default_issuer()),
        };
        if let Err(err) = ichido.delivery().send_sms(&sms).await {
            tracing::error!(seq = r.seq, error = %err, "SMS notice not delivered");
        }
    }
    if !cfg.notifications.email && !notice.is_reset() {
        return;
    }
    let Some(to) = user.email.clone() else {
        return;
    };
    let t = ichido.templates();
    let values = [
        ("username", username),
        ("what", what.as_str()),
        ("time", time.as_str()),
        ("ip", ip.as_str()),
        ("user_agent", ua.as_str()),
        ("issuer", ichido.default_issuer()),
    ];
    let email = Email {
        to,
        subject: render(&t.notice_subject, &values),
        text: render(&t.notice_text, &values),
        html: render_html(&t.notice_html, &values),
    };
    let mut wait = Duration::from_millis(250);
    for n in 0..attempts {
        match ichido.delivery().send_email(&email).await {
            Ok(()) => return,
            Err(err) if n + 1 == attempts => {
                tracing::error!(seq = r.seq, error = %err, "email notice not delivered");
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}
