//! The one error type of the harness: every failure names what was being started or waited for,
//! and process failures carry the tail of that process's log, because that is where the reason is.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while starting, using or stopping the test control plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The assets are missing and the run is a CI run (`CI=true`), where skipping is not allowed.
    #[error("real API server tests are mandatory when CI=true, but {0}")]
    AssetsRequired(String),

    /// A file or directory operation failed.
    #[error("{context} ({}): {source}", path.display())]
    Io {
        /// What the harness was doing.
        context: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// No loopback port could be reserved.
    #[error("reserving a free loopback port: {0}")]
    FreePort(#[source] std::io::Error),

    /// Generating a certificate or key failed.
    #[error("generating certificates: {0}")]
    Certificate(#[from] rcgen::Error),

    /// A process started by the harness exited while the harness was waiting for it.
    #[error("{name} exited before it was ready ({status}); last lines of {}:\n{log_tail}", log.display())]
    ExitedEarly {
        /// Which component (etcd, kube-apiserver, ...).
        name: &'static str,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        log_tail: String,
    },

    /// A process did not become ready in time.
    #[error("{name} was not ready after {timeout:?}; last lines of {}:\n{log_tail}", log.display())]
    NotReady {
        /// Which component.
        name: &'static str,
        /// How long the harness waited.
        timeout: Duration,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        log_tail: String,
    },

    /// The kubeconfig the harness wrote could not be turned into a client configuration.
    #[error("loading the generated kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),

    /// A request to the API server failed.
    #[error("API request failed: {0}")]
    Kube(#[source] Box<kube::Error>),

    /// A request could not be built (invalid path or header).
    #[error("building an HTTP request: {0}")]
    Http(#[from] http::Error),

    /// A YAML document could not be parsed.
    #[error("parsing YAML from {origin}: {source}")]
    Yaml {
        /// Where the YAML came from (a file name, or "inline").
        origin: String,
        /// The parser error.
        source: Box<serde_saphyr::Error>,
    },

    /// Watching an object while waiting for a condition failed.
    #[error("watching while waiting for a condition: {0}")]
    Wait(#[from] kube::runtime::wait::Error),

    /// An object given to the harness is malformed (for example a bad `apiVersion`).
    #[error("invalid object: {reason}")]
    InvalidObject {
        /// What is wrong with it.
        reason: String,
    },

    /// An object did not reach the expected state in time.
    #[error("timed out after {timeout:?} waiting for {what}; last seen: {last_seen}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the harness waited.
        timeout: Duration,
        /// The last version of the object (Debug), or `None`.
        last_seen: String,
    },

    /// A CRD was accepted but did not report `Established=True` in time.
    #[error("CRD {name} was not Established after {timeout:?}")]
    CrdNotEstablished {
        /// The CRD's name.
        name: String,
        /// How long the harness waited.
        timeout: Duration,
    },

    /// A response did not have the shape the harness expects (for example a Table without columns).
    #[error("unexpected response from {path}: {reason}")]
    UnexpectedResponse {
        /// The request path.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

// Boxed because kube::Error is large and every Result of the crate would pay for its size.
impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        Self::Kube(Box::new(error))
    }
}

impl Error {
    /// The API server's status when the error is an API rejection (4xx/5xx with a Status body).
    pub fn api_status(&self) -> Option<&kube::core::Status> {
        match self {
            Self::Kube(error) => match error.as_ref() {
                kube::Error::Api(status) => Some(status),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            context,
            path: path.into(),
            source,
        }
    }
}
