//! Writes of every kind at once: each is answered on its own, and an
//! acknowledged write is there for the next read.
//!
//! On SQLite these writes share transactions (one writer commits whatever
//! is queued together), so these tests are where a failure leaking into its
//! neighbours, or an answer given before the commit, would show.

use std::sync::Arc;

use chrono::Utc;
use switchboard_core::Role;
use switchboard_core::ids::NodeId;
use switchboard_core::model::{Acquired, Appended, NewUser};
use switchboard_store::{Store, StoreError};
use tokio::task::JoinSet;

use crate::fixtures::{HASH, LEASE, agent, append, conversation, grant, inbound, seqs, tenant};

/// What one concurrent task did.
#[derive(Debug)]
enum Done {
    User(Result<switchboard_core::model::User, StoreError>),
    Append(Result<Appended, StoreError>),
}

/// Two sign-ups with one email race each other amid appends: one of them
/// is refused, and nothing else is.
async fn a_conflict_amid_concurrent_writes_stays_alone(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let ann = agent(&store, &acme, "ann").await;
    let mut convs = Vec::new();
    for i in 0..4 {
        let conv = conversation(&store, &acme, &format!("contact-{i}")).await;
        convs.push((
            conv,
            grant(&store, conv, ann.id, NodeId::new(), false, LEASE).await,
        ));
    }

    let mut tasks = JoinSet::new();
    for round in 0..10 {
        for &(conv, epoch) in &convs {
            let store = store.clone();
            tasks.spawn(async move {
                Done::Append(append(&store, conv, ann.id, epoch, &format!("m{round}")).await)
            });
        }
        if round == 3 || round == 6 {
            let (store, account_id) = (store.clone(), acme.account.id);
            tasks.spawn(async move {
                Done::User(
                    store
                        .create_user(NewUser {
                            account_id,
                            email: if round == 3 {
                                "twin@acme.example"
                            } else {
                                "TWIN@acme.example"
                            },
                            name: &format!("twin {round}"),
                            password_hash: HASH,
                            role: Role::Operator,
                            capacity: 1,
                        })
                        .await,
                )
            });
        }
    }
    let (mut created, mut refused, mut stored) = (Vec::new(), 0, 0);
    for done in tasks.join_all().await {
        match done {
            Done::User(Ok(user)) => created.push(user),
            Done::User(Err(StoreError::Conflict(message))) => {
                assert_eq!(message, "email already in use");
                refused += 1;
            }
            Done::Append(Ok(Appended::Stored(_))) => stored += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((created.len(), refused, stored), (1, 1, 40));
    let (twin, _) = store
        .user_by_email("twin@acme.example")
        .await
        .expect("read")
        .expect("the winner is stored");
    assert_eq!(twin, created[0]);
    for (conv, _) in convs {
        assert_eq!(seqs(&store, conv).await, (1..=11).collect::<Vec<_>>());
    }
}

/// Every write, once answered, is seen by a read that starts after the
/// answer (on SQLite the read runs on another connection than the write).
async fn acknowledged_writes_are_read_at_once(store: Arc<dyn Store>) {
    let acme = tenant(&store, "acme").await;
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let store = store.clone();
        let inbox = acme.inbox.clone();
        let account_id = acme.account.id;
        tasks.spawn(async move {
            let user = store
                .create_user(NewUser {
                    account_id,
                    email: &format!("agent{i}@acme.example"),
                    name: &format!("agent {i}"),
                    password_hash: HASH,
                    role: Role::Operator,
                    capacity: 2,
                })
                .await
                .expect("create user");
            assert_eq!(store.user(user.id).await.expect("read"), Some(user.clone()));

            let token = format!("token-{i}");
            store
                .create_login_session(
                    token.as_bytes(),
                    user.id,
                    Utc::now() + chrono::Duration::hours(1),
                )
                .await
                .expect("login");
            assert_eq!(
                store
                    .login_session_user(token.as_bytes())
                    .await
                    .expect("read")
                    .map(|u| u.id),
                Some(user.id)
            );

            let first = inbound(&store, &inbox, &format!("customer-{i}"), "hi").await;
            let conv = first.conversation.id;
            assert_eq!(
                store.messages_after(conv, 0, 10).await.expect("read"),
                vec![first.message.clone()]
            );

            let epoch = match store
                .acquire_lock(conv, user.id, NodeId::new(), false, LEASE)
                .await
                .expect("acquire")
            {
                Acquired::Granted { epoch } => epoch,
                held => panic!("expected a grant, got {held:?}"),
            };
            let state = store.lock_state(conv).await.expect("state");
            assert_eq!(
                (state.holder.map(|h| h.id), state.epoch),
                (Some(user.id), epoch)
            );

            for n in 0..5 {
                let reply = append(&store, conv, user.id, epoch, &format!("c{n}"))
                    .await
                    .expect("append")
                    .into_message();
                let read = store
                    .messages_after(conv, reply.seq - 1, 10)
                    .await
                    .expect("read");
                assert_eq!(read, vec![reply.clone()], "the reply is there");
                let conversation = store.conversation(conv).await.expect("read");
                assert_eq!(conversation.map(|c| c.last_seq), Some(reply.seq));
            }

            assert!(
                store
                    .release_lock(conv, user.id, epoch)
                    .await
                    .expect("release")
            );
            assert_eq!(store.lock_state(conv).await.expect("state").holder, None);
            store
                .delete_login_session(token.as_bytes())
                .await
                .expect("logout");
            assert_eq!(
                store
                    .login_session_user(token.as_bytes())
                    .await
                    .expect("read"),
                None
            );
        });
    }
    tasks.join_all().await;
}

contract_tests!(
    a_conflict_amid_concurrent_writes_stays_alone,
    acknowledged_writes_are_read_at_once,
);
