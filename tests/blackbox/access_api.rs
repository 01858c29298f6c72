//! The access model's REST API against a real server (docs/ACCESS.md,
//! "REST"): who I am, roles, groups, grants without escalation, not found
//! versus forbidden across accounts and groups, and conversations listed
//! and read as the policy allows (Sales sees only their own; bodies are
//! null without `messages.read_bodies`).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Fixture, TestServer};

/// The API of one server, for one token at a time.
struct Api<'a> {
    server: &'a TestServer,
}

impl Api<'_> {
    async fn call(&self, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
        self.server.call(token, method, path, body).await
    }

    /// A call that must succeed with `status`; its answer.
    async fn ok(&self, token: &str, method: &str, path: &str, body: Value, status: u16) -> Value {
        let (got, answer) = self.call(token, method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }

    /// A call that must be refused with `status` and `code`.
    async fn refused(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Value,
        status: u16,
        code: &str,
    ) {
        let (got, answer) = self.call(token, method, path, body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
    }

    async fn root(&self, token: &str) -> Uuid {
        self.server.root_group(token).await
    }

    async fn group(&self, token: &str, name: &str, parent: Uuid) -> Uuid {
        let body = json!({"name": name, "parent_id": parent});
        id(&self.ok(token, "POST", "/v1/groups", body, 201).await["id"])
    }

    async fn grant(&self, token: &str, user: Uuid, grants: Value) -> Value {
        let path = format!("/v1/users/{user}/grants");
        self.ok(token, "PUT", &path, grants, 200).await
    }
}

fn id(value: &Value) -> Uuid {
    value.as_str().expect("an id").parse().expect("a uuid")
}

fn ids(list: &Value, field: &str) -> Vec<Uuid> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| id(&item[field]))
        .collect()
}

#[tokio::test]
async fn me_tells_my_account_grants_and_permissions_and_the_catalogue_is_listed() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let api = Api { server: &fx.server };
    let catalogue = api
        .ok(&fx.owner.token, "GET", "/v1/permissions", Value::Null, 200)
        .await;
    let catalogue: Vec<&str> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(!p["description"].as_str().unwrap().is_empty());
            p["id"].as_str().unwrap()
        })
        .collect();
    assert!(catalogue.contains(&"messages.read_bodies"));

    let me = api
        .ok(&fx.owner.token, "GET", "/v1/me", Value::Null, 200)
        .await;
    assert_eq!(id(&me["user"]["id"]), fx.owner.id);
    assert_eq!(id(&me["account"]["id"]), fx.account);
    let root = api.root(&fx.owner.token).await;
    assert_eq!(me["grants"], json!([{"role": "owner", "group_id": root}]));
    let held: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(held, catalogue, "the owner holds every permission");

    let operator = &fx.agents[0];
    let me = api
        .ok(&operator.token, "GET", "/v1/me", Value::Null, 200)
        .await;
    assert_eq!(
        me["grants"],
        json!([{"role": "operator", "group_id": root}])
    );
    let roles = api
        .ok(&operator.token, "GET", "/v1/roles", Value::Null, 200)
        .await;
    let operator_role = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "operator")
        .expect("the built-in operator role");
    assert_eq!(operator_role["builtin"], true);
    assert_eq!(me["permissions"], operator_role["permissions"]);
}

#[tokio::test]
async fn custom_roles_are_created_edited_and_deleted_but_built_ins_never_change() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let api = Api { server: &fx.server };
    let owner = &fx.owner.token;
    let agent = &fx.agents[0];
    let body = json!({"name": "Night shift", "permissions": ["conversations.view"]});
    let role = api.ok(owner, "POST", "/v1/roles", body.clone(), 201).await;
    assert_eq!(role["builtin"], false);
    assert_eq!(role["permissions"], json!(["conversations.view"]));
    let role_id = id(&role["id"]);
    api.refused(owner, "POST", "/v1/roles", body, 409, "conflict")
        .await;
    let bad = json!({"name": "Odd", "permissions": ["root"]});
    api.refused(owner, "POST", "/v1/roles", bad, 400, "bad_request")
        .await;
    let as_operator = json!({"name": "Mine", "permissions": []});
    api.refused(
        &agent.token,
        "POST",
        "/v1/roles",
        as_operator,
        403,
        "forbidden",
    )
    .await;

    let path = format!("/v1/roles/{role_id}");
    let edit = json!({"name": "Late shift", "permissions": ["conversations.view", "messages.read_bodies"]});
    let edited = api.ok(owner, "PATCH", &path, edit, 200).await;
    assert_eq!(edited["name"], "Late shift");
    let roles = api.ok(owner, "GET", "/v1/roles", Value::Null, 200).await;
    let listed = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == role_id.to_string());
    assert_eq!(listed.unwrap()["permissions"], edited["permissions"]);

    for builtin in ["operator", "viewer", "owner"] {
        let path = format!("/v1/roles/{builtin}");
        let edit = json!({"name": "Mine"});
        api.refused(owner, "PATCH", &path, edit, 403, "forbidden")
            .await;
        api.refused(owner, "DELETE", &path, Value::Null, 403, "forbidden")
            .await;
    }

    let root = api.root(owner).await;
    api.grant(
        owner,
        agent.id,
        json!([{"role": role_id, "group_id": root}]),
    )
    .await;
    api.refused(owner, "DELETE", &path, Value::Null, 409, "conflict")
        .await;
    api.grant(
        owner,
        agent.id,
        json!([{"role": "operator", "group_id": root}]),
    )
    .await;
    api.ok(owner, "DELETE", &path, Value::Null, 204).await;
    api.refused(owner, "DELETE", &path, Value::Null, 404, "not_found")
        .await;
    let roles = api.ok(owner, "GET", "/v1/roles", Value::Null, 200).await;
    assert!(!roles.to_string().contains(&role_id.to_string()));
}

#[tokio::test]
async fn groups_form_a_tree_that_refuses_cycles_and_keeps_what_is_not_empty() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let api = Api { server: &fx.server };
    let owner = &fx.owner.token;
    let root = api.root(owner).await;
    let north = api.group(owner, "North", root).await;
    let oslo = api.group(owner, "Oslo", north).await;
    let groups = api.ok(owner, "GET", "/v1/groups", Value::Null, 200).await;
    assert_eq!(ids(&groups, "id"), [root, north, oslo]);
    assert_eq!(groups[2]["parent_id"], json!(north));

    let north_path = format!("/v1/groups/{north}");
    let oslo_path = format!("/v1/groups/{oslo}");
    let under_itself = json!({"parent_id": oslo});
    api.refused(owner, "PATCH", &north_path, under_itself, 409, "conflict")
        .await;
    let root_path = format!("/v1/groups/{root}");
    api.refused(
        owner,
        "PATCH",
        &root_path,
        json!({"parent_id": north}),
        409,
        "conflict",
    )
    .await;
    let renamed = api
        .ok(owner, "PATCH", &oslo_path, json!({"name": "Bergen"}), 200)
        .await;
    assert_eq!(
        (renamed["name"].as_str(), id(&renamed["parent_id"])),
        (Some("Bergen"), north)
    );

    api.refused(owner, "DELETE", &north_path, Value::Null, 409, "conflict")
        .await;
    let inbox_path = format!("/v1/inboxes/{}", fx.inbox);
    let moved = api
        .ok(owner, "PATCH", &inbox_path, json!({"group_id": oslo}), 200)
        .await;
    assert_eq!(id(&moved["group_id"]), oslo);
    api.refused(owner, "DELETE", &oslo_path, Value::Null, 409, "conflict")
        .await;
    api.ok(owner, "PATCH", &inbox_path, json!({"group_id": root}), 200)
        .await;

    // A rename is kept and listed; a patch with a part refused changes
    // nothing (here the move to a group that is not there).
    let renamed = json!({"name": "Support EU"});
    let inbox = api.ok(owner, "PATCH", &inbox_path, renamed, 200).await;
    assert_eq!(inbox["name"], "Support EU");
    let both = json!({"name": "Lost", "group_id": Uuid::now_v7()});
    api.refused(owner, "PATCH", &inbox_path, both, 404, "not_found")
        .await;
    let listed = api.ok(owner, "GET", "/v1/inboxes", Value::Null, 200).await;
    let listed = listed.as_array().unwrap();
    let ours = listed.iter().find(|i| id(&i["id"]) == fx.inbox).unwrap();
    assert_eq!(
        (&ours["name"], id(&ours["group_id"])),
        (&json!("Support EU"), root)
    );

    let agent = &fx.agents[0];
    let grants =
        json!([{"role": "operator", "group_id": root}, {"role": "viewer", "group_id": oslo}]);
    api.grant(owner, agent.id, grants).await;
    api.refused(owner, "DELETE", &oslo_path, Value::Null, 409, "conflict")
        .await;

    // The operator sees the groups (holds something there) but may not
    // change them.
    api.refused(
        &agent.token,
        "PATCH",
        &oslo_path,
        json!({"name": "X"}),
        403,
        "forbidden",
    )
    .await;
    let child = json!({"name": "Mine", "parent_id": root});
    api.refused(&agent.token, "POST", "/v1/groups", child, 403, "forbidden")
        .await;

    api.grant(
        owner,
        agent.id,
        json!([{"role": "operator", "group_id": root}]),
    )
    .await;
    api.ok(owner, "DELETE", &oslo_path, Value::Null, 204).await;
    api.ok(owner, "DELETE", &north_path, Value::Null, 204).await;
    let groups = api.ok(owner, "GET", "/v1/groups", Value::Null, 200).await;
    assert_eq!(ids(&groups, "id"), [root]);
}

#[tokio::test]
async fn a_sub_group_administrator_cannot_escalate() {
    // admin (to be moved to North), a user of North, an administrator at
    // the root.
    let fx = Fixture::with_roles(&["admin", "operator", "admin"], &[]).await;
    let api = Api { server: &fx.server };
    let owner = &fx.owner.token;
    let (sub_admin, clerk, admin) = (&fx.agents[0], &fx.agents[1], &fx.agents[2]);
    let root = api.root(owner).await;
    let north = api.group(owner, "North", root).await;
    let south = api.group(owner, "South", root).await;
    api.grant(
        owner,
        sub_admin.id,
        json!([{"role": "administrator", "group_id": north}]),
    )
    .await;
    api.grant(
        owner,
        clerk.id,
        json!([{"role": "operator", "group_id": north}]),
    )
    .await;

    let clerk_grants = format!("/v1/users/{}/grants", clerk.id);
    let t = &sub_admin.token;
    let at_root = json!([{"role": "operator", "group_id": root}]);
    api.refused(t, "PUT", &clerk_grants, at_root, 403, "forbidden")
        .await;
    let billing = json!([{"role": "accountant", "group_id": north}]);
    api.refused(t, "PUT", &clerk_grants, billing, 403, "forbidden")
        .await;
    let payer = json!({"name": "Payer", "permissions": ["billing.manage", "conversations.view"]});
    let payer = id(&api.ok(owner, "POST", "/v1/roles", payer, 201).await["id"]);
    let custom_billing = json!([{"role": payer, "group_id": north}]);
    api.refused(t, "PUT", &clerk_grants, custom_billing, 403, "forbidden")
        .await;
    // Within their reach and rights, it works.
    let viewer = api
        .grant(t, clerk.id, json!([{"role": "viewer", "group_id": north}]))
        .await;
    assert_eq!(
        viewer["grants"],
        json!([{"role": "viewer", "group_id": north}])
    );
    // South is a group they see nothing of.
    let south_grant = json!([{"role": "viewer", "group_id": south}]);
    api.refused(t, "PUT", &clerk_grants, south_grant, 403, "forbidden")
        .await;
    api.refused(
        t,
        "PATCH",
        &format!("/v1/groups/{south}"),
        json!({"name": "S"}),
        404,
        "not_found",
    )
    .await;
    // They manage only the users of North.
    let users = api.ok(t, "GET", "/v1/users", Value::Null, 200).await;
    let mut managed = ids(&users, "id");
    managed.sort();
    let mut expected = vec![sub_admin.id, clerk.id];
    expected.sort();
    assert_eq!(managed, expected);
    let owner_path = format!("/v1/users/{}", fx.owner.id);
    api.refused(t, "GET", &owner_path, Value::Null, 404, "not_found")
        .await;
    // No custom role with a permission they lack (nor roles.manage at all).
    let role = json!({"name": "Mine", "permissions": ["conversations.view"]});
    api.refused(t, "POST", "/v1/roles", role, 403, "forbidden")
        .await;

    let t = &admin.token;
    let role = json!({"name": "Biller", "permissions": ["billing.manage"]});
    api.refused(t, "POST", "/v1/roles", role, 403, "forbidden")
        .await;
    let role = json!({"name": "Reader", "permissions": ["conversations.view"]});
    api.ok(t, "POST", "/v1/roles", role, 201).await;
    let patch = json!({"permissions": ["billing.manage"]});
    api.refused(
        t,
        "PATCH",
        &format!("/v1/roles/{payer}"),
        patch,
        403,
        "forbidden",
    )
    .await;
    // Nobody changes the owner's grants.
    let owner_grants = format!("/v1/users/{}/grants", fx.owner.id);
    let downgrade = json!([{"role": "operator", "group_id": root}]);
    api.refused(t, "PUT", &owner_grants, downgrade.clone(), 409, "conflict")
        .await;
    // (the owner is permanent: 409, docs/PEOPLE.md)
    api.refused(owner, "PUT", &owner_grants, downgrade, 409, "conflict")
        .await;
    // And the owner role is never granted.
    let ownership = json!([{"role": "owner", "group_id": root}]);
    api.refused(owner, "PUT", &clerk_grants, ownership, 403, "forbidden")
        .await;
}

#[tokio::test]
async fn users_are_renamed_and_given_capacity_by_who_manages_them() {
    let fx = Fixture::with_roles(&["operator", "operator"], &[]).await;
    let api = Api { server: &fx.server };
    let path = format!("/v1/users/{}", fx.agents[0].id);
    let edit = json!({"name": "Ann Smith", "capacity": 7});
    let user = api.ok(&fx.owner.token, "PATCH", &path, edit, 200).await;
    assert_eq!(
        (user["name"].as_str(), user["capacity"].as_u64()),
        (Some("Ann Smith"), Some(7))
    );
    let read = api
        .ok(&fx.owner.token, "GET", &path, Value::Null, 200)
        .await;
    assert_eq!(read, user);
    // A colleague sees the user but does not manage users.
    let peer = &fx.agents[1].token;
    api.refused(peer, "PATCH", &path, json!({"name": "X"}), 403, "forbidden")
        .await;
    api.refused(peer, "GET", &path, Value::Null, 403, "forbidden")
        .await;
}

#[tokio::test]
async fn another_accounts_resources_are_not_found_on_every_route() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let api = Api { server: &fx.server };
    let owner = &fx.owner.token;
    let root = api.root(owner).await;
    let group = api.group(owner, "North", root).await;
    let body = json!({"name": "Night", "permissions": ["conversations.view"]});
    let role = id(&api.ok(owner, "POST", "/v1/roles", body, 201).await["id"]);
    let conversation = fx.conversation("+15550100").await;
    fx.server.create_rival_account().await;
    let eve = fx.server.login("eve@rival.test").await;
    let eve_root = api.root(&eve).await;
    let user = fx.agents[0].id;
    let inbox = fx.inbox;
    for (method, path, body) in [
        ("GET", format!("/v1/users/{user}"), Value::Null),
        ("PATCH", format!("/v1/users/{user}"), json!({"capacity": 1})),
        ("PUT", format!("/v1/users/{user}/grants"), json!([])),
        ("PATCH", format!("/v1/roles/{role}"), json!({"name": "X"})),
        ("DELETE", format!("/v1/roles/{role}"), Value::Null),
        ("PATCH", format!("/v1/groups/{group}"), json!({"name": "X"})),
        (
            "PATCH",
            format!("/v1/groups/{group}"),
            json!({"parent_id": eve_root}),
        ),
        ("DELETE", format!("/v1/groups/{group}"), Value::Null),
        (
            "PATCH",
            format!("/v1/inboxes/{inbox}"),
            json!({"team_id": null}),
        ),
        (
            "GET",
            format!("/v1/conversations/{conversation}"),
            Value::Null,
        ),
        (
            "GET",
            format!("/v1/conversations/{conversation}/messages"),
            Value::Null,
        ),
        (
            "GET",
            format!("/v1/conversations?inbox_id={inbox}"),
            Value::Null,
        ),
        (
            "POST",
            "/v1/groups".into(),
            json!({"name": "X", "parent_id": group}),
        ),
        (
            "POST",
            "/v1/inboxes".into(),
            json!({"name": "X", "channel": "sms", "group_id": group}),
        ),
    ] {
        api.refused(&eve, method, &path, body, 404, "not_found")
            .await;
    }
    // And nothing of Acme's is listed for Eve.
    for path in [
        "/v1/users",
        "/v1/groups",
        "/v1/inboxes",
        "/v1/conversations",
    ] {
        let listed = api.ok(&eve, "GET", path, Value::Null, 200).await;
        let text = listed.to_string();
        for acme in [user, group, inbox, conversation, role] {
            assert!(
                !text.contains(&acme.to_string()),
                "{path} shows {acme}: {text}"
            );
        }
    }
    // Her account's own inbox, in her own group, is hers.
    let created = json!({"name": "Rival SMS", "channel": "sms"});
    let inbox = api.ok(&eve, "POST", "/v1/inboxes", created, 201).await;
    assert!(inbox["api_key"].as_str().unwrap().starts_with("sbk_"));
    assert_eq!(id(&inbox["group_id"]), eve_root);
}

#[tokio::test]
async fn a_sales_user_lists_and_reads_only_the_conversations_assigned_to_them() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let api = Api { server: &fx.server };
    let owner = &fx.owner.token;
    let sales = &fx.agents[0];
    let root = api.root(owner).await;
    api.grant(
        owner,
        sales.id,
        json!([{"role": "sales", "group_id": root}]),
    )
    .await;
    let theirs = fx.conversation("+15550101").await;
    let other = fx.conversation("+15550102").await;
    let assign = json!({"user_id": sales.id});
    api.ok(
        owner,
        "POST",
        &format!("/v1/conversations/{theirs}/assign"),
        assign,
        200,
    )
    .await;

    let list = api
        .ok(&sales.token, "GET", "/v1/conversations", Value::Null, 200)
        .await;
    assert_eq!(ids(&list["conversations"], "id"), [theirs]);
    let mine = api
        .ok(
            &sales.token,
            "GET",
            "/v1/conversations?assignee=me",
            Value::Null,
            200,
        )
        .await;
    assert_eq!(ids(&mine["conversations"], "id"), [theirs]);
    let card = api
        .ok(
            &sales.token,
            "GET",
            &format!("/v1/conversations/{theirs}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(id(&card["assignee"]["user_id"]), sales.id);
    let messages = format!("/v1/conversations/{theirs}/messages");
    let read = api
        .ok(&sales.token, "GET", &messages, Value::Null, 200)
        .await;
    assert_eq!(
        read[0]["body"], "hello, anyone there?",
        "Sales reads bodies"
    );
    for path in [
        format!("/v1/conversations/{other}"),
        format!("/v1/conversations/{other}/messages"),
    ] {
        api.refused(&sales.token, "GET", &path, Value::Null, 404, "not_found")
            .await;
    }

    // The owner sees both, filtered and a page at a time.
    let all = api
        .ok(owner, "GET", "/v1/conversations", Value::Null, 200)
        .await;
    let mut both = ids(&all["conversations"], "id");
    both.sort();
    let mut expected = vec![theirs, other];
    expected.sort();
    assert_eq!(both, expected);
    let path = "/v1/conversations?assignee=unassigned&status=open";
    let waiting = api.ok(owner, "GET", path, Value::Null, 200).await;
    assert_eq!(ids(&waiting["conversations"], "id"), [other]);
    let path = format!("/v1/conversations?assignee={}", sales.id);
    let assigned = api.ok(owner, "GET", &path, Value::Null, 200).await;
    assert_eq!(ids(&assigned["conversations"], "id"), [theirs]);
    let first = api
        .ok(owner, "GET", "/v1/conversations?limit=1", Value::Null, 200)
        .await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let path = format!("/v1/conversations?limit=1&cursor={}", urlencode(&cursor));
    let second = api.ok(owner, "GET", &path, Value::Null, 200).await;
    assert_eq!(
        second["next_cursor"],
        Value::Null,
        "two conversations, two pages"
    );
    let mut paged = [
        ids(&first["conversations"], "id"),
        ids(&second["conversations"], "id"),
    ]
    .concat();
    paged.sort();
    assert_eq!(paged, expected);
    let path = "/v1/conversations?assignee=someone";
    api.refused(owner, "GET", path, Value::Null, 400, "bad_request")
        .await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn message_bodies_are_null_for_a_role_without_read_bodies() {
    let fx = Fixture::with_roles(&["operator", "operator"], &[]).await;
    let api = Api { server: &fx.server };
    let owner = &fx.owner.token;
    let root = api.root(owner).await;
    let role = json!({"name": "Watcher", "permissions": ["conversations.view"]});
    let watcher = id(&api.ok(owner, "POST", "/v1/roles", role, 201).await["id"]);
    let (reader, blind) = (&fx.agents[0], &fx.agents[1]);
    api.grant(
        owner,
        blind.id,
        json!([{"role": watcher, "group_id": root}]),
    )
    .await;
    let conversation = fx.conversation("+15550103").await;
    let path = format!("/v1/conversations/{conversation}/messages?after_seq=0&limit=10");

    let seen = api.ok(&reader.token, "GET", &path, Value::Null, 200).await;
    assert_eq!(seen.as_array().unwrap().len(), 1);
    assert_eq!(seen[0]["body"], "hello, anyone there?");
    let redacted = api.ok(&blind.token, "GET", &path, Value::Null, 200).await;
    assert_eq!(redacted.as_array().unwrap().len(), 1);
    assert_eq!(redacted[0]["body"], Value::Null);
    assert_eq!(redacted[0]["seq"], seen[0]["seq"]);
    let last = seen[0]["seq"].as_u64().unwrap();
    let after = format!("/v1/conversations/{conversation}/messages?after_seq={last}");
    let none = api.ok(&blind.token, "GET", &after, Value::Null, 200).await;
    assert_eq!(none, json!([]));
    // The watcher sees the conversation itself.
    let list = api
        .ok(&blind.token, "GET", "/v1/conversations", Value::Null, 200)
        .await;
    assert_eq!(ids(&list["conversations"], "id"), [conversation]);
}
