//! Checkpoint 01's controllers under the ServiceAccount and ClusterRole the checkpoint ships
//! (`config/rbac`), on a real API server with RBAC: nothing they do is refused, and the audit log
//! shows which granted permissions they never used.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiserver_harness::{
    ControlPlane, Needs, Permission, assets_for_test, create_from_yaml, create_namespace,
    install_crds, refusals, requests_of, summary, unused_permissions, wait_until_allowed,
};
use checkpoint_01::controllers::{Context, docker_cluster, docker_machine};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Api;
use kube::api::PostParams;

const ROLE: &str = include_str!("../../../checkpoints/01-scaffold/config/rbac/role.yaml");
const ROLE_BINDING: &str =
    include_str!("../../../checkpoints/01-scaffold/config/rbac/role_binding.yaml");
const SERVICE_ACCOUNT: &str =
    include_str!("../../../checkpoints/01-scaffold/config/rbac/service_account.yaml");
const DOCKER_CLUSTER_SAMPLE: &str = include_str!(
    "../../../checkpoints/01-scaffold/config/samples/infrastructure_v1alpha1_dockercluster.yaml"
);
const DOCKER_MACHINE_SAMPLE: &str = include_str!(
    "../../../checkpoints/01-scaffold/config/samples/infrastructure_v1alpha1_dockermachine.yaml"
);
const GROUP: &str = "infrastructure.cluster.x-k8s.io";

#[tokio::test]
async fn checkpoint_01_controllers_need_no_more_than_the_shipped_cluster_role() -> anyhow::Result<()>
{
    let test = "checkpoint_01_controllers_need_no_more_than_the_shipped_cluster_role";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let admin = control_plane.client().await?;
    install_crds(&admin, &checkpoint_01::crdgen::crds()).await?;

    // The shipped manifests as they are: kustomize's namespace and name prefix rename the
    // ServiceAccount and the binding's subject alike, so the permissions are the same.
    let role: ClusterRole = serde_saphyr::from_str(ROLE)?;
    let binding: ClusterRoleBinding = serde_saphyr::from_str(ROLE_BINDING)?;
    let service_account: ServiceAccount = serde_saphyr::from_str(SERVICE_ACCOUNT)?;
    let sa_namespace = service_account
        .metadata
        .namespace
        .clone()
        .unwrap_or_default();
    let sa_name = service_account.metadata.name.clone().unwrap_or_default();
    let post = PostParams::default();
    create_namespace(&admin, &sa_namespace).await?;
    Api::<ServiceAccount>::namespaced(admin.clone(), &sa_namespace)
        .create(&post, &service_account)
        .await?;
    Api::<ClusterRole>::all(admin.clone())
        .create(&post, &role)
        .await?;
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&post, &binding)
        .await?;
    let user = format!("system:serviceaccount:{sa_namespace}:{sa_name}");
    let list = Permission {
        group: GROUP,
        resource: "dockerclusters",
        verb: "list",
        namespace: None,
    };
    wait_until_allowed(&admin, &user, list).await?;

    let ctx = Arc::new(Context {
        client: control_plane
            .client_as_service_account(&sa_namespace, &sa_name)
            .await?,
    });
    let controllers = [
        tokio::spawn(docker_cluster::run(ctx.clone())),
        tokio::spawn(docker_machine::run(ctx)),
    ];

    let namespace = "workload";
    create_namespace(&admin, namespace).await?;
    create_from_yaml(&admin, namespace, DOCKER_CLUSTER_SAMPLE).await?;
    create_from_yaml(&admin, namespace, DOCKER_MACHINE_SAMPLE).await?;

    // Both controllers are running once both watches were accepted for the ServiceAccount.
    let deadline = Instant::now() + Duration::from_secs(60);
    let events = loop {
        let events = requests_of(&control_plane.audit_events()?, &user);
        let watching = |resource: &str| {
            events.iter().any(|e| {
                e.verb == "watch"
                    && (200..300).contains(&e.code())
                    && e.permission().is_some_and(|(_, r, _)| r == resource)
            })
        };
        if watching("dockerclusters") && watching("dockermachines") {
            break events;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the controllers never watched both kinds; requests so far: {:#?}",
            summary(&events)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for controller in &controllers {
        controller.abort();
    }

    let refused = refusals(&events);
    assert!(
        refused.is_empty(),
        "requests of {user} were refused by authentication/RBAC: {refused:#?}"
    );
    let unused = unused_permissions(&role.rules.unwrap_or_default(), &events);
    eprintln!("requests of {user}: {:?}", summary(&events));
    eprintln!("granted but never used by checkpoint 01's controllers: {unused:?}");
    // The shipped role grants exactly what the controllers use: nothing refused, nothing unused.
    assert!(
        unused.is_empty(),
        "the ClusterRole grants permissions nobody uses: {unused:?}"
    );
    Ok(())
}
