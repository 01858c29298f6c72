//! The users' lifecycle and ownership commands: `user deactivate`,
//! `user reactivate`, `user remove`, `account transfer-ownership`. Each is
//! one use case run as the operator; a running server learns the change
//! from the account's access stamp (its connections' sessions are checked
//! then, so a deactivated user's sockets close).

use serde_json::json;
use switchboard_core::{AccountId, UserId};

use super::{failed, offline, print, stored};
use crate::app::{App, Caller};
use crate::cli::{AccountTransferOwnership, OfUser};

pub async fn deactivate(args: OfUser) -> anyhow::Result<()> {
    let (app, account, user) = user_of(&args).await?;
    let done = app
        .deactivate_user(Caller::CommandLine, account, user)
        .await
        .map_err(failed)?;
    print(
        json!({"user_id": user, "account_id": account, "deactivated_at": done.user.deactivated_at}),
    );
    Ok(())
}

pub async fn reactivate(args: OfUser) -> anyhow::Result<()> {
    let (app, account, user) = user_of(&args).await?;
    app.reactivate_user(Caller::CommandLine, account, user)
        .await
        .map_err(failed)?;
    print(json!({"user_id": user, "account_id": account, "active": true}));
    Ok(())
}

pub async fn remove(args: OfUser) -> anyhow::Result<()> {
    let (app, account, user) = user_of(&args).await?;
    app.remove_user(Caller::CommandLine, account, user)
        .await
        .map_err(failed)?;
    print(json!({"user_id": user, "account_id": account, "removed": true}));
    Ok(())
}

pub async fn transfer_ownership(args: AccountTransferOwnership) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let account = AccountId::from(args.account);
    let owner = app
        .transfer_ownership(Caller::CommandLine, account, UserId::from(args.user), None)
        .await
        .map_err(failed)?;
    print(json!({"account_id": account, "owner_id": owner.user.id}));
    Ok(())
}

/// The application, and the user with their account.
async fn user_of(args: &OfUser) -> anyhow::Result<(App, AccountId, UserId)> {
    let app = offline(&args.database).await?;
    let user = app
        .store()
        .user(UserId::from(args.user))
        .await
        .map_err(stored)?
        .ok_or_else(|| anyhow::anyhow!("no such user"))?;
    Ok((app, user.account_id, user.id))
}
