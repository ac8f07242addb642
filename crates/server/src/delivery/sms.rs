//! SMS through an HTTP gateway: a URL, a method, headers and a body template
//! with `{phone}` and `{message}`. Any 2xx is taken as accepted.

use std::time::Duration;

use ichido_domain::notify::{DeliveryError, Sms, render};

use super::{SmsConfig, with_retries};

pub struct SmsGateway {
    http: reqwest::Client,
    config: SmsConfig,
}

impl SmsGateway {
    pub fn new(c: &SmsConfig) -> anyhow::Result<SmsGateway> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(c.timeout.max(1)))
            .build()?;
        Ok(SmsGateway {
            http,
            config: c.clone(),
        })
    }

    /// The request body for one message.
    pub fn body(&self, sms: &Sms) -> String {
        let t = &self.config.body_template;
        let json = t.trim_start().starts_with(['{', '[']);
        let esc = |v: &str| {
            if json {
                let quoted = serde_json::Value::from(v).to_string();
                quoted[1..quoted.len() - 1].to_owned()
            } else {
                form_encode(v)
            }
        };
        render(
            t,
            &[
                ("phone", esc(&sms.to).as_str()),
                ("message", esc(&sms.message).as_str()),
            ],
        )
    }

    pub async fn send(&self, sms: &Sms) -> Result<(), DeliveryError> {
        let body = self.body(sms);
        let method =
            reqwest::Method::from_bytes(self.config.method.to_ascii_uppercase().as_bytes())
                .map_err(|e| DeliveryError::sms(e.to_string()))?;
        with_retries(self.config.attempts, || async {
            let mut req = self.http.request(method.clone(), &self.config.url);
            for (k, v) in &self.config.headers {
                req = req.header(k, v);
            }
            if method == reqwest::Method::GET {
                let url = render(
                    &self.config.url,
                    &[
                        ("phone", form_encode(&sms.to).as_str()),
                        ("message", form_encode(&sms.message).as_str()),
                    ],
                );
                req = self.http.get(url);
            } else {
                req = req.body(body.clone());
            }
            let res = req
                .send()
                .await
                .map_err(|e| DeliveryError::sms(format!("gateway unreachable: {e}")))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(DeliveryError::sms(format!(
                    "gateway answered {}",
                    res.status()
                )))
            }
        })
        .await
    }
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn form_encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
