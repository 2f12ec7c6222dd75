//! The manager's two HTTP endpoints: health probes for the kubelet, metrics for Prometheus.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

// ANCHOR: health
/// Whether the manager is ready: set once every watch has listed its objects. Deliberately not
/// tied to leadership: with one replica and a rolling update, the new pod must become ready while
/// the old one still holds the Lease, or the rollout never finishes.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
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
                    (StatusCode::OK, "ok")
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "watches have not synced yet",
                    )
                }
            }),
        )
        .with_state(readiness)
}
// ANCHOR_END: health

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
