//! The manager's two HTTP endpoints: health probes for the kubelet, metrics for Prometheus.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

// ANCHOR: readiness
/// Whether the manager is ready, and if not, why: every watch must have listed its objects.
/// Deliberately not tied to leadership: with one replica and a rolling update, the new pod must
/// become ready while the old one still holds the Lease, or the rollout never finishes.
#[derive(Clone)]
pub struct Readiness(Arc<Mutex<BTreeMap<String, String>>>);
// ANCHOR_END: readiness

/// What readiness waits for until the manager has registered its watches.
const STARTING: &str = "manager";

impl Default for Readiness {
    fn default() -> Self {
        let waiting = BTreeMap::from([(STARTING.to_owned(), "starting".to_owned())]);
        Self(Arc::new(Mutex::new(waiting)))
    }
}

impl Readiness {
    /// `what` (a watch, say) is not ready, because of `why`.
    pub fn waiting(&self, what: &str, why: impl Into<String>) {
        self.lock().insert(what.to_owned(), why.into());
    }

    /// `what` is ready.
    pub fn done(&self, what: &str) {
        self.lock().remove(what);
    }

    /// Every watch is registered; readiness now depends on them alone.
    pub fn started(&self) {
        self.done(STARTING);
    }

    pub fn is_ready(&self) -> bool {
        self.lock().is_empty()
    }

    /// Why the manager is not ready, one line per reason.
    pub fn reasons(&self) -> Vec<String> {
        let waiting = self.lock();
        waiting
            .iter()
            .map(|(what, why)| format!("{what}: {why}"))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn probe_routes(readiness: Readiness) -> Router {
    Router::new()
        // Liveness: the process answers. Restarting it would not help anything else.
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(readiness): State<Readiness>| async move {
                if readiness.is_ready() {
                    (StatusCode::OK, "ok".to_owned())
                } else {
                    let reasons = readiness.reasons().join("\n");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("not ready:\n{reasons}\n"),
                    )
                }
            }),
        )
        .with_state(readiness)
}

fn metrics_routes(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(metrics): State<Arc<Metrics>>| async move {
                match metrics.encode() {
                    Ok(text) => (
                        StatusCode::OK,
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }),
        )
        .with_state(metrics)
}

/// A bound server: its real address (useful with port 0) and the future that serves it until
/// `shutdown` completes.
pub struct Bound {
    pub address: SocketAddr,
    pub serve: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>,
}

async fn bind(
    address: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Bound> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    let serve = async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    };
    Ok(Bound {
        address,
        serve: Box::pin(serve),
    })
}

pub async fn bind_probes(
    address: SocketAddr,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Bound> {
    bind(address, probe_routes(readiness), shutdown).await
}

pub async fn bind_metrics(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Bound> {
    bind(address, metrics_routes(metrics), shutdown).await
}
