//! Objects of any kind from YAML, resolved through discovery, so a test can use a checkpoint's
//! kinds and Cluster API's kinds without typed bindings for either.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use kube::api::{DynamicObject, GroupVersionKind, PostParams};
use kube::core::TypeMeta;
use kube::{Api, Client};
use serde::de::DeserializeOwned;

use crate::Error;

const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// An `Api` for `api_version`/`kind` in `namespace`, with the plural looked up on the server.
pub async fn dynamic_api(
    client: &Client,
    namespace: &str,
    api_version: &str,
    kind: &str,
) -> Result<Api<DynamicObject>, Error> {
    let types = TypeMeta {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
    };
    let gvk = GroupVersionKind::try_from(&types).map_err(|error| Error::InvalidObject {
        reason: format!("apiVersion {api_version:?}: {error}"),
    })?;
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await?;
    Ok(Api::namespaced_with(client.clone(), namespace, &resource))
}

/// Creates the object in `yaml` (one document with `apiVersion` and `kind`) in `namespace`.
pub async fn create_from_yaml(
    client: &Client,
    namespace: &str,
    yaml: &str,
) -> Result<DynamicObject, Error> {
    let object: DynamicObject = serde_saphyr::from_str(yaml).map_err(|source| Error::Yaml {
        origin: "inline".to_owned(),
        source: Box::new(source),
    })?;
    let types = object.types.clone().unwrap_or_default();
    let api = dynamic_api(client, namespace, &types.api_version, &types.kind).await?;
    Ok(api.create(&PostParams::default(), &object).await?)
}

/// Polls `name` until `done` holds, for asserting on what a controller eventually writes. On
/// timeout the error shows the last version seen, which is what a failing test needs to show.
pub async fn wait_for<K, F>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    mut done: F,
) -> Result<K, Error>
where
    K: Clone + DeserializeOwned + Debug,
    F: FnMut(&K) -> bool,
{
    let start = Instant::now();
    let mut last = None;
    loop {
        if let Some(object) = api.get_opt(name).await? {
            if done(&object) {
                return Ok(object);
            }
            last = Some(object);
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!("{name} to reach the expected state"),
                timeout,
                last_seen: format!("{last:#?}"),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
