//! Two-factor authentication against a real server (docs/PEOPLE.md,
//! "Two-factor authentication"): set up, confirmed, signed in with a code
//! this test computes from the secret (RFC 6238: SHA-1, 6 digits, 30 s), a
//! code refused the second time, a backup code accepted once; and the
//! account's switch holding a member without 2FA to setting it up: every
//! other route of the OpenAPI description and the WebSocket answer 403
//! `2fa_required` until they confirm, then everything works.

use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use totp_rs::{Algorithm, Secret, Totp};

use crate::support::cluster::Database;
use crate::support::server::{Agent, PASSWORD, Tenant};
use crate::support::{Fixture, TestServer, WsClient};

/// The TOTP generator of a secret as the server hands it out (base32).
fn authenticator(secret: &str) -> Totp {
    let bytes = Secret::try_from_base32(secret).expect("a base32 secret");
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes.as_bytes().to_vec())
        .build()
        .expect("an RFC 6238 generator")
}

/// The current TOTP step by this machine's clock.
fn step_now() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    now.as_secs() / 30
}

/// The code of step `step`.
fn code_at(totp: &Totp, step: u64) -> String {
    totp.generate(step * 30).to_string()
}

/// A sign-in: the status and the JSON answer, and whether a session
/// cookie was set.
async fn login(server: &TestServer, email: &str, totp: Option<&str>) -> (u16, Value, bool) {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    let response = reqwest::Client::new()
        .post(server.http("/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login request");
    let status = response.status().as_u16();
    let cookie = response.headers().contains_key("set-cookie");
    (status, response.json().await.unwrap_or(Value::Null), cookie)
}

/// Sets 2FA up for the holder of `token` and confirms it; returns the
/// authenticator, the step the confirmation used, and the backup codes.
async fn enroll(server: &TestServer, token: &str) -> (Totp, u64, Vec<String>) {
    let (status, setup) = server
        .call(token, "POST", "/v1/me/2fa/setup", Value::Null)
        .await;
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().expect("a secret");
    let uri = setup["otpauth_uri"].as_str().expect("an otpauth uri");
    assert!(uri.starts_with("otpauth://totp/Switchboard:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let totp = authenticator(secret);
    let step = step_now();
    let (status, confirmed) = server
        .call(
            token,
            "POST",
            "/v1/me/2fa/confirm",
            json!({"code": code_at(&totp, step)}),
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes: Vec<String> = confirmed["backup_codes"]
        .as_array()
        .expect("backup codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{confirmed}");
    (totp, step, codes)
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_code_signs_in_once_and_a_backup_code_once() {
    let fx = Fixture::new(1, &[]).await;
    let server = &fx.server;
    let ann = &fx.agents[0];

    // A setup is pending until confirmed: signing in needs no code yet,
    // and a wrong code does not confirm it.
    let (status, _) = server
        .call(&ann.token, "POST", "/v1/me/2fa/setup", Value::Null)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = login(server, &ann.email, None).await;
    assert_eq!(status, 200, "pending is not active");
    let (status, wrong) = server
        .call(
            &ann.token,
            "POST",
            "/v1/me/2fa/confirm",
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(status, 403, "{wrong}");

    // A new setup replaces the pending one; confirming it turns 2FA on.
    let (totp, confirmed_at, backup) = enroll(server, &ann.token).await;

    // No code: 401 totp_required, and no session.
    let (status, refused, cookie) = login(server, &ann.email, None).await;
    assert_eq!(
        (status, error_code(&refused)),
        (401, "totp_required"),
        "{refused}"
    );
    assert!(refused.get("token").is_none() && !cookie, "{refused}");
    // A wrong code: 401 unauthorized.
    let wrong_code = if code_at(&totp, confirmed_at + 1) == "123456" {
        "654321"
    } else {
        "123456"
    };
    let (status, refused, cookie) = login(server, &ann.email, Some(wrong_code)).await;
    assert_eq!(
        (status, error_code(&refused)),
        (401, "unauthorized"),
        "{refused}"
    );
    assert!(!cookie);
    // The code the confirmation used is spent already.
    let spent = code_at(&totp, confirmed_at);
    let (status, refused, _) = login(server, &ann.email, Some(&spent)).await;
    assert_eq!(
        (status, error_code(&refused)),
        (401, "unauthorized"),
        "{refused}"
    );

    // The next step's code (within the one step of drift) signs in, once.
    let next = code_at(&totp, confirmed_at + 1);
    let (status, signed_in, cookie) = login(server, &ann.email, Some(&next)).await;
    assert_eq!(status, 200, "{signed_in}");
    assert!(cookie && signed_in["token"].is_string(), "{signed_in}");
    assert_eq!(signed_in["must_enroll_2fa"], false, "{signed_in}");
    let (status, replayed, cookie) = login(server, &ann.email, Some(&next)).await;
    assert_eq!(
        (status, error_code(&replayed)),
        (401, "unauthorized"),
        "a replayed code: {replayed}"
    );
    assert!(!cookie);

    // A backup code works in `totp` too, once.
    let (status, signed_in, _) = login(server, &ann.email, Some(&backup[0])).await;
    assert_eq!(status, 200, "{signed_in}");
    let (status, refused, _) = login(server, &ann.email, Some(&backup[0])).await;
    assert_eq!(
        (status, error_code(&refused)),
        (401, "unauthorized"),
        "{refused}"
    );

    // Turned off with a backup code; then the password alone signs in.
    let (status, refused) = server
        .call(
            &ann.token,
            "DELETE",
            "/v1/me/2fa",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!(status, 403, "a used code does not turn it off: {refused}");
    let (status, _) = server
        .call(
            &ann.token,
            "DELETE",
            "/v1/me/2fa",
            json!({"code": backup[1]}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = login(server, &ann.email, None).await;
    assert_eq!(status, 200);

    // Recorded: on, then off, for Ann by Ann.
    let (_, log) = server
        .call(&fx.owner.token, "GET", "/v1/audit", Value::Null)
        .await;
    let entries: Vec<(&str, &str, &str)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("2fa.")))
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["actor_id"].as_str().unwrap_or(""),
                e["target_user_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let ann_id = ann.id.to_string();
    assert_eq!(
        entries,
        [
            ("2fa.disabled", ann_id.as_str(), ann_id.as_str()),
            ("2fa.enabled", ann_id.as_str(), ann_id.as_str()),
        ],
        "{log}"
    );
}

/// Of concurrent sign-ins with one code, exactly one gets a session: on
/// SQLite, and on Postgres (whose pool runs them on many connections).
#[tokio::test]
async fn concurrent_sign_ins_with_one_code_give_one_session() {
    let fx = Fixture::new(1, &[]).await;
    one_session_of_one_code(&fx.server, &fx.agents[0]).await;
    let database = Database::create().await;
    let server = TestServer::start_with(&database.url, &[]).await;
    let tenant = Tenant::create(&server, &["operator"]).await;
    one_session_of_one_code(&server, &tenant.agents[0]).await;
}

async fn one_session_of_one_code(server: &TestServer, ann: &Agent) {
    let (totp, confirmed_at, _) = enroll(server, &ann.token).await;
    let code = code_at(&totp, confirmed_at + 1);
    let attempts = (0..6).map(|_| login(server, &ann.email, Some(&code)));
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
}

/// The upgrade's status and error code, when refused.
async fn upgrade_refusal(server: &TestServer, token: &str) -> (u16, String) {
    let mut request = server.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match WsClient::open(request).await {
        Err(WsError::Http(response)) => {
            let body: Value = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (response.status().as_u16(), error_code(&body).to_owned())
        }
        Err(other) => panic!("expected an HTTP refusal, got {other:?}"),
        Ok(_) => panic!("expected a refusal, got an upgrade"),
    }
}

/// Every route of the server's own OpenAPI description that needs a
/// session, as (method, path with its ids filled in), except those a
/// session held to setting 2FA up may use.
async fn guarded_routes(server: &TestServer) -> Vec<(Method, String)> {
    let doc: Value = reqwest::get(server.http("/v1/openapi.json"))
        .await
        .expect("openapi")
        .json()
        .await
        .expect("openapi json");
    let open_to_enrolment = [
        ("POST", "/v1/me/2fa/setup"),
        ("POST", "/v1/me/2fa/confirm"),
        ("POST", "/v1/auth/logout"),
        ("GET", "/v1/me"),
    ];
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let method = method.to_uppercase();
            let public = operation["security"]
                .as_array()
                .is_none_or(|schemes| schemes.is_empty());
            if public || open_to_enrolment.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let filled = fill_ids(path);
            routes.push((method.parse().expect("a method"), filled));
        }
    }
    routes
}

/// A path with each `{...}` parameter replaced by a fresh UUID.
fn fill_ids(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.starts_with('{') {
                uuid::Uuid::now_v7().to_string()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A body the route parses (so that what answers is the session check):
/// the inbound route reads its body before the credentials.
fn body_for(fx: &Fixture, path: &str) -> Value {
    if path == "/v1/inbound" {
        json!({"inbox_id": fx.inbox, "contact": {"handle": "+15550000001"}, "body": "hi"})
    } else {
        json!({})
    }
}

#[tokio::test]
async fn an_account_requiring_2fa_holds_members_to_setting_it_up() {
    let fx = Fixture::with_roles(&["operator"], &[]).await;
    let server = &fx.server;
    let owner = &fx.owner.token;
    let ann = &fx.agents[0];

    // Only who holds settings.manage at the root sets it.
    let (status, refused) = server
        .call(
            &ann.token,
            "PUT",
            "/v1/account/settings",
            json!({"require_2fa": true}),
        )
        .await;
    assert_eq!(
        (status, error_code(&refused)),
        (403, "forbidden"),
        "{refused}"
    );
    enroll(server, owner).await;
    // Ann has a console open; the owner's, with 2FA, stays open.
    let mut ann_console = WsClient::connect(server, &ann.token).await;
    let mut owner_console = WsClient::connect(server, owner).await;
    let (status, settings) = server
        .call(
            owner,
            "PUT",
            "/v1/account/settings",
            json!({"require_2fa": true}),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["require_2fa"], true);
    assert_eq!(
        ann_console.closed().await,
        crate::support::client::Ended::Closed(Some(1008)),
        "an open console of a user without 2FA is closed at once"
    );
    owner_console
        .request(switchboard_proto::ClientFrame::Ping(
            switchboard_proto::client::Ping { reference: None },
        ))
        .await
        .expect("the owner's console still answers");
    let (_, account) = server.call(owner, "GET", "/v1/account", Value::Null).await;
    assert_eq!(account["require_2fa"], true, "{account}");

    // Ann, without 2FA, still signs in with her password, to a session
    // that may only set it up; so is her older session held.
    let (status, signed_in, _) = login(server, &ann.email, None).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["must_enroll_2fa"], true, "{signed_in}");
    let fresh = signed_in["token"].as_str().expect("a token").to_owned();

    let routes = guarded_routes(server).await;
    assert!(routes.len() > 30, "the routes: {routes:?}");
    let client = reqwest::Client::new();
    for token in [&fresh, &ann.token] {
        for (method, path) in &routes {
            if path == "/v1/ws" {
                continue;
            }
            let response = client
                .request(method.clone(), server.http(path))
                .bearer_auth(token)
                .json(&body_for(&fx, path))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, error_code(&body)),
                (403, "2fa_required"),
                "{method} {path}: {body}"
            );
        }
        assert_eq!(
            upgrade_refusal(server, token).await,
            (403, "2fa_required".to_owned()),
            "the websocket"
        );
    }
    assert!(
        routes.iter().any(|(_, path)| path == "/v1/ws"),
        "{routes:?}"
    );

    // Who is signed in is shown; 2FA cannot be turned off while required.
    let (status, me) = server.call(&fresh, "GET", "/v1/me", Value::Null).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["id"], ann.id.to_string(), "{me}");
    let (status, refused) = server
        .call(owner, "DELETE", "/v1/me/2fa", json!({"code": "000000"}))
        .await;
    assert_eq!(
        (status, error_code(&refused)),
        (409, "conflict"),
        "{refused}"
    );

    // Once she confirms, the same sessions work for everything.
    let (totp, confirmed_at, _) = enroll(server, &fresh).await;
    for token in [&fresh, &ann.token] {
        for (method, path) in &routes {
            if path == "/v1/ws" {
                continue;
            }
            let response = client
                .request(method.clone(), server.http(path))
                .bearer_auth(token)
                .json(&body_for(&fx, path))
                .send()
                .await
                .expect("request");
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(error_code(&body), "2fa_required", "{method} {path}: {body}");
        }
        let console = WsClient::connect(server, token).await;
        assert_eq!(console.welcome.user.id, ann.id);
    }
    let (status, conversations) = server
        .call(&fresh, "GET", "/v1/conversations", Value::Null)
        .await;
    assert_eq!(status, 200, "{conversations}");
    let (status, signed_in, _) =
        login(server, &ann.email, Some(&code_at(&totp, confirmed_at + 1))).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["must_enroll_2fa"], false, "{signed_in}");

    // The switch is recorded with its value.
    let (_, log) = server.call(owner, "GET", "/v1/audit", Value::Null).await;
    let change = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "settings.changed")
        .expect("settings.changed recorded");
    assert_eq!(
        change["detail"],
        json!({"setting": "require_2fa", "value": true}),
        "{change}"
    );
    assert_eq!(change["actor_id"], fx.owner.id.to_string());
}

/// The embedded server makes its key file beside the database, for the
/// owner only, and reuses it: a secret sealed before a restart opens after
/// it. The secret itself is nowhere in the database's files.
#[tokio::test]
async fn the_embedded_key_file_is_made_once_and_secrets_survive_a_restart() {
    let mut fx = Fixture::new(1, &[]).await;
    let ann = fx.agents[0].clone();
    let db = fx
        .server
        .database_url
        .strip_prefix("sqlite:")
        .expect("a sqlite file")
        .to_owned();
    let key_file = format!("{db}.secret-key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("a key file beside the database")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "readable by the owner only");
    let key = std::fs::read_to_string(&key_file).expect("the key");

    let (status, setup) = fx
        .server
        .call(&ann.token, "POST", "/v1/me/2fa/setup", Value::Null)
        .await;
    assert_eq!(status, 200);
    let secret = setup["secret"].as_str().expect("a secret").to_owned();
    let totp = authenticator(&secret);
    let step = step_now();
    let (status, _) = fx
        .server
        .call(
            &ann.token,
            "POST",
            "/v1/me/2fa/confirm",
            json!({"code": code_at(&totp, step)}),
        )
        .await;
    assert_eq!(status, 200);
    let raw = Secret::try_from_base32(&secret).expect("base32");
    for suffix in ["", "-wal"] {
        let stored = std::fs::read(format!("{db}{suffix}")).unwrap_or_default();
        let found = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
        assert!(
            !found(secret.as_bytes()),
            "the secret in clear in {db}{suffix}"
        );
        assert!(!found(raw.as_bytes()), "the secret's bytes in {db}{suffix}");
    }

    assert_eq!(fx.server.terminate().await, Some(0));
    let server = fx.server.restart(&[]).await;
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("the key"),
        key,
        "the key file is reused"
    );
    let (status, signed_in, _) = login(&server, &ann.email, Some(&code_at(&totp, step + 1))).await;
    assert_eq!(status, 200, "{signed_in}");

    // A database whose key file went missing: a new key would lock Ann
    // out, so the server refuses to start, and leaves no new key behind.
    let mut server = server;
    assert_eq!(server.terminate().await, Some(0));
    std::fs::remove_file(&key_file).expect("remove the key file");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::process::Command::new(crate::support::server::binary())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SWITCHBOARD_DATABASE_URL", format!("sqlite:{db}"))
            .output(),
    )
    .await
    .expect("exits")
    .expect("runs");
    assert!(!output.status.success(), "started with a new key");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("secret key file") && error.contains("was missing"),
        "{error}"
    );
    assert!(
        !std::path::Path::new(&key_file).exists(),
        "the refused start leaves no key file"
    );
}

/// A node on Postgres without `SWITCHBOARD_SECRET_KEY` refuses to start,
/// saying why; a malformed key is refused too.
#[tokio::test]
async fn a_cluster_node_without_a_secret_key_refuses_to_start() {
    for (key, expected) in [
        (
            None,
            "SWITCHBOARD_SECRET_KEY is required with a postgres database",
        ),
        (Some("not a key"), "32 bytes"),
    ] {
        let mut command = tokio::process::Command::new(crate::support::server::binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "SWITCHBOARD_DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/none",
            );
        if let Some(key) = key {
            command.env("SWITCHBOARD_SECRET_KEY", key);
        }
        let output = tokio::time::timeout(std::time::Duration::from_secs(30), command.output())
            .await
            .expect("exits")
            .expect("runs");
        assert!(!output.status.success(), "started without a key");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains(expected), "{error}");
    }
}
