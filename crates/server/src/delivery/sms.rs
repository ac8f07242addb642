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
            let mut req = self.http.request(method.clone(), self.config.url.expose());
            for (k, v) in &self.config.headers {
                req = req.header(k, v.expose());
            }
            if method == reqwest::Method::GET {
                let url = render(
                    self.config.url.expose(),
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
                // reqwest names the URL in its errors; the URL holds the
                // gateway's credentials and, for GET, the phone number and code.
                .map_err(|e| {
                    DeliveryError::sms(format!("gateway unreachable: {}", e.without_url()))
                })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway that cannot be reached: port 1 on the loopback refuses.
    fn unreachable(url: &str, method: &str) -> SmsGateway {
        let config = SmsConfig {
            url: url.into(),
            method: method.into(),
            attempts: 1,
            timeout: 2,
            ..SmsConfig::default()
        };
        SmsGateway::new(&config).unwrap()
    }

    #[tokio::test]
    async fn sms_gateway_failure_does_not_name_the_url_or_its_credentials() {
        let sms = Sms {
            to: "+15550101234".into(),
            message: "code 123456".into(),
        };
        for (url, method) in [
            (
                "http://gw-user:gw-pass-4711@127.0.0.1:1/send?key=gw-key-4711",
                "POST",
            ),
            (
                "http://127.0.0.1:1/send?key=gw-key-4711&to={phone}&text={message}",
                "GET",
            ),
        ] {
            let err = unreachable(url, method).send(&sms).await.unwrap_err();
            let text = format!("{err} {err:?}");
            assert_eq!(err.code, "sms_gateway_unavailable");
            for needle in [
                "gw-pass-4711",
                "gw-user",
                "gw-key-4711",
                "123456",
                "5550101234",
            ] {
                assert!(!text.contains(needle), "{needle} in {text}");
            }
        }
    }
}
