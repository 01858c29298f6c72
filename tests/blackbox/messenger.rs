//! The messenger's three cases with three agents, and what each agent sees.

use switchboard_proto::ErrorCode;

use crate::support::Fixture;
use crate::support::client::{active_id, observer_ids, take, typing};

#[tokio::test]
async fn the_three_cases_of_the_messenger() {
    let fx = Fixture::new(3, &[]).await;
    let (ann, bob, cat) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let conversation = fx.conversation("+15550100").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    let mut c = fx.connect(cat).await;

    // Case 3: nobody there, the one who opens it becomes active at once.
    let joined = a.join(conversation).await;
    let presence = joined.presence.unwrap();
    assert_eq!(active_id(&presence), Some(ann.id));
    assert!(presence.observers.is_empty());

    // Case 1: an active responder and observers; observers see "Answered by".
    let joined = b.join(conversation).await.presence.unwrap();
    assert_eq!(active_id(&joined), Some(ann.id));
    assert_eq!(observer_ids(&joined), vec![bob.id]);
    let seen = a
        .expect_presence(conversation, |p| observer_ids(p) == vec![bob.id])
        .await;
    assert_eq!(active_id(&seen), Some(ann.id));

    let joined = c.join(conversation).await.presence.unwrap();
    assert_eq!(active_id(&joined), Some(ann.id));
    assert_eq!(observer_ids(&joined), vec![bob.id, cat.id]);
    for client in [&mut a, &mut b] {
        let seen = client
            .expect_presence(conversation, |p| observer_ids(p) == vec![bob.id, cat.id])
            .await;
        assert_eq!(active_id(&seen), Some(ann.id));
        assert_eq!(seen.active.as_ref().unwrap().name, ann.name);
    }
    let locked = c.take(conversation).await.unwrap_err();
    assert_eq!(locked.code, ErrorCode::Locked);
    assert_eq!(locked.answered_by.unwrap().user_id, ann.id);

    // Case 2: observers only; everyone sees "Start chatting".
    let released = a.release(conversation).await.presence.unwrap();
    assert_eq!(active_id(&released), None);
    assert_eq!(observer_ids(&released), vec![ann.id, bob.id, cat.id]);
    for client in [&mut b, &mut c] {
        client
            .expect_presence(conversation, |p| {
                p.active.is_none() && observer_ids(p) == vec![ann.id, bob.id, cat.id]
            })
            .await;
    }

    // Whoever takes it first becomes active; everyone else sees "Answered by".
    let taken = b
        .take(conversation)
        .await
        .expect("bob takes it")
        .presence
        .unwrap();
    assert_eq!(active_id(&taken), Some(bob.id));
    assert_eq!(observer_ids(&taken), vec![ann.id, cat.id]);
    for client in [&mut a, &mut c] {
        client
            .expect_presence(conversation, |p| {
                active_id(p) == Some(bob.id) && observer_ids(p) == vec![ann.id, cat.id]
            })
            .await;
    }
    let locked = c.request(take(conversation, false)).await.unwrap_err();
    assert_eq!(locked.code, ErrorCode::Locked);
    assert_eq!(locked.answered_by.unwrap().name, bob.name);
}

#[tokio::test]
async fn versions_grow_with_every_change() {
    let fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15550101").await;
    let mut a = fx.connect(&fx.agents[0]).await;
    let mut b = fx.connect(&fx.agents[1]).await;
    let v1 = a.join(conversation).await.presence.unwrap().version;
    let v2 = b.join(conversation).await.presence.unwrap().version;
    let v3 = a.release(conversation).await.presence.unwrap().version;
    let v4 = b
        .take(conversation)
        .await
        .unwrap()
        .presence
        .unwrap()
        .version;
    assert!(v1 < v2 && v2 < v3 && v3 < v4, "{v1} {v2} {v3} {v4}");
}

#[tokio::test]
async fn several_tabs_of_one_user_count_once_and_the_role_is_the_users() {
    let fx = Fixture::new(2, &[]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550102").await;
    let mut tab1 = fx.connect(ann).await;
    let mut tab2 = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    tab1.join(conversation).await;
    let second = tab2.join(conversation).await.presence.unwrap();
    assert_eq!(
        active_id(&second),
        Some(ann.id),
        "the second tab sees its user active"
    );
    let seen = b.join(conversation).await.presence.unwrap();
    assert_eq!(
        observer_ids(&seen),
        vec![bob.id],
        "ann appears once, as the active one"
    );

    // The second tab may write: the role belongs to the user.
    tab2.say(conversation, "from-tab-2", "hi from the other tab")
        .await
        .expect("any tab of the holder may write");

    // Closing one tab keeps the role; leaving with the last one releases it.
    tab1.leave(conversation).await;
    assert_eq!(
        b.take(conversation).await.unwrap_err().code,
        ErrorCode::Locked
    );
    tab2.leave(conversation).await;
    b.expect_presence(conversation, |p| {
        p.active.is_none() && observer_ids(p) == vec![bob.id]
    })
    .await;
    assert_eq!(
        active_id(&b.take(conversation).await.unwrap().presence.unwrap()),
        Some(bob.id)
    );
}

/// A `take` joins first; refused, the connection stays as an observer and
/// sees who is there, even when its joining changed nothing anybody sees
/// (its user was there through another tab already).
#[tokio::test]
async fn a_refused_take_shows_the_conversation_it_joined() {
    let fx = Fixture::new(2, &[]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550103").await;
    let mut a = fx.connect(ann).await;
    let mut tab1 = fx.connect(bob).await;
    let mut tab2 = fx.connect(bob).await;
    a.join(conversation).await;
    tab1.join(conversation).await;

    let refused = tab2.take(conversation).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Locked);
    let seen = tab2.expect_presence(conversation, |_| true).await;
    assert_eq!(active_id(&seen), Some(ann.id));
    assert_eq!(observer_ids(&seen), vec![bob.id]);

    // joined: the tab hears what happens next
    a.release(conversation).await;
    tab2.expect_presence(conversation, |p| {
        p.active.is_none() && observer_ids(p) == vec![ann.id, bob.id]
    })
    .await;
}

#[tokio::test]
async fn viewers_observe_but_never_become_active() {
    let fx = Fixture::with_roles(&["viewer", "operator"], &[]).await;
    let (viewer, operator) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550103").await;
    let mut v = fx.connect(viewer).await;
    let joined = v.join(conversation).await.presence.unwrap();
    assert_eq!(
        active_id(&joined),
        None,
        "a viewer opening an empty conversation stays observer"
    );
    assert_eq!(observer_ids(&joined), vec![viewer.id]);
    // One rule for writing: a role that may never answer is refused alike
    // for take, send and typing.
    assert_eq!(
        v.take(conversation).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    let error = v.say(conversation, "v1", "may I?").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Forbidden);
    let error = v.request(typing(conversation)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Forbidden);

    let mut o = fx.connect(operator).await;
    o.join(conversation).await;
    let taken = o.take(conversation).await.unwrap().presence.unwrap();
    assert_eq!(active_id(&taken), Some(operator.id));
    v.expect_presence(conversation, |p| active_id(p) == Some(operator.id))
        .await;
}

#[tokio::test]
async fn an_owner_may_take_over_and_the_holder_is_told() {
    let fx = Fixture::new(2, &[]).await;
    let (ann, bob) = (&fx.agents[0], &fx.agents[1]);
    let conversation = fx.conversation("+15550104").await;
    let mut a = fx.connect(ann).await;
    let mut b = fx.connect(bob).await;
    let mut boss = fx.connect(&fx.owner).await;
    a.join(conversation).await;
    b.join(conversation).await;

    let refused = b.request(take(conversation, true)).await.unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::Forbidden,
        "operators may not force"
    );

    let taken = boss
        .request(take(conversation, true))
        .await
        .expect("owner forces");
    assert_eq!(active_id(&taken.presence.unwrap()), Some(fx.owner.id));
    let lost = a.expect_lock_lost().await;
    assert_eq!(lost.conversation_id, conversation);
    assert_eq!(
        lost.reason,
        switchboard_proto::server::LockLostReason::TakenOver
    );
    // The former holder's writes are refused from now on.
    assert_eq!(
        a.say(conversation, "late", "still me?")
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotActive
    );
    b.expect_presence(conversation, |p| active_id(p) == Some(fx.owner.id))
        .await;
}
