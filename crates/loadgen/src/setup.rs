//! Who and what a run needs on Switchboard: an account, operators and
//! viewers signed in, an inbox, and conversations, made the way an operator
//! and a channel would (the admin CLI, `POST /v1/auth/login`,
//! `POST /v1/inbound`). On the floor nothing needs making.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;
use uuid::Uuid;

use crate::plan::Token;
use crate::target::AdminAccess;

/// Every generated user's password.
pub const PASSWORD: &str = "loadgen password 1234";
/// Conversations created at once during setup.
const CREATE_CONCURRENCY: usize = 8;

/// What a scenario needs made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub operators: usize,
    pub viewers: usize,
    pub conversations: usize,
    /// The operators' capacity (`None`: the CLI's default).
    pub operator_capacity: Option<u32>,
}

/// What setup made: tokens to connect with, the inbox and its key, and the
/// conversations.
#[derive(Debug, Clone, Default)]
pub struct Cast {
    pub operators: Vec<Token>,
    pub viewers: Vec<Token>,
    pub inbox_id: Uuid,
    pub api_key: String,
    pub conversations: Vec<Uuid>,
}

/// The floor needs no accounts: tokens are absent and conversations are
/// fresh ids (rooms appear on first join).
pub fn floor_cast(needs: Needs) -> Cast {
    Cast {
        operators: vec![None; needs.operators.max(1)],
        viewers: vec![None; needs.viewers.max(1)],
        inbox_id: Uuid::nil(),
        api_key: String::new(),
        conversations: (0..needs.conversations).map(|_| Uuid::now_v7()).collect(),
    }
}

async fn admin(access: &AdminAccess, args: &[&str]) -> anyhow::Result<Value> {
    let output = Command::new(&access.binary)
        .args(args)
        .env("SWITCHBOARD_DATABASE_URL", &access.database_url)
        .env("SWITCHBOARD_LOG", "warn")
        .output()
        .await?;
    if !output.status.success() {
        anyhow::bail!(
            "switchboard {} failed: {}",
            args[..2].join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn field(value: &Value, name: &str) -> anyhow::Result<String> {
    value[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {name} in {value}"))
}

/// Makes an account with `needs.operators` operators and `needs.viewers`
/// viewers (each signed in once), an inbox, and the conversations.
pub async fn switchboard_cast(
    access: &AdminAccess,
    http_base: &str,
    needs: Needs,
) -> anyhow::Result<Cast> {
    let run = Uuid::now_v7().simple().to_string();
    let run = &run[run.len() - 8..];
    let account = admin(
        access,
        &[
            "account",
            "create",
            "--name",
            &format!("Loadgen {run}"),
            "--owner-email",
            &format!("owner-{run}@loadgen.test"),
            "--owner-name",
            "Loadgen Owner",
            "--owner-password",
            PASSWORD,
        ],
    )
    .await?;
    let account_id = field(&account, "account_id")?;
    let mut emails = Vec::new();
    let capacity = needs.operator_capacity.map(|c| c.to_string());
    for (role, count) in [("operator", needs.operators), ("viewer", needs.viewers)] {
        for i in 0..count {
            let email = format!("{role}{i}-{run}@loadgen.test");
            let name = format!("{role} {i}");
            let mut args = vec![
                "user",
                "create",
                "--account",
                &account_id,
                "--email",
                &email,
                "--name",
                &name,
                "--password",
                PASSWORD,
                "--role",
                role,
            ];
            if let (Some(capacity), "operator") = (&capacity, role) {
                args.extend(["--capacity", capacity]);
            }
            admin(access, &args).await?;
            emails.push(email);
        }
    }
    let inbox = admin(
        access,
        &[
            "inbox",
            "create",
            "--account",
            &account_id,
            "--name",
            "Loadgen",
            "--channel",
            "sms",
        ],
    )
    .await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    // One at a time: each login is an argon2 verification (19 MiB) on the
    // server, and many at once can leave its allocator holding memory that
    // would blur the RSS reading taken before the connections.
    let mut tokens = Vec::with_capacity(emails.len());
    for email in emails {
        let response = http
            .post(format!("{http_base}/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await?;
        if !response.status().is_success() {
            anyhow::bail!("login of {email}: {}", response.status());
        }
        let body: Value = response.json().await?;
        tokens.push(field(&body, "token")?);
    }
    let viewers = tokens.split_off(needs.operators);
    let inbox_id: Uuid = field(&inbox, "inbox_id")?.parse()?;
    let api_key = field(&inbox, "api_key")?;
    let conversations =
        create_conversations(&http, http_base, inbox_id, &api_key, needs.conversations).await?;
    Ok(Cast {
        operators: tokens.into_iter().map(Some).collect(),
        viewers: viewers.into_iter().map(Some).collect(),
        inbox_id,
        api_key,
        conversations,
    })
}

/// One customer message from each of `count` new contacts.
async fn create_conversations(
    http: &reqwest::Client,
    http_base: &str,
    inbox_id: Uuid,
    api_key: &str,
    count: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let permits = Arc::new(tokio::sync::Semaphore::new(CREATE_CONCURRENCY));
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..count {
        let http = http.clone();
        let url = format!("{http_base}/v1/inbound");
        let key = api_key.to_owned();
        let permits = permits.clone();
        posts.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let response = http
                .post(url)
                .bearer_auth(key)
                .json(&serde_json::json!({
                    "inbox_id": inbox_id,
                    "contact": {"handle": format!("+1444{i:07}"), "name": format!("Customer {i}")},
                    "body": "hello, anyone there?",
                }))
                .send()
                .await?;
            if response.status().as_u16() != 201 {
                anyhow::bail!("inbound post: {}", response.status());
            }
            let body: Value = response.json().await?;
            let id: Uuid = field(&body, "conversation_id")?.parse()?;
            Ok((i, id))
        });
    }
    let mut ids = vec![Uuid::nil(); count];
    while let Some(done) = posts.join_next().await {
        let (i, id) = done??;
        ids[i] = id;
    }
    Ok(ids)
}
