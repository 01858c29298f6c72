//! Every JSON request body of the REST API, as the OpenAPI description
//! lists them, sent by the account's owner through the router of a real
//! server. Bodies are made from each route's schema (the right fields with
//! values of the right type, or of the wrong one, or missing, or extra) and
//! sometimes from nothing at all. Whatever comes, the answer is never a
//! server error: it is a success, or an error of the documented shape with
//! a code that says what was wrong.

use std::panic::AssertUnwindSafe;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use switchboard_server::http::ApiDoc;
use utoipa::OpenApi;

use crate::choices::Choices;
use crate::served::{Served, call, served};

/// A route that takes a JSON body.
#[derive(Debug)]
struct Route {
    method: Method,
    path: String,
    schema: Value,
}

fn routes(spec: &Value) -> Vec<Route> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                continue;
            }
            found.push(Route {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                schema: schema.clone(),
            });
        }
    }
    found
}

/// Values a string field is often meant to hold.
const WORDS: &[&str] = &[
    "",
    "operator",
    "viewer",
    "admin",
    "inbox_manager",
    "owner",
    "conversations.read",
    "users.manage",
    "olive@acme.test",
    "new@acme.test",
    "not an address",
    "2026-12-01",
    "2026-12-01T10:00:00Z",
    "123456",
    "available",
    "away",
    "open",
    "resolved",
    "https://127.0.0.1:9/hook",
    "message.created",
    "+15550100",
];

struct Maker<'s, 'c, 'b> {
    spec: &'s Value,
    choices: &'c mut Choices<'b>,
    ids: &'s [String],
}

impl Maker<'_, '_, '_> {
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        if depth > 4 || self.choices.below(12) == 0 {
            return self.wild(depth);
        }
        let schema = self.resolve(schema);
        for any in ["oneOf", "anyOf", "allOf"] {
            if let Some(options) = schema[any].as_array() {
                let pick = &options[self.choices.below(options.len())];
                return self.value(pick, depth + 1);
            }
        }
        if let Some(options) = schema["enum"].as_array() {
            return options[self.choices.below(options.len())].clone();
        }
        let kind = match &schema["type"] {
            Value::String(kind) => kind.clone(),
            Value::Array(kinds) => {
                let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
                kinds[self.choices.below(kinds.len())].to_owned()
            }
            _ => "any".to_owned(),
        };
        match kind.as_str() {
            "object" => {
                let mut object = Map::new();
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(properties) = schema["properties"].as_object() {
                    for (name, property) in properties {
                        if required.contains(&name.as_str()) || self.choices.flag() {
                            object.insert(name.clone(), self.value(property, depth + 1));
                        }
                    }
                }
                if self.choices.below(8) == 0 {
                    object.insert(self.choices.text(8), self.wild(depth + 1));
                }
                Value::Object(object)
            }
            "array" => (0..self.choices.below(4))
                .map(|_| self.value(&schema["items"], depth + 1))
                .collect(),
            "string" => self.string(schema["format"].as_str()),
            "integer" => self.integer(),
            "number" => match self.choices.below(3) {
                0 => json!(self.choices.u64() as f64 / 7.0),
                _ => self.integer(),
            },
            "boolean" => json!(self.choices.flag()),
            "null" => Value::Null,
            _ => self.wild(depth),
        }
    }

    fn resolve<'v>(&self, schema: &'v Value) -> &'v Value
    where
        Self: 'v,
    {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                &self.spec["components"]["schemas"][name]
            }
            None => schema,
        }
    }

    fn string(&mut self, format: Option<&str>) -> Value {
        match (format, self.choices.below(4)) {
            (Some("uuid"), 0..=2) => json!(self.ids[self.choices.below(self.ids.len())]),
            (_, 0) => json!(WORDS[self.choices.below(WORDS.len())]),
            (_, 1) => json!("x".repeat(self.choices.below(70_000))),
            _ => json!(self.choices.text(40)),
        }
    }

    fn integer(&mut self) -> Value {
        match self.choices.below(6) {
            0 => json!(0),
            1 => json!(-1),
            2 => json!(i64::MAX),
            3 => json!(u64::MAX),
            4 => json!(u64::from(u32::MAX) + 1),
            _ => json!(self.choices.below(1000)),
        }
    }

    /// Any JSON at all.
    fn wild(&mut self, depth: usize) -> Value {
        match self.choices.below(if depth > 3 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.choices.flag()),
            2 => self.integer(),
            3 => json!(self.choices.text(20)),
            4 => json!(self.ids[self.choices.below(self.ids.len())]),
            5 => (0..self.choices.below(4))
                .map(|_| self.wild(depth + 1))
                .collect(),
            _ => {
                let mut object = Map::new();
                for _ in 0..self.choices.below(4) {
                    object.insert(self.choices.text(8), self.wild(depth + 1));
                }
                Value::Object(object)
            }
        }
    }
}

/// Ids worth putting in paths and fields: the owner's, their root group's,
/// a team's, and ones nobody has.
async fn known_ids(served: &Served) -> Vec<String> {
    let me = served.get("/v1/me").await;
    let mut ids = vec![
        me["user"]["id"].as_str().unwrap_or_default().to_owned(),
        me["grants"][0]["group_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::nil().to_string(),
        "not-a-uuid".to_owned(),
    ];
    let team = json!({"name": "Support"}).to_string().into_bytes();
    let (status, body) = call(
        &served.router,
        Method::POST,
        "/v1/teams",
        Some(&served.token),
        Some(team),
    )
    .await;
    if status.is_success() {
        let team: Value = serde_json::from_slice(&body).unwrap();
        ids.extend(team["id"].as_str().map(str::to_owned));
    }
    ids
}

/// The error code of an error answer, checking its documented shape.
fn error_code(status: StatusCode, body: &[u8], route: &str) -> String {
    let body: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        panic!(
            "{route}: {status} with a body that is not JSON: {}",
            String::from_utf8_lossy(body)
        )
    });
    let code = body["error"]["code"].as_str();
    assert!(
        code.is_some() && body["error"]["message"].is_string(),
        "{route}: {status} without an error code and message: {body}"
    );
    code.unwrap().to_owned()
}

#[test]
fn every_json_body_gets_an_answer_that_is_not_a_server_error() {
    let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let routes = routes(&spec);
    assert!(routes.len() >= 30, "the routes with bodies: {routes:?}");
    let runtime = crate::runtime();
    let served = runtime.block_on(served());
    let ids = runtime.block_on(known_ids(&served));
    let mut live = AssertUnwindSafe((runtime, served, ids));
    fuzz!(|choices| {
        let (runtime, served, ids) = &mut *live;
        let route = &routes[choices.below(routes.len())];
        let mut path = route.path.clone();
        while let Some(start) = path.find('{') {
            let end = start + path[start..].find('}').unwrap();
            let id = ids[choices.below(ids.len())].clone();
            path.replace_range(start..=end, &id);
        }
        let body = match choices.below(16) {
            0 => choices.text(60).into_bytes(),
            _ => {
                let mut maker = Maker {
                    spec: &spec,
                    choices: &mut choices,
                    ids,
                };
                maker.value(&route.schema, 0).to_string().into_bytes()
            }
        };
        let name = format!("{} {path}", route.method);
        let (status, answer) = runtime.block_on(call(
            &served.router,
            route.method.clone(),
            &path,
            Some(&served.token),
            Some(body.clone()),
        ));
        assert!(
            !status.is_server_error(),
            "{name} {}: {status} {}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&answer)
        );
        if status.is_client_error() {
            let code = error_code(status, &answer, &name);
            // A request may end the owner's session (a password change,
            // two-factor required of the account): then start again.
            if code == "unauthorized" || code == "2fa_required" {
                runtime.block_on(async {
                    let (still, _) = call(
                        &served.router,
                        Method::GET,
                        "/v1/teams",
                        Some(&served.token),
                        None,
                    )
                    .await;
                    if still != StatusCode::OK {
                        *served = crate::served::served().await;
                        *ids = known_ids(served).await;
                    }
                });
            }
        } else if !answer.is_empty() {
            serde_json::from_slice::<Value>(&answer)
                .unwrap_or_else(|_| panic!("{name}: {status} with a body that is not JSON"));
        }
    });
}
