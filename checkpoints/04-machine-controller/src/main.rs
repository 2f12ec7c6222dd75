//! The manager binary: the given manager process running this provider's controllers.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    checkpoint_04::controllers::run().await
}
