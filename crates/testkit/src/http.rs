//! The HTTP calls setup makes the way a console and a channel would:
//! signing in, posting a customer's message, waiting for readiness.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use uuid::Uuid;

/// Signs `email` in with `POST /v1/auth/login`; returns the session token.
pub async fn login(
    http: &reqwest::Client,
    http_base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = http
        .post(format!("{http_base}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .with_context(|| format!("login of {email}"))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        anyhow::bail!("login of {email}: {status}");
    }
    let body: Value = response.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token in the login answer {body}"))
}

/// Who writes in through a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub handle: String,
    pub name: Option<String>,
}

impl Contact {
    pub fn handle(handle: impl Into<String>) -> Self {
        Self {
            handle: handle.into(),
            name: None,
        }
    }
}

/// Posts a customer's message with the inbox's API key
/// (`POST /v1/inbound`); returns the 201 answer's JSON.
pub async fn post_inbound(
    http: &reqwest::Client,
    http_base: &str,
    api_key: &str,
    inbox: Uuid,
    contact: &Contact,
    body: &str,
) -> anyhow::Result<Value> {
    let mut who = json!({"handle": contact.handle});
    if let Some(name) = &contact.name {
        who["name"] = json!(name);
    }
    let response = http
        .post(format!("{http_base}/v1/inbound"))
        .bearer_auth(api_key)
        .json(&json!({"inbox_id": inbox, "contact": who, "body": body}))
        .send()
        .await
        .context("inbound post")?;
    let status = response.status();
    if status != reqwest::StatusCode::CREATED {
        let text = response.text().await.unwrap_or_default();
        anyhow::bail!("inbound post: {status} {text}");
    }
    Ok(response.json().await?)
}

/// Polls `GET /readyz` until it answers 200 (ready, or degraded without
/// its bus), for at most `limit`.
pub async fn wait_ready(
    http: &reqwest::Client,
    http_base: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let answer = http.get(format!("{http_base}/readyz")).send().await;
        if answer.as_ref().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let why = match answer {
                Ok(response) => response.status().to_string(),
                Err(error) => error.to_string(),
            };
            anyhow::bail!("{http_base} is not ready after {limit:?}: {why}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
