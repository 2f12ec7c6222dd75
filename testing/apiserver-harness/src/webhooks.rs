//! A Cluster API manager's admission webhooks, served for real: its webhook configurations
//! (from the assets, written for a Service in a cluster) pointed at the manager the harness runs
//! on loopback, trusting the throwaway certificate it serves. With them the API server defaults
//! and validates Cluster API objects as in a management cluster (a MachineDeployment's selector,
//! a KubeadmControlPlane's rollout strategy), which the controllers rely on.

use std::path::Path;

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::Error;

/// Our applies show up under this field manager.
const FIELD_MANAGER: &str = "apiserver-harness";

/// Installs the webhook configurations in `file`, renamed with `prefix` (so providers never
/// clash) and pointed at `https://127.0.0.1:{port}` with `ca_pem` as their CA bundle.
pub(crate) async fn install_webhooks(
    client: &Client,
    file: &Path,
    prefix: &str,
    port: u16,
    ca_pem: &str,
) -> Result<(), Error> {
    let yaml = std::fs::read_to_string(file)
        .map_err(|source| Error::io("reading webhook configurations", file, source))?;
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&yaml).map_err(|source| Error::Yaml {
            origin: file.display().to_string(),
            source: Box::new(source),
        })?;
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for mut document in documents.into_iter().filter(|d| !d.is_null()) {
        point_at_loopback(&mut document, prefix, port, &ca_bundle);
        let name = document["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let invalid = |error: serde_json::Error| Error::InvalidObject {
            reason: format!(
                "webhook configuration {name} in {}: {error}",
                file.display()
            ),
        };
        match document["kind"].as_str() {
            Some("MutatingWebhookConfiguration") => {
                let object: MutatingWebhookConfiguration =
                    serde_json::from_value(document).map_err(invalid)?;
                let api = Api::<MutatingWebhookConfiguration>::all(client.clone());
                api.patch(&name, &params, &Patch::Apply(&object)).await?;
            }
            Some("ValidatingWebhookConfiguration") => {
                let object: ValidatingWebhookConfiguration =
                    serde_json::from_value(document).map_err(invalid)?;
                let api = Api::<ValidatingWebhookConfiguration>::all(client.clone());
                api.patch(&name, &params, &Patch::Apply(&object)).await?;
            }
            other => {
                return Err(Error::InvalidObject {
                    reason: format!("{}: unexpected kind {other:?}", file.display()),
                });
            }
        }
    }
    Ok(())
}

/// Renames the configuration and replaces each webhook's Service reference with a URL on
/// loopback (the path stays the webhook's own).
fn point_at_loopback(document: &mut Value, prefix: &str, port: u16, ca_bundle: &str) {
    let name = document["metadata"]["name"].as_str().unwrap_or_default();
    document["metadata"]["name"] = json!(format!("{prefix}-{name}"));
    if let Some(webhooks) = document["webhooks"].as_array_mut() {
        for webhook in webhooks {
            let path = webhook["clientConfig"]["service"]["path"]
                .as_str()
                .unwrap_or("/")
                .to_owned();
            webhook["clientConfig"] = json!({
                "url": format!("https://127.0.0.1:{port}{path}"),
                "caBundle": ca_bundle,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_references_become_loopback_urls() {
        let mut document = json!({
            "kind": "MutatingWebhookConfiguration",
            "metadata": { "name": "mutating-webhook-configuration" },
            "webhooks": [{
                "name": "default.machinedeployment.cluster.x-k8s.io",
                "clientConfig": { "service": {
                    "name": "webhook-service", "namespace": "system",
                    "path": "/mutate-cluster-x-k8s-io-v1beta2-machinedeployment",
                }},
            }],
        });
        point_at_loopback(&mut document, "core", 9443, "Q0E=");
        assert_eq!(
            document["metadata"]["name"],
            "core-mutating-webhook-configuration"
        );
        assert_eq!(
            document["webhooks"][0]["clientConfig"],
            json!({
                "url": "https://127.0.0.1:9443/mutate-cluster-x-k8s-io-v1beta2-machinedeployment",
                "caBundle": "Q0E=",
            })
        );
    }
}
