//! Message statistics (docs/MODULES.md, "Statistics") against a real
//! server: the figures through REST by day, inbox and agent; the CSV export
//! read back equal to the JSON (its formula-looking names defused); who
//! may see and export them; a user granted at a sub-group counting only
//! its inboxes; another account's messages never counted; bad ranges
//! refused with their reason.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Fixture, TestServer};

/// The JSON figures of `query` as `token` sees them.
async fn stats(server: &TestServer, token: &str, query: &str) -> (u16, Value) {
    server
        .call(
            token,
            "GET",
            &format!("/v1/statistics?{query}"),
            Value::Null,
        )
        .await
}

/// The CSV export: status, content type, disposition and the body.
async fn export(server: &TestServer, token: &str, query: &str) -> (u16, String, String, String) {
    let response = reqwest::Client::new()
        .get(server.http(&format!("/v1/statistics/export?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("export");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (
        status,
        kind,
        disposition,
        response.text().await.expect("body"),
    )
}

/// Reads CSV as RFC 4180 writes it; every record must end with CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = vec![String::new()];
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                record.last_mut().unwrap().push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => record.last_mut().unwrap().push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(String::new()),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR only as part of CRLF");
                records.push(std::mem::replace(&mut record, vec![String::new()]));
            }
            (false, '\n') => panic!("a bare LF ends no record: {text:?}"),
            (false, c) => record.last_mut().unwrap().push(c),
        }
    }
    assert_eq!(record, [String::new()], "the last record ends with CRLF");
    records
}

/// The CSV's rows as the JSON rows they stand for: numbers as numbers,
/// empty cells as null, a name's defusing `'` taken off.
fn csv_as_json(records: &[Vec<String>]) -> Vec<Value> {
    let header = &records[0];
    records[1..]
        .iter()
        .map(|record| {
            assert_eq!(record.len(), header.len());
            let mut row = serde_json::Map::new();
            for (column, cell) in header.iter().zip(record) {
                let value = if cell.is_empty() {
                    Value::Null
                } else if column == "day" || column.ends_with("_id") {
                    json!(cell)
                } else if column.ends_with("_name") {
                    let defused = ["'=", "'+", "'-", "'@", "'\t", "'\r"];
                    if defused.iter().any(|p| cell.starts_with(p)) {
                        json!(cell[1..])
                    } else {
                        json!(cell)
                    }
                } else {
                    let number: f64 = cell.parse().expect("a number");
                    json!(number)
                };
                row.insert(column.clone(), value);
            }
            Value::Object(row)
        })
        .collect()
}

/// JSON rows with every number as a float, so 3 and 3.0 compare equal.
fn normalized(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let object = row.as_object().expect("a row");
            Value::Object(
                object
                    .iter()
                    .map(|(k, v)| {
                        let v = v.as_f64().map_or_else(|| v.clone(), |n| json!(n));
                        (k.clone(), v)
                    })
                    .collect(),
            )
        })
        .collect()
}

fn total(rows: &Value, field: &str) -> u64 {
    rows["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[field].as_u64().unwrap_or(0))
        .sum()
}

fn row_named<'a>(rows: &'a Value, key: &str, name: &str) -> &'a Value {
    rows["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r[key] == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows}"))
}

#[tokio::test]
async fn statistics_are_counted_exported_and_scoped_by_grants() {
    let fx = Fixture::with_roles(&["operator", "accountant", "editor", "user"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let (operator, accountant, editor, viewer) =
        (&fx.agents[0], &fx.agents[1], &fx.agents[2], &fx.agents[3]);

    // A second inbox, in group North, with a name a spreadsheet would run.
    let (_, groups) = server.call(owner, "GET", "/v1/groups", Value::Null).await;
    let root = groups[0]["id"].clone();
    let body = json!({"name": "North", "parent_id": root});
    let north = server.call(owner, "POST", "/v1/groups", body).await.1["id"].clone();
    let body = json!({"name": "=North", "channel": "sms", "group_id": north});
    let (status, made) = server.call(owner, "POST", "/v1/inboxes", body).await;
    assert_eq!(status, 201, "{made}");
    let north_inbox: Uuid = made["id"].as_str().unwrap().parse().unwrap();
    let north_key = made["api_key"].as_str().unwrap().to_owned();
    // The "user" role (statistics.view alone) only at North.
    let grants = json!([{"role": "user", "group_id": north}]);
    let path = format!("/v1/users/{}/grants", viewer.id);
    assert_eq!(server.call(owner, "PUT", &path, grants).await.0, 200);

    // Two customers in Support, one in North; the operator answers the
    // first, the owner resolves it.
    let first = fx.conversation("+4790000101").await;
    fx.conversation("+4790000102").await;
    server
        .inbound(&north_key, north_inbox, "+4790000103", "hei")
        .await;
    let mut ws = fx.connect(operator).await;
    ws.take(first).await.expect("take");
    ws.say(first, "r1", "hello!").await.expect("reply");
    let resolve = format!("/v1/conversations/{first}/resolve");
    let (status, answer) = server.call(owner, "POST", &resolve, Value::Null).await;
    assert_eq!(status, 200, "{answer}");

    // Another account's traffic is never counted.
    server.create_rival_account().await;
    let eve = server.login("eve@rival.test").await;
    let body = json!({"name": "Rival", "channel": "sms"});
    let (_, theirs) = server.call(&eve, "POST", "/v1/inboxes", body).await;
    let their_inbox: Uuid = theirs["id"].as_str().unwrap().parse().unwrap();
    server
        .inbound(
            theirs["api_key"].as_str().unwrap(),
            their_inbox,
            "+4790000199",
            "x",
        )
        .await;

    // By day (the default: the last 30 UTC days, today last).
    let (status, by_day) = stats(server, owner, "").await;
    assert_eq!(status, 200, "{by_day}");
    assert_eq!(by_day["group_by"], "day");
    assert_eq!(by_day["rows"].as_array().unwrap().len(), 30);
    let today = &by_day["rows"][29];
    assert_eq!(
        (
            &today["conversations_opened"],
            &today["conversations_resolved"],
            &today["messages_in"],
            &today["messages_out"],
        ),
        (&json!(3), &json!(1), &json!(3), &json!(1)),
        "{today}"
    );
    assert!(today["first_response_p50_secs"].as_f64().unwrap() >= 0.0);
    assert!(today["resolution_p90_secs"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        total(&by_day, "messages_in"),
        3,
        "eve's message not counted"
    );

    // By inbox and by agent.
    let (_, by_inbox) = stats(server, owner, "group_by=inbox").await;
    let support = row_named(&by_inbox, "inbox_name", "Support");
    assert_eq!(
        (
            &support["conversations_opened"],
            &support["messages_in"],
            &support["messages_out"]
        ),
        (&json!(2), &json!(2), &json!(1))
    );
    let north_row = row_named(&by_inbox, "inbox_name", "=North");
    assert_eq!(north_row["inbox_id"], json!(north_inbox));
    assert_eq!(
        (
            &north_row["conversations_opened"],
            &north_row["messages_in"]
        ),
        (&json!(1), &json!(1))
    );
    assert_eq!(by_inbox["rows"].as_array().unwrap().len(), 2);
    let (_, by_agent) = stats(server, owner, "group_by=agent").await;
    let rows = by_agent["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only the operator did something: {by_agent}");
    assert_eq!(rows[0]["agent_id"], json!(operator.id));
    assert_eq!(rows[0]["messages_out"], 1);
    assert_eq!(rows[0]["messages_in"], Value::Null, "not an agent's figure");
    assert!(rows[0]["first_response_p50_secs"].is_number());

    // The CSV, read back, is the JSON, for every grouping.
    for group_by in ["day", "inbox", "agent"] {
        let query = format!("group_by={group_by}");
        let (status, kind, disposition, body) = export(server, &accountant.token, &query).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(kind, "text/csv; charset=utf-8");
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        let (_, json_rows) = stats(server, &accountant.token, &query).await;
        let records = parse_csv(&body);
        assert_eq!(
            csv_as_json(&records),
            normalized(&json_rows["rows"]),
            "{body}"
        );
        if group_by == "inbox" {
            assert!(body.contains(",'=North,"), "the name is defused: {body}");
        }
    }

    // The editor sees the figures but may not export them.
    assert_eq!(stats(server, &editor.token, "").await.0, 200);
    let (status, _, _, body) = export(server, &editor.token, "").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("forbidden"), "{body}");
    // The operator holds statistics.view nowhere.
    let (status, refused) = stats(server, &operator.token, "").await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden"))
    );

    // Granted at North only: North's inbox alone.
    let (status, seen) = stats(server, &viewer.token, "group_by=inbox").await;
    assert_eq!(status, 200, "{seen}");
    let rows = seen["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{seen}");
    assert_eq!(rows[0]["inbox_id"], json!(north_inbox));
    let (_, by_day) = stats(server, &viewer.token, "").await;
    assert_eq!(total(&by_day, "conversations_opened"), 1);
    assert_eq!(total(&by_day, "messages_out"), 0);

    // Eve counts her own account only.
    let (_, hers) = stats(server, &eve, "").await;
    assert_eq!(total(&hers, "messages_in"), 1);
    assert_eq!(total(&hers, "conversations_opened"), 1);
}

#[tokio::test]
async fn bad_ranges_are_refused_with_their_reason() {
    let fx = Fixture::with_roles(&[], &[("SWITCHBOARD_STATISTICS_MAX_DAYS", "60")]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    for (query, says) in [
        ("from=yesterday", "from must be an RFC 3339 timestamp"),
        ("to=2026-02-30", "to must be an RFC 3339 timestamp"),
        ("from=2026-03-01&to=2026-02-01", "from must be before to"),
        ("from=2026-01-01&to=2026-04-01", "at most 60 days"),
        ("group_by=week", "group_by"),
    ] {
        let (status, answer) = stats(server, owner, query).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
        let (status, _, _, _) = export(server, owner, query).await;
        assert_eq!(status, 400, "export {query}");
    }
    // Dates and timestamps, half-open: one day is one row.
    let (status, one) = stats(server, owner, "from=2026-01-01&to=2026-01-02").await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    assert_eq!(one["rows"][0]["day"], "2026-01-01");
    let query = "from=2026-01-01T12:00:00%2B02:00&to=2026-01-03T00:00:00Z";
    let (status, two) = stats(server, owner, query).await;
    assert_eq!(status, 200, "{two}");
    assert_eq!(two["from"], "2026-01-01T10:00:00Z");
    assert_eq!(two["rows"].as_array().unwrap().len(), 2);
}
