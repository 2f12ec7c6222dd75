//! Stopping on SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).

/// Completes on SIGTERM or SIGINT. If one of the two handlers cannot be installed, the other
/// still works (and the failure is logged), so Ctrl-C is never silently ignored.
pub async fn terminated() {
    tokio::select! {
        () = interrupted() => {}
        () = sigterm() => {}
    }
}

async fn interrupted() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "cannot listen for Ctrl-C; stop the manager with SIGTERM");
        std::future::pending::<()>().await;
    }
}

#[cfg(unix)]
async fn sigterm() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; stop the manager with Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(not(unix))]
async fn sigterm() {
    std::future::pending::<()>().await;
}
