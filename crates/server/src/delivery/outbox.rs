//! The outbox: codes and links that requests produce leave from here, after
//! the request is answered. `post` only queues; a task sends each message
//! through the configured relay or gateway (with its retries), a few at
//! once, and appends the message's failure event to the audit log when it
//! cannot be sent. A full queue drops the message, audited the same way:
//! the request that made it has been answered long before.

use std::sync::Arc;

use ichido_domain::Store;
use ichido_domain::notify::{Delivery, Message, Outbox, Outgoing};
use ichido_store::Db;
use tokio::sync::{Semaphore, mpsc};

/// Messages waiting to be sent, at most.
const QUEUE: usize = 10_000;
/// Messages being sent at once: a slow relay must not hold up the rest.
const SENDING: usize = 16;

pub struct QueuedOutbox {
    tx: mpsc::Sender<Outgoing>,
    store: Db,
}

impl QueuedOutbox {
    /// Starts the sending task; it ends when the outbox is dropped.
    pub fn spawn(delivery: Arc<dyn Delivery>, store: Db) -> QueuedOutbox {
        let (tx, mut rx) = mpsc::channel::<Outgoing>(QUEUE);
        let sender_store = store.clone();
        tokio::spawn(async move {
            let sending = Arc::new(Semaphore::new(SENDING));
            while let Some(out) = rx.recv().await {
                let Ok(permit) = sending.clone().acquire_owned().await else {
                    break;
                };
                let (delivery, store) = (delivery.clone(), sender_store.clone());
                tokio::spawn(async move {
                    send(delivery.as_ref(), &store, out).await;
                    drop(permit);
                });
            }
        });
        QueuedOutbox { tx, store }
    }
}

async fn send(delivery: &dyn Delivery, store: &Db, out: Outgoing) {
    let sent = match &out.message {
        Message::Email(email) => delivery.send_email(email).await,
        Message::Sms(sms) => delivery.send_sms(sms).await,
    };
    if let Err(e) = sent {
        tracing::warn!(action = %out.on_failure.action, error = %e, "a message could not be sent");
        failed(store, out, e.code).await;
    }
}

async fn failed(store: &Db, out: Outgoing, reason: &str) {
    if let Err(e) = store.append_audit(&out.on_failure.reason(reason)).await {
        tracing::error!(error = %e, "a failed send could not be audited");
    }
}

impl Outbox for QueuedOutbox {
    fn post(&self, out: Outgoing) {
        if let Err(e) = self.tx.try_send(out) {
            let out = e.into_inner();
            tracing::error!(action = %out.on_failure.action, "the outbox is full; a message was dropped");
            let store = self.store.clone();
            tokio::spawn(async move { failed(&store, out, "outbox_full").await });
        }
    }
}
