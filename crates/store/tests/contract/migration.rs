//! Migration 0004 (access) on a database made by the schema before it:
//! accounts, users of each old role and inboxes, written with the old
//! columns, end with one root group per account, one grant per user at
//! the root matching their old role, and every inbox at the root.

use sqlx::{Connection, PgConnection, SqliteConnection};
use switchboard_core::Role;
use switchboard_core::access::{BuiltinRole, Grant, RoleId};
use switchboard_core::ids::{AccountId, UserId};
use switchboard_store::ManualClock;
use uuid::Uuid;

use crate::harness::{Backend, old_database, options};

/// The last migration before the access model's.
const BEFORE_ACCESS: i64 = 3;

/// What the old schema holds: per account, its users with their old role
/// and its inboxes.
struct OldAccount {
    id: Uuid,
    users: Vec<(Uuid, Role)>,
    inboxes: Vec<Uuid>,
}

fn old_accounts() -> Vec<OldAccount> {
    let roles = [Role::Owner, Role::Admin, Role::Operator, Role::Viewer];
    let account = |roles: &[Role], inboxes: usize| OldAccount {
        id: Uuid::now_v7(),
        users: roles.iter().map(|r| (Uuid::now_v7(), *r)).collect(),
        inboxes: (0..inboxes).map(|_| Uuid::now_v7()).collect(),
    };
    vec![
        account(&roles, 2),
        account(&[Role::Owner, Role::Operator], 1),
        account(&[], 0),
    ]
}

/// The old schema's rows as SQL literals of the backend.
fn seed(backend: Backend, accounts: &[OldAccount]) -> String {
    let (id, now): (fn(&Uuid) -> String, &str) = match backend {
        Backend::Sqlite | Backend::Sim => (|u| format!("X'{}'", u.simple()), "1700000000000"),
        Backend::Postgres => (|u| format!("'{u}'"), "now()"),
    };
    let mut sql = String::new();
    for account in accounts {
        let a = id(&account.id);
        sql +=
            &format!("INSERT INTO accounts (id, name, created_at) VALUES ({a}, 'old', {now});\n");
        for (user, role) in &account.users {
            sql += &format!(
                "INSERT INTO users (id, account_id, email, name, role, password_hash, created_at) \
                 VALUES ({}, {a}, '{user}@old.example', 'u', '{}', 'h', {now});\n",
                id(user),
                role.as_str()
            );
        }
        for inbox in &account.inboxes {
            sql += &format!(
                "INSERT INTO inboxes (id, account_id, name, channel, key_hash, created_at) \
                 VALUES ({}, {a}, 'in', 'sms', {}, {now});\n",
                id(inbox),
                match backend {
                    Backend::Sqlite | Backend::Sim => format!("X'{}'", inbox.simple()),
                    Backend::Postgres => format!("'\\x{}'::bytea", inbox.simple()),
                }
            );
        }
    }
    sql
}

/// The built-in role the old role becomes.
fn granted(role: Role) -> BuiltinRole {
    match role {
        Role::Owner => BuiltinRole::Owner,
        Role::Admin => BuiltinRole::Administrator,
        Role::Operator => BuiltinRole::Operator,
        Role::Viewer => BuiltinRole::Viewer,
    }
}

/// The role column of every grant, sorted: built-in roles by their
/// canonical ids (never the old `admin`), so SQL may compare them.
const STORED_ROLES: &str = "SELECT role FROM grants ORDER BY role";

fn stored_roles(accounts: &[OldAccount]) -> Vec<String> {
    let users = accounts.iter().flat_map(|a| &a.users);
    let mut roles: Vec<String> = users.map(|(_, r)| granted(*r).as_str().into()).collect();
    roles.sort();
    roles
}

/// Opens the migrated database through the store and checks every row.
async fn check(url: String, accounts: Vec<OldAccount>) {
    let store = switchboard_store::connect(&url, &options(ManualClock::new().into()))
        .await
        .expect("open and migrate the old database");
    let mut roots = Vec::new();
    for old in &accounts {
        let account = AccountId::from(old.id);
        let access = store.account_access(account).await.expect("access");
        let root = access.groups.root();
        assert_eq!(access.groups.rows().collect::<Vec<_>>(), [(root, None)]);
        assert_eq!(access.roles.custom_roles().count(), 0);
        roots.push(root);
        for (user, role) in &old.users {
            let grants = store.grants_of(UserId::from(*user)).await.expect("grants");
            assert_eq!(grants, [Grant::new(RoleId::Builtin(granted(*role)), root)]);
        }
        let users = store.users_of(account).await.expect("users");
        let kept: Vec<_> = users.iter().map(|u| (u.id.as_uuid(), u.role)).collect();
        assert_eq!(kept.len(), old.users.len());
        assert!(kept.iter().all(|u| old.users.contains(u)), "old roles kept");
        let inboxes = store.inboxes_of(account).await.expect("inboxes");
        assert_eq!(inboxes.len(), old.inboxes.len());
        assert!(inboxes.iter().all(|i| i.group_id == root));
    }
    roots.sort();
    roots.dedup();
    assert_eq!(roots.len(), accounts.len(), "a root group per account");
}

/// The grants' roles as stored, read past the store.
async fn stored(backend: Backend, url: &str) -> Vec<String> {
    match backend {
        Backend::Sqlite | Backend::Sim => {
            let mut conn = SqliteConnection::connect(url).await.expect("sqlite");
            sqlx::query_scalar(STORED_ROLES).fetch_all(&mut conn).await
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url).await.expect("postgres");
            sqlx::query_scalar(STORED_ROLES).fetch_all(&mut conn).await
        }
    }
    .expect("roles")
}

async fn old_database_gets_roots_and_grants(backend: Backend) {
    let accounts = old_accounts();
    let seed = seed(backend, &accounts);
    let expected = stored_roles(&accounts);
    old_database(backend, BEFORE_ACCESS, seed, move |url| async move {
        check(url.clone(), accounts).await;
        assert_eq!(stored(backend, &url).await, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sqlite_database_gets_roots_and_grants() {
    old_database_gets_roots_and_grants(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_postgres_database_gets_roots_and_grants() {
    old_database_gets_roots_and_grants(Backend::Postgres).await;
}
