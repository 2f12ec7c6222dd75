//! The provider's containers that stop running or disappear, as the engine reports them: what
//! lets a controller heal a stopped load balancer, or report a removed node, in about a second
//! instead of at its next resync. The subscription outlives a daemon restart.

use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::engine::Engine;
use crate::labels::OWNER_UID_LABEL;
use crate::runtime::{ContainerEvent, ContainerRuntime};

// ANCHOR: container_events
/// What [`crate::Docker::container_events`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// One of the provider's containers stopped running or was removed.
    Container(ContainerEvent),
    /// The subscription was lost (the daemon restarted, say) and works again. What happened
    /// in between was not reported: look at everything again.
    Resubscribed,
}

/// A subscription that neither fails nor reports anything for this long is connected (one that
/// cannot connect fails at once).
const CONNECTED_AFTER: Duration = Duration::from_millis(500);
/// The wait before subscribing again, doubled after each failure up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// The events of every container carrying our owner label, for as long as the stream is polled.
pub fn container_events(engine: Engine) -> impl Stream<Item = EngineEvent> + Send + 'static {
    container_events_with(engine, FIRST_RETRY)
}

/// [`container_events`], first retrying after `first_retry` (tests do not wait a second).
pub fn container_events_with(
    engine: Engine,
    first_retry: Duration,
) -> impl Stream<Item = EngineEvent> + Send + 'static {
    let filters = vec![OWNER_UID_LABEL.to_owned()];
    async_stream::stream! {
        let mut retry = first_retry;
        let mut lost = false;
        loop {
            let mut events = engine.container_events(&filters);
            let why = match tokio::time::timeout(CONNECTED_AFTER, events.next()).await {
                Ok(Some(Err(error))) => Some(error.to_string()),
                Ok(None) => Some("the engine ended the stream".to_owned()),
                Ok(Some(Ok(event))) => {
                    if std::mem::take(&mut lost) {
                        tracing::info!("Docker events: subscribed again");
                        yield EngineEvent::Resubscribed;
                    }
                    retry = first_retry;
                    yield EngineEvent::Container(event);
                    None
                }
                Err(_connected) => {
                    if std::mem::take(&mut lost) {
                        tracing::info!("Docker events: subscribed again");
                        yield EngineEvent::Resubscribed;
                    }
                    retry = first_retry;
                    None
                }
            };
            let why = match why {
                Some(why) => why,
                None => loop {
                    match events.next().await {
                        Some(Ok(event)) => yield EngineEvent::Container(event),
                        Some(Err(error)) => break error.to_string(),
                        None => break "the engine ended the stream".to_owned(),
                    }
                },
            };
            // Said once per loss; the retries until it works again are quiet.
            if !lost {
                tracing::warn!(%why, "Docker events: subscription lost; subscribing again");
            }
            lost = true;
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(LAST_RETRY);
        }
    }
}
// ANCHOR_END: container_events

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::fake::FakeRuntime;
    use crate::runtime::ContainerInfo;

    fn ours(name: &str, uid: &str) -> ContainerInfo {
        ContainerInfo {
            name: name.into(),
            labels: BTreeMap::from([(OWNER_UID_LABEL.to_owned(), uid.to_owned())]),
            running: true,
            state: "running".into(),
            ..ContainerInfo::default()
        }
    }

    async fn next(events: &mut (impl Stream<Item = EngineEvent> + Unpin)) -> EngineEvent {
        tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on")
    }

    fn action_and_name(event: EngineEvent) -> (String, String) {
        match event {
            EngineEvent::Container(c) => (c.action, c.name),
            other => panic!("expected a container event, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn ours_that_stop_or_go_are_reported_and_others_not() {
        let fake = FakeRuntime::new();
        fake.add_container(ours("demo-lb", "uid-1"));
        fake.add_container(ContainerInfo {
            name: "someone-else".into(),
            running: true,
            ..ContainerInfo::default()
        });
        let mut events = Box::pin(container_events(Engine::new(fake.clone())));
        // Subscribed once the first poll has run.
        let first = tokio::spawn(async move {
            let event = next(&mut events).await;
            (event, events)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        fake.stop("someone-else");
        fake.stop("demo-lb");
        let (event, mut events) = first.await.expect("joins");
        assert_eq!(action_and_name(event), ("die".into(), "demo-lb".into()));
        fake.remove_behind_our_back("demo-lb");
        assert_eq!(
            action_and_name(next(&mut events).await),
            ("destroy".into(), "demo-lb".into())
        );
    }

    #[tokio::test]
    async fn a_lost_subscription_is_renewed_and_says_so_once() {
        let fake = FakeRuntime::new();
        fake.add_container(ours("demo-lb", "uid-1"));
        let mut events = Box::pin(container_events_with(
            Engine::new(fake.clone()),
            Duration::from_millis(10),
        ));
        let watcher = tokio::spawn(async move {
            let first = next(&mut events).await;
            let second = next(&mut events).await;
            (first, second)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The daemon restarts: the streams end; the next subscription works.
        fake.end_event_streams();
        tokio::time::sleep(Duration::from_millis(700)).await;
        fake.stop("demo-lb");
        let (first, second) = watcher.await.expect("joins");
        assert_eq!(first, EngineEvent::Resubscribed);
        assert_eq!(action_and_name(second), ("die".into(), "demo-lb".into()));
    }
}
