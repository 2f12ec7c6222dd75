//! Shared watches, gated by leadership, with kube-runtime's own machinery: one watch per kind
//! fills a shared reflector store (`reflector::store_shared`) in every replica, so that a standby
//! is ready to take over with warm caches; each controller subscribes to the changes, but a
//! subscription passes nothing on until this process leads and every cache has synced. At that
//! moment every controller reconciles everything once, which covers what it did not see.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, ReflectHandle, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::http::Readiness;

/// How many changes a subscription may fall behind before the watch waits for it.
pub const SUBSCRIPTION_BUFFER: usize = 1024;

/// One kind's shared watch: its cache, and subscriptions to its changes.
pub struct SharedWatch<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    /// The handle subscriptions are cloned from. The manager drops it when it starts: a handle
    /// nobody polls would hold the watch back once its buffer fills.
    root: Arc<Mutex<Option<ReflectHandle<K>>>>,
    /// True once this process leads and every cache has synced.
    active: watch::Receiver<bool>,
}

impl<K> SharedWatch<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Send + Sync + 'static,
{
    pub(crate) fn new(
        store: Store<K>,
        root: Arc<Mutex<Option<ReflectHandle<K>>>>,
        active: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            root,
            active,
        }
    }

    // ANCHOR: store_and_subscribe
    /// The cache: every object of this kind the manager watches.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Every change to an object of this kind, once this process leads (for
    /// `Controller::for_shared_stream` or `watches_shared_stream`).
    ///
    /// # Panics
    /// When called after the manager started: subscribe while setting the controllers up.
    pub fn subscribe(&self) -> BoxStream<'static, Arc<K>> {
        let root = self.root.lock().unwrap_or_else(|p| p.into_inner());
        let handle = root
            .as_ref()
            .expect("subscribe to a watch while setting up, before the manager runs")
            .clone();
        let active = self.active.clone();
        handle
            .filter(move |_| std::future::ready(*active.borrow()))
            .boxed()
    }
    // ANCHOR_END: store_and_subscribe

    /// Like [`SharedWatch::subscribe`], but only the changes that alter `what_matters` of an
    /// object (a new object always counts): a controller that reads a Cluster's pause and
    /// provisioning state need not wake for every status update core makes.
    pub fn subscribe_to_changes_of<H: Hash>(
        &self,
        what_matters: impl Fn(&K) -> H + Send + 'static,
    ) -> BoxStream<'static, Arc<K>> {
        only_changes_of(self.subscribe(), what_matters).boxed()
    }
}

/// The objects of `objects` whose `what_matters` differs from the last time the same object
/// (by namespace and name) came by; a new UID always counts.
pub fn only_changes_of<K, H>(
    objects: impl Stream<Item = Arc<K>> + Send + 'static,
    what_matters: impl Fn(&K) -> H + Send + 'static,
) -> impl Stream<Item = Arc<K>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
    H: Hash,
{
    let mut seen: HashMap<ObjectRef<K>, u64> = HashMap::new();
    objects.filter(move |object| {
        let mut hasher = DefaultHasher::new();
        (object.uid(), what_matters(object)).hash(&mut hasher);
        let fingerprint = hasher.finish();
        let changed =
            seen.insert(ObjectRef::from_obj(object.as_ref()), fingerprint) != Some(fingerprint);
        std::future::ready(changed)
    })
}

/// Runs one kind's watch into its shared store for as long as the manager runs, reporting the
/// first complete list through `synced` and failures (say, a CRD that is not installed) through
/// the log, once per distinct failure, and the readiness probe.
pub(crate) async fn drive<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: kube::runtime::reflector::store::Writer<K>,
    synced: watch::Sender<bool>,
    readiness: Readiness,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let name = watch_name::<K>();
    let events = watcher(api, config)
        .default_backoff()
        .reflect_shared(writer);
    let mut events = std::pin::pin!(events);
    let mut failing: Option<String> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::InitDone) => {
                synced.send_replace(true);
                readiness.done(&name);
                if failing.take().is_some() {
                    tracing::info!(watch = %name, "the watch works again");
                }
            }
            Ok(_) => {}
            Err(error) => {
                let reason = explain::<K>(&error);
                if failing.as_ref() != Some(&reason) {
                    tracing::warn!(watch = %name, "{reason}; retrying with backoff");
                    if !*synced.borrow() {
                        readiness.waiting(&name, reason.clone());
                    }
                    failing = Some(reason);
                }
            }
        }
    }
}

/// `plural.group`, the way `kubectl api-resources` and CRD names write a kind.
pub fn watch_name<K: Resource<DynamicType = ()>>() -> String {
    match K::group(&()).as_ref() {
        "" => K::plural(&()).into_owned(),
        group => format!("{}.{group}", K::plural(&())),
    }
}

// ANCHOR: missing_crd
/// What a person should know about a failed watch: for a kind the API server does not serve,
/// which CRD is missing and how to install it.
fn explain<K: Resource<DynamicType = ()>>(error: &watcher::Error) -> String {
    let api_error = match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        other => return format!("the watch failed: {other}"),
    };
    let not_found = matches!(api_error, kube::Error::Api(status) if status.code == 404);
    if !not_found {
        return format!("the watch failed: {api_error}");
    }
    let crd = watch_name::<K>();
    let install = if K::group(&()) == capdkc_capi::contract::CORE_GROUP {
        "install Cluster API into this cluster first (`clusterctl init`)".to_owned()
    } else {
        let binary = std::env::current_exe()
            .ok()
            .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "manager".to_owned());
        format!("install the provider's CRDs: `cargo run -p {binary} -- crds | kubectl apply -f -`")
    };
    format!("the API server does not serve {crd}: its CRD is not installed; {install}")
}
// ANCHOR_END: missing_crd

/// A stream that yields once, when `active` turns true: the moment a controller reconciles
/// every object it has.
pub(crate) fn activation(
    mut active: watch::Receiver<bool>,
) -> impl Stream<Item = ()> + Send + 'static {
    futures::stream::once(async move { active.wait_for(|on| *on).await.is_ok() })
        .filter_map(|on| std::future::ready(on.then_some(())))
}
