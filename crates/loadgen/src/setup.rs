//! Who and what a run needs on Switchboard: an account, operators and
//! viewers signed in, an inbox, and conversations, made the way an operator
//! and a channel would (the admin CLI, `POST /v1/auth/login`,
//! `POST /v1/inbound`, through `switchboard-testkit`, which the black-box
//! tests share). On the floor nothing needs making.

use std::sync::Arc;
use std::time::Duration;

use switchboard_testkit::{Contact, Tenant, TenantSpec, UserSpec, post_inbound};
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
    /// Viewers of their own for fanout's flooders.
    pub flooders: usize,
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
    pub flooders: Vec<Token>,
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
        flooders: vec![None; needs.flooders],
        inbox_id: Uuid::nil(),
        api_key: String::new(),
        conversations: (0..needs.conversations).map(|_| Uuid::now_v7()).collect(),
    }
}

/// Makes an account with `needs.operators` operators and `needs.viewers`
/// viewers, then `needs.flooders` more viewers (each signed in once), an
/// inbox, and the conversations.
pub async fn switchboard_cast(
    access: &AdminAccess,
    http_base: &str,
    needs: Needs,
) -> anyhow::Result<Cast> {
    let run = Uuid::now_v7().simple().to_string();
    let run = &run[run.len() - 8..];
    let users = [
        ("operator", "operator", needs.operators),
        ("viewer", "viewer", needs.viewers),
        ("flooder", "viewer", needs.flooders),
    ]
    .into_iter()
    .flat_map(|(kind, role, count)| {
        (0..count).map(move |i| UserSpec {
            email: format!("{kind}{i}-{run}@loadgen.test"),
            name: format!("{kind} {i}"),
            role: role.into(),
            capacity: needs.operator_capacity.filter(|_| role == "operator"),
        })
    })
    .collect();
    let spec = TenantSpec {
        account_name: format!("Loadgen {run}"),
        owner_email: format!("owner-{run}@loadgen.test"),
        owner_name: "Loadgen Owner".into(),
        password: PASSWORD.into(),
        users,
        inbox_name: "Loadgen".into(),
    };
    let tenant = Tenant::create(access, http_base, &spec).await?;
    let mut tokens: Vec<Token> = tenant.users.into_iter().map(|u| Some(u.token)).collect();
    let mut viewers = tokens.split_off(needs.operators);
    let flooders = viewers.split_off(needs.viewers);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let conversations = create_conversations(
        &http,
        http_base,
        tenant.inbox,
        &tenant.inbox_key,
        needs.conversations,
    )
    .await?;
    Ok(Cast {
        operators: tokens,
        viewers,
        flooders,
        inbox_id: tenant.inbox,
        api_key: tenant.inbox_key,
        conversations,
    })
}

/// One customer message from each of `count` new contacts.
pub(crate) async fn create_conversations(
    http: &reqwest::Client,
    http_base: &str,
    inbox_id: Uuid,
    api_key: &str,
    count: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let permits = Arc::new(tokio::sync::Semaphore::new(CREATE_CONCURRENCY));
    let mut posts = tokio::task::JoinSet::<anyhow::Result<(usize, Uuid)>>::new();
    for i in 0..count {
        let http = http.clone();
        let base = http_base.to_owned();
        let key = api_key.to_owned();
        let permits = permits.clone();
        posts.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let contact = Contact {
                handle: format!("+1444{i:07}"),
                name: Some(format!("Customer {i}")),
            };
            let body = post_inbound(
                &http,
                &base,
                &key,
                inbox_id,
                &contact,
                "hello, anyone there?",
            )
            .await?;
            let id: Uuid = body["conversation_id"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("no conversation_id in {body}"))?
                .parse()?;
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
