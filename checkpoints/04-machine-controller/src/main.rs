//! The manager binary: the given manager process running this provider's controllers.

use anyhow::Context as _;
use capdkc_docker::Docker;
use checkpoint_04::{controllers, crdgen};

// ANCHOR: main
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    capdkc_manager::run(crdgen::crds(), async |manager| {
        // No Docker, no provider: stop at start rather than fail in every reconcile.
        let docker = Docker::connect(&manager.options().docker)
            .await
            .context("cannot use the Docker engine")?;
        controllers::setup(manager, docker);
        Ok(())
    })
    .await
}
// ANCHOR_END: main
