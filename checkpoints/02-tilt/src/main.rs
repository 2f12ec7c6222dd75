//! The manager binary: the given manager process running this provider's controllers.

use checkpoint_02::{controllers, crdgen};

// ANCHOR: main
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    capdkc_manager::run(crdgen::crds(), async |manager| {
        controllers::setup(manager);
        Ok(())
    })
    .await
}
// ANCHOR_END: main
