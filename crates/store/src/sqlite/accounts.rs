//! The writes of accounts, users, inboxes and login sessions on SQLite (run
//! by the writer thread; their reads are in the parent module).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use switchboard_core::ids::{InboxId, UserId};
use switchboard_core::model::{Account, Inbox, NewAccount, NewInbox, NewUser, User};
use switchboard_core::{AccountId, Role, StoreError};

use super::{SqliteStore, now_millis};
use crate::error::{from_rusqlite, rusqlite_conflict_as};
use crate::rows::millis_to_time;

/// A user to insert, owned so that it can travel to the writer thread.
struct UserToInsert {
    account_id: AccountId,
    email: String,
    name: String,
    password_hash: String,
    role: Role,
    capacity: u32,
}

impl From<NewUser<'_>> for UserToInsert {
    fn from(new: NewUser<'_>) -> Self {
        Self {
            account_id: new.account_id,
            // stored lowercased: emails are unique case-insensitively
            email: new.email.to_lowercase(),
            name: new.name.to_owned(),
            password_hash: new.password_hash.to_owned(),
            role: new.role,
            capacity: new.capacity,
        }
    }
}

impl UserToInsert {
    fn insert(self, conn: &Connection, now: i64) -> Result<User, StoreError> {
        let user = User {
            id: UserId::new(),
            account_id: self.account_id,
            email: self.email,
            name: self.name,
            role: self.role,
            capacity: self.capacity,
            created_at: millis_to_time(now)?,
        };
        conn.prepare_cached(
            "INSERT INTO users \
             (id, account_id, email, name, role, capacity, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                user.id.as_uuid(),
                user.account_id.as_uuid(),
                user.email,
                user.name,
                user.role.as_str(),
                i64::from(user.capacity),
                self.password_hash,
                now,
            ])
        })
        .map_err(rusqlite_conflict_as("email already in use"))?;
        Ok(user)
    }
}

impl SqliteStore {
    pub(super) async fn insert_account(
        &self,
        new: NewAccount<'_>,
    ) -> Result<(Account, User), StoreError> {
        let name = new.name.to_owned();
        let owner = UserToInsert::from(NewUser {
            account_id: AccountId::new(),
            email: new.owner_email,
            name: new.owner_name,
            password_hash: new.owner_password_hash,
            role: Role::Owner,
            capacity: 0,
        });
        self.writer
            .run(move |conn| {
                let now = now_millis();
                let account = Account {
                    id: owner.account_id,
                    name,
                    created_at: millis_to_time(now)?,
                };
                conn.prepare_cached(
                    "INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![account.id.as_uuid(), account.name, now])
                })
                .map_err(from_rusqlite)?;
                let owner = owner.insert(conn, now)?;
                Ok((account, owner))
            })
            .await
    }

    pub(super) async fn insert_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let user = UserToInsert::from(new);
        self.writer
            .run(move |conn| user.insert(conn, now_millis()))
            .await
    }

    pub(super) async fn insert_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        let (account_id, name, channel, key_hash) = (
            new.account_id,
            new.name.to_owned(),
            new.channel.to_owned(),
            new.key_hash.to_vec(),
        );
        self.writer
            .run(move |conn| {
                let now = now_millis();
                let inbox = Inbox {
                    id: InboxId::new(),
                    account_id,
                    name,
                    channel,
                    created_at: millis_to_time(now)?,
                };
                conn.prepare_cached(
                    "INSERT INTO inboxes (id, account_id, name, channel, key_hash, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        inbox.id.as_uuid(),
                        inbox.account_id.as_uuid(),
                        inbox.name,
                        inbox.channel,
                        key_hash,
                        now,
                    ])
                })
                .map_err(rusqlite_conflict_as("inbox key already in use"))?;
                Ok(inbox)
            })
            .await
    }

    pub(super) async fn insert_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        let expires_at = expires_at.timestamp_millis();
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        token_hash,
                        user.as_uuid(),
                        now_millis(),
                        expires_at
                    ])
                })
                .map(drop)
                .map_err(rusqlite_conflict_as("login session already exists"))
            })
            .await
    }

    pub(super) async fn remove_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        self.writer
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM login_sessions WHERE token_hash = ?1")
                    .and_then(|mut delete| delete.execute([token_hash]))
                    .map(drop)
                    .map_err(from_rusqlite)
            })
            .await
    }
}
