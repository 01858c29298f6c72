//! The SQL both backends run, written once.
//!
//! Both dialects take numbered parameters (`$1`, `$2`: Postgres natively,
//! SQLite as named parameters, which sqlx binds by number and the writer
//! thread by name), and the backends store the same columns under the same
//! names, so most statements are one text. What differs is the clock:
//! SQLite binds the time as INTEGER milliseconds, Postgres reads its own
//! clock unless a test fixed it (see [`StoreClock`](crate::StoreClock)).
//! So a statement that reads the clock is written once, in pieces, and
//! comes in both dialects as a field of [`Dialect`] ([`SQLITE`],
//! [`POSTGRES`]); in every such statement `$1` is the clock:
//!
//! - [`now!`]: the time to judge by (a lease, a login session);
//! - [`stamp!`]: the time to record, whole milliseconds;
//! - [`lease_end!`]: the end of a lease of `$2` milliseconds from now.
//!
//! Statements whose dialects really differ (Postgres' arrays and
//! single-statement CTEs, SQLite's trigger-driven append) stay with their
//! backend. This module imports nothing of the crate.

/// The time a statement judges by; `$1` is the bound clock.
macro_rules! now {
    (sqlite) => {
        "$1"
    };
    (postgres) => {
        "COALESCE($1::timestamptz, now())"
    };
}
pub(crate) use now;

/// The time a statement records, in whole milliseconds (what both backends
/// store).
macro_rules! stamp {
    (sqlite) => {
        "$1"
    };
    (postgres) => {
        "date_trunc('milliseconds', COALESCE($1::timestamptz, now()))"
    };
}
pub(crate) use stamp;

/// The end of a lease of `$2` milliseconds that starts now.
macro_rules! lease_end {
    (sqlite) => {
        "($1 + $2)"
    };
    (postgres) => {
        "(COALESCE($1::timestamptz, now()) + $2::bigint * interval '1 millisecond')"
    };
}
pub(crate) use lease_end;

/// The start of a window of `$2` milliseconds that ends now (what is at
/// or before it has left the window).
macro_rules! window_start {
    (sqlite) => {
        "($1 - $2)"
    };
    (postgres) => {
        "(COALESCE($1::timestamptz, now()) - $2::bigint * interval '1 millisecond')"
    };
}
pub(crate) use window_start;

/// Waits for the lock of login throttling key `$2`, held until the
/// transaction ends. On Postgres a transaction-level advisory lock on the
/// key's hash, in the two-key space (apart from the routing locks' one-key
/// space) under the table's name; two keys sharing a hash only wait for
/// each other. SQLite's single writer runs one transaction at a time, so
/// there it only reads its parameters (every one bound must appear). Each
/// is a column of its own: a condition joining them could be decided
/// without calling the lock.
macro_rules! key_lock {
    (sqlite) => {
        "SELECT $1 AS now, $2 AS key"
    };
    (postgres) => {
        "SELECT $1::timestamptz AS now, \
                pg_advisory_xact_lock(hashtext('login_failures'), hashtext($2)) AS locked"
    };
}
pub(crate) use key_lock;

/// Locks the rows a read selects until the transaction (or the single
/// statement) ends, where the backend has row locks: a write waiting on
/// them reads them again once they are released. SQLite's single writer
/// needs none.
macro_rules! for_share {
    (sqlite) => {
        ""
    };
    (postgres) => {
        " FOR SHARE"
    };
}
pub(crate) use for_share;

/// The built-in roles that hold `conversations.answer`, as an SQL list:
/// a unit test checks it against the core's `BuiltinRole::permissions`.
macro_rules! answering_roles {
    () => {
        "('owner', 'administrator', 'operator', 'developer', 'inbox_manager', \
          'service', 'sales', 'messaging_agent')"
    };
}
pub(crate) use answering_roles;

/// The condition that user `u` is an agent: one of their grants, at any
/// group, is of a role holding `conversations.answer` (a built-in role of
/// [`answering_roles!`], or a custom role of their account whose
/// space-separated permissions contain it as a whole word). `users.role`
/// plays no part. A deactivated user is no agent.
macro_rules! is_agent {
    ($dialect:ident) => {
        concat!(
            "(u.deactivated_at IS NULL AND EXISTS (SELECT 1 FROM grants gr \
                     LEFT JOIN custom_roles cr ON cr.account_id = u.account_id AND ",
            $crate::sql::custom_role_of_grant!($dialect),
            " WHERE gr.user_id = u.id AND (gr.role IN ",
            $crate::sql::answering_roles!(),
            " OR ' ' || cr.permissions || ' ' LIKE '% conversations.answer %'))) "
        )
    };
}
pub(crate) use is_agent;

/// The conversation columns `rows::conversation` reads (the inbox list's
/// card); the holder's lease is judged at [`now!`]. The queue position is
/// the conversation's rank among its account's queue keys.
/// The columns `rows::lock_state` reads (and the id) of conversations
/// `c`; the condition follows.
macro_rules! lock_select {
    ($dialect:ident) => {
        concat!(
            "SELECT c.id, c.lock_epoch, c.lock_holder, h.name AS holder_name, c.lock_node, \
                    COALESCE(c.lock_holder IS NOT NULL AND c.lock_until > ",
            $crate::sql::now!($dialect),
            ", false) AS lock_valid \
             FROM conversations c LEFT JOIN users h ON h.id = c.lock_holder "
        )
    };
}
pub(crate) use lock_select;

macro_rules! conversation_select {
    ($dialect:ident) => {
        concat!(
            "SELECT c.id, c.account_id, c.inbox_id, c.status, c.last_seq, c.last_message_at, \
                    c.assignee_id, a.name AS assignee_name, \
                    c.lock_holder, h.name AS holder_name, c.lock_epoch, \
                    COALESCE(c.lock_holder IS NOT NULL AND c.lock_until > ",
            $crate::sql::now!($dialect),
            ", false) AS lock_valid, \
                    CASE WHEN c.queue_key IS NULL THEN NULL ELSE \
                        (SELECT count(*) FROM conversations q \
                          WHERE q.account_id = c.account_id AND q.queue_key IS NOT NULL \
                            AND q.queue_key <= c.queue_key) END AS queue_position, \
                    k.id AS contact_id, k.handle AS contact_handle, k.name AS contact_name \
             FROM conversations c \
             JOIN contacts k ON k.id = c.contact_id \
             LEFT JOIN users a ON a.id = c.assignee_id \
             LEFT JOIN users h ON h.id = c.lock_holder "
        )
    };
}
pub(crate) use conversation_select;

/// A folder's conditions (docs/MODULES.md) on conversation `c` of inbox
/// `i`, for user `$5`: status `$7`, inboxes `$8` (a JSON array of ids),
/// assignee `$9` (`me`, `unassigned`), team `$10`, answered by the user
/// now `$11` (1 or 0); each NULL: any. Written once for the list and the
/// count, so the two never disagree.
macro_rules! folder_conditions {
    ($dialect:ident) => {
        concat!(
            " AND ($7 IS NULL OR c.status = $7) \
             AND ($8 IS NULL OR c.inbox_id IN ",
            $crate::sql::json_ids!($dialect, "$8"),
            ") AND ($9 IS NULL OR ($9 = 'me' AND c.assignee_id = $5) \
                  OR ($9 = 'unassigned' AND c.assignee_id IS NULL)) \
             AND ($10 IS NULL OR i.team_id = $10) \
             AND ($11 IS NULL OR (CASE WHEN c.lock_holder = $5 AND c.lock_until > ",
            $crate::sql::now!($dialect),
            " THEN 1 ELSE 0 END) = $11) "
        )
    };
}
pub(crate) use folder_conditions;

/// The UTC day of message `m` (days since 1970-01-01), as a whole number.
macro_rules! utc_day {
    (sqlite) => {
        "(m.created_at / 86400000)"
    };
    (postgres) => {
        "floor(extract(epoch FROM m.created_at) / 86400)::bigint"
    };
}
pub(crate) use utc_day;

/// The ids of a JSON array of UUID strings bound as parameter `$param`, as
/// a subquery for `IN`: an empty array is an empty set (no `IN ()`).
/// SQLite stores ids as 16-byte blobs, Postgres as `uuid`.
macro_rules! json_ids {
    (sqlite, $param:literal) => {
        concat!("(SELECT unhex(value, '-') FROM json_each(", $param, "))")
    };
    (postgres, $param:literal) => {
        concat!(
            "(SELECT value::uuid FROM jsonb_array_elements_text(",
            $param,
            "::jsonb))"
        )
    };
}
pub(crate) use json_ids;

/// The texts of a JSON array of strings bound as parameter `$param`, as a
/// subquery for `IN`.
macro_rules! json_texts {
    (sqlite, $param:literal) => {
        concat!("(SELECT value FROM json_each(", $param, "))")
    };
    (postgres, $param:literal) => {
        concat!(
            "(SELECT value FROM jsonb_array_elements_text(",
            $param,
            "::jsonb))"
        )
    };
}
pub(crate) use json_texts;

/// The condition that custom role `cr` is the one grant `gr` names (its id
/// as text in `gr.role`; a built-in role's id matches none). SQLite stores
/// the id as a 16-byte blob, Postgres as `uuid`.
macro_rules! custom_role_of_grant {
    (sqlite) => {
        "cr.id = unhex(gr.role, '-')"
    };
    (postgres) => {
        "cr.id::text = gr.role"
    };
}
pub(crate) use custom_role_of_grant;

/// The agent columns `rows::agent` read of the agents ([`is_agent!`]);
/// the condition follows (`AND ...`). The load is the counter migration
/// 0018's triggers keep (open conversations assigned), read in constant
/// time however many an agent holds.
macro_rules! agent_select {
    ($dialect:ident) => {
        concat!(
            "SELECT u.id, u.account_id, u.name, u.capacity, u.availability, u.last_assigned_at, \
                    EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) AS online, \
                    u.open_load AS load \
             FROM users u WHERE ",
            $crate::sql::is_agent!($dialect)
        )
    };
}
pub(crate) use agent_select;

/// One piece of a statement of [`Dialect`]: a literal as it is, or, in the
/// dialect, the clock to judge by (`now`), the time to record (`stamp`),
/// the end of a lease of `$2` ms (`lease_end`), the lock of a login
/// throttling key (`key_lock`, [`key_lock!`]), row locks for a read
/// (`for_share`, [`for_share!`]), or the card's columns
/// (`card`, [`conversation_select!`]), the id set of a JSON parameter
/// (`(ids "$n")`, [`json_ids!`]), the texts of one (`(texts "$n")`,
/// [`json_texts!`]), the custom role a grant names
/// (`custom_role_of_grant`, [`custom_role_of_grant!`]), the agents' columns
/// (`agents`, [`agent_select!`]), user `u` is an agent (`is_agent`,
/// [`is_agent!`]).
macro_rules! piece {
    ($dialect:ident, now) => {
        $crate::sql::now!($dialect)
    };
    ($dialect:ident, stamp) => {
        $crate::sql::stamp!($dialect)
    };
    ($dialect:ident, lease_end) => {
        $crate::sql::lease_end!($dialect)
    };
    ($dialect:ident, window_start) => {
        $crate::sql::window_start!($dialect)
    };
    ($dialect:ident, key_lock) => {
        $crate::sql::key_lock!($dialect)
    };
    ($dialect:ident, for_share) => {
        $crate::sql::for_share!($dialect)
    };
    ($dialect:ident, card) => {
        $crate::sql::conversation_select!($dialect)
    };
    ($dialect:ident, lock) => {
        $crate::sql::lock_select!($dialect)
    };
    ($dialect:ident, folder) => {
        $crate::sql::folder_conditions!($dialect)
    };
    ($dialect:ident, utc_day) => {
        $crate::sql::utc_day!($dialect)
    };
    ($dialect:ident, (ids $param:literal)) => {
        $crate::sql::json_ids!($dialect, $param)
    };
    ($dialect:ident, (texts $param:literal)) => {
        $crate::sql::json_texts!($dialect, $param)
    };
    ($dialect:ident, custom_role_of_grant) => {
        $crate::sql::custom_role_of_grant!($dialect)
    };
    ($dialect:ident, first_run) => {
        $crate::sql::first_run_lock!($dialect)
    };
    ($dialect:ident, agents) => {
        $crate::sql::agent_select!($dialect)
    };
    ($dialect:ident, is_agent) => {
        $crate::sql::is_agent!($dialect)
    };
    ($dialect:ident, $text:literal) => {
        $text
    };
}

/// Holds back every other first-run setup until the transaction ends:
/// Postgres locks the accounts table against inserts (a reader still
/// reads); SQLite's one writer already runs one write at a time, so its
/// statement only reads.
macro_rules! first_run_lock {
    (sqlite) => {
        "SELECT 1"
    };
    (postgres) => {
        "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE"
    };
}
pub(crate) use first_run_lock;

/// Writes each statement whose text differs by dialect once, as its
/// pieces, and makes [`Dialect`] and its two values of them.
macro_rules! dialects {
    ($($(#[doc = $doc:literal])* $name:ident: [$($piece:tt),+ $(,)?],)+) => {
        /// The statements whose text differs by dialect, in one dialect:
        /// those that read the clock (`$1` is the clock in each), and
        /// those that say their parameters themselves: `answerers`, and
        /// those that ask who is an agent (a custom role's id is stored
        /// differently).
        #[derive(Debug)]
        pub(crate) struct Dialect {
            $($(#[doc = $doc])* pub(crate) $name: &'static str,)+
        }

        pub(crate) const SQLITE: Dialect = Dialect {
            $($name: concat!($(piece!(sqlite, $piece)),+),)+
        };

        pub(crate) const POSTGRES: Dialect = Dialect {
            $($name: concat!($(piece!(postgres, $piece)),+),)+
        };
    };
}

dialects! {
    /// Who may answer the conversations of which inbox: `(inbox_id,
    /// user_id)`, each pair once, for the inboxes of account `$1` (only
    /// that of conversation `$2` unless NULL) and their users (only `$3`
    /// unless NULL). A user may answer there who holds
    /// `conversations.answer` and, to see what they answer,
    /// `conversations.view` or `conversations.view_assigned` (being
    /// assigned shows it to them), through grants at the inbox's group or
    /// above it (`reach`: the inbox's group and its ancestors). A grant's
    /// role holds a permission when it is one of the built-in roles listed
    /// (JSON arrays of ids: `$4` those with `conversations.answer`, `$6`
    /// those with either view), or a custom role whose permissions, one
    /// space-separated text, contain the permission's id as a whole word
    /// (LIKE patterns, `\` their escape: `$5` answer, `$7` view, `$8`
    /// view_assigned). See `routing::answerers`, which binds them from
    /// the core's roles.
    answerers: [
        "WITH RECURSIVE reach (inbox_id, group_id) AS ( \
             SELECT i.id, i.group_id FROM inboxes i \
             WHERE i.account_id = $1 \
               AND ($2 IS NULL OR i.id = (SELECT c.inbox_id FROM conversations c WHERE c.id = $2)) \
           UNION \
             SELECT r.inbox_id, g.parent_id FROM reach r JOIN groups g ON g.id = r.group_id \
             WHERE g.parent_id IS NOT NULL), \
         held (inbox_id, user_id, role, words) AS ( \
             SELECT r.inbox_id, gr.user_id, gr.role, COALESCE(' ' || cr.permissions || ' ', '') \
             FROM reach r JOIN grants gr ON gr.group_id = r.group_id \
             JOIN users gu ON gu.id = gr.user_id AND gu.deactivated_at IS NULL \
             LEFT JOIN custom_roles cr ON cr.account_id = $1 AND ",
        custom_role_of_grant,
        " WHERE ($3 IS NULL OR gr.user_id = $3)) \
         SELECT DISTINCT a.inbox_id, a.user_id FROM held a \
         WHERE (a.role IN ",
        (texts "$4"),
        " OR a.words LIKE $5 ESCAPE '\\') \
           AND EXISTS (SELECT 1 FROM held v \
                       WHERE v.inbox_id = a.inbox_id AND v.user_id = a.user_id \
                         AND (v.role IN ",
        (texts "$6"),
        " OR v.words LIKE $7 ESCAPE '\\' OR v.words LIKE $8 ESCAPE '\\'))",
    ],
    /// Agent `$1`, if that user is one.
    agent_by_id: [agents, "AND u.id = $1"],
    /// The agents of account `$1`, by id.
    agents_of_account: [agents, "AND u.account_id = $1 ORDER BY u.id"],
    /// User `$1`'s account, and whether they are an agent.
    user_home: [
        "SELECT u.account_id, ",
        is_agent,
        "AS agent FROM users u WHERE u.id = $1",
    ],
    /// One conversation's card: `$2` its id.
    conversation_by_id: [card, "WHERE c.id = $2"],
    /// The inbox list: `$2` the account, `$3` the assignee (or NULL), `$4`
    /// the limit; newest activity first.
    conversations_of_account: [
        card,
        "WHERE c.account_id = $2 AND ($3 IS NULL OR c.assignee_id = $3) \
         ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC \
         LIMIT $4",
    ],
    /// The conversations of account `$2` that an access filter admits:
    /// those whose inbox's group is in `$3` (a JSON array of ids), and
    /// those assigned to user `$5` whose inbox's group is in `$4`; at most
    /// `$6`, newest activity first.
    conversations_admitted: [
        card,
        "JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $2 AND (i.group_id IN ",
        (ids "$3"),
        " OR (c.assignee_id = $5 AND i.group_id IN ",
        (ids "$4"),
        ")) ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC \
         LIMIT $6",
    ],
    /// [`conversations_admitted`](Dialect::conversations_admitted) in a
    /// folder: its conditions are `$7` to `$11` ([`folder_conditions!`]).
    conversations_in_folder: [
        card,
        "JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $2 AND (i.group_id IN ",
        (ids "$3"),
        " OR (c.assignee_id = $5 AND i.group_id IN ",
        (ids "$4"),
        "))",
        folder,
        "ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT $6",
    ],
    /// How many open conversations of a folder the filter admits (the
    /// parameters of [`conversations_in_folder`](Dialect::conversations_in_folder),
    /// `$6` unused but bound).
    folder_open_count: [
        "SELECT count(*) AS n, $6 AS unused FROM conversations c \
         JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $2 AND c.status = 'open' AND (i.group_id IN ",
        (ids "$3"),
        " OR (c.assignee_id = $5 AND i.group_id IN ",
        (ids "$4"),
        "))",
        folder,
    ],
    /// The contacts of account `$2` with a conversation in an inbox whose
    /// group is in `$3` (a JSON array of ids), whose handle or name
    /// matches the LIKE pattern `$4` (lower case, `\` its escape; NULL:
    /// any), older than contact `$5` (NULL: from the newest); newest first,
    /// at most `$6`.
    contacts_seen: [
        "SELECT k.id, k.account_id, k.handle, k.name, k.notes, k.created_at \
         FROM contacts k WHERE k.account_id = $2 \
         AND EXISTS (SELECT 1 FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
                     WHERE c.contact_id = k.id AND i.group_id IN ",
        (ids "$3"),
        ") AND ($4 IS NULL OR lower(k.handle) LIKE $4 ESCAPE '\\' \
              OR lower(COALESCE(k.name, '')) LIKE $4 ESCAPE '\\') \
         AND ($5 IS NULL OR k.id < $5) \
         ORDER BY k.id DESC LIMIT $6",
    ],
    /// The conversations of contact `$2`, newest activity first, at most
    /// `$3`.
    conversations_of_contact: [
        card,
        "WHERE c.contact_id = $2 \
         ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT $3",
    ],
    /// The columns `rows::lock_state` reads of conversation `$2`.
    lock_state: [lock, "WHERE c.id = $2"],
    /// The same, with the id, of every conversation in `$2` (a JSON array
    /// of ids) that exists.
    lock_states: [lock, "WHERE c.id IN ", (ids "$2")],
    /// Grants the active role on conversation `$3` to user `$4` through
    /// node `$5` for a lease of `$2` ms, when nobody holds a valid lease,
    /// or `$4` does (a re-grant), or `$6` (force); the epoch grows by one
    /// either way, so a write fenced by an earlier grant is refused.
    /// Returns the epoch.
    grant: [
        "UPDATE conversations \
         SET lock_holder = $4, lock_epoch = lock_epoch + 1, lock_node = $5, lock_until = ",
        lease_end,
        " WHERE id = $3 AND (lock_holder IS NULL OR lock_until IS NULL OR lock_until <= ",
        now,
        " OR lock_holder = $4 OR $6) \
         RETURNING lock_epoch",
    ],
    /// Extends by `$2` ms every lease granted through node `$3` that is
    /// still valid; returns those roles.
    renew: [
        "UPDATE conversations SET lock_until = ",
        lease_end,
        " WHERE lock_node = $3 AND lock_holder IS NOT NULL AND lock_until > ",
        now,
        " RETURNING id, lock_epoch",
    ],
    /// The user of login session `$2`, unless it expired.
    login_session_user: [
        "SELECT u.id, u.account_id, u.email, u.name, u.role, u.capacity, u.created_at, u.deactivated_at \
         FROM login_sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $2 AND u.deactivated_at IS NULL AND s.expires_at > ",
        now,
    ],
    /// `$2` token hash, `$3` user, `$4` expiry.
    login_session_insert: [
        "INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) \
         VALUES ($2, $3, ",
        stamp,
        ", $4)",
    ],
    /// `$2` token hash, `$3` user, `$4` expiry: made only while user `$3`
    /// is active and their password hash is still `$5`. The user's row is
    /// locked for the statement, so a password change or deactivation
    /// under way is waited for and seen.
    login_session_insert_verified: [
        "INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) \
         SELECT $2, u.id, ",
        stamp,
        ", $4 FROM users u \
         WHERE u.id = $3 AND u.password_hash = $5 AND u.deactivated_at IS NULL",
        for_share,
    ],
    /// A pending TOTP setup of user `$2` with sealed secret `$3`,
    /// replacing a pending one; changes nothing while 2FA is on.
    two_factor_begin: [
        "INSERT INTO two_factor (user_id, secret, created_at) VALUES ($2, $3, ",
        stamp,
        ") ON CONFLICT (user_id) DO UPDATE \
         SET secret = excluded.secret, created_at = excluded.created_at, last_step = NULL \
         WHERE two_factor.confirmed_at IS NULL",
    ],
    /// Turns on user `$2`'s pending setup of sealed secret `$3`, step `$4`
    /// accepted.
    two_factor_confirm: [
        "UPDATE two_factor SET confirmed_at = ",
        stamp,
        ", last_step = $4 WHERE user_id = $2 AND secret = $3 AND confirmed_at IS NULL",
    ],
    /// Key `$3`'s failed logins within the window of `$2` ms: how many,
    /// the oldest, and the time now.
    login_failures_count: [
        "SELECT key, count(*) AS failures, min(at) AS oldest, ",
        now,
        " AS now FROM login_failures WHERE key = $3 AND at > ",
        window_start,
        " GROUP BY key",
    ],
    /// Waits for the lock of login throttling key `$2` ([`key_lock!`]).
    login_key_lock: [key_lock],
    /// Login attempt `$3` under key `$2`, now (a failure until released).
    login_attempt_insert: [
        "INSERT INTO login_failures (key, at, attempt) VALUES ($2, ",
        stamp,
        ", $3)",
    ],
    /// Forgets every failed login older than the window of `$2` ms.
    login_failures_prune: [
        "DELETE FROM login_failures WHERE at <= ",
        window_start,
    ],
    /// Taken first by the first-run setup (see [`first_run_lock!`]).
    first_run_lock: [first_run],
    /// `$2` id, `$3` name; returns what `rows::account` reads.
    account_insert: [
        "INSERT INTO accounts (id, name, created_at) VALUES ($2, $3, ",
        stamp,
        ") RETURNING id, name, created_at",
    ],
    /// The root group `$2` of account `$3`, named `$4`.
    root_group_insert: [
        "INSERT INTO groups (id, account_id, name, parent_id, created_at) \
         VALUES ($2, $3, $4, NULL, ",
        stamp,
        ")",
    ],
    /// Group `$2` named `$3` under group `$4` of account `$5`; returns
    /// what `rows::group` reads, or nothing when `$4` is not a group of
    /// that account.
    group_insert: [
        "INSERT INTO groups (id, account_id, name, parent_id, created_at) \
         SELECT $2, account_id, $3, id, ",
        stamp,
        " FROM groups WHERE id = $4 AND account_id = $5 \
         RETURNING id, account_id, name, parent_id",
    ],
    /// Audit entry `$2` of account `$3`: actor `$4` (NULL: the command
    /// line), action `$5`, target user `$6`, detail `$7`; returns it.
    audit_insert: [
        "INSERT INTO audit_log (id, account_id, at, actor_id, action, target_user_id, detail) \
         VALUES ($2, $3, ",
        stamp,
        ", $4, $5, $6, $7) \
         RETURNING id, account_id, at, actor_id, action, target_user_id, detail",
    ],
    /// Template `$2` of account `$3` in group `$4` (only a group of that
    /// account: else nothing is inserted or returned), named `$5`, with
    /// shortcut `$6` and body `$7`.
    template_insert: [
        "INSERT INTO templates (id, account_id, group_id, name, shortcut, body, created_at) \
         SELECT $2, $3, g.id, $5, $6, $7, ",
        stamp,
        " FROM groups g WHERE g.id = $4 AND g.account_id = $3 \
         RETURNING id, account_id, group_id, name, shortcut, body, created_at",
    ],
    /// Folder `$2` of user `$3` (of account `$4`), named `$5`, with filter
    /// `$6` (its JSON), unless the user has `$7` folders already (then
    /// nothing is inserted or returned).
    folder_insert: [
        "INSERT INTO folders (id, account_id, user_id, name, filter, created_at) \
         SELECT $2, $4, $3, $5, $6, ",
        stamp,
        " WHERE (SELECT count(*) FROM folders f WHERE f.user_id = $3) < $7 \
         RETURNING id, account_id, user_id, name, filter, created_at",
    ],
    /// Custom role `$2` of account `$3`, named `$4`, with the permission
    /// ids `$5` (separated by spaces).
    custom_role_insert: [
        "INSERT INTO custom_roles (id, account_id, name, permissions, created_at) \
         VALUES ($2, $3, $4, $5, ",
        stamp,
        ")",
    ],
    /// Invitation `$3` of account `$4` to email `$5` with token hash `$6`,
    /// grants `$7`, by `$8`, its mail `$9`; valid for `$2` ms.
    invitation_insert: [
        "INSERT INTO invitations (id, account_id, email, token_hash, grants, status, \
                                  invited_by, mail_id, created_at, expires_at) \
         VALUES ($3, $4, $5, $6, $7, 'pending', $8, $9, ",
        stamp,
        ", ",
        lease_end,
        ")",
    ],
    /// The invitations (`invitation_row` reads them) with id `$2` (NULL:
    /// any) of account `$3` (NULL: any), of status `$4` (NULL: any; a
    /// pending one past its time is `expired`), newest first.
    invitations_select: [
        "SELECT * FROM (SELECT i.id, i.account_id, i.email, i.grants, i.invited_by, \
                i.created_at, i.expires_at, i.user_id, a.name AS account_name, \
                m.status AS mail_status, \
                CASE WHEN i.status = 'pending' AND i.expires_at <= ",
        now,
        " THEN 'expired' ELSE i.status END AS status \
         FROM invitations i JOIN accounts a ON a.id = i.account_id \
         LEFT JOIN mail_outbox m ON m.id = i.mail_id \
         WHERE ($2 IS NULL OR i.id = $2) AND ($3 IS NULL OR i.account_id = $3)) v \
         WHERE ($4 IS NULL OR v.status = $4) ORDER BY v.created_at DESC, v.id DESC",
    ],
    /// The invitation of token hash `$2`, as `invitations_select` reads it.
    invitation_by_token: [
        "SELECT i.id, i.account_id, i.email, i.grants, i.invited_by, \
                i.created_at, i.expires_at, i.user_id, a.name AS account_name, \
                m.status AS mail_status, \
                CASE WHEN i.status = 'pending' AND i.expires_at <= ",
        now,
        " THEN 'expired' ELSE i.status END AS status \
         FROM invitations i JOIN accounts a ON a.id = i.account_id \
         LEFT JOIN mail_outbox m ON m.id = i.mail_id \
         WHERE i.token_hash = $2",
    ],
    /// Pending invitations past their time become `expired` (so that
    /// their addresses may be invited again).
    invitations_expire: [
        "UPDATE invitations SET status = 'expired' WHERE status = 'pending' AND expires_at <= ",
        now,
    ],
    /// Accepts the pending, unexpired invitation of token hash `$2`;
    /// returns its id.
    invitation_accept: [
        "UPDATE invitations SET status = 'accepted', accepted_at = ",
        stamp,
        " WHERE token_hash = $2 AND status = 'pending' AND expires_at > ",
        now,
        " RETURNING id",
    ],
    /// Invitation `$4` (pending or expired) gets token hash `$3`, `$2` ms
    /// from now and mail `$5`; returns whether it had expired.
    invitation_resend: [
        "UPDATE invitations SET token_hash = $3, mail_id = $5, status = 'pending', expires_at = ",
        lease_end,
        " WHERE id = $4 AND (status = 'pending' OR status = 'expired') \
         RETURNING id",
    ],
    /// Whether invitation `$2` is pending and unexpired (it holds a seat).
    invitation_holds_seat: [
        "SELECT count(*) AS n FROM invitations \
         WHERE id = $2 AND status = 'pending' AND expires_at > ",
        now,
    ],
    /// How many pending, unexpired invitations of account `$2` are to
    /// email `$3`.
    invitations_pending_to: [
        "SELECT count(*) AS n FROM invitations \
         WHERE account_id = $2 AND email = $3 AND status = 'pending' AND expires_at > ",
        now,
    ],
    /// How many pending, unexpired invitations of account `$2` have a
    /// grant matching `$3`: a `LIKE` pattern over their grants text with
    /// a space before and after (`% role@%`, `%@group %`).
    invitations_naming: [
        "SELECT count(*) AS n FROM invitations \
         WHERE account_id = $2 AND status = 'pending' \
           AND (' ' || grants || ' ') LIKE $3 AND expires_at > ",
        now,
    ],
    /// The seats of account `$2` in use: its active users and its pending,
    /// unexpired invitations; and its plan's cap.
    seats: [
        "SELECT a.seat_limit, \
                (SELECT count(*) FROM users u \
                  WHERE u.account_id = a.id AND u.deactivated_at IS NULL) \
              + (SELECT count(*) FROM invitations i \
                  WHERE i.account_id = a.id AND i.status = 'pending' AND i.expires_at > ",
        now,
        ") AS used FROM accounts a WHERE a.id = $2",
    ],
    /// Mail `$2` of account `$3` to `$4`, message `$5`, due now.
    mail_insert: [
        "INSERT INTO mail_outbox (id, account_id, recipient, message, status, attempts, \
                                  next_attempt_at, created_at) \
         VALUES ($2, $3, $4, $5, 'queued', 0, ",
        stamp,
        ", ",
        stamp,
        ")",
    ],
    /// The ids of at most `$2` queued mails that are due and unclaimed,
    /// the longest due first.
    mails_due: [
        "SELECT id FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ",
        now,
        " AND (lease_until IS NULL OR lease_until <= ",
        now,
        ") ORDER BY next_attempt_at, id LIMIT $2",
    ],
    /// Claims mail `$4` for `$2` ms as `$3`, if it is still due and
    /// unclaimed (a try more); returns it.
    mail_claim: [
        "UPDATE mail_outbox SET claim = $3, attempts = attempts + 1, lease_until = ",
        lease_end,
        " WHERE id = $4 AND status = 'queued' AND next_attempt_at <= ",
        now,
        " AND (lease_until IS NULL OR lease_until <= ",
        now,
        ") RETURNING id, claim, recipient, message, attempts",
    ],
    /// Mail `$2`, claimed as `$3`, went out.
    mail_sent: [
        "UPDATE mail_outbox SET status = 'sent', sent_at = ",
        stamp,
        ", message = NULL, lease_until = NULL, claim = NULL, last_error = NULL \
         WHERE id = $2 AND claim = $3 AND status = 'queued'",
    ],
    /// Mail `$3`, claimed as `$4`, failed with `$5`: tried again `$2` ms
    /// from now.
    mail_retry: [
        "UPDATE mail_outbox SET lease_until = NULL, claim = NULL, last_error = $5, \
                next_attempt_at = ",
        lease_end,
        " WHERE id = $3 AND claim = $4 AND status = 'queued'",
    ],
    /// `$2` id, `$3` account, `$4` email (lowercased), `$5` name, `$6`
    /// role, `$7` capacity, `$8` password hash; returns what `rows::user`
    /// reads.
    user_insert: [
        "INSERT INTO users \
         (id, account_id, email, name, role, capacity, password_hash, created_at) \
         VALUES ($2, $3, $4, $5, $6, $7, $8, ",
        stamp,
        ") RETURNING id, account_id, email, name, role, capacity, created_at, deactivated_at",
    ],
    /// `$2` id, `$3` account, `$4` name, `$5` channel, `$6` key hash; in
    /// the account's root group. Returns what `rows::inbox` reads, or
    /// nothing for an account without one (an unknown account).
    inbox_insert: [
        "INSERT INTO inboxes (id, account_id, name, channel, key_hash, group_id, created_at) \
         SELECT $2, $3, $4, $5, $6, id, ",
        stamp,
        " FROM groups WHERE account_id = $3 AND parent_id IS NULL \
         RETURNING id, account_id, name, channel, group_id, created_at",
    ],
    /// Contact `$4` of account `$3` (new id `$2`), its name set to `$5`
    /// when the channel gives one; returns its id.
    contact_upsert: [
        "INSERT INTO contacts (id, account_id, handle, name, created_at) \
         VALUES ($2, $3, $4, $5, ",
        stamp,
        ") ON CONFLICT (account_id, handle) \
         DO UPDATE SET name = COALESCE(excluded.name, contacts.name) \
         RETURNING id",
    ],
    /// Conversation `$2` of account `$3` in inbox `$4` with contact `$5`,
    /// unless that contact has one in that inbox.
    conversation_insert: [
        "INSERT INTO conversations (id, account_id, inbox_id, contact_id, created_at) \
         VALUES ($2, $3, $4, $5, ",
        stamp,
        ") ON CONFLICT (inbox_id, contact_id) DO NOTHING",
    ],
    /// Takes the next seq of the open conversation of inbox `$2` and
    /// contact `$3` and records its activity now; the row lock this takes
    /// orders the seq against every other writer of the row.
    bump_open: [
        "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = ",
        stamp,
        " WHERE inbox_id = $2 AND contact_id = $3 AND status = 'open' \
         RETURNING id, last_seq, last_message_at, status",
    ],
    /// `bump_open` of the conversation whatever its status.
    bump_any: [
        "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = ",
        stamp,
        " WHERE inbox_id = $2 AND contact_id = $3 \
         RETURNING id, last_seq, last_message_at, status",
    ],
    // API keys (docs/MODULES.md, "API keys").
    /// API key `$2` of account `$3` named `$4`, shown as `$5`, its secret's
    /// hash `$6`, made by `$7` (NULL: the command line).
    api_key_insert: [
        "INSERT INTO api_keys (id, account_id, name, prefix, key_hash, created_by, created_at) \
         VALUES ($2, $3, $4, $5, $6, $7, ",
        stamp,
        ") RETURNING id, account_id, name, prefix, created_by, created_at, last_used_at",
    ],
    /// Revokes live API key `$2` of account `$3`.
    api_key_revoke: [
        "UPDATE api_keys SET revoked_at = ",
        stamp,
        " WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL \
         RETURNING id, account_id, name, prefix, created_by, created_at, last_used_at",
    ],
    /// Records a use of live API key `$3` now, unless one was recorded in
    /// the last `$2` ms.
    api_key_touch: [
        "UPDATE api_keys SET last_used_at = ",
        stamp,
        " WHERE id = $3 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ",
        window_start,
        ")",
    ],
    // webhooks (docs/MODULES.md, "Webhooks")
    /// Webhook `$2` of account `$3`: url `$4`, events `$5`, sealed secret
    /// `$6`, with bodies `$7`, made by `$8`.
    webhook_insert: [
        "INSERT INTO webhooks (id, account_id, url, events, secret_sealed, include_bodies, \
                               active, created_by, created_at) \
         VALUES ($2, $3, $4, $5, $6, $7, true, $8, ",
        stamp,
        ") RETURNING id, account_id, url, events, include_bodies, active, created_by, created_at",
    ],
    /// The ids of at most `$2` deliveries a sender may claim now: pending,
    /// of an active webhook, due, unclaimed or with a lapsed claim, and
    /// with no earlier pending delivery of the same webhook and
    /// conversation (a conversation's creation first, then by `seq`).
    deliveries_due: [
        "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.state = 'pending' AND w.active = true \
           AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ",
        now,
        ") AND (d.lease_until IS NULL OR d.lease_until <= ",
        now,
        ") AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
               WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id \
                 AND e.state = 'pending' \
                 AND (e.rank < d.rank OR (e.rank = d.rank AND e.seq < d.seq))) \
         ORDER BY d.seq LIMIT $2",
    ],
    /// Claims delivery `$4` for `$2` ms as `$3` if `deliveries_due` would
    /// still name it (a try more; its webhook still active).
    delivery_claim: [
        "UPDATE webhook_deliveries SET claim = $3, attempts = attempts + 1, lease_until = ",
        lease_end,
        " WHERE id = $4 AND state = 'pending' \
           AND (next_attempt_at IS NULL OR next_attempt_at <= ",
        now,
        ") AND (lease_until IS NULL OR lease_until <= ",
        now,
        ") AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
               WHERE e.webhook_id = webhook_deliveries.webhook_id \
                 AND e.conversation_id = webhook_deliveries.conversation_id \
                 AND e.state = 'pending' \
                 AND (e.rank < webhook_deliveries.rank \
                      OR (e.rank = webhook_deliveries.rank AND e.seq < webhook_deliveries.seq))) \
           AND EXISTS (SELECT 1 FROM webhooks w \
               WHERE w.id = webhook_deliveries.webhook_id AND w.active = true) \
         RETURNING id",
    ],
    /// Delivery `$2`, claimed as `$3`, ends in state `$4`.
    delivery_finish: [
        "UPDATE webhook_deliveries SET state = $4, finished_at = ",
        stamp,
        ", lease_until = NULL, claim = NULL \
         WHERE id = $2 AND claim = $3 AND state = 'pending'",
    ],
    /// Delivery `$3`, claimed as `$4`, is tried again `$2` ms from now.
    delivery_retry: [
        "UPDATE webhook_deliveries SET lease_until = NULL, claim = NULL, next_attempt_at = ",
        lease_end,
        " WHERE id = $3 AND claim = $4 AND state = 'pending'",
    ],
    // Statistics (docs/MODULES.md, "Statistics", and `statistics.rs`):
    // `$2` and `$3` the window `[from, to)`, `$4` the account, `$5` the
    // inboxes (a JSON array of ids). Messages are read per
    // conversation of those inboxes active in the window (created before
    // its end, last written to after its start; a conversation is created
    // with its first message: `conversations_inbox_activity`), from
    // `messages_statistics`: the conversation is the outer loop (SQLite
    // keeps a CROSS JOIN's order), so the work follows the traffic of the
    // inboxes counted in the window, not the table's.
    /// Messages in and out of the window.
    statistics_messages: [
        "SELECT count(CASE WHEN m.direction = 'inbound' THEN 1 END) AS inbound, \
                count(CASE WHEN m.direction = 'outbound' THEN 1 END) AS outbound \
         FROM conversations c CROSS JOIN messages m \
         WHERE c.inbox_id IN (SELECT i.id FROM inboxes i WHERE i.account_id = $4 AND i.id IN ",
        (ids "$5"),
        ") AND c.last_message_at >= $2 AND c.created_at < $3 \
           AND m.conversation_id = c.id AND m.created_at >= $2 AND m.created_at < $3",
    ],
    /// Messages in and out of the window, per inbox.
    statistics_messages_by_inbox: [
        "SELECT c.inbox_id, \
                count(CASE WHEN m.direction = 'inbound' THEN 1 END) AS inbound, \
                count(CASE WHEN m.direction = 'outbound' THEN 1 END) AS outbound \
         FROM conversations c CROSS JOIN messages m \
         WHERE c.inbox_id IN (SELECT i.id FROM inboxes i WHERE i.account_id = $4 AND i.id IN ",
        (ids "$5"),
        ") AND c.last_message_at >= $2 AND c.created_at < $3 \
           AND m.conversation_id = c.id AND m.created_at >= $2 AND m.created_at < $3 \
         GROUP BY c.inbox_id",
    ],
    /// Messages in and out of the window, per UTC day (`day`: days since
    /// 1970-01-01): one pass over the range for every day bucket.
    statistics_messages_by_day: [
        "SELECT ",
        utc_day,
        " AS day, \
                count(CASE WHEN m.direction = 'inbound' THEN 1 END) AS inbound, \
                count(CASE WHEN m.direction = 'outbound' THEN 1 END) AS outbound \
         FROM conversations c CROSS JOIN messages m \
         WHERE c.inbox_id IN (SELECT i.id FROM inboxes i WHERE i.account_id = $4 AND i.id IN ",
        (ids "$5"),
        ") AND c.last_message_at >= $2 AND c.created_at < $3 \
           AND m.conversation_id = c.id AND m.created_at >= $2 AND m.created_at < $3 \
         GROUP BY 1",
    ],
    /// The messages each agent wrote in the window.
    statistics_messages_by_agent: [
        "SELECT m.author_id, count(*) AS outbound \
         FROM conversations c CROSS JOIN messages m \
         WHERE c.inbox_id IN (SELECT i.id FROM inboxes i WHERE i.account_id = $4 AND i.id IN ",
        (ids "$5"),
        ") AND c.last_message_at >= $2 AND c.created_at < $3 \
           AND m.conversation_id = c.id AND m.created_at >= $2 AND m.created_at < $3 \
           AND m.direction = 'outbound' AND m.author_id IS NOT NULL \
         GROUP BY m.author_id",
    ],
    /// The spells opened in the window, with their first customer message
    /// and first response.
    statistics_opened: [
        "SELECT s.first_inbound_at, s.first_response_at FROM conversation_spells s \
         JOIN inboxes i ON i.id = s.inbox_id \
         WHERE s.opened_at >= $2 AND s.opened_at < $3 AND i.account_id = $4 \
           AND s.inbox_id IN ",
        (ids "$5"),
    ],
    /// The spells opened in the window with a first response, by
    /// responder (every agent's at once).
    statistics_opened_by_agent: [
        "SELECT s.responder_id, s.first_inbound_at, s.first_response_at \
         FROM conversation_spells s JOIN inboxes i ON i.id = s.inbox_id \
         WHERE s.opened_at >= $2 AND s.opened_at < $3 AND i.account_id = $4 \
           AND s.responder_id IS NOT NULL AND s.inbox_id IN ",
        (ids "$5"),
    ],
    /// The spells resolved in the window while assigned, by assignee
    /// (every agent's at once).
    statistics_resolved_by_agent: [
        "SELECT s.resolved_assignee_id, s.opened_at, s.resolved_at \
         FROM conversation_spells s JOIN inboxes i ON i.id = s.inbox_id \
         WHERE s.resolved_at >= $2 AND s.resolved_at < $3 AND i.account_id = $4 \
           AND s.resolved_assignee_id IS NOT NULL AND s.inbox_id IN ",
        (ids "$5"),
    ],
    /// The spells resolved in the window, with their openings.
    statistics_resolved: [
        "SELECT s.opened_at, s.resolved_at FROM conversation_spells s \
         JOIN inboxes i ON i.id = s.inbox_id \
         WHERE s.resolved_at >= $2 AND s.resolved_at < $3 AND i.account_id = $4 \
           AND s.inbox_id IN ",
        (ids "$5"),
    ],
}

/// The message columns `rows::message` reads; the condition follows.
macro_rules! message_select {
    () => {
        "SELECT m.id, m.conversation_id, m.seq, m.direction, m.author_id, \
                u.name AS author_name, m.body, m.created_at \
         FROM messages m LEFT JOIN users u ON u.id = m.author_id "
    };
}

/// The conversation columns `rows::route` reads; the condition follows.
macro_rules! route_select {
    () => {
        "SELECT c.id, c.account_id, c.status, c.assignee_id, c.queue_key FROM conversations c "
    };
}

/// The user `u` has no console open and has had none since `$1` or earlier
/// (one who never connected: since they were created).
macro_rules! offline_since {
    () => {
        "NOT EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) \
         AND COALESCE(u.offline_since, u.created_at) <= $1 "
    };
}

/// The columns `rows::team_member` reads: a team with one member per row
/// (none: one row, member NULL); the condition follows.
macro_rules! team_select {
    () => {
        "SELECT t.id, t.account_id, t.name, m.user_id AS member \
         FROM teams t LEFT JOIN team_members m ON m.team_id = t.id "
    };
}

/// A removed user (migration 0009) is found by no lookup but their
/// messages' author names.
pub(crate) const USER_BY_ID: &str = "SELECT id, account_id, email, name, role, capacity, created_at, deactivated_at FROM users WHERE id = $1 AND removed_at IS NULL";
pub(crate) const USER_BY_EMAIL: &str = "SELECT id, account_id, email, name, role, capacity, created_at, deactivated_at, password_hash \
     FROM users WHERE email = $1";
pub(crate) const LOGIN_SESSION_DELETE: &str = "DELETE FROM login_sessions WHERE token_hash = $1";
pub(crate) const INBOX_BY_ID: &str =
    "SELECT id, account_id, name, channel, group_id, created_at FROM inboxes WHERE id = $1";
pub(crate) const INBOX_BY_KEY: &str =
    "SELECT id, account_id, name, channel, group_id, created_at FROM inboxes WHERE key_hash = $1";
pub(crate) const ACCOUNTS: &str =
    "SELECT id, name, created_at FROM accounts ORDER BY created_at, id";
pub(crate) const ACCOUNT_BY_ID: &str = "SELECT id, name, created_at FROM accounts WHERE id = $1";
pub(crate) const USERS_OF_ACCOUNT: &str = "SELECT id, account_id, email, name, role, capacity, created_at, deactivated_at \
     FROM users WHERE account_id = $1 AND removed_at IS NULL ORDER BY created_at, id";
pub(crate) const INBOXES_OF_ACCOUNT: &str = "SELECT id, account_id, name, channel, group_id, created_at \
     FROM inboxes WHERE account_id = $1 ORDER BY created_at, id";
/// `$1` user, `$2` the new name.
pub(crate) const RENAME_USER: &str = "UPDATE users SET name = $2 WHERE id = $1 \
     RETURNING id, account_id, email, name, role, capacity, created_at, deactivated_at";
/// `$1` inbox, `$2` the new name.
pub(crate) const RENAME_INBOX: &str = "UPDATE inboxes SET name = $2 WHERE id = $1 \
     RETURNING id, account_id, name, channel, group_id, created_at";
/// Every account's access stamp (migration 0005).
pub(crate) const ACCESS_STAMPS: &str = "SELECT id, access_stamp FROM accounts";
pub(crate) const TWO_FACTOR_SECRETS_EXIST: &str =
    "SELECT count(*) AS n FROM (SELECT 1 FROM two_factor LIMIT 1) AS any_secret";
pub(crate) const ACCESS_STAMP: &str = "SELECT id, access_stamp FROM accounts WHERE id = $1";
/// `$1` user, `$2` the new hash.
pub(crate) const SET_PASSWORD: &str = "UPDATE users SET password_hash = $2 WHERE id = $1";
pub(crate) const LOGIN_SESSIONS_OF_USER_DELETE: &str =
    "DELETE FROM login_sessions WHERE user_id = $1";
/// `$1` inbox, `$2` the new key's hash.
pub(crate) const SET_INBOX_KEY: &str = "UPDATE inboxes SET key_hash = $2 WHERE id = $1 \
     RETURNING id, account_id, name, channel, group_id, created_at";
/// A grant of role `$2` to user `$1` at the root group of account `$3`.
pub(crate) const ROOT_GRANT_INSERT: &str = "INSERT INTO grants (user_id, role, group_id) \
     SELECT $1, $2, id FROM groups WHERE account_id = $3 AND parent_id IS NULL";
pub(crate) const INBOX_ACCOUNT: &str = "SELECT account_id FROM inboxes WHERE id = $1";

/// `$1` conversation, `$2` after this seq, `$3` limit.
pub(crate) const MESSAGES_AFTER: &str = concat!(
    message_select!(),
    "WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3"
);
/// The newest `$2` of conversation `$1`, newest first.
pub(crate) const RECENT_MESSAGES: &str = concat!(
    message_select!(),
    "WHERE m.conversation_id = $1 ORDER BY m.seq DESC LIMIT $2"
);
pub(crate) const MESSAGE_BY_CLIENT_ID: &str = concat!(
    message_select!(),
    "WHERE m.conversation_id = $1 AND m.client_msg_id = $2"
);
/// A customer's message: `$1` conversation, `$2` seq, `$3` id, `$4` body,
/// `$5` time.
pub(crate) const INBOUND_INSERT: &str = "INSERT INTO messages (conversation_id, seq, id, direction, body, created_at) \
     VALUES ($1, $2, $3, 'inbound', $4, $5)";
pub(crate) const CONVERSATION_EXISTS: &str = "SELECT 1 FROM conversations WHERE id = $1";

/// Ends user `$2`'s role on conversation `$1` granted at epoch `$3`. The
/// epoch stays: it only ever grows.
pub(crate) const LOCK_RELEASE: &str = "UPDATE conversations SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
     WHERE id = $1 AND lock_holder = $2 AND lock_epoch = $3";
pub(crate) const NODE_LOCKS_RELEASE: &str = "UPDATE conversations SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
     WHERE lock_node = $1 AND lock_holder IS NOT NULL \
     RETURNING id";
pub(crate) const LOCKS_RELEASE_EXCEPT: &str = "UPDATE conversations SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
     WHERE lock_holder IS NOT NULL AND (lock_node IS NULL OR lock_node <> $1)";

pub(crate) const ROUTE_BY_ID: &str = concat!(route_select!(), "WHERE c.id = $1");
pub(crate) const QUEUE: &str = "SELECT c.id, c.queue_key, c.inbox_id, i.team_id \
     FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
     WHERE c.account_id = $1 AND c.queue_key IS NOT NULL ORDER BY c.queue_key";
pub(crate) const QUEUED_AFTER: &str = "SELECT id FROM conversations \
     WHERE account_id = $1 AND queue_key > $2 ORDER BY queue_key";
pub(crate) const TEAM_MEMBERS_OF_ACCOUNT: &str = "SELECT m.team_id, m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id \
     WHERE t.account_id = $1";
pub(crate) const WRITE_CONVERSATION: &str =
    "UPDATE conversations SET status = $2, assignee_id = $3, queue_key = $4 WHERE id = $1";
/// The account's lock is held: no other arrival can take this key.
pub(crate) const ENQUEUE: &str = "UPDATE conversations SET status = 'open', assignee_id = NULL, \
            queue_key = (SELECT COALESCE(max(q.queue_key), 0) + 1 FROM conversations q \
                          WHERE q.account_id = $2 AND q.queue_key IS NOT NULL) \
     WHERE id = $1 RETURNING queue_key";
/// `$1` conversation, `$2` kind, `$3` assignee, `$4` actor, `$5` time.
/// An actor who is no user (an API key) is logged as none.
pub(crate) const LOG_LINE: &str = "INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
     VALUES ($1, $2, $3, (SELECT u.id FROM users u WHERE u.id = $4), $5)";
pub(crate) const ASSIGNMENT_LOG: &str = "SELECT kind, assignee_id, actor_id, at \
     FROM assignment_log WHERE conversation_id = $1 ORDER BY id";
pub(crate) const SET_CAPACITY: &str = "UPDATE users SET capacity = $2 WHERE id = $1";
pub(crate) const SET_AVAILABILITY: &str = "UPDATE users SET availability = $2 WHERE id = $1";
pub(crate) const CLOSE_CONSOLE: &str =
    "DELETE FROM agent_sessions WHERE user_id = $1 AND node_id = $2";
pub(crate) const CLOSE_CONSOLES_ON: &str =
    "DELETE FROM agent_sessions WHERE node_id = $1 RETURNING user_id";
pub(crate) const CLOSE_CONSOLES_EXCEPT: &str =
    "DELETE FROM agent_sessions WHERE node_id <> $1 RETURNING user_id";

/// The account's teams by name, members by id.
pub(crate) const TEAMS_OF_ACCOUNT: &str = concat!(
    team_select!(),
    "WHERE t.account_id = $1 ORDER BY t.name, t.id, m.user_id"
);
pub(crate) const TEAM_BY_ID: &str = concat!(team_select!(), "WHERE t.id = $1 ORDER BY m.user_id");
/// `$1` id, `$2` account, `$3` name, `$4` time.
pub(crate) const TEAM_INSERT: &str =
    "INSERT INTO teams (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)";
pub(crate) const TEAM_MEMBERS_DELETE: &str = "DELETE FROM team_members WHERE team_id = $1";
/// Its inboxes' `team_id` is set NULL by the foreign key.
pub(crate) const TEAM_DELETE: &str = "DELETE FROM teams WHERE id = $1";
pub(crate) const SET_INBOX_TEAM: &str = "UPDATE inboxes SET team_id = $2 WHERE id = $1";

/// Accounts with open conversations of agents offline since `$1`.
pub(crate) const ACCOUNTS_OFFLINE_SINCE: &str = concat!(
    "SELECT DISTINCT u.account_id FROM users u WHERE ",
    offline_since!(),
    "AND u.open_load > 0"
);
/// Those conversations of account `$2`, oldest first.
pub(crate) const OFFLINE_ASSIGNED: &str = concat!(
    route_select!(),
    "JOIN users u ON u.id = c.assignee_id \
     WHERE c.account_id = $2 AND c.status = 'open' AND ",
    offline_since!(),
    "ORDER BY c.created_at, c.id"
);
