//! Test support for every crate of the workspace (a dev-dependency only):
//!
//! - [`scripted`]: one reconcile at a time against an API server the test scripts request by
//!   request (missing, extra and misdirected requests fail the test);
//! - [`watch_server`]: an API server for a whole manager: lists answered on cue, watches kept
//!   open, some kinds missing (their CRD "not installed");
//! - [`get`], [`eventually`] and [`role_allows`]: an HTTP GET without a client library, polling,
//!   and reading RBAC rules;
//! - [`for_step`]: a step test whose failure names its step.

pub mod scripted;
pub mod watch_server;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs the test of a book step: however it fails, its message starts with `step N.M:`, so
/// that a learner sees which step to look at (a later step's test may fail on a script the
/// reconcile did not follow, not on the step's own `todo!`).
pub async fn for_step<T>(step: &str, test: impl Future<Output = T>) -> T {
    use futures::FutureExt as _;
    match std::panic::AssertUnwindSafe(test).catch_unwind().await {
        Ok(value) => value,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("the test panicked");
            panic!("step {step}: {message}")
        }
    }
}

/// GETs `path` over plain HTTP/1.1 and returns the status code and body.
pub async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Polls `condition` every 10 ms for up to 5 s; panics naming `what` if it never holds.
pub async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Whether a Role or ClusterRole (as JSON) grants `verb` on `group`/`resource`.
pub fn role_allows(role: &serde_json::Value, group: &str, resource: &str, verb: &str) -> bool {
    let lists = |rule: &serde_json::Value, key: &str, wanted: &str| {
        rule[key]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item == wanted))
    };
    role["rules"].as_array().into_iter().flatten().any(|rule| {
        lists(rule, "apiGroups", group)
            && lists(rule, "resources", resource)
            && lists(rule, "verbs", verb)
    })
}
