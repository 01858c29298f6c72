//! A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that
//! verifies every delivery's signature itself (HMAC-SHA256 of
//! "<t>.<body>", as docs/MODULES.md tells receivers), records what came,
//! and answers as the test scripts it: a status, or never (the request is
//! held open).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Notify;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// Never: the request stays open.
    Hold,
    /// 500 to a delivery's first request, 200 to the next.
    FailFirst,
}

/// One request that came.
#[derive(Debug, Clone)]
pub struct Received {
    pub delivery: String,
    pub event: String,
    pub body: Value,
    /// What the receiver answered (None: held).
    pub answered: Option<u16>,
}

#[derive(Default)]
struct Shared {
    secret: Mutex<Vec<u8>>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    seen: Mutex<HashSet<String>>,
    log: Mutex<Vec<Received>>,
    bad_signatures: Mutex<Vec<String>>,
    changed: Notify,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A receiver answering `default` once `script` is used up.
    pub async fn start(script: &[Reply], default: Reply) -> Self {
        let shared = Arc::new(Shared::default());
        *shared.script.lock() = script.iter().copied().collect();
        *shared.default.lock() = Some(default);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The secret signatures are checked with.
    pub fn set_secret(&self, secret: &str) {
        *self.shared.secret.lock() = secret.as_bytes().to_vec();
    }

    pub fn set_default(&self, reply: Reply) {
        *self.shared.default.lock() = Some(reply);
    }

    pub fn log(&self) -> Vec<Received> {
        self.shared.log.lock().clone()
    }

    /// Waits (up to `within`) until the log satisfies `done`; returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.shared.changed.notified();
            let log = self.log();
            if done(&log) {
                self.assert_signed();
                return log;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("the receiver never saw {what}; it saw {log:#?}");
            }
        }
    }

    /// Every request so far carried a valid, fresh signature.
    pub fn assert_signed(&self) {
        let bad = self.shared.bad_signatures.lock().clone();
        assert!(bad.is_empty(), "requests with bad signatures: {bad:?}");
    }
}

async fn hook(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let delivery = header("switchboard-delivery");
    let signature = header("switchboard-signature");
    if !verify(&shared.secret.lock(), &signature, &body) {
        shared.bad_signatures.lock().push(delivery.clone());
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if json["id"].as_str() != Some(delivery.as_str()) {
        shared
            .bad_signatures
            .lock()
            .push(format!("{delivery}: id header and body differ"));
    }
    let first = shared.seen.lock().insert(delivery.clone());
    let reply = shared
        .script
        .lock()
        .pop_front()
        .or(*shared.default.lock())
        .unwrap_or(Reply::Status(200));
    let answered = match reply {
        Reply::Status(status) => Some(status),
        Reply::Hold => None,
        Reply::FailFirst => Some(if first { 500 } else { 200 }),
    };
    shared.log.lock().push(Received {
        delivery,
        event: header("switchboard-event"),
        body: json,
        answered,
    });
    shared.changed.notify_waiters();
    match answered {
        Some(status) => StatusCode::from_u16(status).unwrap(),
        None => std::future::pending().await,
    }
}

/// What a receiver does: `t=<seconds>,v1=<hex>`, the MAC of "<t>.<body>"
/// under the secret, and a time within five minutes of now.
fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut time = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => time = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_owned()),
            _ => {}
        }
    }
    let Some(time) = time else { return false };
    if (chrono::Utc::now().timestamp() - time).abs() > 300 {
        return false;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(format!("{time}.").as_bytes());
    mac.update(body);
    // verify_slice compares in constant time, as a receiver should
    signatures
        .iter()
        .filter_map(|s| hex::decode(s).ok())
        .any(|s| mac.clone().verify_slice(&s).is_ok())
}
