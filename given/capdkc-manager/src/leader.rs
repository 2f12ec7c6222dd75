//! Leader election: with `--leader-elect`, replicas compete for a Lease and only the holder runs
//! the controllers. Without it, this process always leads.

use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

/// The Lease every replica competes for, in the manager's namespace.
pub const LEASE_NAME: &str = "controller-leader-election-capdkc";

/// Seconds a Lease is valid without renewal, and how long before expiry the holder renews it.
const LEASE_DURATION: u64 = 15;
const RENEW_GRACE: u64 = 5;

/// Whether this process leads right now. Dropping it releases the Lease.
pub struct Leadership {
    pub leading: watch::Receiver<bool>,
    // Keeps the channel open when there is no election.
    _always: Option<watch::Sender<bool>>,
}

impl Leadership {
    /// Leads from the start: no election (one replica, or running on a laptop).
    pub fn always() -> Self {
        let (sender, leading) = watch::channel(true);
        Self {
            leading,
            _always: Some(sender),
        }
    }

    /// Never leads: a standby while another replica holds the Lease (for tests).
    #[cfg(test)]
    pub(crate) fn standby() -> Self {
        let (sender, leading) = watch::channel(false);
        Self {
            leading,
            _always: Some(sender),
        }
    }

    /// Competes for the Lease `LEASE_NAME` in `namespace` under the name `identity`.
    pub async fn elect(
        client: kube::Client,
        namespace: &str,
        identity: &str,
    ) -> anyhow::Result<Self> {
        let manager = LeaseManagerBuilder::new(client, LEASE_NAME)
            .with_namespace(namespace)
            .with_identity(identity)
            .with_duration(LEASE_DURATION)
            .with_grace(RENEW_GRACE)
            .with_field_manager(capdkc_capi::patch::FIELD_MANAGER)
            .build()
            .await?;
        // The task renews the Lease while we lead and releases it when `leading` is dropped.
        let (leading, _task) = manager.watch().await;
        Ok(Self {
            leading,
            _always: None,
        })
    }
}

/// A name for this replica: the pod name in a cluster, else the host name and process id.
pub fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| String::from("manager"));
    format!("{host}-{}", std::process::id())
}
