//! Message statistics' storage: what one bucket counts (messages by
//! direction, conversation spells opened with their first responses,
//! spells resolved with their resolution times), for a window, a set of
//! inboxes and an agent, on a fixture whose answers are worked out by hand
//! on the manual clock. A conversation resolved and written to again is a
//! second spell; another account's data is never counted.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use switchboard_core::ids::{ConversationId, InboxId, NodeId, UserId};
use switchboard_core::model::ManualAssignment;
use switchboard_core::statistics::{BucketScope, Figures, MessageCounts, SpellTally, Window};
use switchboard_store::{ManualClock, Store};

use crate::fixtures::{LEASE, agent, append, grant, inbound, inbox, tenant};
use crate::harness::Clocked;

/// Moves the clock to `base + secs` (never back).
fn at(clock: &ManualClock, base: DateTime<Utc>, secs: i64) {
    let target = base + chrono::Duration::seconds(secs);
    let step = (target - clock.now()).to_std().expect("time only moves on");
    clock.advance(step);
}

async fn reply(store: &Arc<dyn Store>, conversation: ConversationId, author: UserId, id: &str) {
    let epoch = grant(store, conversation, author, NodeId::new(), true, LEASE).await;
    append(store, conversation, author, epoch, id)
        .await
        .expect("append");
}

async fn assign(store: &Arc<dyn Store>, conversation: ConversationId, to: UserId, by: UserId) {
    store
        .assign(ManualAssignment {
            conversation,
            assignee: to,
            actor: by,
            force: false,
        })
        .await
        .expect("assign");
}

/// One bucket's figures as the application reads them: for an agent's
/// bucket (`agent`), from every agent's counts read at once.
async fn figures(
    store: &Arc<dyn Store>,
    account: switchboard_core::ids::AccountId,
    (scope, agent): (BucketScope, Option<UserId>),
) -> (MessageCounts, SpellTally, Figures) {
    let (messages, spells) = match agent {
        None => {
            let counted = store
                .statistics_messages(account, &scope.inboxes, scope.window)
                .await
                .expect("messages");
            // The same messages counted per UTC day add up to the window's.
            let days = store
                .statistics_messages_by_day(account, &scope.inboxes, scope.window)
                .await
                .expect("messages by day");
            let first = scope.window.from.date_naive();
            let last = (scope.window.to - chrono::Duration::milliseconds(1)).date_naive();
            assert!(
                days.iter().all(|(d, _)| (first..=last).contains(d)),
                "{days:?}"
            );
            let (inbound, outbound) = days
                .iter()
                .fold((0, 0), |(i, o), (_, c)| (i + c.inbound, o + c.outbound));
            assert_eq!(
                (inbound, outbound),
                (counted.inbound, counted.outbound),
                "{days:?}"
            );
            let spells = store
                .statistics_spells(account, &scope)
                .await
                .expect("spells");
            (counted, spells)
        }
        Some(agent) => {
            let outbound = store
                .statistics_messages_by_agent(account, &scope.inboxes, scope.window)
                .await
                .expect("by agent")
                .into_iter()
                .find(|(a, _)| *a == agent)
                .map_or(0, |(_, n)| n);
            let spells = store
                .statistics_spells_by_agent(account, &scope.inboxes, scope.window)
                .await
                .expect("spells by agent")
                .into_iter()
                .find(|(a, _)| *a == agent)
                .map(|(_, tally)| tally)
                .unwrap_or_default();
            let messages = MessageCounts {
                inbound: 0,
                outbound,
            };
            (messages, spells)
        }
    };
    let figures = Figures::of(messages, spells.clone(), agent.is_some());
    (messages, spells, figures)
}

async fn figures_are_counted_per_window_inbox_and_agent(given: Clocked) {
    let Clocked { store, clock } = given;
    // day D starts at the next UTC midnight; everything happens from 01:00
    let midnight = (clock.now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let base = midnight + chrono::Duration::hours(1);
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let account = acme.account.id;
    let owner = acme.owner.id;
    let sales = acme.inbox.clone();
    let north = inbox(&store, &acme.account, "north-sms").await;
    let ann = agent(&store, &acme, "ann").await.id;
    let bob = agent(&store, &acme, "bob").await.id;
    let rival = globex.owner.id;

    at(&clock, base, 0);
    let c1 = inbound(&store, &sales, "+1001", "hi").await.conversation.id;
    let theirs = inbound(&store, &globex.inbox, "+1001", "hi")
        .await
        .conversation
        .id;
    at(&clock, base, 10);
    let c2 = inbound(&store, &sales, "+1002", "hi").await.conversation.id;
    at(&clock, base, 20);
    let c3 = inbound(&store, &north, "+1003", "hi").await.conversation.id;
    at(&clock, base, 30);
    reply(&store, c1, ann, "c1-ann").await; // first response 30 s, ann
    reply(&store, theirs, rival, "theirs").await;
    assign(&store, c1, ann, owner).await;
    at(&clock, base, 40);
    reply(&store, c3, ann, "c3-ann").await; // 20 s, ann
    at(&clock, base, 70);
    reply(&store, c2, bob, "c2-bob").await; // 60 s, bob
    at(&clock, base, 75);
    reply(&store, c2, bob, "c2-bob-again").await; // not a first response
    at(&clock, base, 100);
    store.resolve(c1, owner).await.expect("resolve"); // 100 s, assigned to ann
    store.resolve(theirs, rival).await.expect("resolve");
    at(&clock, base, 130);
    inbound(&store, &sales, "+1002", "still there?").await;

    // day D+1: c1's customer writes again, a second spell
    let next = base + chrono::Duration::days(1);
    at(&clock, next, 0);
    let again = inbound(&store, &sales, "+1001", "me again").await;
    assert_eq!(again.conversation.id, c1, "the same conversation, reopened");
    at(&clock, next, 5);
    assign(&store, c1, bob, owner).await;
    at(&clock, next, 50);
    reply(&store, c1, bob, "c1-bob").await; // 50 s, bob
    at(&clock, next, 300);
    store.resolve(c1, owner).await.expect("resolve"); // 300 s, bob
    at(&clock, next, 3600);
    store.resolve(c3, owner).await.expect("resolve"); // unassigned
    let c3_resolution = 24 * 3600 + 3600 - 20;

    let both: BTreeSet<InboxId> = BTreeSet::from([sales.id, north.id]);
    let day = |offset: i64| Window {
        from: midnight + chrono::Duration::days(offset),
        to: midnight + chrono::Duration::days(offset + 1),
    };
    let two_days = Window {
        from: midnight,
        to: midnight + chrono::Duration::days(2),
    };
    let scope = |inboxes: &BTreeSet<InboxId>, window, agent| {
        let scope = BucketScope {
            inboxes: inboxes.clone(),
            window,
        };
        (scope, agent)
    };

    // day D, every inbox
    let (messages, spells, f) = figures(&store, account, scope(&both, day(0), None)).await;
    assert_eq!(
        messages,
        MessageCounts {
            inbound: 4,
            outbound: 4
        }
    );
    assert_eq!((spells.opened, spells.resolved), (3, 1));
    assert_eq!(f.conversations_opened, Some(3));
    assert_eq!(f.messages_in, Some(4));
    // first responses 20, 30, 60: nearest rank p50 = 2nd, p90 = 3rd
    assert_eq!(
        (f.first_response_p50, f.first_response_p90),
        (Some(30.0), Some(60.0))
    );
    assert_eq!(
        (f.resolution_p50, f.resolution_p90),
        (Some(100.0), Some(100.0))
    );

    // day D+1: the reopening, two resolutions
    let (messages, spells, f) = figures(&store, account, scope(&both, day(1), None)).await;
    assert_eq!((messages.inbound, messages.outbound), (1, 1));
    assert_eq!((spells.opened, spells.resolved), (1, 2));
    assert_eq!(
        (f.first_response_p50, f.first_response_p90),
        (Some(50.0), Some(50.0))
    );
    assert_eq!(
        (f.resolution_p50, f.resolution_p90),
        (Some(300.0), Some(c3_resolution as f64))
    );

    // a half-open window: [01:00:30, 01:01:10) holds ann's c1 reply and
    // c3 reply, not bob's at 01:01:10
    let narrow = Window {
        from: base + chrono::Duration::seconds(30),
        to: base + chrono::Duration::seconds(70),
    };
    let (messages, _, _) = figures(&store, account, scope(&both, narrow, None)).await;
    assert_eq!((messages.inbound, messages.outbound), (0, 2));

    // per inbox
    let north_only = BTreeSet::from([north.id]);
    let (messages, spells, f) = figures(&store, account, scope(&north_only, two_days, None)).await;
    assert_eq!((messages.inbound, messages.outbound), (1, 1));
    assert_eq!((spells.opened, spells.resolved), (1, 1));
    assert_eq!(f.first_response_p50, Some(20.0));
    assert_eq!(f.resolution_p50, Some(c3_resolution as f64));
    let by_inbox: std::collections::HashMap<InboxId, MessageCounts> = store
        .statistics_messages_by_inbox(account, &both, two_days)
        .await
        .expect("by inbox")
        .into_iter()
        .collect();
    assert_eq!(by_inbox.len(), 2);
    assert_eq!(
        by_inbox[&sales.id],
        MessageCounts {
            inbound: 4,
            outbound: 4
        }
    );
    assert_eq!(
        by_inbox[&north.id],
        MessageCounts {
            inbound: 1,
            outbound: 1
        }
    );

    let mut by_agent = store
        .statistics_messages_by_agent(account, &both, two_days)
        .await
        .expect("by agent");
    by_agent.sort();
    let mut expected = vec![(ann, 2), (bob, 3)];
    expected.sort();
    assert_eq!(by_agent, expected);

    // per agent: messages they wrote, first responses they wrote,
    // resolutions while assigned to them
    let (messages, spells, f) = figures(&store, account, scope(&both, two_days, Some(ann))).await;
    assert_eq!(messages.outbound, 2);
    assert_eq!(spells.first_responses.len(), 2);
    assert_eq!(
        (f.first_response_p50, f.first_response_p90),
        (Some(20.0), Some(30.0))
    );
    assert_eq!(
        (f.conversations_resolved, f.resolution_p50),
        (1, Some(100.0))
    );
    assert_eq!((f.conversations_opened, f.messages_in), (None, None));
    let (messages, _, f) = figures(&store, account, scope(&both, two_days, Some(bob))).await;
    assert_eq!(messages.outbound, 3);
    assert_eq!(
        (f.first_response_p50, f.first_response_p90),
        (Some(50.0), Some(60.0))
    );
    assert_eq!(
        (f.conversations_resolved, f.resolution_p50),
        (1, Some(300.0))
    );
    let (messages, _, f) = figures(&store, account, scope(&north_only, two_days, Some(bob))).await;
    assert_eq!(messages.outbound, 0);
    assert!(f.is_empty(), "bob did nothing in north: {f:?}");

    // another account's inbox named in this account's scope counts nothing
    let theirs_only = BTreeSet::from([globex.inbox.id]);
    let (messages, spells, _) = figures(&store, account, scope(&theirs_only, two_days, None)).await;
    assert_eq!(messages, MessageCounts::default());
    assert_eq!(spells, SpellTally::default());
    let (messages, spells, _) = figures(
        &store,
        globex.account.id,
        scope(&theirs_only, two_days, None),
    )
    .await;
    assert_eq!((messages.inbound, messages.outbound), (1, 1));
    assert_eq!((spells.opened, spells.resolved), (1, 1));
    // and no inboxes at all count nothing
    let none = BTreeSet::new();
    let (messages, spells, _) = figures(&store, account, scope(&none, two_days, None)).await;
    assert_eq!(messages, MessageCounts::default());
    assert_eq!(spells, SpellTally::default());
}

/// A person reopening a resolved conversation opens a spell too; the first
/// response waits for the customer's first message of that spell.
async fn a_reopening_by_hand_is_a_spell_of_its_own(given: Clocked) {
    let Clocked { store, clock } = given;
    let base = clock.now();
    let acme = tenant(&store, "acme").await;
    let account = acme.account.id;
    let ann = agent(&store, &acme, "ann").await.id;
    let c = inbound(&store, &acme.inbox, "+2001", "hi")
        .await
        .conversation
        .id;
    at(&clock, base, 10);
    store.resolve(c, ann).await.expect("resolve");
    at(&clock, base, 100);
    store.reopen(c, ann).await.expect("reopen");
    at(&clock, base, 110);
    reply(&store, c, ann, "before the customer").await; // no first response: nobody wrote yet
    at(&clock, base, 200);
    inbound(&store, &acme.inbox, "+2001", "oh hello").await;
    at(&clock, base, 215);
    reply(&store, c, ann, "after").await; // 15 s
    let scope = BucketScope {
        inboxes: BTreeSet::from([acme.inbox.id]),
        window: Window {
            from: base + chrono::Duration::seconds(50),
            to: base + chrono::Duration::seconds(1000),
        },
    };
    let spells = store
        .statistics_spells(account, &scope)
        .await
        .expect("spells");
    assert_eq!(spells.opened, 1, "the reopening");
    assert_eq!(spells.first_responses, [15_000]);
    assert_eq!(spells.resolved, 0);
}

contract_tests!(
    figures_are_counted_per_window_inbox_and_agent,
    a_reopening_by_hand_is_a_spell_of_its_own
);
