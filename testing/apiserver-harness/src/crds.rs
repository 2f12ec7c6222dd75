//! Installing CRDs the way `kubectl apply --server-side` does, and waiting until they are served.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};

use crate::Error;

/// The field manager our installs show up as in `managedFields`.
const FIELD_MANAGER: &str = "apiserver-harness";

/// How long a CRD may take to become Established (normally well under a second).
const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(30);

/// Applies `crds` (server-side apply, so installing twice is harmless) and waits until each is
/// Established, i.e. its schema was accepted and the resource is served. An invalid schema makes
/// the apply itself fail with the API server's message.
pub async fn install_crds(client: &Client, crds: &[CustomResourceDefinition]) -> Result<(), Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut names = Vec::with_capacity(crds.len());
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(crd)).await?;
        names.push(name);
    }
    for name in names {
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        match tokio::time::timeout(ESTABLISHED_TIMEOUT, established).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error.into()),
            Err(_) => {
                return Err(Error::CrdNotEstablished {
                    name,
                    timeout: ESTABLISHED_TIMEOUT,
                });
            }
        }
    }
    Ok(())
}

/// Parses a (multi-document) YAML stream of CRDs; `origin` names it in errors.
pub fn crds_from_yaml(yaml: &str, origin: &str) -> Result<Vec<CustomResourceDefinition>, Error> {
    serde_saphyr::from_multiple(yaml).map_err(|source| Error::Yaml {
        origin: origin.to_owned(),
        source: Box::new(source),
    })
}

/// Reads and parses CRD YAML files (for example `crds/cluster-api/*.yaml` of the assets).
pub fn crds_from_files(files: &[impl AsRef<Path>]) -> Result<Vec<CustomResourceDefinition>, Error> {
    let mut crds = Vec::new();
    for file in files {
        let file = file.as_ref();
        let yaml = std::fs::read_to_string(file)
            .map_err(|source| Error::io("reading CRD YAML", file, source))?;
        crds.extend(crds_from_yaml(&yaml, &file.display().to_string())?);
    }
    Ok(crds)
}
