//! What the server shows: the last good build, a version that changes with every published build,
//! and why the latest build failed, if it did.

use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

/// Shared between the rebuild loop, which publishes, and the request handlers, which read.
#[derive(Debug, Default)]
pub struct Site {
    state: RwLock<Snapshot>,
}

/// The site at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The rendered HTML of the last good build; `None` until a build succeeds.
    pub html_dir: Option<PathBuf>,
    /// How many builds have been published; open pages reload when it changes.
    pub version: u64,
    /// Why the latest build failed. The last good build is still served meanwhile.
    pub error: Option<String>,
}

impl Site {
    pub fn snapshot(&self) -> Snapshot {
        // A handler that panicked cannot leave a half-written snapshot: every write is one
        // assignment, so a poisoned lock still holds a consistent value.
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Serves `html_dir` from now on, as a new version without an error.
    pub fn publish(&self, html_dir: PathBuf) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        *state = Snapshot {
            html_dir: Some(html_dir),
            version: state.version + 1,
            error: None,
        };
    }

    /// Records a failed build; what is served does not change.
    pub fn fail(&self, error: String) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.error = Some(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_keeps_the_last_good_one_until_the_next_good_one() {
        let site = Site::default();
        site.publish("one".into());
        site.fail("broken".into());
        let failed = site.snapshot();
        assert_eq!(failed.html_dir, Some("one".into()));
        assert_eq!(failed.version, 1);
        assert_eq!(failed.error.as_deref(), Some("broken"));

        site.publish("two".into());
        assert_eq!(
            site.snapshot(),
            Snapshot {
                html_dir: Some("two".into()),
                version: 2,
                error: None
            }
        );
    }
}
