//! A real SMTP server for the invitation tests: Python's aiosmtpd in a
//! process of its own on loopback, which writes every message it accepts
//! as one JSON file (`to`, `subject`, the decoded `text` and `html` parts)
//! in a directory the test reads. `scripts/test.sh` installs aiosmtpd;
//! `SWITCHBOARD_TEST_PYTHON` names the interpreter when the usual ones
//! lack it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

const SERVER: &str = r#"
import email, json, os, sys, time
from email import policy
from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), sys.argv[2]

class Keep:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        self.count += 1
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        path = os.path.join(out, "%06d.json" % self.count)
        with open(path + ".partial", "w") as f:
            json.dump(record, f)
        os.rename(path + ".partial", path)
        return "250 OK"

controller = Controller(Keep(), hostname="127.0.0.1", port=port)
controller.start()
print("listening", flush=True)
while True:
    time.sleep(3600)
"#;

/// The interpreter that has aiosmtpd.
fn python() -> String {
    if let Ok(named) = std::env::var("SWITCHBOARD_TEST_PYTHON") {
        return named;
    }
    for candidate in ["python3", "/usr/bin/python3"] {
        let has = std::process::Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if has {
            return candidate.to_owned();
        }
    }
    panic!(
        "no python3 with aiosmtpd: run scripts/test.sh (it installs python3-aiosmtpd) \
         or set SWITCHBOARD_TEST_PYTHON"
    );
}

pub struct SmtpServer {
    /// Killed when the test drops it.
    _child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts on a free port.
    pub async fn start() -> Self {
        Self::start_on(switchboard_testkit::free_port()).await
    }

    /// Starts on `port` and waits until it listens.
    pub async fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(python())
            .args(["-c", SERVER, &port.to_string()])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the SMTP server");
        let stdout = child.stdout.take().expect("its stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(line))) if line == "listening" => {}
            other => panic!("the SMTP server did not start: {other:?}"),
        }
        Self {
            _child: child,
            port,
            dir,
        }
    }

    /// What the server is configured with to send here.
    pub fn url(&self) -> String {
        smtp_url(self.port)
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("the mail directory")
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }

    /// Waits until a message to `address` arrived; returns the newest one.
    pub async fn expect_mail_to(&self, address: &str) -> Value {
        self.expect_mails_to(address, 1).await.pop().unwrap()
    }

    /// Waits until `count` messages to `address` arrived; returns them.
    pub async fn expect_mails_to(&self, address: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mails = mails_to(&self.received(), address);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{count} mail(s) to {address} did not arrive; received {:#?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

/// The messages of `received` to `address`.
pub fn mails_to(received: &[Value], address: &str) -> Vec<Value> {
    received
        .iter()
        .filter(|m| {
            m["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(|t| t == address))
        })
        .cloned()
        .collect()
}

/// The token of the acceptance link in a received message's text part.
pub fn token_in(mail: &Value) -> String {
    let text = mail["text"].as_str().expect("a text part");
    let start = text.find("accept?token=").expect("an acceptance link") + "accept?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}
