//! Checkpoint 01's CRDs on a real kube-apiserver: accepted (structural schemas), objects from the
//! shipped samples are created, `kubectl get` columns are computed as we declared them, and an
//! invalid spec is rejected with a message that names the field.

use apiserver_harness::{
    ControlPlane, Needs, assets_for_test, create_from_yaml, create_namespace, dynamic_api,
    get_table, install_crds,
};
use kube::api::PostParams;
use serde_json::json;

const API_VERSION: &str = "infrastructure.cluster.x-k8s.io/v1alpha1";
const DOCKER_CLUSTER_SAMPLE: &str = include_str!(
    "../../../checkpoints/01-scaffold/config/samples/infrastructure_v1alpha1_dockercluster.yaml"
);
const DOCKER_MACHINE_SAMPLE: &str = include_str!(
    "../../../checkpoints/01-scaffold/config/samples/infrastructure_v1alpha1_dockermachine.yaml"
);

#[tokio::test]
async fn checkpoint_01_crds_are_established_and_print_their_columns() -> anyhow::Result<()> {
    let test = "checkpoint_01_crds_are_established_and_print_their_columns";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint_01::crdgen::crds()).await?;

    let namespace = "printer-columns";
    create_namespace(&client, namespace).await?;
    create_from_yaml(&client, namespace, DOCKER_CLUSTER_SAMPLE).await?;
    // The sample machine plus an owner reference, the way Cluster API core owns it, so the
    // Machine column's JSONPath filter has something to find.
    let machine_yaml = DOCKER_MACHINE_SAMPLE.replacen(
        "metadata:\n",
        "metadata:\n  ownerReferences:\n  - apiVersion: cluster.x-k8s.io/v1beta2\n    \
         kind: Machine\n    name: sample-control-plane-abcde\n    \
         uid: 00000000-0000-0000-0000-000000000001\n",
        1,
    );
    create_from_yaml(&client, namespace, &machine_yaml).await?;

    let clusters = dynamic_api(&client, namespace, API_VERSION, "DockerCluster").await?;
    let table = get_table(&client, clusters.resource_url()).await?;
    assert_eq!(table.columns, ["Name", "Cluster", "Age"], "{table:?}");
    assert_eq!(
        table.cell("dockercluster-sample", "Cluster"),
        Some(&json!("sample")),
        "{table:?}"
    );

    let machines = dynamic_api(&client, namespace, API_VERSION, "DockerMachine").await?;
    let table = get_table(&client, machines.resource_url()).await?;
    assert_eq!(
        table.columns,
        ["Name", "Cluster", "Machine", "Age"],
        "{table:?}"
    );
    assert_eq!(
        table.cell("dockermachine-sample", "Cluster"),
        Some(&json!("sample")),
        "{table:?}"
    );
    assert_eq!(
        table.cell("dockermachine-sample", "Machine"),
        Some(&json!("sample-control-plane-abcde")),
        "{table:?}"
    );
    Ok(())
}

#[tokio::test]
async fn checkpoint_01_rejects_an_invalid_spec_naming_the_field() -> anyhow::Result<()> {
    let test = "checkpoint_01_rejects_an_invalid_spec_naming_the_field";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint_01::crdgen::crds()).await?;
    let namespace = "validation";
    create_namespace(&client, namespace).await?;

    // The same limits the schema declares (maxLength 256 on spec.foo) for both kinds.
    for kind in ["DockerCluster", "DockerMachine"] {
        let api = dynamic_api(&client, namespace, API_VERSION, kind).await?;
        let too_long = "x".repeat(257);
        let object = serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": { "name": "too-long" },
            "spec": { "foo": too_long },
        }))?;
        match api.create(&PostParams::default(), &object).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{status:?}");
                assert!(
                    status.message.contains("spec.foo") && status.message.contains("256"),
                    "{kind}: the message should name the field and the limit: {}",
                    status.message
                );
                eprintln!("{kind} rejected: {}", status.message);
            }
            other => panic!("{kind}: expected 422 Invalid, got {other:?}"),
        }

        // Exactly at the limit is fine.
        let at_limit = serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": { "name": "at-limit" },
            "spec": { "foo": "x".repeat(256) },
        }))?;
        api.create(&PostParams::default(), &at_limit).await?;
    }
    Ok(())
}
