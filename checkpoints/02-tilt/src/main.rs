//! The manager binary: the given manager process running this provider's controllers.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    checkpoint_02::controllers::run().await
}
