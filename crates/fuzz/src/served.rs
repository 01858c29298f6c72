//! A real server built in process on a fresh embedded database, set up
//! through its first-run link, driven through its router.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use clap::Parser;
use serde_json::{Value, json};
use switchboard_server::cli::{Cli, Command};
use switchboard_server::startup::Application;
use tower::ServiceExt;

pub const EMAIL: &str = "olive@acme.test";
pub const PASSWORD: &str = "a long owner password";

#[derive(Debug)]
pub struct Served {
    pub application: Application,
    pub router: Router,
    /// The owner's session token.
    pub token: String,
    _dir: tempfile::TempDir,
}

pub async fn served() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("fuzz.db").display());
    let mail = dir.path().join("mail");
    let cli = Cli::try_parse_from([
        "switchboard",
        "serve",
        "--database-url",
        &database,
        "--listen",
        "127.0.0.1:0",
        "--mail-dir",
        mail.to_str().unwrap(),
    ])
    .unwrap();
    let Command::Serve(config) = cli.command else {
        unreachable!("serve was asked for")
    };
    let application = Application::build(*config).await.unwrap();
    // The HTTP API as the listener serves it; requests need a
    // `ConnectInfo<SocketAddr>` extension (`call` adds one).
    let router = switchboard_server::http::router(application.state().clone());
    let link = application
        .setup_link()
        .expect("a fresh database waits for setup");
    let setup_token = link.split_once("token=").unwrap().1.to_owned();
    let setup = json!({"token": setup_token, "account_name": "Acme", "name": "Olive",
        "email": EMAIL, "password": PASSWORD});
    let (status, body) = call(
        &router,
        Method::POST,
        "/v1/setup",
        None,
        Some(setup.to_string().into_bytes()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let token = token_of(&body);
    Served {
        application,
        router,
        token,
        _dir: dir,
    }
}

impl Served {
    /// A GET with the owner's session, its JSON body.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = call(&self.router, Method::GET, path, Some(&self.token), None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }
}

fn token_of(body: &[u8]) -> String {
    let body: Value = serde_json::from_slice(body).unwrap();
    body["token"].as_str().expect("a session token").to_owned()
}

/// One request through the router, from a loopback peer.
pub async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}
