//! Email over SMTP (lettre, rustls): STARTTLS, implicit TLS or, for a relay
//! on localhost only, plain.

use std::time::Duration;

use ichido_domain::notify::{DeliveryError, Email};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{SmtpConfig, SmtpSecurity, with_retries};

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    attempts: u32,
}

impl Smtp {
    pub fn new(c: &SmtpConfig) -> anyhow::Result<Smtp> {
        let builder = match c.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)?,
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
        };
        let mut builder = builder
            .port(c.port)
            .timeout(Some(Duration::from_secs(c.timeout.max(1))));
        if let (Some(u), Some(p)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.expose().to_owned()));
        }
        Ok(Smtp {
            transport: builder.build(),
            from: c
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("smtp.from: {e}"))?,
            attempts: c.attempts,
        })
    }

    pub async fn send(&self, email: &Email) -> Result<(), DeliveryError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| DeliveryError::smtp(format!("recipient {:?}: {e}", email.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| DeliveryError::smtp(format!("message: {e}")))?;
        with_retries(self.attempts, || async {
            self.transport
                .send(message.clone())
                .await
                .map(|_| ())
                .map_err(|e| DeliveryError::smtp(e.to_string()))
        })
        .await
    }
}
