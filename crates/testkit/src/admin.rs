//! The admin CLI (`switchboard account create`, `user create`, `inbox
//! create`, `migrate`) run against a server's database, and a tenant made
//! with it: an account, its users signed in, an inbox.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::Value;
use tokio::process::Command;
use uuid::Uuid;

use crate::http::login;

/// The admin CLI of one database.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The `switchboard` binary.
    pub binary: PathBuf,
    pub database_url: String,
}

impl Admin {
    pub fn new(binary: impl Into<PathBuf>, database_url: impl Into<String>) -> Self {
        Self {
            binary: binary.into(),
            database_url: database_url.into(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &self.database_url)
            .env("SWITCHBOARD_LOG", "warn");
        command
    }

    /// Runs an admin command; returns the one JSON object it prints (the
    /// CLI's contract: exactly one, on one line).
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<Value> {
        let output = self
            .command(args)
            .output()
            .await
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        if !output.status.success() {
            anyhow::bail!(
                "switchboard {} failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let stdout = String::from_utf8(output.stdout).context("admin output is not utf-8")?;
        if stdout.lines().count() != 1 {
            anyhow::bail!(
                "switchboard {} printed {} lines, not one JSON object: {stdout}",
                args.join(" "),
                stdout.lines().count()
            );
        }
        serde_json::from_str(&stdout)
            .with_context(|| format!("switchboard {} printed {stdout}", args.join(" ")))
    }

    /// Applies the migrations (before several nodes start on a fresh
    /// database at once).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let output = self.command(&["migrate"]).output().await?;
        if !output.status.success() {
            anyhow::bail!(
                "switchboard migrate failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {field} in {value}"))
}

fn id(value: &Value, field: &str) -> anyhow::Result<Uuid> {
    text(value, field)?
        .parse()
        .with_context(|| format!("{field} in {value} is not a uuid"))
}

/// One user of a [`TenantSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub email: String,
    pub name: String,
    /// `operator`, `viewer`, `admin`, ...
    pub role: String,
    /// `None`: the CLI's default capacity.
    pub capacity: Option<u32>,
}

/// What to make: an account with its owner, users, and one SMS inbox; every
/// one of them gets `password`.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    pub account_name: String,
    pub owner_email: String,
    pub owner_name: String,
    pub password: String,
    pub users: Vec<UserSpec>,
    pub inbox_name: String,
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub token: String,
}

/// What [`Tenant::create`] made.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub account: Uuid,
    pub owner: User,
    /// In the order of [`TenantSpec::users`].
    pub users: Vec<User>,
    pub inbox: Uuid,
    pub inbox_key: String,
}

impl Tenant {
    /// Makes the account, users and inbox with the admin CLI, then signs
    /// the owner and every user in at `http_base` (any node of that
    /// database), one at a time: each login is an argon2 verification that
    /// takes tens of MiB on the server, and many at once would leave its
    /// allocator holding memory a benchmark would then count.
    pub async fn create(admin: &Admin, http_base: &str, spec: &TenantSpec) -> anyhow::Result<Self> {
        let account = admin
            .run(&[
                "account",
                "create",
                "--name",
                &spec.account_name,
                "--owner-email",
                &spec.owner_email,
                "--owner-name",
                &spec.owner_name,
                "--owner-password",
                &spec.password,
            ])
            .await?;
        let account_id = id(&account, "account_id")?;
        let account_arg = account_id.to_string();
        let mut user_ids = Vec::with_capacity(spec.users.len());
        for user in &spec.users {
            let capacity = user.capacity.map(|c| c.to_string());
            let mut args = vec![
                "user",
                "create",
                "--account",
                &account_arg,
                "--email",
                &user.email,
                "--name",
                &user.name,
                "--password",
                &spec.password,
                "--role",
                &user.role,
            ];
            if let Some(capacity) = &capacity {
                args.extend(["--capacity", capacity]);
            }
            user_ids.push(id(&admin.run(&args).await?, "user_id")?);
        }
        let inbox = admin
            .run(&[
                "inbox",
                "create",
                "--account",
                &account_arg,
                "--name",
                &spec.inbox_name,
                "--channel",
                "sms",
            ])
            .await?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        let owner = User {
            id: id(&account, "owner_id")?,
            name: spec.owner_name.clone(),
            email: spec.owner_email.clone(),
            token: login(&http, http_base, &spec.owner_email, &spec.password).await?,
        };
        let mut users = Vec::with_capacity(spec.users.len());
        for (user, id) in spec.users.iter().zip(user_ids) {
            users.push(User {
                id,
                name: user.name.clone(),
                email: user.email.clone(),
                token: login(&http, http_base, &user.email, &spec.password).await?,
            });
        }
        Ok(Self {
            account: account_id,
            owner,
            users,
            inbox: id(&inbox, "inbox_id")?,
            inbox_key: text(&inbox, "api_key")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shell stands in for the CLI: `sh -c SCRIPT` with the command's
    /// environment.
    fn shell() -> Admin {
        Admin::new("/bin/sh", "sqlite:nowhere.db")
    }

    #[tokio::test]
    async fn the_admin_cli_gets_the_database_and_answers_one_json_object() {
        let script =
            r#"printf '{"db":"%s","log":"%s"}\n' "$SWITCHBOARD_DATABASE_URL" "$SWITCHBOARD_LOG""#;
        let value = shell().run(&["-c", script]).await.unwrap();
        assert_eq!(value["db"], "sqlite:nowhere.db");
        assert_eq!(value["log"], "warn");
    }

    #[tokio::test]
    async fn a_failing_or_chatty_admin_command_is_an_error() {
        let error = shell()
            .run(&["-c", "echo 'no such account' >&2; exit 2"])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("failed (exit status: 2)"), "{error}");
        assert!(error.contains("no such account"), "{error}");
        let error = shell()
            .run(&["-c", "echo '{}'; echo '{}'"])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("2 lines"), "{error}");
        let error = shell()
            .run(&["-c", "echo 'done'"])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("printed done"), "{error}");
    }
}
