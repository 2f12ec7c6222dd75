//! The real Cluster API core manager (v1.14) reading our DockerCluster through the InfraCluster
//! contract: it finds the contract version from the CRD's `cluster.x-k8s.io/v1beta2` label, adopts
//! the DockerCluster (owner reference + cluster-name label) and reports the Cluster as waiting for
//! infrastructure, not as an error.
//!
//! Checkpoint 01's schema has only `spec.foo` and `status.conditions`: the API server prunes
//! `status.initialization.provisioned` and `spec.controlPlaneEndpoint`, so "provisioned, endpoint
//! copied to the Cluster" cannot be shown with our CRD yet. The second test shows that half of
//! the contract with a schemaless stand-in kind; once a checkpoint's DockerCluster has those
//! fields, its test is the same steps with the stand-in replaced by that checkpoint's CRDs.

use std::time::Duration;

use apiserver_harness::crds_from_yaml;
use apiserver_harness::{
    CapiManager, ControlPlane, Needs, assets_for_test, create_from_yaml, create_namespace,
    dynamic_api, install_crds, wait_for,
};
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

/// Core reconciles within a second on an idle machine; CI shares two cores with other builds.
const RECONCILE_TIMEOUT: Duration = Duration::from_secs(90);

const DOCKER_CLUSTER: &str = "\
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: DockerCluster
metadata:
  name: contract
spec: {}
";

const CLUSTER: &str = "\
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: contract
spec:
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DockerCluster
    name: contract
";

#[tokio::test]
async fn capi_core_adopts_our_docker_cluster_and_waits_for_provisioning() -> anyhow::Result<()> {
    let test = "capi_core_adopts_our_docker_cluster_and_waits_for_provisioning";
    let Some(assets) = assets_for_test(test, Needs::ClusterApi)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint_01::crdgen::crds()).await?;
    let manager = CapiManager::start(&control_plane, &assets).await?;
    eprintln!("cluster-api-manager flags: {}", manager.args().join(" "));

    let namespace = "contract";
    create_namespace(&client, namespace).await?;
    create_from_yaml(&client, namespace, DOCKER_CLUSTER).await?;
    let cluster = create_from_yaml(&client, namespace, CLUSTER).await?;
    let cluster_uid = cluster.metadata.uid.clone().unwrap_or_default();

    // Core sets a (non-controller) owner reference and the cluster-name label on the infra object.
    let docker_clusters = dynamic_api(
        &client,
        namespace,
        "infrastructure.cluster.x-k8s.io/v1alpha1",
        "DockerCluster",
    )
    .await?;
    let adopted = wait_for(&docker_clusters, "contract", RECONCILE_TIMEOUT, |dc| {
        owned_by_cluster(dc, &cluster_uid) && cluster_name_label(dc) == Some("contract")
    })
    .await
    .map_err(|error| with_log(error, &manager))?;
    eprintln!(
        "DockerCluster owner references: {:?}",
        adopted.metadata.owner_references
    );

    // Core reads status.initialization.provisioned through the v1beta2 contract and, finding it
    // unset, reports "not ready" with the contract's field path instead of a lookup error.
    let clusters = dynamic_api(&client, namespace, "cluster.x-k8s.io/v1beta2", "Cluster").await?;
    let waiting = wait_for(&clusters, "contract", RECONCILE_TIMEOUT, |cluster| {
        // On a contract error the reason is InternalError; the timeout error then shows it.
        condition(cluster, "InfrastructureReady")
            .is_some_and(|c| c.get("reason").and_then(Value::as_str) == Some("NotReady"))
    })
    .await
    .map_err(|error| with_log(error, &manager))?;
    let ready = condition(&waiting, "InfrastructureReady").cloned();
    eprintln!("Cluster InfrastructureReady: {ready:?}");
    let ready = ready.unwrap_or_default();
    assert_eq!(ready.get("status"), Some(&Value::from("False")), "{ready}");
    assert_eq!(
        ready.get("message").and_then(Value::as_str),
        Some("DockerCluster status.initialization.provisioned is false"),
        "{ready}"
    );
    assert_ne!(
        waiting
            .data
            .pointer("/status/initialization/infrastructureProvisioned"),
        Some(&Value::Bool(true)),
        "checkpoint 01 cannot report provisioned"
    );
    Ok(())
}

/// An InfraCluster kind that stores any field, labelled with the contract version it follows.
const STAND_IN_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: standinclusters.infrastructure.stand-in.test
  labels:
    cluster.x-k8s.io/v1beta2: v1alpha1
spec:
  group: infrastructure.stand-in.test
  names:
    kind: StandInCluster
    plural: standinclusters
    singular: standincluster
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
";

#[tokio::test]
async fn capi_core_copies_provisioned_and_endpoint_from_an_infra_cluster() -> anyhow::Result<()> {
    let test = "capi_core_copies_provisioned_and_endpoint_from_an_infra_cluster";
    let Some(assets) = assets_for_test(test, Needs::ClusterApi)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &crds_from_yaml(STAND_IN_CRD, "stand-in CRD")?).await?;
    let manager = CapiManager::start(&control_plane, &assets).await?;

    let namespace = "provisioned";
    create_namespace(&client, namespace).await?;
    let infra_api_version = "infrastructure.stand-in.test/v1alpha1";
    create_from_yaml(
        &client,
        namespace,
        &format!(
            "apiVersion: {infra_api_version}\nkind: StandInCluster\nmetadata:\n  name: stand-in\n"
        ),
    )
    .await?;
    let cluster_yaml = CLUSTER
        .replace(
            "infrastructure.cluster.x-k8s.io",
            "infrastructure.stand-in.test",
        )
        .replace("DockerCluster", "StandInCluster")
        .replace("name: contract", "name: stand-in");
    create_from_yaml(&client, namespace, &cluster_yaml).await?;

    // What a provider does once its load balancer is up: endpoint in spec, provisioned in status.
    let infra = dynamic_api(&client, namespace, infra_api_version, "StandInCluster").await?;
    let params = PatchParams::default();
    let endpoint = json!({ "host": "172.18.0.2", "port": 6443 });
    infra
        .patch(
            "stand-in",
            &params,
            &Patch::Merge(json!({ "spec": { "controlPlaneEndpoint": endpoint } })),
        )
        .await?;
    infra
        .patch_status(
            "stand-in",
            &params,
            &Patch::Merge(json!({ "status": { "initialization": { "provisioned": true } } })),
        )
        .await?;

    let clusters = dynamic_api(&client, namespace, "cluster.x-k8s.io/v1beta2", "Cluster").await?;
    let cluster = wait_for(&clusters, "stand-in", RECONCILE_TIMEOUT, |cluster| {
        cluster
            .data
            .pointer("/status/initialization/infrastructureProvisioned")
            == Some(&Value::Bool(true))
            && cluster.data.pointer("/spec/controlPlaneEndpoint") == Some(&endpoint)
    })
    .await
    .map_err(|error| with_log(error, &manager))?;
    let ready = condition(&cluster, "InfrastructureReady")
        .cloned()
        .unwrap_or_default();
    eprintln!("Cluster InfrastructureReady: {ready}");
    assert_eq!(ready.get("status"), Some(&Value::from("True")), "{ready}");
    Ok(())
}

fn owned_by_cluster(object: &DynamicObject, uid: &str) -> bool {
    object
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|owner| {
            owner.kind == "Cluster"
                && owner.api_version == "cluster.x-k8s.io/v1beta2"
                && owner.name == "contract"
                && owner.uid == uid
        })
}

fn cluster_name_label(object: &DynamicObject) -> Option<&str> {
    object
        .metadata
        .labels
        .as_ref()?
        .get("cluster.x-k8s.io/cluster-name")
        .map(String::as_str)
}

/// A v1beta2 condition (`status.conditions[type=...]`) of an object.
fn condition<'a>(object: &'a DynamicObject, type_: &str) -> Option<&'a Value> {
    object
        .data
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// A failed wait is explained by the manager's log, so attach its tail.
fn with_log(error: apiserver_harness::Error, manager: &CapiManager) -> anyhow::Error {
    anyhow::anyhow!(
        "{error}\n--- cluster-api-manager log tail ---\n{}",
        manager.log_tail()
    )
}
